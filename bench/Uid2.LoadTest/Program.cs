using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;

// HTTP load test for a running operator: closed-loop clients hammer one scenario for a fixed time and report
// throughput, latency percentiles and the server's allocations and CPU per request; optionally each scenario's ratio to a
// minimal Kestrel JSON endpoint measured in the same run, and an open-loop run at half of a scenario's peak. Usage:
//   uid2-loadtest --url http://127.0.0.1:8080 --api-key K --secret S
//                 [--scenario all|minimal|v1-generate|v2-generate|v2-refresh|v2-map-5000|v2-logout (comma-separated)]
//                 [--seconds 10] [--concurrency 16] [--minimal-url http://127.0.0.1:8081] [--metrics-url http://127.0.0.1:9090/metrics]
//                 [--half-load v2-generate,v2-refresh] [--open-seconds 30] [--baseline-rps N]
var options = ParseArgs(args);
var baseUrl = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:8080"));
var apiKey = options.GetValueOrDefault("api-key") ?? throw new ArgumentException("--api-key is required");
var secret = Convert.FromBase64String(options.GetValueOrDefault("secret") ?? throw new ArgumentException("--secret is required"));
// The secret's cipher state set up once (as the operator keeps it): the client's share of the cores stays small.
var secretKey = secret.Length == 32 ? new Uid2.Core.Keys.GcmKey(secret) : null;
var seconds = int.Parse(options.GetValueOrDefault("seconds", "10"));
// The open loop runs longer than a closed-loop scenario: its p99 is a tail, and one stall of this shared VM (the minimal
// Kestrel endpoint alone has shown 113 ms) is 1 % of a 10 s run at 20,000 req/s but a third of that over 30 s.
var openSeconds = int.Parse(options.GetValueOrDefault("open-seconds", "30"));
var concurrency = int.Parse(options.GetValueOrDefault("concurrency", "16"));
var scenario = options.GetValueOrDefault("scenario", "all");
var minimalUrl = options.GetValueOrDefault("minimal-url");
var metricsUrl = options.GetValueOrDefault("metrics-url");
var halfLoad = (options.GetValueOrDefault("half-load") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);

Host = baseUrl.Authority;
DateTimeOffset? envelopeStamp = null; // the time v2 envelopes carry when built ahead (else now)
// HttpClient only for set-up and metrics; the measured requests go through RawConnection (RawHttp.cs), which costs the
// shared cores far less per request.
using var http = new HttpClient { BaseAddress = baseUrl };
using var minimalHttp = minimalUrl is null ? null : new HttpClient { BaseAddress = new Uri(minimalUrl) };
var minimalBody = new byte[Base64.GetMaxEncodedToUtf8Length(120)]; // the size of a v2 generate envelope's base64
minimalBody.AsSpan().Fill((byte)'A');

// Each scenario builds its request outside the timed span, and checks the reply outside it too: only the exchange
// (request sent → whole response read) is timed. Building and checking still share the 2 cores with the server.
var scenarios = new Dictionary<string, Scenario>
{
    ["minimal"] = new(minimalUrl is null ? baseUrl : new Uri(minimalUrl),
        _ => Plain("POST", "/minimal", null, minimalBody), (_, _) => true),
    ["v1-generate"] = new(baseUrl, i => Plain("GET", $"/v1/token/generate?email=load.{RunId}.{i}%40example.com", apiKey, null), (_, _) => true),
    ["v2-generate"] = new(baseUrl, i =>
    {
        Span<byte> json = stackalloc byte[128];
        return V2("/v2/token/generate", json[..GenerateJson(i, json)]);
    }, CheckV2) { Prebuildable = true },
    ["v2-map-5000"] = new(baseUrl, i =>
    {
        var payload = MapPayload.For(i);
        try { return V2("/v2/identity/map", payload.Span); }
        finally { payload.Dispose(); }
    }, CheckV2),
    // A durable write each: a new identity opted out (acknowledged only once committed).
    ["v2-logout"] = new(baseUrl, i =>
    {
        Span<byte> json = stackalloc byte[128];
        System.Text.Unicode.Utf8.TryWrite(json, $"{{\"email\":\"logout.{RunId}.{i}@example.com\"}}", out var written);
        return V2("/v2/token/logout", json[..written]);
    }, CheckV2),
};

