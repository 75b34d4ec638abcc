using System.Buffers.Binary;
using Microsoft.Extensions.Options;
using Uid2.Core.Envelope;
using Uid2.Operator.Configuration;

namespace Uid2.Operator.Protocol;

/// <summary>What <see cref="ReplayGuard.TryAccept"/> decided.</summary>
public enum ReplayVerdict
{
    /// <summary>First time seen: go on.</summary>
    Accepted,

    /// <summary>Seen before within its window: refuse.</summary>
    Replayed,

    /// <summary>The cache is full of live entries: refuse for now (the caller is sending faster than it was sized for).</summary>
    Full,
}

/// <summary>
/// Refuses a request seen before: the v2 envelope's nonce (per API key) and the CSTG request's IV (per subscription)
/// are accepted once while their timestamp is acceptable. The reference operator has no such check: within its window
/// it accepts the same envelope again and again.
/// <para>
/// Entries are kept in one bucket per second of expiry (the last second the request's timestamp is acceptable), in a
/// ring longer than the longest window, so a whole second expires at once and a lookup touches one bucket under its own
/// lock. At most <see cref="OperatorOptions.ReplayCacheMaxEntries"/> live entries are kept (about 30–60 bytes each);
/// when full, new requests are refused with 429 rather than letting a replay through. Per instance: behind a load
/// balancer a replay that reaches another instance is accepted there once (see SECURITY.md for why that is harmless).
/// </para>
/// </summary>
public sealed class ReplayGuard
{
    private readonly Bucket[] _ring;
    private readonly int _maxEntries;
    private readonly TimeProvider _time;
    private int _count;
    private long _sweptSecond;

    public ReplayGuard(IOptions<OperatorOptions> options, TimeProvider time)
    {
        var o = options.Value;
        _maxEntries = o.ReplayCacheMaxEntries;
        _time = time;
        // A request is remembered from now until its expiry, at most (timestamp skew allowed ahead) + (window after).
        var longest = Math.Max(EnvelopeWindowSeconds * 2, o.ClientSideTokenGenerateMaxTimestampSkewSeconds * 2);
        _ring = new Bucket[longest + 2];
        for (var i = 0; i < _ring.Length; i++) _ring[i] = new Bucket();
    }

    /// <summary>How long after (and before) its timestamp a v2 envelope is accepted: the reference's ±1 whole minute.</summary>
    public static int EnvelopeWindowSeconds => (V2Envelope.TimestampDriftToleranceMinutes + 1) * 60;

    /// <summary>Live entries now (for tests and sizing).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The id of a v2 envelope: its nonce, scoped to the API key that sent it.</summary>
    public static UInt128 EnvelopeId(string apiKeyId, ReadOnlySpan<byte> nonce) =>
        new((ulong)(uint)StringComparer.Ordinal.GetHashCode(apiKeyId), BinaryPrimitives.ReadUInt64LittleEndian(nonce));

    /// <summary>The id of a CSTG request: its 12-byte IV, scoped to the subscription id.</summary>
    public static UInt128 ClientSideId(string subscriptionId, ReadOnlySpan<byte> iv) =>
        new(((ulong)(uint)StringComparer.Ordinal.GetHashCode(subscriptionId) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(iv[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(iv));

    /// <summary>
    /// Records <paramref name="id"/> until <paramref name="expiresAtMs"/> (Unix ms: when its timestamp stops being
    /// acceptable) and answers whether it was new.
    /// </summary>
    public ReplayVerdict TryAccept(UInt128 id, long expiresAtMs)
    {
        var nowSecond = _time.GetUtcNow().ToUnixTimeSeconds();
        var second = Math.Max(expiresAtMs / 1000 + 1, nowSecond + 1);
        // Never further ahead than the ring: a later expiry is clamped (the caller's window check keeps this rare).
        second = Math.Min(second, nowSecond + _ring.Length - 1);
        SweepIfDue(nowSecond);

        var bucket = _ring[second % _ring.Length];
        lock (bucket)
        {
            if (bucket.Second != second)
            {
                Interlocked.Add(ref _count, -bucket.Ids.Count);
                bucket.Ids.Clear();
                bucket.Second = second;
            }
            if (bucket.Ids.Contains(id)) return ReplayVerdict.Replayed;
            if (Volatile.Read(ref _count) >= _maxEntries) return ReplayVerdict.Full;
            bucket.Ids.Add(id);
            Interlocked.Increment(ref _count);
            return ReplayVerdict.Accepted;
        }
    }

    /// <summary>Once a second: empties the buckets whose second has passed, so expired entries stop counting.</summary>
    private void SweepIfDue(long nowSecond)
    {
        var swept = Volatile.Read(ref _sweptSecond);
        if (swept >= nowSecond || Interlocked.CompareExchange(ref _sweptSecond, nowSecond, swept) != swept) return;
        foreach (var bucket in _ring)
        {
            lock (bucket)
            {
                if (bucket.Second > nowSecond || bucket.Ids.Count == 0) continue;
                Interlocked.Add(ref _count, -bucket.Ids.Count);
                bucket.Ids.Clear();
                if (bucket.Ids.Capacity > 4096) bucket.Ids.TrimExcess();
            }
        }
    }

    private sealed class Bucket
    {
        public long Second = long.MinValue;
        public readonly HashSet<UInt128> Ids = [];
    }
}
