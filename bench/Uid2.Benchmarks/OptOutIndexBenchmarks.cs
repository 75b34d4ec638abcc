using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Benchmarks;

/// <summary>
/// Issue "Internet scale": the opt-out index — lookups (hit and miss) with N opt-outs, and
/// <c>dotnet run -c Release -- optout-sizing N</c> for its memory per opt-out and how fast it fills.
/// </summary>
[MemoryDiagnoser]
public class OptOutIndexBenchmarks
{
    [Params(1_000_000, 10_000_000)]
    public int OptOuts { get; set; }

    private OptOutIndex _index = null!;
    private byte[][] _present = null!;
    private byte[][] _absent = null!;
    private int _i;

    [GlobalSetup]
    public void Setup()
    {
        _index = Fill(OptOuts, out _present);
        _absent = Enumerable.Range(0, 4096).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
    }

    /// <summary>An index of <paramref name="count"/> random opt-outs, loaded as a start-up sync would (batches of 1 million).</summary>
    public static OptOutIndex Fill(int count, out byte[][] sample) => Fill(count, out sample, out _);

    public static OptOutIndex Fill(int count, out byte[][] sample, out TimeSpan applying)
    {
        var index = new OptOutIndex();
        sample = new byte[4096][];
        const int batch = 1_000_000;
        var at = DateTimeOffset.UtcNow;
        var random = new Random(42);
        applying = TimeSpan.Zero;
        for (var start = 0; start < count; start += batch)
        {
            var rows = new OptOutRecord[Math.Min(batch, count - start)];
            for (var i = 0; i < rows.Length; i++)
            {
                var hash = new byte[32];
                var id = new byte[32];
                random.NextBytes(hash);
                random.NextBytes(id);
                rows[i] = new OptOutRecord(start + i + 1, hash, id, at);
                if (start + i < sample.Length) sample[start + i] = hash;
            }
            var watch = System.Diagnostics.Stopwatch.StartNew();
            index.Apply(rows);
            applying += watch.Elapsed;
        }
        return index;
    }

    [Benchmark]
    public bool LookupHit() => _index.IsOptedOut(_present[_i++ & 4095], out _);

    [Benchmark]
    public bool LookupMiss() => _index.IsOptedOut(_absent[_i++ & 4095], out _);

    public static void PrintSizing(int count)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = Fill(count, out _, out var elapsed);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(index);
        Console.WriteLine($"opt-out index: {count:N0} opt-outs, {(after - before) / (1 << 20):N0} MiB managed, " +
                          $"{(double)(after - before) / count:F1} B/opt-out (both lookups); applying the rows took {elapsed.TotalSeconds:N1} s " +
                          "(as a start-up sync applies them, in batches of 1 million)");
    }
}