var selected = scenario == "all"
    ? scenarios.Keys.Append("v2-refresh").Where(k => k != "v2-logout" && (k != "minimal" || minimalHttp is not null)).ToList()
    : scenario.Split(',').ToList();
if (selected.Contains("v2-refresh")) scenarios["v2-refresh"] = await PrepareRefreshAsync(); // needs a running operator
Console.WriteLine($"# {baseUrl} · {seconds} s per scenario · {concurrency} concurrent clients ({Environment.ProcessorCount} cores)");
Console.WriteLine("| scenario | requests | errors | req/s | of minimal | p50 ms | p90 ms | p99 ms | server alloc/request | server CPU/request |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
// The baseline's req/s measured earlier in the same run (bench/loadtest.sh runs one server at a time).
double? minimalRps = double.TryParse(options.GetValueOrDefault("baseline-rps"), System.Globalization.CultureInfo.InvariantCulture, out var baseline)
    ? baseline : null;
var peaks = new Dictionary<string, double>();
var counter = 0;
foreach (var name in selected)
{
    var run = scenarios[name];
    var clients = name == "v2-map-5000" ? Math.Min(concurrency, 2) : concurrency;
    var connections = await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => RawConnection.OpenAsync(run.Target)));
    // Warm-up: the same load for 6 s, unmeasured (tiered JIT and dynamic PGO, pools, caches), so no scenario pays for
    // being first: profiling showed the JIT still taking a quarter of the operator's CPU 3–5 s into a first scenario.
    var warmUntil = Stopwatch.GetTimestamp() + 6 * Stopwatch.Frequency;
    await Task.WhenAll(connections.Select(async connection =>
    {
        while (Stopwatch.GetTimestamp() < warmUntil) await ExchangeAsync(connection, run, Interlocked.Increment(ref counter));
    }));
    var countersBefore = await ServerCountersAsync(name);
    var latencies = new List<double>[clients];
    var errors = 0;
    var stopAt = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var started = Stopwatch.GetTimestamp();
    await Task.WhenAll(connections.Select(async (connection, c) =>
    {
        var mine = latencies[c] = new List<double>();
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            var outcome = await ExchangeAsync(connection, run, Interlocked.Increment(ref counter));
            mine.Add(Stopwatch.GetElapsedTime(outcome.Sent, outcome.Received).TotalMilliseconds);
            if (!outcome.Ok) Interlocked.Increment(ref errors);
        }
    }));
    var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
    foreach (var connection in connections) connection.Dispose();
    var countersAfter = await ServerCountersAsync(name);
    var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
    double P(double q) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(q * all.Length))];
    var rps = all.Length / elapsed;
    peaks[name] = rps;
    if (name == "minimal") minimalRps = rps;
    // A ratio only for one-identity requests (a map request carries 5,000).
    var ratio = name == "minimal" ? "100 %" : minimalRps is { } m && name != "v2-map-5000" ? $"{100 * rps / m:F0} %" : "—";
    // The runtime's allocation counter (GC.GetTotalAllocatedBytes, not precise) can stand still through a run in which no
    // collection happened (seen with the identity map): then there is no figure rather than a false zero.
    var (alloc, cpu) = countersBefore is { } c0 && countersAfter is { } c1 && all.Length > 0
        ? (c1.Allocated > c0.Allocated ? $"{(c1.Allocated - c0.Allocated) / (double)all.Length / 1024:F1} KiB" : "—",
            $"{(c1.Cpu - c0.Cpu) * 1e6 / all.Length:F0} µs")
        : ("—", "—");
    Console.WriteLine($"| {name} ({clients} clients) | {all.Length} | {errors} | {rps:F0} | {ratio} | {P(0.5):F2} | {P(0.9):F2} | {P(0.99):F2} | {alloc} | {cpu} |");
}

