using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;

namespace Uid2.ScaleOut.Infrastructure;

/// <summary>Credentials of a participant (site id, API key, client secret).</summary>
public sealed record Credentials(int SiteId, string ApiKey, string Secret);

/// <summary>
/// One real operator: <c>dotnet Uid2.Operator.dll</c> from this program's bin folder, bound to 127.0.0.1 on a free port,
/// in Production, on the given store. Killed (whole process tree) on dispose, and on exit of this process if still running.
/// Shared by tests/Uid2.ScaleOut.Tests and bench/Uid2.Propagation (linked source), so it uses no test framework.
/// </summary>
public sealed class OperatorProcess : IAsyncDisposable
{
    private static readonly List<Process> Live = [];
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    static OperatorProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            lock (Live)
                foreach (var p in Live)
                    try { if (!p.HasExited) p.Kill(entireProcessTree: true); } catch (Exception) { }
        };
    }

    private OperatorProcess(string name, Process process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        Http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public string Name { get; }
    public int Port { get; }
    public Uri BaseAddress { get; }
    public HttpClient Http { get; }
    public int ProcessId => _process.Id;

    /// <summary>What the process wrote to stdout and stderr so far (for failure messages).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The operator DLL next to this program's own assembly (a ProjectReference copies it there).</summary>
    public static string OperatorDllPath
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Uid2.Operator.dll");
            if (!File.Exists(path) || !File.Exists(Path.Combine(AppContext.BaseDirectory, "Uid2.Operator.runtimeconfig.json")))
                throw new FileNotFoundException($"Uid2.Operator.dll and its runtimeconfig are not in {AppContext.BaseDirectory}: reference src/Uid2.Operator.");
            return path;
        }
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts the process; does not wait for it to be healthy (see <see cref="WaitHealthyAsync"/>).</summary>
    /// <param name="environment">Variables to set (or, with a null value, remove) in the operator's environment.</param>
    public static OperatorProcess Start(string name, string connectionString, int pollIntervalMs = 1000, int saltBuckets = 4096,
        IEnumerable<string>? extraArgs = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     OperatorDllPath,
                     "--urls", $"http://127.0.0.1:{port}",
                     "--environment", "Production",
                     "--ConnectionStrings:Uid2", connectionString,
                     "--Uid2:SaltBucketCount", saltBuckets.ToString(),
                     "--Uid2:StorePollIntervalMilliseconds", pollIntervalMs.ToString(),
                     "--Logging:LogLevel:Default", "Warning",
                 }.Concat(extraArgs ?? []))
            psi.ArgumentList.Add(a);
        // An inherited ASPNETCORE_/DOTNET_ environment must not change what is under test.
        psi.Environment.Remove("ASPNETCORE_URLS");
        psi.Environment.Remove("ConnectionStrings__Uid2");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) psi.Environment.Remove(key);
            else psi.Environment[key] = value;
        }

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var op = new OperatorProcess(name, process, port);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (op._output) op._output.AppendLine(e.Data); };
        process.Start();
        lock (Live) Live.Add(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return op;
    }

    /// <summary>Waits until /ops/healthcheck answers 200 "OK"; throws with the process output if it exits or times out.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        string? last = null;
        while (sw.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"operator {Name} exited with code {_process.ExitCode} before it was healthy:\n{Output}");
            try
            {
                var (status, text) = await HealthAsync();
                last = $"{status} {text}";
                if (status == 200 && text == "OK") return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(50);
        }
        throw new TimeoutException($"operator {Name} not healthy after {timeout.TotalSeconds:F0} s (last: {last ?? "no answer"}):\n{Output}");
    }

    /// <summary>Waits for the process to exit by itself; returns its exit code (throws on timeout).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async Task<(int Status, string Text)> HealthAsync()
    {
        using var response = await Http.GetAsync("/ops/healthcheck");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// A v2 envelope call. Returns the HTTP status and the decrypted JSON for a 200, the plain JSON body otherwise.
    /// Throws if a 200 does not decrypt with the request nonce.
    /// </summary>
    public async Task<(int Status, JsonElement Json)> PostV2Async(string path, Credentials who, object? payload)
    {
        var json = payload is null ? [] : JsonSerializer.SerializeToUtf8Bytes(payload);
        var secret = Convert.FromBase64String(who.Secret);
        var envelope = V2Envelope.EncryptRequest(json, secret, DateTimeOffset.UtcNow, out var nonce);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", who.ApiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            if (!V2Envelope.TryDecryptResponse(Convert.FromBase64String(text), secret, nonce, out var plain))
                throw new InvalidOperationException($"{Name} {path}: the 200 response does not decrypt with the request nonce");
            return ((int)response.StatusCode, JsonDocument.Parse(plain!).RootElement.Clone());
        }
        return ((int)response.StatusCode, ParseOrWrap(text));
    }

    /// <summary>POST /v2/token/refresh with the 388-char token as body (no API key); a 200 is decrypted with the response key.</summary>
    public async Task<(int Status, JsonElement Json)> RefreshV2Async(string refreshToken, string refreshResponseKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/refresh")
        {
            Content = new StringContent(refreshToken, Encoding.UTF8, "text/plain"),
        };
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            if (!V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(text), Convert.FromBase64String(refreshResponseKey), out var plain))
                throw new InvalidOperationException($"{Name} refresh: the 200 response does not decrypt with refresh_response_key");
            return ((int)response.StatusCode, JsonDocument.Parse(plain!).RootElement.Clone());
        }
        return ((int)response.StatusCode, ParseOrWrap(text));
    }

    /// <summary>Generate (v2) for an email; returns the body (advertising_token, refresh_token, refresh_response_key…).</summary>
    public async Task<JsonElement> GenerateAsync(Credentials publisher, string email)
    {
        var (status, json) = await PostV2Async("/v2/token/generate", publisher, new { email });
        if (status != 200 || json.GetProperty("status").GetString() != "success")
            throw new InvalidOperationException($"{Name} generate {email}: {status} {json}");
        return json.GetProperty("body");
    }

    private static JsonElement ParseOrWrap(string text)
    {
        try { return JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { return JsonSerializer.SerializeToElement(new { raw = text }); }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception) { /* already gone */ }
        lock (Live) Live.Remove(_process);
        _process.Dispose();
    }
}
