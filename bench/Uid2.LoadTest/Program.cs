using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;

// HTTP load test for a running operator: closed-loop clients hammer one scenario for a fixed time and report
// throughput, latency percentiles and the server's allocations per request; optionally each scenario's ratio to a
// minimal Kestrel JSON endpoint measured in the same run, and an open-loop run at half of a scenario's peak. Usage:
//   uid2-loadtest --url http://127.0.0.1:8080 --api-key K --secret S
//                 [--scenario all|minimal|v1-generate|v2-generate|v2-refresh|v2-map-5000|v2-logout (comma-separated)]
//                 [--seconds 10] [--concurrency 16] [--minimal-url http://127.0.0.1:8081] [--metrics-url http://127.0.0.1:9090/metrics]
//                 [--half-load v2-generate,v2-refresh] [--baseline-rps N]
var options = ParseArgs(args);
var baseUrl = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:8080"));
var apiKey = options.GetValueOrDefault("api-key") ?? throw new ArgumentException("--api-key is required");
var secret = Convert.FromBase64String(options.GetValueOrDefault("secret") ?? throw new ArgumentException("--secret is required"));
var seconds = int.Parse(options.GetValueOrDefault("seconds", "10"));
var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "16"));
var scenario = options.GetValueOrDefault("scenario", "all");
var minimalUrl = options.GetValueOrDefault("minimal-url");
var metricsUrl = options.GetValueOrDefault("metrics-url");
var halfLoad = (options.GetValueOrDefault("half-load") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = baseUrl };
using var minimalHttp = minimalUrl is null ? null : new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = new Uri(minimalUrl) };
var minimalBody = Convert.ToBase64String(new byte[120]); // the size of a v2 generate envelope

var scenarios = new Dictionary<string, Func<int, Task<bool>>>
{
    ["minimal"] = async _ =>
    {
        using var response = await minimalHttp!.PostAsync("/minimal", new StringContent(minimalBody));
        await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    },
    ["v1-generate"] = async i =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/token/generate?email=load.{RunId}.{i}%40example.com");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode;
    },
    ["v2-generate"] = async i => await PostV2Async("/v2/token/generate", $"{{\"email\":\"load.{RunId}.{i}@example.com\"}}") is not null,
    ["v2-map-5000"] = async i => await PostV2Async("/v2/identity/map", MapPayload(i)) is not null,
    // A durable write each: a new identity opted out (acknowledged only once committed).
    ["v2-logout"] = async i => await PostV2Async("/v2/token/logout", $"{{\"email\":\"logout.{RunId}.{i}@example.com\"}}") is not null,
};

var selected = scenario == "all"
    ? scenarios.Keys.Append("v2-refresh").Where(k => k != "v2-logout" && (k != "minimal" || minimalHttp is not null)).ToList()
    : scenario.Split(',').ToList();
if (selected.Contains("v2-refresh")) scenarios["v2-refresh"] = await PrepareRefreshAsync(); // needs a running operator
Console.WriteLine($"# {baseUrl} · {seconds} s per scenario · {concurrency} concurrent clients ({Environment.ProcessorCount} cores)");
Console.WriteLine("| scenario | requests | errors | req/s | of minimal | p50 ms | p90 ms | p99 ms | server alloc/request |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
// The baseline's req/s measured earlier in the same run (bench/loadtest.sh runs one server at a time).
double? minimalRps = double.TryParse(options.GetValueOrDefault("baseline-rps"), System.Globalization.CultureInfo.InvariantCulture, out var baseline)
    ? baseline : null;
var peaks = new Dictionary<string, double>();
var counter = 0;
foreach (var name in selected)
{
    var run = scenarios[name];
    var clients = name == "v2-map-5000" ? Math.Min(concurrency, 2) : concurrency;
    // Warm-up: the same load for 3 s, unmeasured (tiered JIT and dynamic PGO, pools, caches), so no scenario pays for
    // being first.
    var warmUntil = Stopwatch.GetTimestamp() + 3 * Stopwatch.Frequency;
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
    {
        while (Stopwatch.GetTimestamp() < warmUntil) await run(Interlocked.Increment(ref counter));
    }));
    var allocBefore = await AllocatedAsync(name);
    var latencies = new List<double>[clients];
    var errors = 0;
    var stopAt = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        var mine = latencies[c] = new List<double>();
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            var t0 = Stopwatch.GetTimestamp();
            var ok = await run(Interlocked.Increment(ref counter));
            mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            if (!ok) Interlocked.Increment(ref errors);
        }
    }));
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    var allocAfter = await AllocatedAsync(name);
    var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
    double P(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
    var rps = all.Length / elapsed;
    peaks[name] = rps;
    if (name == "minimal") minimalRps = rps;
    // A ratio only for one-identity requests (a map request carries 5,000).
    var ratio = name == "minimal" ? "100 %" : minimalRps is { } m && name != "v2-map-5000" ? $"{100 * rps / m:F0} %" : "—";
    var alloc = allocBefore is { } a0 && allocAfter is { } a1 && all.Length > 0 ? $"{(a1 - a0) / (double)all.Length / 1024:F1} KiB" : "—";
    Console.WriteLine($"| {name} ({clients} clients) | {all.Length} | {errors} | {rps:F0} | {ratio} | {P(0.5):F2} | {P(0.9):F2} | {P(0.99):F2} | {alloc} |");
}