// Open loop at half of the closed-loop peak: requests start on a fixed schedule whatever the server does, and each
// latency counts from its scheduled start (no coordinated omission).
foreach (var name in halfLoad.Where(peaks.ContainsKey))
{
    // (LOADTEST_RATE, a diagnostic: another rate, e.g. the minimal endpoint at the operator's half-load rate.)
    var rate = double.TryParse(Environment.GetEnvironmentVariable("LOADTEST_RATE"), System.Globalization.CultureInfo.InvariantCulture, out var fixedRate)
        ? fixedRate : peaks[name] / 2;
    var run = scenarios[name];
    // The schedule starts with 3 s at the same rate on the same connections whose latencies are not counted (as wrk2's
    // calibration period): the first few hundred milliseconds of a cold open loop (fresh connections, the pool's
    // threads ramping up on both sides) took up to 50 ms and were alone ~1 % of a 10 s run — the p99 itself.
    var warmUp = (int)(rate * 3);
    var total = warmUp + (int)(rate * openSeconds);
    var latencies = new double[total];
    var errors = 0;
    // v2 generate's envelopes are encrypted before the run starts, into one array (no object per request for the
    // client's collector to trace), so that at each due time the client only sends.
    // Each envelope is stamped as if made a fixed time before it is due (the time the building takes): all arrive equally
    // fresh, however long the run.
    var buildStart = DateTimeOffset.UtcNow;
    var prebuilt = run.Prebuildable
        ? Prebuilt.Build(total, k =>
        {
            envelopeStamp = buildStart.AddSeconds(k / rate);
            return run.Build(Interlocked.Increment(ref counter));
        })
        : null;
    envelopeStamp = null;
    // A pool of keep-alive connections, each with a reader that waits for its replies; the pacer sends each request on
    // a connection with nothing in flight (if every one is busy, behind the least recent one's pending reply, as a
    // client with a connection limit would).
    var pool = await Task.WhenAll(Enumerable.Range(0, Math.Max(64, concurrency * 4)).Select(_ => RawConnection.OpenAsync(run.Target)));
    var lanes = pool.Select(connection => new Lane(connection)).ToArray();
    var remaining = total;
    var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var start = Stopwatch.GetTimestamp();
    var readers = lanes.Select(lane => Task.Run(async () =>
    {
        while (await lane.Connection.ReadResponseAsync())
        {
            var received = Stopwatch.GetTimestamp();
            if (!lane.Pending.TryDequeue(out var sent)) break; // a reply nobody asked for
            Interlocked.Decrement(ref lane.InFlight);
            var due = start + (long)(sent.Slot / rate * Stopwatch.Frequency);
            latencies[sent.Slot] = Stopwatch.GetElapsedTime(due, received).TotalMilliseconds;
            var ok = lane.Connection.Status is >= 200 and < 300 && run.Check(lane.Connection, sent.Request);
            sent.Request.Release();
            if (!ok) Interlocked.Increment(ref errors);
            if (Interlocked.Decrement(ref remaining) == 0) finished.TrySetResult();
        }
        // Closed by the server: whatever was in flight on it failed.
        while (lane.Pending.TryDequeue(out var lost))
        {
            latencies[lost.Slot] = Stopwatch.GetElapsedTime(start + (long)(lost.Slot / rate * Stopwatch.Frequency)).TotalMilliseconds;
            Interlocked.Increment(ref errors);
            if (Interlocked.Decrement(ref remaining) == 0) finished.TrySetResult();
        }
        lane.Dead = true;
    })).ToArray();
    // Paced by a dedicated thread: it sleeps while the next start is more than a couple of milliseconds away and
    // naps ~50 µs otherwise (never spins against the server, which shares the 2 cores). Each request is due at
    // start + i/rate and its latency counts from then, however late it was actually sent.
    var pacer = new Thread(() =>
    {
        var next = 0;
        for (var i = 0; i < total; i++)
        {
            var request = prebuilt is not null ? prebuilt.Request(i) : run.Build(Interlocked.Increment(ref counter));
            var due = start + (long)(i / rate * Stopwatch.Frequency);
            while (true)
            {
                var left = due - Stopwatch.GetTimestamp();
                if (left <= 0) break;
                if (left > 2 * Stopwatch.Frequency / 1000) Thread.Sleep(1);
                else Pause();
            }
            var lane = lanes[next];
            for (var probe = 0; probe < lanes.Length; probe++)
            {
                var candidate = lanes[(next + probe) % lanes.Length];
                if (Volatile.Read(ref candidate.InFlight) == 0 && !candidate.Dead) { lane = candidate; break; }
            }
            next = (Array.IndexOf(lanes, lane) + 1) % lanes.Length;
            Interlocked.Increment(ref lane.InFlight);
            lane.Pending.Enqueue(new Sent(i, request));
            try
            {
                lane.Connection.Send(request.Span);
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Counted when the reader finds the connection closed.
            }
        }
    }) { IsBackground = true, Name = "pacer" };
    pacer.Start();
    // Diagnostics: the server's collections during the run (its /metrics every 100 ms), to set against the slow windows.
    var gcSamples = new List<(double At, double? Pause, long Collections)>();
    var watchGc = Environment.GetEnvironmentVariable("LOADTEST_SLOW") is not null && metricsUrl is not null
        ? Task.Run(async () =>
        {
            while (!finished.Task.IsCompleted)
            {
                var text = await http.GetStringAsync(metricsUrl);
                gcSamples.Add((Stopwatch.GetElapsedTime(start).TotalSeconds - 3, MetricSum(text, "dotnet_gc_pause_time_seconds_total"),
                    (long)(MetricSum(text, "dotnet_gc_collections_total") ?? 0)));
                await Task.Delay(100);
            }
        })
        : Task.CompletedTask;
    await finished.Task; // the pacer has sent everything before the last reply can arrive
    await watchGc;
    if (gcSamples.Count > 1)
        Console.Error.WriteLine("server GC pauses > 2 ms per 100 ms: " + string.Join(" ", gcSamples.Zip(gcSamples.Skip(1))
            .Where(p => (p.Second.Pause - p.First.Pause) * 1000 > 2)
            .Select(p => $"{p.Second.At:F1}s:{(p.Second.Pause - p.First.Pause) * 1000:F0}ms/{p.Second.Collections - p.First.Collections}")));
    foreach (var lane in lanes) lane.Connection.Close();
    await Task.WhenAll(readers);
    foreach (var lane in lanes) lane.Connection.Dispose();
    var measured = latencies[warmUp..];
    if (Environment.GetEnvironmentVariable("LOADTEST_SLOW") is not null)
    {
        // Diagnostics: when the slow requests (> 5 ms) were due (seconds into the measured part), in 100 ms windows.
        var windows = measured.Select((l, k) => (l, k)).Where(x => x.l > 5).GroupBy(x => (int)(x.k / rate * 10)).Select(g => $"{g.Key / 10.0:F1}s:{g.Count()}(max {g.Max(x => x.l):F0})");
        Console.Error.WriteLine("slow: " + string.Join(" ", windows));
    }
    Array.Sort(measured);
    double Q(double q) => measured.Length == 0 ? 0 : measured[Math.Min(measured.Length - 1, (int)(q * measured.Length))];
    if (Environment.GetEnvironmentVariable("LOADTEST_GC") is not null)
        Console.Error.WriteLine($"client GC: gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)} pause {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms");
    Console.WriteLine($"| {name} open loop at half of peak ({rate:F0} req/s) | {measured.Length} | {errors} | {rate:F0} | — | {Q(0.5):F2} | {Q(0.9):F2} | {Q(0.99):F2} | — | — |");
}
return 0;

