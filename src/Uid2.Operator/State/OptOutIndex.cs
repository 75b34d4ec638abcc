using System.Collections.Concurrent;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Opted-out identities by first-level hash, with the time of the (latest) opt-out. Grows incrementally as the
/// store reports new rows; readers never block.
/// </summary>
public sealed class OptOutIndex
{
    private readonly ConcurrentDictionary<Hash32, DateTimeOffset> _byFirstLevelHash = new();
    private readonly ConcurrentDictionary<Hash32, DateTimeOffset> _byAdvertisingId = new();
    private long _lastId;

    /// <summary>The highest store row id applied so far.</summary>
    public long LastId => Interlocked.Read(ref _lastId);

    public int Count => _byFirstLevelHash.Count;

    /// <summary>
    /// How far below <see cref="LastId"/> each sync reads again. Row ids are handed out before commit, so concurrent
    /// writers (other instances, the admin CLI) can commit out of id order: a row below the highest id seen may still
    /// appear. Re-reading a short window (bounded by the writers' concurrency) catches it; applying a row twice is harmless.
    /// </summary>
    public const long ReReadWindow = 256;

    /// <summary>The id to read after on the next sync.</summary>
    public long SyncFromId => Math.Max(0, LastId - ReReadWindow);

    /// <summary>Applies rows read from the store, in id order, and advances <see cref="LastId"/>.</summary>
    public void Apply(IEnumerable<OptOutRecord> records)
    {
        foreach (var r in records)
        {
            Index(r);
            long seen;
            while (r.Id > (seen = Interlocked.Read(ref _lastId)) && Interlocked.CompareExchange(ref _lastId, r.Id, seen) != seen) { }
        }
    }

    /// <summary>
    /// Applies an opt-out this instance has just written, without advancing <see cref="LastId"/>: rows other writers
    /// committed with lower ids have not been read yet, and the next sync must still ask for them.
    /// </summary>
    public void ApplyLocal(OptOutRecord record) => Index(record);

    private void Index(OptOutRecord r)
    {
        if (r.FirstLevelHash.Length != 32) return;
        _byFirstLevelHash.AddOrUpdate(Hash32.From(r.FirstLevelHash), r.Timestamp, (_, old) => r.Timestamp > old ? r.Timestamp : old);
        if (r.AdvertisingId.Length >= 32)
            _byAdvertisingId.AddOrUpdate(AdvertisingIdKey(r.AdvertisingId), r.Timestamp, (_, old) => r.Timestamp > old ? r.Timestamp : old);
    }

    public bool IsOptedOut(ReadOnlySpan<byte> firstLevelHash, out DateTimeOffset since) =>
        _byFirstLevelHash.TryGetValue(Hash32.From(firstLevelHash), out since);

    /// <summary>By raw UID (32-byte v2 or 33-byte v3; both are keyed by their last 32 bytes), as /v2/optout/status asks.</summary>
    public bool IsAdvertisingIdOptedOut(ReadOnlySpan<byte> rawUid, out DateTimeOffset since)
    {
        since = default;
        return rawUid.Length is 32 or 33 && _byAdvertisingId.TryGetValue(AdvertisingIdKey(rawUid), out since);
    }

    private static Hash32 AdvertisingIdKey(ReadOnlySpan<byte> rawUid) => Hash32.From(rawUid[^32..]);
}
