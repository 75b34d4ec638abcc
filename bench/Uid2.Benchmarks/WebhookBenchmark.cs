using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Uid2.Core.Auth;
using Uid2.Operator;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Benchmarks;

/// <summary>
/// Issue "Opt-out for people and for DSPs", the webhook benchmark: <c>--count</c> opt-outs (default 10,000) recorded
/// in batches of 100 (as group-committed logouts are), delivered by a Production operator (in this process) to
/// <c>--dsps</c> (default 3) DSP receivers on loopback (real Kestrel, answering 200). Reports, per DSP and overall,
/// the delivery throughput (first commit to last acknowledgement) and the delay from each opt-out's commit to its
/// arrival at the DSP (p50, p99, max). <c>dotnet run -c Release --project bench/Uid2.Benchmarks -- webhooks
/// [--provider sqlite|postgres] [--count 10000] [--dsps 3] [--rate 0]</c> (<c>--rate</c>: opt-outs a second, 0 = a burst).
/// </summary>
public static class WebhookBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var provider = Arg("provider", "sqlite");
        var count = int.Parse(Arg("count", "10000"), CultureInfo.InvariantCulture);
        var dsps = int.Parse(Arg("dsps", "3"), CultureInfo.InvariantCulture);
        // Opt-outs per second to record at (0: as fast as the store takes them, a burst).
        var rate = double.Parse(Arg("rate", "0"), CultureInfo.InvariantCulture);

        var dir = Directory.CreateTempSubdirectory("uid2-webhooks-");
        string? pgDatabase = null;
        var pgServer = Environment.GetEnvironmentVariable("UID2_TEST_POSTGRES");
        var receivers = new List<Receiver>();
        WebApplication? app = null;
        try
        {
            var kekFile = Path.Combine(dir.FullName, "kek");
            KeyEncryptionKeys.WriteKeyFile(kekFile, [("bench", RandomNumberGenerator.GetBytes(32))], createOnly: true);
            string cs;
            if (provider == "postgres")
            {
                if (string.IsNullOrEmpty(pgServer)) throw new InvalidOperationException("--provider postgres needs UID2_TEST_POSTGRES");
                pgDatabase = $"uid2_webhooks_{Environment.ProcessId}";
                await using var admin = new NpgsqlConnection(pgServer);
                await admin.OpenAsync();
                await using var create = new NpgsqlCommand($"CREATE DATABASE {pgDatabase}", admin);
                await create.ExecuteNonQueryAsync();
                cs = new NpgsqlConnectionStringBuilder(pgServer) { Database = pgDatabase }.ConnectionString;
            }
            else
            {
                cs = $"Data Source={Path.Combine(dir.FullName, "uid2.db")}";
            }
            var kek = KeyEncryptionKeys.Resolve(cs, null, kekFile, false);
            Environment.SetEnvironmentVariable("UID2_KEK_FILE", kekFile);

            await using var store = Uid2StoreFactory.Create(cs, kek, provider);
            await store.InitializeAsync();
            await StoreBootstrapper.EnsureInitializedAsync(store, TimeProvider.System, 4096, default);
            for (var i = 0; i < dsps; i++)
            {
                var receiver = await Receiver.StartAsync(count);
                receivers.Add(receiver);
                var site = 8000 + i;
                await store.AddParticipantAsync(new Participant(site, $"dsp {i}", Role.IdReader, true, DateTimeOffset.UtcNow));
                await ((IStoreOptOutWebhooks)store).SetOptOutWebhookAsync(
                    new OptOutWebhook(site, receiver.BaseAddress + "optout?user=%%identity%%&optouttime=%%timestamp%%", "GET", true), DateTimeOffset.UtcNow);
            }

            app = OperatorApp.Build(
            [
                "--urls", "http://127.0.0.1:0", "--environment", "Production", "--ConnectionStrings:Uid2", cs, "--Uid2:StoreProvider", provider,
                "--Uid2:SaltBucketCount", "4096", "--Logging:LogLevel:Default", "Warning", "--Uid2:OptOutSnapshot:Enabled", "false",
            ]);
            await OperatorApp.InitializeAsync(app);
            await app.StartAsync();

            // The opt-outs, in batches of 100; each raw UID2's commit time is when its batch returned.
            var committed = new Dictionary<string, long>(count);
            var started = Stopwatch.GetTimestamp();
            var batches = (IStoreOptOutBatches)store;
            for (var done = 0; done < count;)
            {
                var batch = new List<OptOutWrite>();
                for (var j = 0; j < 100 && done < count; j++, done++)
                    batch.Add(new OptOutWrite(RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32), DateTimeOffset.UtcNow));
                await batches.AddOptOutsAsync(batch);
                var at = Stopwatch.GetTimestamp();
                foreach (var o in batch) committed[Convert.ToBase64String(o.AdvertisingId)] = at;
                if (rate > 0)
                {
                    var ahead = TimeSpan.FromSeconds(done / rate) - Stopwatch.GetElapsedTime(started);
                    if (ahead > TimeSpan.Zero) await Task.Delay(ahead);
                }
            }
            var writeSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            var deadline = DateTime.UtcNow.AddMinutes(10);
            while (receivers.Any(r => r.Arrived.Count < count))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("not everything was delivered within 10 minutes");
                await Task.Delay(20);
            }

            Console.WriteLine($"{provider}: {count:N0} opt-outs recorded in {writeSeconds:F2} s ({count / writeSeconds:N0}/s, batches of 100" +
                              $"{(rate > 0 ? $", paced at {rate:N0}/s" : ", as fast as the store takes them")}), {dsps} DSPs");
            Console.WriteLine("| DSP | delivered | duplicates | throughput (first commit → last ack) | delay p50 | delay p99 | delay max |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            var all = new List<double>();
            var lastOverall = 0L;
            for (var i = 0; i < receivers.Count; i++)
            {
                var arrived = receivers[i].Arrived;
                var delays = arrived.Select(kv => Stopwatch.GetElapsedTime(committed[kv.Key], kv.Value).TotalMilliseconds).Order().ToArray();
                all.AddRange(delays);
                var last = arrived.Values.Max();
                lastOverall = Math.Max(lastOverall, last);
                var seconds = Stopwatch.GetElapsedTime(started, last).TotalSeconds;
                Console.WriteLine($"| {8000 + i} | {arrived.Count:N0} | {receivers[i].Duplicates} | {count / seconds:N0}/s ({seconds:F2} s) | " +
                                  $"{Percentile(delays, 0.50):F0} ms | {Percentile(delays, 0.99):F0} ms | {delays[^1]:F0} ms |");
            }
            all.Sort();
            var total = Stopwatch.GetElapsedTime(started, lastOverall).TotalSeconds;
            Console.WriteLine($"| all | {all.Count:N0} | {receivers.Sum(r => r.Duplicates)} | {all.Count / total:N0}/s ({total:F2} s) | " +
                              $"{Percentile(all, 0.50):F0} ms | {Percentile(all, 0.99):F0} ms | {all[^1]:F0} ms |");
            return 0;
        }
        finally
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
            foreach (var r in receivers) await r.DisposeAsync();
            if (pgDatabase is not null)
            {
                NpgsqlConnection.ClearAllPools();
                await using var admin = new NpgsqlConnection(pgServer);
                await admin.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {pgDatabase} WITH (FORCE)", admin);
                await drop.ExecuteNonQueryAsync();
            }
            dir.Delete(recursive: true);
        }
    }

    private static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>A DSP's endpoint: the arrival time of each raw UID2 (the first arrival; later ones count as duplicates).</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public ConcurrentDictionary<string, long> Arrived { get; }
        private int _duplicates;
        public int Duplicates => _duplicates;
        public string BaseAddress { get; private set; } = "";

        private Receiver(WebApplication app, int capacity)
        {
            _app = app;
            Arrived = new ConcurrentDictionary<string, long>(Environment.ProcessorCount, capacity);
        }

        public static async Task<Receiver> StartAsync(int capacity)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new Receiver(app, capacity);
            app.MapGet("/optout", (HttpContext http) =>
            {
                var at = Stopwatch.GetTimestamp();
                if (!receiver.Arrived.TryAdd(http.Request.Query["user"].ToString(), at)) Interlocked.Increment(ref receiver._duplicates);
                return Results.Ok();
            });
            await app.StartAsync();
            receiver.BaseAddress = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/";
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