// The server's allocated bytes and CPU seconds so far: the minimal host's /alloc and /cpu, or the operator's /metrics.
async Task<(long Allocated, double Cpu)?> ServerCountersAsync(string name)
{
    try
    {
        if (name == "minimal")
            return (long.Parse(await minimalHttp!.GetStringAsync("/alloc")),
                double.Parse(await minimalHttp!.GetStringAsync("/cpu"), System.Globalization.CultureInfo.InvariantCulture));
        if (metricsUrl is null) return null;
        var text = await http.GetStringAsync(metricsUrl);
        return MetricSum(text, "dotnet_gc_heap_total_allocated_bytes") is { } allocated
            ? ((long)allocated, MetricSum(text, "dotnet_process_cpu_time_seconds_total") ?? 0) // CPU: user + system
            : null;
    }
    catch (HttpRequestException)
    {
        return null;
    }
}

// The sum of a metric's samples (all label sets) in Prometheus text, or null when it has none.
static double? MetricSum(string text, string name)
{
    double? sum = null;
    foreach (var line in text.Split('\n'))
        if (line.StartsWith(name, StringComparison.Ordinal))
            sum = (sum ?? 0) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    return sum;
}

int GenerateJson(int i, Span<byte> json)
{
    System.Text.Unicode.Utf8.TryWrite(json, $"{{\"email\":\"load.{RunId}.{i}@example.com\"}}", out var written);
    return written;
}

