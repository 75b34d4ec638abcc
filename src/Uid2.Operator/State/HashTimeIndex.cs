using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Uid2.Operator.State;

/// <summary>
/// A compact map from 32-byte hashes (first-level hashes, raw UID2s: uniformly distributed) to a time in Unix seconds,
/// for hundreds of millions of entries: 36 bytes an entry at rest, lock-free reads, incremental writes.
/// <para>
/// Layout, as an LSM tree with one level: 4,096 partitions by the key's top 12 bits, each an immutable array of
/// fixed-width entries sorted by key (binary search: ~12 steps at 100 million entries), plus a small concurrent delta
/// that takes new entries. When the delta reaches 1/256 of the entries (at least 4,096) the writer merges it into the
/// partitions, one partition at a time (so a merge needs one partition's worth of extra memory, and each entry is
/// copied about 256 times over its life: a few microseconds of memcpy per opt-out at 100 million). Large batches (a
/// start-up load) are sorted and merged straight into the partitions without going through the delta.
/// </para>
/// <para>
/// Readers look in the delta first, then in the partition: a merge publishes a partition before it removes the merged
/// entries from the delta, so a reader that misses an entry in the delta finds it in the partition. A key is kept with
/// its latest time. Writers (<see cref="Add"/> from request threads, <see cref="AddBatch"/> and <see cref="MergeIfDue"/>
/// from the store sync) may run concurrently; batches and merges are serialized among themselves.
/// </para>
/// </summary>
public sealed class HashTimeIndex
{
    /// <summary>One entry: the key and the time in Unix seconds (36 bytes, no padding).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public readonly struct Entry(Hash32 key, uint seconds)
    {
        public readonly Hash32 Key = key;
        public readonly uint Seconds = seconds;
    }

    private const int PartitionBits = 12;

    /// <summary>How many partitions the keys are spread over (by their top 12 bits).</summary>
    public const int PartitionCount = 1 << PartitionBits;
    private const int MinDeltaToMerge = 4096;
    private const int DeltaFraction = 256;

    private readonly Entry[][] _partitions = new Entry[1 << PartitionBits][];
    private readonly ConcurrentDictionary<Hash32, uint> _delta = new();
    private readonly object _mergeLock = new();
    private long _partitionTotal;

    public HashTimeIndex()
    {
        for (var i = 0; i < _partitions.Length; i++) _partitions[i] = [];
    }

    /// <summary>Entries in the partitions (merged); <see cref="Count"/> adds the delta's new keys.</summary>
    public long MergedCount => Interlocked.Read(ref _partitionTotal);

    /// <summary>Entries waiting in the delta.</summary>
    public int DeltaCount => _delta.Count;

    /// <summary>Distinct keys (the delta's keys that are not merged yet included). Costs one lookup per delta entry.</summary>
    public long Count
    {
        get
        {
            long extra = 0;
            foreach (var kv in _delta)
                if (!TryFind(Volatile.Read(ref _partitions[PartitionOf(kv.Key)]), kv.Key, out _)) extra++;
            return MergedCount + extra;
        }
    }

    public bool TryGet(in Hash32 key, out uint seconds)
    {
        if (_delta.TryGetValue(key, out seconds))
        {
            if (TryFind(Volatile.Read(ref _partitions[PartitionOf(key)]), key, out var merged) && merged > seconds) seconds = merged;
            return true;
        }
        return TryFind(Volatile.Read(ref _partitions[PartitionOf(key)]), key, out seconds);
    }

    /// <summary>Adds or moves forward one key (lock-free; merged later).</summary>
    public void Add(in Hash32 key, uint seconds) => _delta.AddOrUpdate(key, seconds, (_, old) => Math.Max(old, seconds));

    /// <summary>Adds many keys: into the delta if few, else sorted and merged straight into the partitions.</summary>
    public void AddBatch(Span<Entry> entries)
    {
        if (entries.Length < Math.Max(MinDeltaToMerge, MergedCount / DeltaFraction))
        {
            foreach (ref readonly var e in entries) Add(e.Key, e.Seconds);
            MergeIfDue();
            return;
        }
        lock (_mergeLock) MergeSorted(Sort(entries));
    }

