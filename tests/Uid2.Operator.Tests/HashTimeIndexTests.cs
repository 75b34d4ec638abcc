using Uid2.Operator.State;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Internet scale": the compact opt-out index (<see cref="HashTimeIndex"/>) agrees with a plain dictionary
/// through adds, batches and merges, keeps the latest time per key, and never lets a concurrent reader miss a key
/// while merges move entries from the delta into the partitions.
/// </summary>
public sealed class HashTimeIndexTests
{
    private static Hash32 Key(Random random)
    {
        Span<byte> bytes = stackalloc byte[32];
        random.NextBytes(bytes);
        return Hash32.From(bytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Agrees_with_a_dictionary_through_adds_batches_and_merges(int seed)
    {
        var random = new Random(seed);
        var index = new HashTimeIndex();
        var expected = new Dictionary<Hash32, uint>();
        var keys = new List<Hash32>();
        void Expect(Hash32 k, uint s) => expected[k] = expected.TryGetValue(k, out var old) ? Math.Max(old, s) : s;

        for (var round = 0; round < 40; round++)
        {
            switch (random.Next(3))
            {
                case 0: // single adds, some of them repeats with an older or newer time
                    for (var i = 0; i < random.Next(1, 3000); i++)
                    {
                        var k = keys.Count > 0 && random.Next(4) == 0 ? keys[random.Next(keys.Count)] : Key(random);
                        var s = (uint)random.Next(1, 1_000_000);
                        keys.Add(k);
                        index.Add(k, s);
                        Expect(k, s);
                    }
                    index.MergeIfDue();
                    break;
                case 1: // a batch, large enough at times to go straight into the partitions, with duplicates inside
                    var batch = new HashTimeIndex.Entry[random.Next(1, 20_000)];
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var k = keys.Count > 0 && random.Next(5) == 0 ? keys[random.Next(keys.Count)] : Key(random);
                        keys.Add(k);
                        batch[i] = new HashTimeIndex.Entry(k, (uint)random.Next(1, 1_000_000));
                        Expect(k, batch[i].Seconds);
                    }
                    index.AddBatch(batch);
                    break;
                default:
                    index.Merge();
                    Assert.Equal(0, index.DeltaCount);
                    break;
            }
            Assert.Equal(expected.Count, index.Count);
            foreach (var k in keys.Skip(Math.Max(0, keys.Count - 500)).Concat(keys.Take(200)))
            {
                Assert.True(index.TryGet(k, out var s));
                Assert.Equal(expected[k], s);
            }
            for (var i = 0; i < 200; i++) Assert.False(index.TryGet(Key(random), out _));
        }
        index.Merge();
        Assert.Equal(expected.Count, index.MergedCount);
        foreach (var (k, s) in expected)
        {
            Assert.True(index.TryGet(k, out var got));
            Assert.Equal(s, got);
        }
    }

    [Fact]
    public async Task A_reader_never_misses_a_key_while_merges_run()
    {
        var index = new HashTimeIndex();
        var keys = new Hash32[200_000];
        var random = new Random(7);
        for (var i = 0; i < keys.Length; i++) keys[i] = Key(random);
        var written = 0;
        var missed = 0;
        using var stop = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            var rnd = new Random(r);
            while (!stop.IsCancellationRequested)
            {
                var upTo = Volatile.Read(ref written);
                if (upTo == 0) continue;
                var k = keys[rnd.Next(upTo)];
                if (!index.TryGet(k, out _)) Interlocked.Increment(ref missed);
            }
        })).ToArray();

        for (var i = 0; i < keys.Length; i++)
        {
            index.Add(keys[i], (uint)i + 1);
            Volatile.Write(ref written, i + 1);
            if (i % 1000 == 999) index.MergeIfDue();
        }
        index.Merge();
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Equal(0, missed);
        Assert.Equal(keys.Length, index.MergedCount);
    }

    [Fact]
    public void Entries_take_36_bytes()
    {
        Assert.Equal(36, System.Runtime.CompilerServices.Unsafe.SizeOf<HashTimeIndex.Entry>());
    }
}
