using System.Buffers;
using Uid2.Core;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;
using Uid2.Operator.Observability;
using Uid2.Operator.State;

namespace Uid2.Operator.Services;

public enum MapOutcome : byte { Mapped, OptOut, Invalid }

/// <summary>
/// One identity-map batch's answers, in input order: each identity's outcome, salt bucket and raw UID2s (current, and
/// previous when asked for and still usable). They live in pooled buffers, not in an object per identity, so a batch of
/// thousands allocates almost nothing; <see cref="Dispose"/> clears the raw UID2s and returns the buffers.
/// </summary>
public sealed class MapBatch : IDisposable
{
    private const int RawLength = IdentityHasher.RawUidV3Length;

    private MapOutcome[] _outcomes;
    private SaltBucket?[] _buckets;
    private byte[]? _raw;
    private byte[]? _previous;
    private bool[] _hasPrevious;

    internal MapBatch(int count, bool withPrevious)
    {
        Count = count;
        _outcomes = ArrayPool<MapOutcome>.Shared.Rent(Math.Max(count, 1));
        _buckets = ArrayPool<SaltBucket?>.Shared.Rent(Math.Max(count, 1));
        _raw = ArrayPool<byte>.Shared.Rent(Math.Max(count, 1) * RawLength);
        _hasPrevious = ArrayPool<bool>.Shared.Rent(Math.Max(count, 1));
        if (withPrevious) _previous = ArrayPool<byte>.Shared.Rent(Math.Max(count, 1) * RawLength);
    }

    public int Count { get; }
    public int MappedCount { get; internal set; }
    public int OptOutCount { get; internal set; }
    public bool AllMapped => MappedCount == Count;

    public MapOutcome Outcome(int i) => _outcomes[Check(i)];

    /// <summary>The bucket of a mapped identity.</summary>
    public SaltBucket Bucket(int i) => _buckets[Check(i)] ?? throw new InvalidOperationException("The identity was not mapped.");

    /// <summary>The current raw UID2 (33 bytes) of a mapped identity.</summary>
    public ReadOnlySpan<byte> RawUid(int i) => _raw!.AsSpan(Check(i) * RawLength, RawLength);

    /// <summary>The previous raw UID2 of a mapped identity, or empty when there is none (or it was not asked for).</summary>
    public ReadOnlySpan<byte> PreviousRawUid(int i) =>
        _previous is not null && _hasPrevious[Check(i)] ? _previous.AsSpan(i * RawLength, RawLength) : default;

    internal void SetUnmapped(int i, MapOutcome outcome)
    {
        _outcomes[i] = outcome;
        _buckets[i] = null;
        _hasPrevious[i] = false;
    }

    internal void SetMapped(IdentityDeriver deriver, IdentityType type, ReadOnlySpan<byte> firstLevelHash, int i, long nowMs)
    {
        _outcomes[i] = MapOutcome.Mapped;
        var bucket = _buckets[i] = deriver.ComputeRawUid(type, firstLevelHash, _raw!.AsSpan(i * RawLength, RawLength));
        _hasPrevious[i] = _previous is not null
            && deriver.TryComputePreviousRawUid(type, firstLevelHash, bucket, nowMs, _previous.AsSpan(i * RawLength, RawLength));
    }

    private int Check(int i) => (uint)i < (uint)Count ? i : throw new ArgumentOutOfRangeException(nameof(i));

    public void Dispose()
    {
        var raw = Interlocked.Exchange(ref _raw, null);
        if (raw is null) return;
        ArrayPool<byte>.Shared.Return(raw, clearArray: true);
        if (_previous is not null) ArrayPool<byte>.Shared.Return(_previous, clearArray: true);
        ArrayPool<SaltBucket?>.Shared.Return(_buckets, clearArray: true);
        ArrayPool<MapOutcome>.Shared.Return(_outcomes);
        ArrayPool<bool>.Shared.Return(_hasPrevious);
        _outcomes = [];
        _buckets = [];
        _hasPrevious = [];
        _previous = null;
    }
}

/// <summary>Maps DII to raw UID2s for advertisers (MAPPER role), honouring opt-outs and the test identities.</summary>
public sealed class IdentityMapService(OperatorStateProvider stateProvider, TimeProvider time, OperatorMetrics metrics)
{
    /// <summary>Batches at least this large are derived on all cores.</summary>
    private const int ParallelThreshold = 256;

    /// <summary>Identities per parallel work item: enough to amortise the scheduling, small enough to balance the cores.</summary>
    private const int ChunkSize = 128;

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>
    /// Maps each value of one kind (a null value is an invalid identifier); results are in input order. With
    /// <paramref name="withPrevious"/>, the previous raw UID2 of each bucket still within its previous-salt window too.
    /// The caller disposes the batch.
    /// </summary>
    public MapBatch Map(OperatorState state, DiiKind kind, IReadOnlyList<string?> values, DateTimeOffset now, bool withPrevious = false)
    {
        if (state.Deriver is null || state.TestIdentities is null) throw new InvalidOperationException("Salts are not loaded.");
        if (!IdentityKinds.TryGet(kind, out var descriptor)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown DII kind.");
        var batch = new MapBatch(values.Count, withPrevious);
        var nowMs = now.ToUnixTimeMilliseconds();
        if (values.Count >= ParallelThreshold)
        {
            var chunks = (values.Count + ChunkSize - 1) / ChunkSize;
            Parallel.For(0, chunks, c =>
            {
                var end = Math.Min(values.Count, (c + 1) * ChunkSize);
                for (var i = c * ChunkSize; i < end; i++) MapOne(state, descriptor, values[i], batch, i, nowMs);
            });
        }
        else
        {
            for (var i = 0; i < values.Count; i++) MapOne(state, descriptor, values[i], batch, i, nowMs);
        }
        int mapped = 0, optOut = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var outcome = batch.Outcome(i);
            if (outcome == MapOutcome.Mapped) mapped++;
            else if (outcome == MapOutcome.OptOut) optOut++;
        }
        batch.MappedCount = mapped;
        batch.OptOutCount = optOut;
        metrics.Mapped("mapped", mapped);
        metrics.Mapped("optout", optOut);
        metrics.Mapped("invalid", batch.Count - mapped - optOut);
        return batch;
    }

    private void MapOne(OperatorState state, DiiKindDescriptor descriptor, string? value, MapBatch batch, int i, long nowMs)
    {
        // Normalised DII hash and first-level hash on the stack: nothing allocated per identity.
        Span<byte> diiHash = stackalloc byte[IdentityHasher.HashLength];
        Span<byte> flh = stackalloc byte[IdentityHasher.HashLength];
        if (value is null || !descriptor.Normalize(value, diiHash))
        {
            batch.SetUnmapped(i, MapOutcome.Invalid);
            return;
        }
        var deriver = state.Deriver!;
        deriver.FirstLevelHash(diiHash, flh);
        if (stateProvider.IsOptedOut(state, flh)) batch.SetUnmapped(i, MapOutcome.OptOut);
        else batch.SetMapped(deriver, descriptor.Type, flh, i, nowMs);
        diiHash.Clear();
        flh.Clear();
    }
}