    /// <summary>Merges the delta into the partitions once it holds 1/256 of the entries (at least 4,096).</summary>
    public void MergeIfDue()
    {
        if (_delta.Count >= Math.Max(MinDeltaToMerge, MergedCount / DeltaFraction)) Merge();
    }

    /// <summary>Merges the whole delta into the partitions now.</summary>
    public void Merge()
    {
        lock (_mergeLock)
        {
            var snapshot = _delta.ToArray();
            if (snapshot.Length == 0) return;
            var entries = new Entry[snapshot.Length];
            for (var i = 0; i < snapshot.Length; i++) entries[i] = new Entry(snapshot[i].Key, snapshot[i].Value);
            MergeSorted(Sort(entries));
            // Only now, and only entries not moved forward meanwhile: a reader never misses a key.
            foreach (var kv in snapshot) _delta.TryRemove(kv);
        }
    }

    /// <summary>
    /// Merges the delta, then returns every partition as it is now (sorted, one entry per key): what a snapshot writes.
    /// Entries added meanwhile may or may not be in them.
    /// </summary>
    public Entry[][] ExportPartitions()
    {
        Merge();
        var partitions = new Entry[PartitionCount][];
        for (var p = 0; p < partitions.Length; p++) partitions[p] = Volatile.Read(ref _partitions[p]);
        return partitions;
    }

    /// <summary>
    /// Sets one partition of an index whose partitions are still empty (a snapshot load), after checking that the
    /// entries are strictly sorted and all belong to it; throws <see cref="InvalidDataException"/> otherwise.
    /// </summary>
    public void LoadPartition(int partition, Entry[] sorted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(partition, PartitionCount);
        for (var i = 0; i < sorted.Length; i++)
        {
            if (PartitionOf(sorted[i].Key) != partition || (i > 0 && Compare(sorted[i - 1].Key, sorted[i].Key) >= 0))
                throw new InvalidDataException("A snapshot partition is not sorted or holds keys of another partition.");
        }
        lock (_mergeLock)
        {
            if (_partitions[partition].Length != 0) throw new InvalidOperationException("Only an empty partition can be loaded.");
            Volatile.Write(ref _partitions[partition], sorted);
            Interlocked.Add(ref _partitionTotal, sorted.Length);
        }
    }

    /// <summary>Empties the index (a snapshot that turned out not to match the store).</summary>
    public void Clear()
    {
        lock (_mergeLock)
        {
            for (var p = 0; p < _partitions.Length; p++) Volatile.Write(ref _partitions[p], []);
            Interlocked.Exchange(ref _partitionTotal, 0);
            _delta.Clear();
        }
    }

    /// <summary>
    /// Sorts by key: a counting sort on the partition bits (the keys are uniform hashes, so the partitions are even),
    /// then each partition's run with a struct comparer. O(n) plus n·log(n / 4,096) comparisons.
    /// </summary>
    private static Span<Entry> Sort(Span<Entry> entries)
    {
        if (entries.Length < 64)
        {
            entries.Sort(default(EntryComparer));
            return entries;
        }
        var starts = new int[(1 << PartitionBits) + 1];
        foreach (ref readonly var e in entries) starts[PartitionOf(e.Key) + 1]++;
        for (var p = 1; p < starts.Length; p++) starts[p] += starts[p - 1];
        var sorted = GC.AllocateUninitializedArray<Entry>(entries.Length);
        var next = (int[])starts.Clone();
        foreach (ref readonly var e in entries) sorted[next[PartitionOf(e.Key)]++] = e;
        // Large batches (a start-up load) use every core.
        if (entries.Length >= 1 << 16)
            Parallel.For(0, 1 << PartitionBits, p => sorted.AsSpan(starts[p], starts[p + 1] - starts[p]).Sort(default(EntryComparer)));
        else
            for (var p = 0; p < 1 << PartitionBits; p++)
                sorted.AsSpan(starts[p], starts[p + 1] - starts[p]).Sort(default(EntryComparer));
        return sorted;
    }

