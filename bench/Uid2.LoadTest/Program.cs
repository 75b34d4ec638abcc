using System.Buffers;
using System.Buffers.Text;
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

// Each scenario prepares its request, then times only the exchange (sent → whole response read): building a payload
// and checking the reply are the client's work, not the operator's latency. Both still share the 2 cores with it.
var scenarios = new Dictionary<string, Func<int, Task<Outcome>>>
{
    ["minimal"] = async _ =>
    {
        var sent = Stopwatch.GetTimestamp();
        using var response = await minimalHttp!.PostAsync("/minimal", new StringContent(minimalBody));
        await response.Content.ReadAsByteArrayAsync();
        return new Outcome(response.IsSuccessStatusCode, sent, Stopwatch.GetTimestamp());
    },
    ["v1-generate"] = async i =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/token/generate?email=load.{RunId}.{i}%40example.com");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var sent = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return new Outcome(response.IsSuccessStatusCode, sent, Stopwatch.GetTimestamp());
    },
    ["v2-generate"] = i => PostV2Async("/v2/token/generate", GenerateJson(i)),
    ["v2-map-5000"] = i =>
    {
        var payload = MapPayload.For(i);
        return PostV2Async("/v2/identity/map", payload.Span, payload.Dispose);
    },
    // A durable write each: a new identity opted out (acknowledged only once committed).
    ["v2-logout"] = i => PostV2Async("/v2/token/logout", Encoding.UTF8.GetBytes($"{{\"email\":\"logout.{RunId}.{i}@example.com\"}}")),
};

// Scenarios whose requests the open loop builds before it starts: their envelopes encrypted ahead into one array (no
// object per request for the client's collector to trace), so that at each due time the client only sends.
var preparers = new Dictionary<string, (string Path, Func<int, byte[]> Json)> { ["v2-generate"] = ("/v2/token/generate", GenerateJson) };

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
            var outcome = await run(Interlocked.Increment(ref counter));
            mine.Add(Stopwatch.GetElapsedTime(outcome.Sent, outcome.Received).TotalMilliseconds);
            if (!outcome.Ok) Interlocked.Increment(ref errors);
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
    var prebuilt = preparers.TryGetValue(name, out var prepare)
        ? Prebuilt.Build(total, k => prepare.Json(Interlocked.Increment(ref counter)), secret)
        : null;
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
                else Pause();
            }
            var slot = i;
            inFlight[slot] = Task.Run(async () =>
            {
                var outcome = prebuilt is not null
                    ? await SendAsync(prepare.Path, prebuilt.Text, prebuilt.Offsets[slot], prebuilt.Lengths[slot], prebuilt.Nonce(slot), rented: false)
                    : await run(Interlocked.Increment(ref counter));
                latencies[slot] = Stopwatch.GetElapsedTime(due, outcome.Received).TotalMilliseconds;
                if (!outcome.Ok) Interlocked.Increment(ref errors);
            });
        }
    }) { IsBackground = true, Name = "pacer" };
    pacer.Start();
    pacer.Join();
    await Task.WhenAll(inFlight);
    if (Environment.GetEnvironmentVariable("LOADTEST_SLOW") is not null)
    {
        // Diagnostics: when the slow requests (> 5 ms) were due, in 100 ms windows.
        var windows = latencies.Select((l, k) => (l, k)).Where(x => x.l > 5).GroupBy(x => (int)(x.k / rate * 10)).Select(g => $"{g.Key / 10.0:F1}s:{g.Count()}(max {g.Max(x => x.l):F0})");
        Console.Error.WriteLine("slow: " + string.Join(" ", windows));
    }
    Array.Sort(latencies);
    double Q(double q) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
    if (Environment.GetEnvironmentVariable("LOADTEST_GC") is not null)
        Console.Error.WriteLine($"client GC: gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)} pause {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms");
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

byte[] GenerateJson(int i) => Encoding.UTF8.GetBytes($"{{\"email\":\"load.{RunId}.{i}@example.com\"}}");

