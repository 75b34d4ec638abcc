using System.Diagnostics;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Benchmarks;

/// <summary>
/// Issue "Internet scale": an operator process (Release, Production) started on a SQLite store holding N opt-outs —
/// time until <c>/ops/healthcheck</c> answers 200 and its resident memory then.
/// <c>dotnet run -c Release -- startup 0 1000000 5000000</c> (the operator must be built: dotnet build -c Release src/Uid2.Operator).
/// </summary>
public static class StartupGrowth
{
    public static async Task RunAsync(IEnumerable<int> counts)
    {
        var operatorDll = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/Uid2.Operator/bin/Release/net10.0/Uid2.Operator.dll"));
        if (!File.Exists(operatorDll)) throw new InvalidOperationException($"Build the operator first: dotnet build -c Release src/Uid2.Operator ({operatorDll})");
        Console.WriteLine("| opt-outs in the store | filling the store | operator healthy after | operator RSS when healthy |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var count in counts)
        {
            var dir = Directory.CreateTempSubdirectory("uid2-startup-");
            try
            {
                var kekFile = Path.Combine(dir.FullName, "kek");
                KeyEncryptionKeys.WriteKeyFile(kekFile, [("bench", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))], createOnly: true);
                var cs = $"Data Source={Path.Combine(dir.FullName, "uid2.db")}";
                var fill = Stopwatch.StartNew();
                await using (var store = new SqliteUid2Store(cs, KeyEncryptionKeys.Resolve(cs, null, kekFile, false)))
                {
                    await store.InitializeAsync();
                    await StoreBootstrapper.EnsureInitializedAsync(store, TimeProvider.System, 65_536, default);
                    var random = new Random(count);
                    var at = DateTimeOffset.UtcNow;
                    var batch = new List<(byte[], byte[], DateTimeOffset)>(50_000);
                    for (var i = 0; i < count; i++)
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
                var filled = fill.Elapsed;

                var port = 18300 + count % 97;
                var start = new ProcessStartInfo("dotnet", [operatorDll, "--urls", $"http://127.0.0.1:{port}", "--ConnectionStrings:Uid2", cs,
                    "--Logging:LogLevel:Default", "Warning"])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
                start.Environment["UID2_KEK_FILE"] = kekFile;
                var watch = Stopwatch.StartNew();
                using var process = Process.Start(start)!;
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
                TimeSpan? healthy = null;
                while (watch.Elapsed < TimeSpan.FromMinutes(10) && !process.HasExited)
                {
                    try
                    {
                        if ((await http.GetAsync($"http://127.0.0.1:{port}/ops/healthcheck")).IsSuccessStatusCode) { healthy = watch.Elapsed; break; }
                    }
                    catch (HttpRequestException) { }
                    catch (TaskCanceledException) { }
                    await Task.Delay(50);
                }
                var rss = File.ReadAllLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))?[6..].Trim();
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                Console.WriteLine($"| {count:N0} | {filled.TotalSeconds:F0} s | {(healthy is { } h ? $"{h.TotalSeconds:F1} s" : "not healthy")} | {rss} |");
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                dir.Delete(recursive: true);
            }
        }
    }
}
