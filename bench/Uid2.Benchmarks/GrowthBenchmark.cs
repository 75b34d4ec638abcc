using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;
using NpgsqlTypes;
using Uid2.Core.Auth;
using Uid2.Operator.State;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Benchmarks;

/// <summary>
/// Issue "Internet scale", the growth benchmark: for each count of opt-outs, a store of that size, a Release operator
/// process (Production) started on it twice — first reading every opt-out from the store (then writing its snapshot),
/// then from the snapshot — with its time to healthy and resident memory, then /v2/token/generate and /v2/token/refresh
/// throughput under load (bench/Uid2.LoadTest). Counts above <c>--fill-limit</c> are generated straight into a snapshot
/// file (the store then holds only its anchor row), as the issue allows for 100 million.
/// <c>bash bench/growth.sh</c> runs it on both providers and draws the plot; see bench/README.md.
/// </summary>
public static class GrowthBenchmark
{
    public sealed record Result(string Provider, long OptOuts, double FillSeconds, double? HealthyFromStore, string? RssFromStore,
        double? SnapshotWriteSeconds, double HealthyFromSnapshot, string RssFromSnapshot, double GenerateRps, double GenerateP99,
        double RefreshRps, double RefreshP99, string RssAfterLoad, double? LookupHitNs, double? LookupMissNs);

    public static async Task<int> RunAsync(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, "--" + name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var provider = Arg("provider", "sqlite");
        var counts = Arg("counts", "0,1000000,10000000").Split(',').Select(long.Parse).ToArray();
        var fillLimit = long.Parse(Arg("fill-limit", "10000000"), CultureInfo.InvariantCulture);
        var seconds = int.Parse(Arg("seconds", "10"), CultureInfo.InvariantCulture);
        var csv = Arg("csv", "");
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../.."));
        var operatorDll = Path.Combine(root, "src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll");
        var loadDll = Path.Combine(root, "bench/Uid2.LoadTest/bin/Release/net10.0/uid2-loadtest.dll");
        foreach (var dll in new[] { operatorDll, loadDll })
            if (!File.Exists(dll)) throw new InvalidOperationException($"Build it first (dotnet build -c Release): {dll}");

        Console.WriteLine("| store | opt-outs | filling | healthy: store read / RSS | snapshot written in | healthy: from snapshot / RSS | " +
                          "generate req/s (p99 ms) | refresh req/s (p99 ms) | RSS after load | lookup hit / miss |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var count in counts)
        {
            var result = await RunOneAsync(provider, count, count > fillLimit, seconds, operatorDll, loadDll);
            Console.WriteLine($"| {result.Provider} | {count:N0} | {result.FillSeconds:F0} s | " +
                              $"{(result.HealthyFromStore is { } h ? $"{h:F1} s / {result.RssFromStore}" : "—")} | " +
                              $"{(result.SnapshotWriteSeconds is { } w ? $"{w:F1} s" : "—")} | {result.HealthyFromSnapshot:F1} s / {result.RssFromSnapshot} | " +
                              $"{result.GenerateRps:F0} ({result.GenerateP99:F1}) | {result.RefreshRps:F0} ({result.RefreshP99:F1}) | {result.RssAfterLoad} | " +
                              $"{(result.LookupHitNs is { } hit ? $"{hit:F0} / {result.LookupMissNs:F0} ns" : "—")} |");
            if (csv.Length > 0)
            {
                var exists = File.Exists(csv);
                await using var file = new StreamWriter(csv, append: true);
                if (!exists) await file.WriteLineAsync("provider,optouts,fill_s,healthy_store_s,rss_store,snapshot_write_s,healthy_snapshot_s,rss_snapshot,generate_rps,generate_p99_ms,refresh_rps,refresh_p99_ms,rss_after_load,lookup_hit_ns,lookup_miss_ns");
                await file.WriteLineAsync(string.Join(',', result.Provider, count, F(result.FillSeconds), F(result.HealthyFromStore), result.RssFromStore,
                    F(result.SnapshotWriteSeconds), F(result.HealthyFromSnapshot), result.RssFromSnapshot, F(result.GenerateRps), F(result.GenerateP99),
                    F(result.RefreshRps), F(result.RefreshP99), result.RssAfterLoad, F(result.LookupHitNs), F(result.LookupMissNs)));
            }
        }
        return 0;
    }

    private static string F(double? value) => value is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) : "";

