using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Opted-out identities by first-level hash and by raw UID2, with the time of the (latest) opt-out, kept at second
/// precision as the reference's opt-out store does. Two <see cref="HashTimeIndex"/>es: 72 bytes an opt-out in memory
/// (plus a delta of at most 1/256 of them), lock-free reads, incremental updates as the store reports new rows.
/// </summary>
public sealed class OptOutIndex
{
    private readonly HashTimeIndex _byFirstLevelHash = new();
    private readonly HashTimeIndex _byAdvertisingId = new();
    private long _lastId;
    private readonly object _anchorLock = new();
    private long _anchorId;
    private byte[] _anchorHash = new byte[32];

    /// <summary>The highest store row id applied so far.</summary>
    public long LastId => Interlocked.Read(ref _lastId);

    /// <summary>Opted-out identities (distinct first-level hashes).</summary>
    public long Count => _byFirstLevelHash.Count;

    /// <summary>The two lookups (for sizing and benchmarks).</summary>
    public HashTimeIndex ByFirstLevelHash => _byFirstLevelHash;
    public HashTimeIndex ByAdvertisingId => _byAdvertisingId;

    /// <summary>
    /// How far below <see cref="LastId"/> each sync reads again. Row ids are handed out before commit, so concurrent
    /// writers (other instances, the admin CLI) can commit out of id order: a row below the highest id seen may still
    /// appear. Re-reading a short window (bounded by the writers' concurrency) catches it; applying a row twice is harmless.
    /// </summary>
    public const long ReReadWindow = 256;

    /// <summary>The id to read after on the next sync.</summary>
    public long SyncFromId => Math.Max(0, LastId - ReReadWindow);

    /// <summary>Applies rows read from the store, in id order, and advances <see cref="LastId"/>.</summary>
    public void Apply(IReadOnlyList<OptOutRecord> records)
    {
        var byHash = new HashTimeIndex.Entry[records.Count];
        var byId = new HashTimeIndex.Entry[records.Count];
        int nHash = 0, nId = 0;
        long maxId = 0;
        OptOutRecord? newest = null;
        foreach (var r in records)
        {
            if (r.Id > maxId)
            {
                maxId = r.Id;
                newest = r;
            }
            if (r.FirstLevelHash.Length != 32) continue;
            var seconds = Seconds(r.Timestamp);
            byHash[nHash++] = new HashTimeIndex.Entry(Hash32.From(r.FirstLevelHash), seconds);
            if (r.AdvertisingId.Length >= 32) byId[nId++] = new HashTimeIndex.Entry(AdvertisingIdKey(r.AdvertisingId), seconds);
        }
        if (nHash >= 1 << 16)
        {
            // A start-up load: both lookups at once.
            Parallel.Invoke(() => _byFirstLevelHash.AddBatch(byHash.AsSpan(0, nHash)), () => _byAdvertisingId.AddBatch(byId.AsSpan(0, nId)));
        }
        else
        {
            _byFirstLevelHash.AddBatch(byHash.AsSpan(0, nHash));
            _byAdvertisingId.AddBatch(byId.AsSpan(0, nId));
        }
        if (newest is { FirstLevelHash.Length: 32 })
        {
            lock (_anchorLock)
            {
                if (newest.Id > _anchorId)
                {
                    _anchorId = newest.Id;
                    _anchorHash = newest.FirstLevelHash;
                }
            }
        }
        long seen;
        while (maxId > (seen = Interlocked.Read(ref _lastId)) && Interlocked.CompareExchange(ref _lastId, maxId, seen) != seen) { }
    }

    /// <summary>
    /// The store row with the highest id applied so far and its first-level hash (what a snapshot records, so that a
    /// later start can check the store still has that row).
    /// </summary>
    public (long Id, byte[] FirstLevelHash) Anchor
    {
        get
        {
            lock (_anchorLock) return (_anchorId, _anchorHash);
        }
    }

    /// <summary>After a snapshot load: the snapshot's anchor becomes the last row applied.</summary>
    public void SetAnchor(long id, byte[] firstLevelHash)
    {
        lock (_anchorLock)
        {
            _anchorId = id;
            _anchorHash = firstLevelHash;
        }
        Interlocked.Exchange(ref _lastId, id);
    }

    /// <summary>Forgets everything (a snapshot that does not match the store); the next read starts from the first row.</summary>
    public void Clear()
    {
        _byFirstLevelHash.Clear();
        _byAdvertisingId.Clear();
        SetAnchor(0, new byte[32]);
    }

    /// <summary>
    /// Applies an opt-out this instance has just written, without advancing <see cref="LastId"/>: rows other writers
    /// committed with lower ids have not been read yet, and the next sync must still ask for them.
    /// </summary>
    public void ApplyLocal(OptOutRecord record)
    {
        if (record.FirstLevelHash.Length != 32) return;
        var seconds = Seconds(record.Timestamp);
        _byFirstLevelHash.Add(Hash32.From(record.FirstLevelHash), seconds);
        if (record.AdvertisingId.Length >= 32) _byAdvertisingId.Add(AdvertisingIdKey(record.AdvertisingId), seconds);
    }

    public bool IsOptedOut(ReadOnlySpan<byte> firstLevelHash, out DateTimeOffset since)
    {
        var found = _byFirstLevelHash.TryGet(Hash32.From(firstLevelHash), out var seconds);
        since = found ? DateTimeOffset.FromUnixTimeSeconds(seconds) : default;
        return found;
    }

    /// <summary>By raw UID (32-byte v2 or 33-byte v3; both are keyed by their last 32 bytes), as /v2/optout/status asks.</summary>
    public bool IsAdvertisingIdOptedOut(ReadOnlySpan<byte> rawUid, out DateTimeOffset since)
    {
        since = default;
        if (rawUid.Length is not (32 or 33) || !_byAdvertisingId.TryGet(AdvertisingIdKey(rawUid), out var seconds)) return false;
        since = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private static uint Seconds(DateTimeOffset at) => (uint)Math.Clamp(at.ToUnixTimeSeconds(), 0, uint.MaxValue);

    private static Hash32 AdvertisingIdKey(ReadOnlySpan<byte> rawUid) => Hash32.From(rawUid[^32..]);
}
