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
    private long _lastId;

    /// <summary>The highest store row id applied so far.</summary>
    public long LastId => Interlocked.Read(ref _lastId);

    public int Count => _byFirstLevelHash.Count;

    public void Apply(IEnumerable<OptOutRecord> records)
    {
        foreach (var r in records)
        {
            if (r.FirstLevelHash.Length != 32) continue;
            _byFirstLevelHash.AddOrUpdate(Hash32.From(r.FirstLevelHash), r.Timestamp, (_, old) => r.Timestamp > old ? r.Timestamp : old);
            if (r.Id > _lastId) Interlocked.Exchange(ref _lastId, r.Id);
        }
    }

    public bool IsOptedOut(ReadOnlySpan<byte> firstLevelHash, out DateTimeOffset since) =>
        _byFirstLevelHash.TryGetValue(Hash32.From(firstLevelHash), out since);
}
