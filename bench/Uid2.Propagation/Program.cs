using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Uid2.ScaleOut.Infrastructure;

// Opt-out propagation between two real operator processes: logout on A, then refresh on B until it answers optout.
// Runs on one PostgreSQL database (LISTEN/NOTIFY + 1 s poll) and, for comparison, on one SQLite file shared by two
// operators (poll only). Usage:
//   uid2-propagation [--postgres <Npgsql connection string>] [--count 200] [--poll-ms 5] [--store-poll-ms 1000] [--skip-sqlite] [--skip-postgres]
// The PostgreSQL server defaults to $UID2_TEST_POSTGRES; a fresh database is created on it and dropped afterwards.
var options = ParseArgs(args);
var count = int.Parse(options.GetValueOrDefault("count", "200"), CultureInfo.InvariantCulture);
var clientPollMs = int.Parse(options.GetValueOrDefault("poll-ms", "5"), CultureInfo.InvariantCulture);
var storePollMs = int.Parse(options.GetValueOrDefault("store-poll-ms", "1000"), CultureInfo.InvariantCulture);
var postgres = options.GetValueOrDefault("postgres") ?? Environment.GetEnvironmentVariable("UID2_TEST_POSTGRES");

var rows = new List<string>();
Console.Error.WriteLine($"# {count} opt-outs per store; B polled every {clientPollMs} ms; operators poll the store every {storePollMs} ms");

if (!options.ContainsKey("skip-postgres"))
{
    if (string.IsNullOrEmpty(postgres))
    {
        Console.Error.WriteLine("No PostgreSQL: pass --postgres '<connection string>' or set UID2_TEST_POSTGRES (or --skip-postgres).");
        return 2;
    }
    await using var db = await FreshPostgresDatabase.CreateAsync(postgres);
    rows.Add(await RunAsync("PostgreSQL, one database", "LISTEN/NOTIFY + poll", db.ConnectionString, startTogether: true,
        jitterMs: 20));
}

if (!options.ContainsKey("skip-sqlite"))
{
    var dir = Path.Combine(Path.GetTempPath(), "uid2-propagation-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(dir);
    try
    {
        // A random wait of up to one store poll before each logout, so opt-outs land at random phases of B's poll.
        rows.Add(await RunAsync("SQLite, one shared file", "poll only", $"Data Source={Path.Combine(dir, "uid2.db")}", startTogether: false,
            jitterMs: storePollMs));
    }
    finally
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }
}

Console.WriteLine();
Console.WriteLine($"Opt-out propagation A→B, {count} opt-outs per store, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, " +
    $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Delay = from A's logout 200 to B's first optout refresh (B polled every {clientPollMs} ms); ms.");
Console.WriteLine();
Console.WriteLine("| store | change detection | n | min | p50 | p90 | p99 | max | mean | logout p50 |");
Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var row in rows) Console.WriteLine(row);
return 0;

async Task<string> RunAsync(string store, string mechanism, string connectionString, bool startTogether, int jitterMs)
{
    Console.Error.WriteLine($"## {store}: starting two operators");
    var a = OperatorProcess.Start("A", connectionString, storePollMs);
    OperatorProcess? b = null;
    try
    {
        // Two processes creating one SQLite file at the same moment is not what this measures: start B once A is up there.
        if (startTogether) b = OperatorProcess.Start("B", connectionString, storePollMs);
        await a.WaitHealthyAsync(TimeSpan.FromSeconds(60));
        b ??= OperatorProcess.Start("B", connectionString, storePollMs);
        await b.WaitHealthyAsync(TimeSpan.FromSeconds(60));

        var publisher = await AdminCli.CreateParticipantAsync(connectionString, 101, "generator,optout");
        foreach (var op in new[] { a, b })
        {
            var sw = Stopwatch.StartNew();
            while ((await op.PostV2Async("/v2/token/generate", publisher, new { email = "warm.up@example.com" })).Status != 200)
            {
                if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException($"{op.Name} does not know the publisher");
                await Task.Delay(50);
            }
        }

        var random = new Random(42);
        var delays = new List<double>(count);
        var logouts = new List<double>(count);
        var run = Guid.NewGuid().ToString("N")[..8];
        for (var i = -10; i < count; i++) // 10 warm-up rounds, not recorded
        {
            var email = $"p.{run}.{i + 10}@example.com";
            var identity = await a.GenerateAsync(publisher, email);
            var token = identity.GetProperty("refresh_token").GetString()!;
            var key = identity.GetProperty("refresh_response_key").GetString()!;
            var (status, before) = await b.RefreshV2Async(token, key);
            if (status != 200 || before.GetProperty("status").GetString() != "success")
                throw new InvalidOperationException($"B refresh before the opt-out: {status} {before}");
            await Task.Delay(random.Next(jitterMs));

            var t0 = Stopwatch.StartNew();
            var (logoutStatus, logout) = await a.PostV2Async("/v2/token/logout", publisher, new { email });
            if (logoutStatus != 200) throw new InvalidOperationException($"A logout: {logoutStatus} {logout}");
            var ack = t0.Elapsed;
            var sw = Stopwatch.StartNew();
            while (true)
            {
                var (s, json) = await b.RefreshV2Async(token, key);
                if (s == 200 && json.GetProperty("status").GetString() == "optout") break;
                if (sw.Elapsed > TimeSpan.FromSeconds(10)) throw new TimeoutException($"B still refreshes {email} 10 s after A's logout");
                await Task.Delay(clientPollMs);
            }
            if (i < 0) continue;
            delays.Add(sw.Elapsed.TotalMilliseconds);
            logouts.Add(ack.TotalMilliseconds);
            if ((i + 1) % 50 == 0) Console.Error.WriteLine($"  {i + 1}/{count}");
        }

        delays.Sort();
        logouts.Sort();
        return string.Create(CultureInfo.InvariantCulture,
            $"| {store} | {mechanism} | {delays.Count} | {delays[0]:F1} | {P(delays, 0.5):F1} | {P(delays, 0.9):F1} | {P(delays, 0.99):F1} | " +
            $"{delays[^1]:F1} | {delays.Average():F1} | {P(logouts, 0.5):F1} |");
    }
    finally
    {
        if (b is not null) await b.DisposeAsync();
        await a.DisposeAsync();
    }
}

static double P(List<double> sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

static Dictionary<string, string> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    for (var i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{args[i]}'.");
        var name = args[i][2..];
        if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal)) result[name] = args[++i];
        else result[name] = "true";
    }
    return result;
}
