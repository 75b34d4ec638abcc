using BenchmarkDotNet.Running;

namespace Uid2.Benchmarks;

public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["growth", ..])
        {
            Environment.ExitCode = GrowthBenchmark.RunAsync(args[1..]).GetAwaiter().GetResult();
            return;
        }
        if (args is ["webhooks", ..])
        {
            Environment.ExitCode = WebhookBenchmark.RunAsync(args[1..]).GetAwaiter().GetResult();
            return;
        }
        if (args is ["salts-timing", ..])
        {
            Console.WriteLine("| store | buckets | save (empty store) | load | save the whole set after rotating 1% | rotate 1% (admin / scheduler: blocks holding rotated buckets only, load included) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            SaltStoreTiming.RunAsync(args.Length > 1 ? int.Parse(args[1]) : 1 << 20).GetAwaiter().GetResult();
            return;
        }
        if (args is ["replay-sizing", ..])
        {
            TrustBenchmarks.PrintReplaySizing(args.Length > 1 ? int.Parse(args[1]) : 2_000_000);
            return;
        }
        if (args is ["optout-sizing", ..])
        {
            OptOutIndexBenchmarks.PrintSizing(args.Length > 1 ? int.Parse(args[1]) : 10_000_000);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