Task<Outcome> PostV2Async(string path, ReadOnlySpan<byte> json, Action? prepared = null)
{
    // The envelope and its base64 in pooled buffers (a map request is ~150 KB: no large arrays per request on this side
    // either, whose collections would pause the client and count as server latency).
    var nonce = new byte[V2Envelope.NonceLength];
    var text = ArrayPool<byte>.Shared.Rent(Base64Envelope.MaxLength(json.Length));
    var textLength = Base64Envelope.Write(json, secret, DateTimeOffset.UtcNow, nonce, text);
    prepared?.Invoke();
    return SendAsync(path, text, 0, textLength, nonce, rented: true);
}

async Task<Outcome> SendAsync(string path, byte[] text, int offset, int textLength, ReadOnlyMemory<byte> nonce, bool rented)
{
    try
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(text, offset, textLength) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var sent = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var (body, bodyLength) = await ReadPooledAsync(response);
        var received = Stopwatch.GetTimestamp();
        try
        {
            var ok = response.IsSuccessStatusCode
                && Base64.DecodeFromUtf8InPlace(body.AsSpan(0, bodyLength), out var sealedLength) == OperationStatus.Done
                && V2Envelope.TryOpenResponseInPlace(body.AsSpan(0, sealedLength), secret, nonce.Span, out _);
            return new Outcome(ok, sent, received);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }
    finally
    {
        if (rented) ArrayPool<byte>.Shared.Return(text);
    }
}

static void Pause()
{
    // Between two due times well under a millisecond apart: a real sleep of ~50 µs on Linux (the core is free for the
    // server meanwhile; Thread.Yield would keep this thread runnable), a yield elsewhere.
    if (OperatingSystem.IsLinux()) Native.usleep(50);
    else Thread.Yield();
}

static async Task<(byte[] Buffer, int Length)> ReadPooledAsync(HttpResponseMessage response)
{
    var buffer = ArrayPool<byte>.Shared.Rent((int)(response.Content.Headers.ContentLength ?? 4096) + 1);
    var length = 0;
    await using var stream = await response.Content.ReadAsStreamAsync();
    while (true)
    {
        if (length == buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
            buffer.AsSpan(0, length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = larger;
        }
        var read = await stream.ReadAsync(buffer.AsMemory(length));
        if (read == 0) return (buffer, length);
        length += read;
    }
}

async Task<byte[]?> PostV2ForJsonAsync(string path, string json)
{
    var envelope = V2Envelope.EncryptRequest(Encoding.UTF8.GetBytes(json), secret, DateTimeOffset.UtcNow, out var nonce);
    using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    using var response = await http.SendAsync(request);
    if (!response.IsSuccessStatusCode) return null;
    var body = Convert.FromBase64String(await response.Content.ReadAsStringAsync());
    return V2Envelope.TryDecryptResponse(body, secret, nonce, out var plain) ? plain : null;
}

async Task<Func<int, Task<Outcome>>> PrepareRefreshAsync()
{
    // Refresh tokens are single-use in spirit but not enforced; each call refreshes its own chain from a pool.
    var pool = new (string Token, string Key)[64];
    for (var i = 0; i < pool.Length; i++)
    {
        var json = await PostV2ForJsonAsync("/v2/token/generate", $"{{\"email\":\"refresh.{i}@example.com\"}}")
            ?? throw new InvalidOperationException("generate failed: check the API key has the GENERATOR role");
        var body = JsonDocument.Parse(json).RootElement.GetProperty("body");
        pool[i] = (body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString()!);
    }
    return async i =>
    {
        var slot = i % pool.Length;
        var (token, key) = pool[slot];
        var sent = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync("/v2/token/refresh", new StringContent(token));
        var text = await response.Content.ReadAsStringAsync();
        var received = Stopwatch.GetTimestamp();
        if (!response.IsSuccessStatusCode) return new Outcome(false, sent, received);
        var bytes = Convert.FromBase64String(text);
        if (!V2Envelope.TryDecryptNoNonce(bytes, Convert.FromBase64String(key), out var plain)) return new Outcome(false, sent, received);
        var body = JsonDocument.Parse(plain!).RootElement.GetProperty("body");
        pool[slot] = (body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString()!);
        return new Outcome(true, sent, received);
    };
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string>();
    for (var i = 0; i + 1 < args.Length; i += 2)
        result[args[i].TrimStart('-')] = args[i + 1];
    return result;
}

/// <summary>Requests built ahead: their base64 envelopes one after another in <see cref="Text"/>, and their nonces.</summary>
sealed class Prebuilt
{
    public byte[] Text = [];
    public int[] Offsets = [];
    public int[] Lengths = [];
    private byte[] _nonces = [];

    public ReadOnlyMemory<byte> Nonce(int slot) => _nonces.AsMemory(slot * V2Envelope.NonceLength, V2Envelope.NonceLength);

    public static Prebuilt Build(int count, Func<int, byte[]> json, byte[] secret)
    {
        var result = new Prebuilt { Offsets = new int[count], Lengths = new int[count], _nonces = new byte[count * V2Envelope.NonceLength] };
        var text = new ArrayBufferWriter<byte>(count * 160);
        var now = DateTimeOffset.UtcNow;
        for (var k = 0; k < count; k++)
        {
            var payload = json(k);
            var written = Base64Envelope.Write(payload, secret, now, result._nonces.AsSpan(k * V2Envelope.NonceLength, V2Envelope.NonceLength),
                text.GetSpan(Base64Envelope.MaxLength(payload.Length)));
            result.Offsets[k] = text.WrittenCount;
            result.Lengths[k] = written;
            text.Advance(written);
        }
        result.Text = text.WrittenSpan.ToArray();
        return result;
    }
}

/// <summary>A v2 request envelope as the base64 text a client sends, written into a caller's buffer.</summary>
static class Base64Envelope
{
    public static int MaxLength(int jsonLength) => Base64.GetMaxEncodedToUtf8Length(V2Envelope.RequestLength(jsonLength));

    /// <summary>Seals <paramref name="json"/> with a random nonce (written to <paramref name="nonce"/>); returns the text's length.</summary>
    public static int Write(ReadOnlySpan<byte> json, byte[] secret, DateTimeOffset now, Span<byte> nonce, Span<byte> text)
    {
        var envelope = ArrayPool<byte>.Shared.Rent(V2Envelope.RequestLength(json.Length));
        try
        {
            var length = V2Envelope.EncryptRequest(json, secret, now, nonce, envelope);
            Base64.EncodeToUtf8(envelope.AsSpan(0, length), text, out _, out var written);
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(envelope);
        }
    }
}

static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = false)]
    internal static partial int usleep(uint microseconds);
}