    private static async Task<Result> RunOneAsync(string provider, long count, bool generateSnapshot, int seconds, string operatorDll, string loadDll)
    {
        var dir = Directory.CreateTempSubdirectory("uid2-growth-");
        string? pgDatabase = null;
        var pgServer = Environment.GetEnvironmentVariable("UID2_TEST_POSTGRES");
        try
        {
            var kekFile = Path.Combine(dir.FullName, "kek");
            KeyEncryptionKeys.WriteKeyFile(kekFile, [("bench", RandomNumberGenerator.GetBytes(32))], createOnly: true);
            string cs;
            string? snapshotPath = null;
            if (provider == "postgres")
            {
                if (string.IsNullOrEmpty(pgServer)) throw new InvalidOperationException("--provider postgres needs UID2_TEST_POSTGRES");
                pgDatabase = $"uid2_growth_{Environment.ProcessId}_{count}";
                await using (var admin = new NpgsqlConnection(pgServer))
                {
                    await admin.OpenAsync();
                    await using var create = new NpgsqlCommand($"CREATE DATABASE {pgDatabase}", admin);
                    await create.ExecuteNonQueryAsync();
                }
                cs = new NpgsqlConnectionStringBuilder(pgServer) { Database = pgDatabase }.ConnectionString;
                snapshotPath = Path.Combine(dir.FullName, "optouts.snapshot");
            }
            else
            {
                cs = $"Data Source={Path.Combine(dir.FullName, "uid2.db")}";
            }
            var kek = KeyEncryptionKeys.Resolve(cs, null, kekFile, false);

            // The store, a participant for the load, and the opt-outs.
            IssuedApiKey key;
            var fill = Stopwatch.StartNew();
            await using (var store = Uid2StoreFactory.Create(cs, kek, provider))
            {
                await store.InitializeAsync();
                await StoreBootstrapper.EnsureInitializedAsync(store, TimeProvider.System, 65_536, default);
                var admin = new AdminService(store, TimeProvider.System);
                (_, key, _) = await admin.CreateParticipantAsync("bench", "growth", 77, Role.Generator | Role.Mapper | Role.Optout, default);
                snapshotPath ??= ((SqliteUid2Store)store).DatabasePath + ".optouts";
                if (generateSnapshot) await GenerateSnapshotAsync(store, kek, snapshotPath, count);
                else await FillAsync(store, cs, provider, count);
            }
            var filled = fill.Elapsed.TotalSeconds;

            var settings = new List<string> { "--Uid2:OptOutSnapshot:Path", snapshotPath };
            double? healthyFromStore = null, snapshotWrite = null;
            string? rssFromStore = null;
            if (!generateSnapshot)
            {
                await using var first = await OperatorProcess.StartAsync(operatorDll, cs, provider, kekFile, settings);
                healthyFromStore = first.HealthySeconds;
                rssFromStore = first.Rss();
                if (count >= 100_000)
                {
                    // "Wrote N opt-outs up to row R to the snapshot F in S s."
                    var wrote = await first.WaitForLineAsync("Wrote ", TimeSpan.FromMinutes(10));
                    var match = wrote is null ? null : System.Text.RegularExpressions.Regex.Match(wrote, @" in ([0-9.]+) s\.");
                    snapshotWrite = match is { Success: true } ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
                }
            }
            await using var second = await OperatorProcess.StartAsync(operatorDll, cs, provider, kekFile, settings);
            if (count >= 100_000 && !second.Output.Any(l => l.Contains("from the snapshot", StringComparison.Ordinal)))
                throw new InvalidOperationException("The second start did not load the snapshot:\n" + string.Join('\n', second.Output));
            var rssFromSnapshot = second.Rss();

            var (genRps, genP99) = await LoadAsync(loadDll, second.Url, key, "v2-generate", seconds);
            var (refRps, refP99) = await LoadAsync(loadDll, second.Url, key, "v2-refresh", seconds);
            var rssAfterLoad = second.Rss();
            await second.DisposeAsync();
            var (hitNs, missNs) = count >= 1_000_000 ? MeasureLookups(kek, snapshotPath) : ((double?)null, (double?)null);
            return new Result(provider, count, filled, healthyFromStore, rssFromStore, snapshotWrite, second.HealthySeconds, rssFromSnapshot,
                genRps, genP99, refRps, refP99, rssAfterLoad, hitNs, missNs);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            NpgsqlConnection.ClearAllPools();
            if (pgDatabase is not null)
            {
                await using var admin = new NpgsqlConnection(pgServer);
                await admin.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {pgDatabase} WITH (FORCE)", admin);
                await drop.ExecuteNonQueryAsync();
            }
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Real rows: SQLite through the admin import (one transaction per 50,000), PostgreSQL by binary COPY.</summary>
    private static async Task FillAsync(IUid2Store store, string cs, string provider, long count)
    {
        var random = new Random((int)count);
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        if (provider == "postgres")
        {
            await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { CommandTimeout = 0 }.ConnectionString);
            await conn.OpenAsync();
            await using var copy = await conn.BeginBinaryImportAsync("COPY optouts (first_level_hash, advertising_id, timestamp_ms) FROM STDIN (FORMAT BINARY)");
            var hash = new byte[32];
            var id = new byte[33];
            for (long i = 0; i < count; i++)
            {
                random.NextBytes(hash);
                random.NextBytes(id);
                await copy.StartRowAsync();
                await copy.WriteAsync(hash, NpgsqlDbType.Bytea);
                await copy.WriteAsync(id, NpgsqlDbType.Bytea);
                await copy.WriteAsync(at.ToUnixTimeMilliseconds(), NpgsqlDbType.Bigint);
            }
            await copy.CompleteAsync();
            return;
        }
        var batch = new List<(byte[], byte[], DateTimeOffset)>(50_000);
        for (long i = 0; i < count; i++)
        {
            var hash = new byte[32];
            var id = new byte[33];
            random.NextBytes(hash);
            random.NextBytes(id);
            batch.Add((hash, id, at));
            if (batch.Count == batch.Capacity || i == count - 1)
            {
                await ((IStoreAdministration)store).ImportOptOutsAsync(batch);
                batch.Clear();
            }
        }
    }

    /// <summary>
    /// One real row in the store (the anchor), and a snapshot of <paramref name="count"/> opt-outs (that row and random
    /// others) generated a partition at a time, already sorted, without building an index in memory.
    /// </summary>
    private static async Task GenerateSnapshotAsync(IUid2Store store, KeyEncryptionKeyRing kek, string path, long count)
    {
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        var anchor = await store.AddOptOutAsync(RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(33), at);
        var seconds = (uint)at.ToUnixTimeSeconds();
        var anchorEntries = new[]
        {
            new HashTimeIndex.Entry(Hash32.From(anchor.FirstLevelHash), seconds),
            new HashTimeIndex.Entry(Hash32.From(anchor.AdvertisingId.AsSpan(1)), seconds),
        };
        var counts = new int[2][];
        for (var which = 0; which < 2; which++)
        {
            counts[which] = new int[HashTimeIndex.PartitionCount];
            for (var p = 0; p < HashTimeIndex.PartitionCount; p++)
                counts[which][p] = (int)((count - 1) / HashTimeIndex.PartitionCount + (p < (count - 1) % HashTimeIndex.PartitionCount ? 1 : 0));
            counts[which][(int)(anchorEntries[which].Key.A >> 52)]++;
        }
        var header = new OptOutSnapshot.Header(DateTimeOffset.UtcNow, anchor.Id, anchor.FirstLevelHash, count, count);
        OptOutSnapshot.Write(path, kek, header, counts, (which, p) =>
        {
            var random = new Random(which * HashTimeIndex.PartitionCount + p);
            var entries = new HashTimeIndex.Entry[counts[which][p]];
            var n = 0;
            if ((int)(anchorEntries[which].Key.A >> 52) == p) entries[n++] = anchorEntries[which];
            Span<byte> bytes = stackalloc byte[32];
            while (n < entries.Length)
            {
                random.NextBytes(bytes);
                var key = Hash32.From(bytes);
                entries[n++] = new HashTimeIndex.Entry(key with { A = ((ulong)p << 52) | (key.A & ((1UL << 52) - 1)) }, seconds);
            }
            Array.Sort(entries, (x, y) => HashTimeIndex.Compare(x.Key, y.Key));
            return entries;
        });
    }

    /// <summary>
    /// The snapshot loaded in this process (the operator has exited), then one thread looking up 1,000,000 random keys
    /// that are there and 1,000,000 that are not, by first-level hash: mean nanoseconds per lookup, cache misses included.
    /// </summary>
    private static (double? Hit, double? Miss) MeasureLookups(KeyEncryptionKeyRing kek, string snapshotPath)
    {
        var index = new OptOutIndex();
        OptOutSnapshot.Load(index, kek, snapshotPath);
        var partitions = index.ByFirstLevelHash.ExportPartitions();
        var random = new Random(-1); // not a seed the generated partitions used (0 … 8,191)
        const int n = 1_000_000;
        var hits = new Hash32[n];
        var misses = new Hash32[n];
        Span<byte> bytes = stackalloc byte[32];
        for (var i = 0; i < n; i++)
        {
            var partition = partitions[random.Next(partitions.Length)];
            hits[i] = partition.Length == 0 ? default : partition[random.Next(partition.Length)].Key;
            RandomNumberGenerator.Fill(bytes);
            misses[i] = Hash32.From(bytes);
        }
        double Time(Hash32[] keys, bool expected)
        {
            var watch = Stopwatch.StartNew();
            var found = 0;
            foreach (var k in keys) if (index.ByFirstLevelHash.TryGet(k, out _)) found++;
            var ns = watch.Elapsed.TotalNanoseconds / keys.Length;
            if (expected ? found != keys.Length : found != 0) throw new InvalidOperationException($"Lookups found {found} of {keys.Length}.");
            return ns;
        }
        Time(hits, true); // warm-up (JIT)
        var result = (Time(hits, true), Time(misses, false));
        index.Clear();
        GC.Collect();
        return result;
    }

    private static async Task<(double Rps, double P99)> LoadAsync(string loadDll, string url, IssuedApiKey key, string scenario, int seconds)
    {
        var start = new ProcessStartInfo("dotnet", [loadDll, "--url", url, "--api-key", key.ApiKey, "--secret", key.ClientSecret,
            "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--concurrency", "16", "--scenario", scenario])
        { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var row = output.Split('\n').FirstOrDefault(l => l.StartsWith($"| {scenario}", StringComparison.Ordinal))
                  ?? throw new InvalidOperationException("The load test printed no result:\n" + output);
        var cells = row.Split('|', StringSplitOptions.TrimEntries);
        if (cells[3] != "0") throw new InvalidOperationException($"The load test saw errors: {row}");
        return (double.Parse(cells[4], CultureInfo.InvariantCulture), double.Parse(cells[7], CultureInfo.InvariantCulture));
    }

    /// <summary>An operator process: started, timed until healthy, its output kept.</summary>
    private sealed class OperatorProcess : IAsyncDisposable
    {
        private static int _nextPort = 18400;
        private readonly Process _process;
        private readonly Stopwatch _watch;
        private readonly List<string> _output = [];
        private TimeSpan _healthyAt;

        private OperatorProcess(Process process, Stopwatch watch, string url)
        {
            _process = process;
            _watch = watch;
            Url = url;
        }

        public string Url { get; }
        public double HealthySeconds => _healthyAt.TotalSeconds;

        public IReadOnlyList<string> Output
        {
            get
            {
                lock (_output) return _output.ToArray();
            }
        }

        public static async Task<OperatorProcess> StartAsync(string dll, string cs, string provider, string kekFile, IEnumerable<string> settings)
        {
            var port = Interlocked.Increment(ref _nextPort);
            var url = $"http://127.0.0.1:{port}";
            var start = new ProcessStartInfo("dotnet", [dll, "--urls", url, "--ConnectionStrings:Uid2", cs, "--Uid2:StoreProvider", provider,
                "--Logging:LogLevel:Default", "Warning", "--Logging:LogLevel:Uid2.Operator.State.OptOutSnapshotService", "Information", .. settings])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["UID2_KEK_FILE"] = kekFile;
            var watch = Stopwatch.StartNew();
            var me = new OperatorProcess(Process.Start(start)!, watch, url);
            me._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (me._output) me._output.Add(e.Data); };
            me._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (me._output) me._output.Add(e.Data); };
            me._process.BeginOutputReadLine();
            me._process.BeginErrorReadLine();
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            while (watch.Elapsed < TimeSpan.FromMinutes(15) && !me._process.HasExited)
            {
                try
                {
                    if ((await http.GetAsync($"{url}/ops/healthcheck")).IsSuccessStatusCode)
                    {
                        me._healthyAt = watch.Elapsed;
                        return me;
                    }
                }
                catch (HttpRequestException) { }
                catch (TaskCanceledException) { }
                await Task.Delay(50);
            }
            await me.DisposeAsync();
            throw new InvalidOperationException("The operator did not become healthy:\n" + string.Join('\n', me.Output));
        }

        public async Task<string?> WaitForLineAsync(string text, TimeSpan timeout)
        {
            var until = _watch.Elapsed + timeout;
            while (_watch.Elapsed < until)
            {
                if (Output.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal)) is { } line) return line;
                await Task.Delay(100);
            }
            return null;
        }

        public string Rss() =>
            File.ReadAllLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))?[6..].Trim() ?? "?";

        private bool _disposed;

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