// One request's bytes (head and body) in a pooled buffer, followed by its envelope's nonce for a v2 request.
Request Plain(string method, string path, string? bearer, byte[]? body)
{
    var buffer = ArrayPool<byte>.Shared.Rent(RawRequest.MaxHeadLength(path, Host, bearer) + (body?.Length ?? 0));
    var length = RawRequest.WriteHead(buffer, method, path, Host, bearer, body?.Length ?? -1);
    body?.CopyTo(buffer, length);
    return new Request(buffer, 0, length + (body?.Length ?? 0), -1, 0, Rented: true);
}

Request V2(string path, ReadOnlySpan<byte> json)
{
    // The envelope's base64 is written straight after the head (its length is known before it is sealed), then the
    // nonce after the request.
    var textLength = Base64Envelope.MaxLength(json.Length);
    var headMax = RawRequest.MaxHeadLength(path, Host, apiKey);
    var buffer = ArrayPool<byte>.Shared.Rent(headMax + textLength + V2Envelope.NonceLength);
    var head = RawRequest.WriteHead(buffer, "POST", path, Host, apiKey, textLength);
    var nonceOffset = head + textLength;
    var written = Base64Envelope.Write(json, secretKey!, envelopeStamp ?? DateTimeOffset.UtcNow, buffer.AsSpan(nonceOffset, V2Envelope.NonceLength), buffer.AsSpan(head, textLength));
    if (written != textLength) throw new InvalidOperationException("base64 length");
    return new Request(buffer, 0, head + textLength, nonceOffset, 0, Rented: true);
}

bool CheckV2(RawConnection connection, Request request)
    => Base64.DecodeFromUtf8InPlace(connection.BodyForWriting, out var sealedLength) == OperationStatus.Done
       && V2Envelope.TryOpenResponseInPlace(connection.BodyForWriting[..sealedLength], secretKey!, request.Nonce, out _);

static async ValueTask<Outcome> ExchangeAsync(RawConnection connection, Scenario run, int i)
{
    var request = run.Build(i);
    try
    {
        var sent = Stopwatch.GetTimestamp();
        await connection.SendAsync(request.Memory);
        var read = await connection.ReadResponseAsync();
        var received = Stopwatch.GetTimestamp();
        return new Outcome(read && connection.Status is >= 200 and < 300 && run.Check(connection, request), sent, received);
    }
    finally
    {
        request.Release();
    }
}