// Open loop at half of the closed-loop peak: requests start on a fixed schedule whatever the server does, and each
// latency counts from its scheduled start (no coordinated omission).
foreach (var name in halfLoad.Where(peaks.ContainsKey))
{
    var rate = peaks[name] / 2;
    var run = scenarios[name];
    var total = (int)(rate * seconds);
    var latencies = new double[total];
    var errors = 0;
    var inFlight = new Task[total];
    var start = Stopwatch.GetTimestamp();
    // Paced by a dedicated thread: it sleeps while the next start is more than a couple of milliseconds away and yields
    // its core otherwise (never spins against the server, which shares the 2 cores). Each request is due at
    // start + i/rate and its latency counts from then, however late it actually started.
    var pacer = new Thread(() =>
    {
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i / rate * Stopwatch.Frequency);
            while (true)
            {
                var left = due - Stopwatch.GetTimestamp();
                if (left <= 0) break;
                if (left > 2 * Stopwatch.Frequency / 1000) Thread.Sleep(1);
                else Thread.Yield();
            }
            var slot = i;
            inFlight[slot] = Task.Run(async () =>
            {
                var ok = await run(Interlocked.Increment(ref counter));
                latencies[slot] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                if (!ok) Interlocked.Increment(ref errors);
            });
        }
    }) { IsBackground = true, Name = "pacer" };
    pacer.Start();
    pacer.Join();
    await Task.WhenAll(inFlight);
    Array.Sort(latencies);
    double Q(double q) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
    Console.WriteLine($"| {name} open loop at half of peak ({rate:F0} req/s) | {total} | {errors} | {rate:F0} | — | {Q(0.5):F2} | {Q(0.9):F2} | {Q(0.99):F2} | — |");
}
return 0;

async Task<long?> AllocatedAsync(string name)
{
    try
    {
        if (name == "minimal") return long.Parse(await minimalHttp!.GetStringAsync("/alloc"));
        if (metricsUrl is null) return null;
        var text = await http.GetStringAsync(metricsUrl);
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes", StringComparison.Ordinal))
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return null;
    }
    catch (HttpRequestException)
    {
        return null;
    }
}

async Task<byte[]?> PostV2Async(string path, string json)
{
    var envelope = V2Envelope.EncryptRequest(Encoding.UTF8.GetBytes(json), secret, DateTimeOffset.UtcNow, out var nonce);
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    using var response = await http.SendAsync(request);
    if (!response.IsSuccessStatusCode) return null;
    var body = Convert.FromBase64String(await response.Content.ReadAsStringAsync());
    return V2Envelope.TryDecryptResponse(body, secret, nonce, out var plain) ? plain : null;
}

async Task<Func<int, Task<bool>>> PrepareRefreshAsync()
{
    // Refresh tokens are single-use in spirit but not enforced; each call refreshes its own chain from a pool.
    var pool = new (string Token, string Key)[64];
    for (var i = 0; i < pool.Length; i++)
    {
        var json = await PostV2Async("/v2/token/generate", $"{{\"email\":\"refresh.{i}@example.com\"}}")
            ?? throw new InvalidOperationException("generate failed: check the API key has the GENERATOR role");
        var body = JsonDocument.Parse(json).RootElement.GetProperty("body");
        pool[i] = (body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString()!);
    }
    return async i =>
    {
        var slot = i % pool.Length;
        var (token, key) = pool[slot];
        using var response = await http.PostAsync("/v2/token/refresh", new StringContent(token));
        if (!response.IsSuccessStatusCode) return false;
        var bytes = Convert.FromBase64String(await response.Content.ReadAsStringAsync());
        if (!V2Envelope.TryDecryptNoNonce(bytes, Convert.FromBase64String(key), out var plain)) return false;
        var body = JsonDocument.Parse(plain!).RootElement.GetProperty("body");
        pool[slot] = (body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString()!);
        return true;
    };
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string>();
    for (var i = 0; i + 1 < args.Length; i += 2)
        result[args[i].TrimStart('-')] = args[i + 1];
    return result;
}

static partial class Program
{
    /// <summary>Keeps the identities of concurrent or repeated runs apart (each logout is a new opt-out).</summary>
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];

    /// <summary>5,000 emails no request has sent before (each request maps new identities).</summary>
    private static string MapPayload(int request) =>
        JsonSerializer.Serialize(new { email = Enumerable.Range(0, 5000).Select(i => $"map.{RunId}.{request}.{i}@example.com") });
}
