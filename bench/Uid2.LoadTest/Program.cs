using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;

// HTTP load test for a running operator: closed-loop clients hammer one scenario for a fixed time and report
// throughput and latency percentiles. Usage:
//   uid2-loadtest --url http://127.0.0.1:8080 --api-key K --secret S [--scenario all|v1-generate|v2-generate|v2-refresh|v2-map-5000|v2-logout]
//                 [--seconds 10] [--concurrency 16]
var options = ParseArgs(args);
var baseUrl = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:8080"));
var apiKey = options.GetValueOrDefault("api-key") ?? throw new ArgumentException("--api-key is required");
var secret = Convert.FromBase64String(options.GetValueOrDefault("secret") ?? throw new ArgumentException("--secret is required"));
var seconds = int.Parse(options.GetValueOrDefault("seconds", "10"));
var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "16"));
var scenario = options.GetValueOrDefault("scenario", "all");

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = baseUrl };

var scenarios = new Dictionary<string, Func<int, Task<bool>>>
{
    ["v1-generate"] = async i =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/token/generate?email=load.{i}%40example.com");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode;
    },
    ["v2-generate"] = async i => await PostV2Async("/v2/token/generate", $"{{\"email\":\"load.{i}@example.com\"}}") is not null,
    ["v2-refresh"] = await PrepareRefreshAsync(),
    ["v2-map-5000"] = async _ => await PostV2Async("/v2/identity/map", MapPayload) is not null,
    // A durable write each: a new identity opted out (acknowledged only once committed).
    ["v2-logout"] = async i => await PostV2Async("/v2/token/logout", $"{{\"email\":\"logout.{RunId}.{i}@example.com\"}}") is not null,
};

var selected = scenario == "all" ? scenarios.Keys.ToList() : [scenario];
Console.WriteLine($"# {baseUrl} · {seconds} s per scenario · {concurrency} concurrent clients ({Environment.ProcessorCount} cores)");
Console.WriteLine("| scenario | requests | errors | req/s | p50 ms | p90 ms | p99 ms |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var name in selected)
{
    var run = scenarios[name];
    var clients = name == "v2-map-5000" ? Math.Min(concurrency, 2) : concurrency;
    for (var i = 0; i < 20; i++) await run(i); // warm-up
    var latencies = new List<double>[clients];
    var errors = 0;
    var counter = 0;
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
    var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
    double P(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
    Console.WriteLine($"| {name} ({clients} clients) | {all.Length} | {errors} | {all.Length / elapsed:F0} | {P(0.5):F2} | {P(0.9):F2} | {P(0.99):F2} |");
}
return 0;

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

    private static readonly string MapPayload = JsonSerializer.Serialize(new { email = Enumerable.Range(0, 5000).Select(i => $"map.{i}@example.com") });
}