static void Pause()
{
    // Between two due times well under a millisecond apart: a real sleep of ~50 µs on Linux (the core is free for the
    // server meanwhile; Thread.Yield would keep this thread runnable), a yield elsewhere.
    if (OperatingSystem.IsLinux()) Native.usleep(50);
    else Thread.Yield();
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

async Task<Scenario> PrepareRefreshAsync()
{
    // Refresh tokens are single-use in spirit but not enforced; each call refreshes its own chain from a pool (the
    // request's Tag is its chain), and its reply's next token replaces the chain's.
    var pool = new (string Token, byte[] Key)[64];
    for (var i = 0; i < pool.Length; i++)
    {
        var json = await PostV2ForJsonAsync("/v2/token/generate", $"{{\"email\":\"refresh.{i}@example.com\"}}")
            ?? throw new InvalidOperationException("generate failed: check the API key has the GENERATOR role");
        var body = JsonDocument.Parse(json).RootElement.GetProperty("body");
        pool[i] = (body.GetProperty("refresh_token").GetString()!, Convert.FromBase64String(body.GetProperty("refresh_response_key").GetString()!));
    }
    return new Scenario(baseUrl, i =>
    {
        var slot = i % pool.Length;
        var (token, key) = pool[slot];
        var buffer = ArrayPool<byte>.Shared.Rent(RawRequest.MaxHeadLength("/v2/token/refresh", Host, null) + token.Length + key.Length);
        var head = RawRequest.WriteHead(buffer, "POST", "/v2/token/refresh", Host, null, token.Length);
        Encoding.ASCII.GetBytes(token, buffer.AsSpan(head));
        key.CopyTo(buffer, head + token.Length); // the reply is sealed with the key that came with this token
        return new Request(buffer, 0, head + token.Length, head + token.Length, slot, Rented: true);
    }, (connection, request) =>
    {
        var body = connection.BodyForWriting;
        if (Base64.DecodeFromUtf8InPlace(body, out var sealedLength) != OperationStatus.Done
            || !V2Envelope.TryDecryptNoNonce(body[..sealedLength], request.ResponseKey, out var plain)) return false;
        var reply = JsonDocument.Parse(plain!).RootElement.GetProperty("body");
        pool[request.Tag] = (reply.GetProperty("refresh_token").GetString()!, Convert.FromBase64String(reply.GetProperty("refresh_response_key").GetString()!));
        return true;
    });
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var result = new Dictionary<string, string>();
    for (var i = 0; i + 1 < args.Length; i += 2)
        result[args[i].TrimStart('-')] = args[i + 1];
    return result;
}

/// <summary>Requests built ahead, one after another in one array (each request followed by its envelope's nonce).</summary>
sealed class Prebuilt
{
    private byte[] _bytes = [];
    private int[] _offsets = [];
    private int[] _lengths = [];
    private int[] _nonceOffsets = [];

    public Request Request(int slot) => new(_bytes, _offsets[slot], _lengths[slot], _nonceOffsets[slot], 0, Rented: false);

    public static Prebuilt Build(int count, Func<int, Request> build)
    {
        var result = new Prebuilt { _offsets = new int[count], _lengths = new int[count], _nonceOffsets = new int[count] };
        var bytes = new ArrayBufferWriter<byte>(count * 400);
        for (var k = 0; k < count; k++)
        {
            var request = build(k);
            result._offsets[k] = bytes.WrittenCount;
            result._lengths[k] = request.Length;
            result._nonceOffsets[k] = request.NonceOffset < 0 ? -1 : bytes.WrittenCount + request.Length;
            bytes.Write(request.Span);
            if (request.NonceOffset >= 0) bytes.Write(request.Nonce);
            request.Release();
        }
        result._bytes = bytes.WrittenSpan.ToArray();
        return result;
    }
}

/// <summary>
/// What a scenario sends and how it checks a reply: <see cref="Build"/> makes request <c>i</c> (a new identity each),
/// <see cref="Check"/> validates a 2xx reply to it (decrypts a v2 envelope). Both run outside the timed span.
/// </summary>
sealed record Scenario(Uri Target, Func<int, Request> Build, Func<RawConnection, Request, bool> Check)
{
    /// <summary>Whether the open loop may build every request before it starts (no request depends on a reply).</summary>
    public bool Prebuildable { get; init; }
}

/// <summary>
/// One request's bytes in <see cref="Buffer"/> (pooled when <see cref="Rented"/>), followed by its v2 nonce (or a
/// refresh's response key), and a tag.
/// </summary>
readonly record struct Request(byte[] Buffer, int Offset, int Length, int NonceOffset, int Tag, bool Rented)
{
    public ReadOnlySpan<byte> Span => Buffer.AsSpan(Offset, Length);
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(Offset, Length);
    public ReadOnlySpan<byte> Nonce => NonceOffset < 0 ? [] : Buffer.AsSpan(NonceOffset, V2Envelope.NonceLength);

    /// <summary>A refresh request's response key (stored where a v2 request keeps its nonce).</summary>
    public ReadOnlySpan<byte> ResponseKey => Buffer.AsSpan(NonceOffset, 32);

    public void Release()
    {
        if (Rented) ArrayPool<byte>.Shared.Return(Buffer);
    }
}

/// <summary>One connection of the open loop: its requests in flight, oldest first.</summary>
sealed class Lane(RawConnection connection)
{
    public readonly RawConnection Connection = connection;
    public readonly System.Collections.Concurrent.ConcurrentQueue<Sent> Pending = new();
    public int InFlight;
    public volatile bool Dead;
}

readonly record struct Sent(int Slot, Request Request);

/// <summary>A v2 request envelope as the base64 text a client sends, written into a caller's buffer.</summary>
static class Base64Envelope
{
    public static int MaxLength(int jsonLength) => Base64.GetMaxEncodedToUtf8Length(V2Envelope.RequestLength(jsonLength));

    /// <summary>Seals <paramref name="json"/> with a random nonce (written to <paramref name="nonce"/>); returns the text's length.</summary>
    public static int Write(ReadOnlySpan<byte> json, Uid2.Core.Keys.GcmKey secret, DateTimeOffset now, Span<byte> nonce, Span<byte> text)
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

    /// <summary>The Host header of every measured request.</summary>
    private static string Host = "";

}