    private readonly struct EntryComparer : IComparer<Entry>
    {
        public int Compare(Entry x, Entry y) => HashTimeIndex.Compare(x.Key, y.Key);
    }

    /// <summary>Merges sorted entries (duplicates allowed) into their partitions, publishing each partition whole.</summary>
    private void MergeSorted(ReadOnlySpan<Entry> sorted)
    {
        var start = 0;
        while (start < sorted.Length)
        {
            var p = PartitionOf(sorted[start].Key);
            var end = start + 1;
            while (end < sorted.Length && PartitionOf(sorted[end].Key) == p) end++;
            var old = _partitions[p];
            var merged = MergeInto(old, sorted[start..end]);
            Volatile.Write(ref _partitions[p], merged);
            Interlocked.Add(ref _partitionTotal, merged.Length - old.Length);
            start = end;
        }
    }

    /// <summary>Two sorted runs into one sorted array without duplicate keys (the latest time wins).</summary>
    private static Entry[] MergeInto(Entry[] old, ReadOnlySpan<Entry> added)
    {
        var result = GC.AllocateUninitializedArray<Entry>(old.Length + added.Length);
        int i = 0, j = 0, n = 0;
        while (i < old.Length || j < added.Length)
        {
            Entry next;
            if (j >= added.Length || (i < old.Length && Compare(old[i].Key, added[j].Key) <= 0)) next = old[i++];
            else next = added[j++];
            if (n > 0 && result[n - 1].Key == next.Key)
            {
                if (next.Seconds > result[n - 1].Seconds) result[n - 1] = next;
            }
            else
            {
                result[n++] = next;
            }
        }
        return n == result.Length ? result : result.AsSpan(0, n).ToArray();
    }

    /// <summary>
    /// Finds a key in a sorted partition. The keys are uniform hashes, so the key's own bits below the partition bits
    /// predict its position (interpolation); a gallop from there brackets it within a few entries — about two cache
    /// misses — and a binary search finishes.
    /// </summary>
    private static bool TryFind(Entry[] partition, in Hash32 key, out uint seconds)
    {
        seconds = 0;
        var n = partition.Length;
        if (n == 0) return false;
        var fraction = key.A << PartitionBits;
        var guess = (int)(((UInt128)fraction * (ulong)n) >> 64);
        int lo, hi;
        var c = Compare(partition[guess].Key, key);
        if (c == 0)
        {
            seconds = partition[guess].Seconds;
            return true;
        }
        if (c < 0)
        {
            // partition[guess] < key: gallop right.
            lo = guess + 1;
            var step = 1;
            hi = lo;
            while (hi < n && Compare(partition[hi].Key, key) < 0)
            {
                lo = hi + 1;
                hi += step;
                step <<= 1;
            }
            hi = Math.Min(hi, n - 1);
        }
        else
        {
            // partition[guess] > key: gallop left.
            hi = guess - 1;
            var step = 1;
            lo = hi;
            while (lo >= 0 && Compare(partition[lo].Key, key) > 0)
            {
                hi = lo - 1;
                lo -= step;
                step <<= 1;
            }
            lo = Math.Max(lo, 0);
        }
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            c = Compare(partition[mid].Key, key);
            if (c == 0)
            {
                seconds = partition[mid].Seconds;
                return true;
            }
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return false;
    }

    private static int PartitionOf(in Hash32 key) => (int)(key.A >> (64 - PartitionBits));

    /// <summary>Byte order of the 32-byte keys (their words are read big-endian).</summary>
    public static int Compare(in Hash32 x, in Hash32 y)
    {
        if (x.A != y.A) return x.A < y.A ? -1 : 1;
        if (x.B != y.B) return x.B < y.B ? -1 : 1;
        if (x.C != y.C) return x.C < y.C ? -1 : 1;
        return x.D == y.D ? 0 : x.D < y.D ? -1 : 1;
    }
}
