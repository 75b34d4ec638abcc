using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Uid2.Core.Auth;
using Uid2.Core.Envelope;
using Uid2.Storage;

namespace Uid2.Operator.Tests.Infrastructure;

/// <summary>Credentials of a participant created for a test.</summary>
public sealed record TestParticipant(int SiteId, string ApiKey, string Secret);

/// <summary>
/// A real operator on Kestrel, bound to 127.0.0.1 on a free port, over its own SQLite file.
/// Restartable on the same file to prove state survives.
/// </summary>
public sealed class OperatorHost : IAsyncDisposable
{
    private WebApplication? _app;
    private readonly TestDatabase _database;

    private readonly Action<WebApplicationBuilder>? _configure;

    private readonly bool _ownsDatabase = true;

    private OperatorHost(TestDatabase database, string environment, Action<WebApplicationBuilder>? configure, bool ownsDatabase = true)
    {
        _ownsDatabase = ownsDatabase;
        _database = database;
        Environment = environment;
        _configure = configure;
    }

    /// <summary>The ASP.NET Core environment the operator runs in (a restart may change it).</summary>
    public string Environment { get; private set; }
    public StoreKind Store => _database.Kind;
    public string ConnectionString => _database.ConnectionString;
    public MutableTimeProvider Time { get; } = new();
    public HttpClient Http { get; private set; } = null!;
    public Uri BaseAddress { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    /// <summary>Everything the operator logged (all restarts), at Debug.</summary>
    public LogCapture Logs { get; } = new();

    private readonly List<string> _issuedSecrets = [];

    /// <summary>Destroys the store (files deleted / database dropped); call while stopped (see <see cref="RestartAsync"/>).</summary>
    public Task DestroyStoreAsync() => _database.DestroyAsync();

    /// <summary>Adds secrets a test obtained elsewhere (e.g. printed by the admin CLI): none may appear in a log.</summary>
    public void AddKnownSecrets(params string[] secrets) => _issuedSecrets.AddRange(secrets);

    private readonly List<string> _personalData = [];

    /// <summary>
    /// Adds personal data a test typed (emails, phone numbers in any spelling, one-time codes): none may appear in a log,
    /// checked as whole words whatever their length.
    /// </summary>
    public void AddKnownPersonalData(params string[] values)
    {
        lock (_personalData) _personalData.AddRange(values);
    }

    /// <summary>Secrets this test handed out or the store holds: none may appear in a log.</summary>
    private async Task<IReadOnlyList<string>> KnownSecretsAsync()
    {
        var secrets = new List<string>(_issuedSecrets);
        await using var store = Uid2StoreFactory.Create(ConnectionString);
        var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false);
        secrets.AddRange(snapshot.ApiKeys.SelectMany(k => new[] { k.ClientSecret, k.KeyHash, k.KeySalt, k.PreviousClientSecret ?? "" }));
        secrets.AddRange(snapshot.Keys.SelectMany(k => new[] { Convert.ToBase64String(k.Secret), System.Buffers.Text.Base64Url.EncodeToString(k.Secret) }));
        if (snapshot.Salts is { } salts)
        {
            secrets.Add(salts.FirstLevelSalt);
            secrets.AddRange(salts.Buckets.SelectMany(b => new[] { b.CurrentSalt, b.PreviousSalt ?? "" }));
        }
        secrets.AddRange((snapshot.ClientSideKeypairs ?? []).Select(k => k.PrivateKey));
        var demo = new Configuration.DemoParticipantOptions();
        secrets.AddRange([demo.ApiKey, demo.ClientSecret, demo.ServerPrivateKey]);
        return secrets;
    }

    /// <param name="configure">Runs on the host builder after the operator's own setup (e.g. to wrap the store).</param>
    public static async Task<OperatorHost> StartAsync(string environment = "Production", Dictionary<string, string?>? settings = null,
        StoreKind store = StoreKind.Sqlite, Action<WebApplicationBuilder>? configure = null)
    {
        var host = new OperatorHost(await TestDatabase.CreateAsync(store), environment, configure);
        await host.StartAppAsync(settings);
        return host;
    }

    /// <summary>
    /// Another operator instance on the same store (a scale-out peer). Dispose it before this one: the store belongs to
    /// this host and is dropped with it.
    /// </summary>
    public async Task<OperatorHost> StartPeerAsync(Dictionary<string, string?>? settings = null)
    {
        var peer = new OperatorHost(_database, Environment, _configure, ownsDatabase: false);
        await peer.StartAppAsync(settings);
        return peer;
    }

    /// <param name="whileStopped">Runs after the operator stopped and before it starts again (e.g. to destroy and restore the store).</param>
    public async Task RestartAsync(Dictionary<string, string?>? settings = null, string? environment = null, Func<Task>? whileStopped = null)
    {
        await StopAppAsync();
        if (whileStopped is not null) await whileStopped();
        Environment = environment ?? Environment;
        await StartAppAsync(settings);
    }