/// <summary>One request: whether it succeeded, and when it was sent and its whole response read (timestamps).</summary>
readonly record struct Outcome(bool Ok, long Sent, long Received);

/// <summary>
/// The identity-map payload: 5,000 emails no request has sent before (each request maps new identities). Built once as a
/// template with a fixed-width request number that each request writes in place, so the client spends its cores on
/// sending, not on building 5,000 strings.
/// </summary>
static class MapPayload
{
    private const int Count = 5000;
    private const int NumberWidth = 10;
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];
    private static readonly (byte[] Template, int[] Offsets) Shape = Build();

    private static (byte[], int[]) Build()
    {
        var json = new StringBuilder("{\"email\":[");
        var offsets = new int[Count];
        for (var i = 0; i < Count; i++)
        {
            if (i > 0) json.Append(',');
            json.Append("\"map.").Append(RunId).Append('.');
            offsets[i] = json.Length; // ASCII only: char offsets are byte offsets
            json.Append('0', NumberWidth).Append('.').Append(i).Append("@example.com\"");
        }
        json.Append("]}");
        return (Encoding.ASCII.GetBytes(json.ToString()), offsets);
    }

    public static Lease For(int request)
    {
        var (template, offsets) = Shape;
        var buffer = ArrayPool<byte>.Shared.Rent(template.Length);
        template.CopyTo(buffer, 0);
        Span<byte> digits = stackalloc byte[NumberWidth];
        System.Buffers.Text.Utf8Formatter.TryFormat((uint)request, digits, out _, new System.Buffers.StandardFormat('D', NumberWidth));
        foreach (var offset in offsets) digits.CopyTo(buffer.AsSpan(offset));
        return new Lease(buffer, template.Length);
    }

    public sealed class Lease(byte[] buffer, int length)
    {
        public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);
        public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
    }
}

static partial class Program
{
    /// <summary>Keeps the identities of concurrent or repeated runs apart (each logout is a new opt-out).</summary>
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];

}