    private async Task StartAppAsync(Dictionary<string, string?>? settings)
    {
        var args = new[]
        {
            "--urls", "http://127.0.0.1:0",
            "--environment", Environment,
            "--ConnectionStrings:Uid2", ConnectionString,
            "--Uid2:SaltBucketCount", "4096",
            "--Uid2:StorePollIntervalMilliseconds", "200",
            "--Uid2:IdentityTokenExpiresAfterSeconds", "3600",
            "--Uid2:RefreshIdentityTokenAfterSeconds", "900",
            "--Uid2:RefreshTokenExpiresAfterSeconds", "86400",
            // Everything at Debug goes to the capture (scanned for leaks on dispose); the console shows warnings only.
            "--Logging:LogLevel:Default", "Debug",
            "--Logging:LogLevel:Microsoft.AspNetCore", "Debug",
            "--Logging:Console:LogLevel:Default", "Warning",
        };
        if (settings is not null)
            args = args.Concat(settings.SelectMany(kv => new[] { "--" + kv.Key, kv.Value ?? "" })).ToArray();

        var time = Time;
        _app = OperatorApp.Build(args, b =>
        {
            b.Services.AddSingleton<TimeProvider>(time);
            b.Logging.AddProvider(Logs);
            _configure?.Invoke(b);
        });
        await OperatorApp.InitializeAsync(_app);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    private async Task StopAppAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Creates a participant with an API key and client secret directly in the store, then waits for the operator to see it.</summary>
    public async Task<TestParticipant> AddParticipantAsync(int siteId, Role roles)
    {
        await using var store = Uid2StoreFactory.Create(ConnectionString);
        await store.InitializeAsync();
        var now = DateTimeOffset.UtcNow;
        await store.AddParticipantAsync(new Participant(siteId, $"site {siteId}", roles, true, now));
        var key = ApiKeys.Generate(siteId);
        var secret = ApiKeys.GenerateClientSecret();
        await store.AddApiKeyAsync(new ApiKeyRecord(key.KeyId, key.KeyHash, key.KeySalt, siteId, $"key {siteId}", roles, secret, false, now));
        await Services.GetRequiredService<State.OperatorStateProvider>().ReloadAsync(CancellationToken.None);
        _issuedSecrets.AddRange([key.Key, secret]);
        return new TestParticipant(siteId, key.Key, secret);
    }

    /// <summary>Stops the operator, checks that nothing secret or personal was logged, and drops the database.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAppAsync();
        try
        {
            Assert.NotEmpty(Logs.Lines); // the scan below must have something to scan
            var leaks = Logs.FindLeaks(await KnownSecretsAsync(), _personalData);
            Assert.True(leaks.Count == 0, $"The operator logged secrets or personal data ({leaks.Count}):\n" + string.Join("\n", leaks.Take(10)));
        }
        finally
        {
            if (_ownsDatabase) await _database.DisposeAsync();
        }
    }

    // ---- protocol helpers -------------------------------------------------------------------------------------------

    /// <summary>Sends a v2 envelope request; returns the HTTP status and either the decrypted JSON (200) or the plain body.</summary>
    public async Task<(int Status, JsonElement Json)> PostV2Async(string path, TestParticipant who, object? payload, DateTimeOffset? at = null,
        string? apiKey = null)
    {
        var json = payload is null ? [] : JsonSerializer.SerializeToUtf8Bytes(payload);
        var secret = Convert.FromBase64String(who.Secret);
        var envelope = V2Envelope.EncryptRequest(json, secret, at ?? Time.GetUtcNow(), out var nonce);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? who.ApiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            Assert.True(V2Envelope.TryDecryptResponse(Convert.FromBase64String(text), secret, nonce, out var plain), "response must decrypt with the request nonce");
            return ((int)response.StatusCode, JsonDocument.Parse(plain!).RootElement.Clone());
        }
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>
    /// Sends <paramref name="json"/> (any bytes) as a v2 envelope's payload, or <paramref name="envelope"/> as is (to
    /// replay one); returns the status and the decrypted JSON (200) or the plain body, and the envelope sent.
    /// </summary>
    public async Task<(int Status, JsonElement Json, byte[] Envelope)> PostV2RawAsync(string path, TestParticipant who, byte[]? json,
        byte[]? envelope = null)
    {
        var secret = Convert.FromBase64String(who.Secret);
        byte[] nonce;
        if (envelope is null)
        {
            envelope = V2Envelope.EncryptRequest(json ?? [], secret, Time.GetUtcNow(), out nonce);
        }
        else
        {
            Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequest(envelope, secret, Time.GetUtcNow(), out var sent));
            nonce = sent!.Nonce;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", who.ApiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode)
        {
            Assert.True(V2Envelope.TryDecryptResponse(Convert.FromBase64String(text), secret, nonce, out var plain), "response must decrypt with the request nonce");
            return ((int)response.StatusCode, JsonDocument.Parse(plain!).RootElement.Clone(), envelope);
        }
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), envelope);
    }

    /// <summary>POST /v2/token/refresh with the 388-char token as the body; decrypts a 200 with the response key.</summary>
    public async Task<(int Status, JsonElement Json)> RefreshV2Async(string refreshToken, string? refreshResponseKey, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/refresh") { Content = new StringContent(refreshToken, Encoding.UTF8, "text/plain") };
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode && refreshResponseKey is not null)
        {
            Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(text), Convert.FromBase64String(refreshResponseKey), out var plain),
                "refresh response must decrypt with refresh_response_key");
            return ((int)response.StatusCode, JsonDocument.Parse(plain!).RootElement.Clone());
        }
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    public async Task<(int Status, JsonElement Json)> GetAsync(string pathAndQuery, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}
