using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Core.ClientSide;
using Uid2.Operator.Auth;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Trust": each test closes one hole found by trying the operator as an attacker would, and fails on the code
/// before the fix (named in each test).
/// </summary>
public abstract class TrustTests(StoreKind store) : IAsyncLifetime
{
    private const Role AllRoles = Role.Generator | Role.Optout | Role.Mapper | Role.IdReader | Role.Sharer;

    /// <summary>Every endpoint behind the v2 envelope, with a payload it accepts.</summary>
    public static readonly (string Path, string Payload)[] EnvelopeEndpoints =
    [
        ("/v2/token/generate", """{"email":"trust@example.com"}"""),
        ("/v2/token/validate", """{"token":"AAAA","email":"validate@example.com"}"""),
        ("/v2/token/logout", """{"email":"trust.logout@example.com"}"""),
        ("/v2/identity/map", """{"email":["trust@example.com"]}"""),
        ("/v3/identity/map", """{"email":["trust@example.com"]}"""),
        ("/v2/identity/buckets", """{"since_timestamp":"2024-01-01T00:00:00"}"""),
        ("/v2/optout/status", """{"advertising_ids":[]}"""),
        ("/v2/key/sharing", ""),
        ("/v2/key/bidstream", ""),
        ("/v2/key/latest", ""),
    ];

    private OperatorHost _host = null!;
    private TestParticipant _all = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _all = await _host.AddParticipantAsync(7001, AllRoles);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>A CSTG key pair for the test site, allowed from example.com, loaded by the operator.</summary>
    private async Task<ClientSideKeyPair> AddCstgKeypairAsync(string subscriptionId)
    {
        var pair = ClientSideKeys.Generate();
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            await s.AddClientSideKeypairAsync(new ClientSideKeypair(subscriptionId, _all.SiteId, pair.PublicKey, pair.PrivateKey, DateTimeOffset.UtcNow, false));
            await s.SetDomainNamesAsync(_all.SiteId, ["example.com"]);
        }
        await _host.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);
        return pair;
    }

    private static void AssertProtocolError(int expectedStatus, (int Status, JsonElement Json) actual, string? message = null)
    {
        Assert.Equal(expectedStatus, actual.Status);
        Assert.Equal(JsonValueKind.String, actual.Json.GetProperty("status").ValueKind);
        if (message is not null) Assert.Equal(message, actual.Json.GetProperty("message").GetString());
    }

    // ---- validate is no identity oracle (before: v1 answered true/false for any identity, with no API key) ------------

    [SkippableFact]
    public async Task Validate_compares_only_the_test_identities_and_v1_needs_a_generator_key()
    {
        var (_, victim) = await _host.PostV2Async("/v2/token/generate", _all, new { email = "victim@example.com" });
        var token = victim.GetProperty("body").GetProperty("advertising_token").GetString()!;
        var query = $"/v1/token/validate?token={Uri.EscapeDataString(token)}&email=victim%40example.com";

        Assert.Equal(401, (await _host.GetAsync(query)).Status);
        var mapper = await _host.AddParticipantAsync(7002, Role.Mapper);
        Assert.Equal(401, (await _host.GetAsync(query, mapper.ApiKey)).Status);

        // The right identity for a real user's token: false, as the reference answers for any non-test identity.
        var (s1, v1) = await _host.GetAsync(query, _all.ApiKey);
        Assert.Equal(200, s1);
        Assert.False(v1.GetProperty("body").GetBoolean());
        var (s2, v2) = await _host.PostV2Async("/v2/token/validate", _all, new { token, email = "victim@example.com" });
        Assert.Equal(200, s2);
        Assert.False(v2.GetProperty("body").GetBoolean());

        // The documented test identities still validate (email and phone, raw and hashed).
        foreach (var (kind, value) in new[] { ("email", "validate@example.com"), ("phone", "+12345678901") })
        {
            var (_, gen) = await _host.PostV2Async("/v2/token/generate", _all, new Dictionary<string, string> { [kind] = value });
            var testToken = gen.GetProperty("body").GetProperty("advertising_token").GetString()!;
            var (_, same) = await _host.PostV2Async("/v2/token/validate", _all, new Dictionary<string, string> { ["token"] = testToken, [kind] = value });
            Assert.True(same.GetProperty("body").GetBoolean(), kind);
            var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(value)));
            var (_, hashed) = await _host.PostV2Async("/v2/token/validate", _all,
                new Dictionary<string, string> { ["token"] = testToken, [kind + "_hash"] = hash });
            Assert.True(hashed.GetProperty("body").GetBoolean(), kind + "_hash");
            var (_, v1Same) = await _host.GetAsync($"/v1/token/validate?token={Uri.EscapeDataString(testToken)}&{kind}={Uri.EscapeDataString(value)}", _all.ApiKey);
            Assert.True(v1Same.GetProperty("body").GetBoolean(), "v1 " + kind);
            // A test identity against another identity's token: false.
            var (_, cross) = await _host.PostV2Async("/v2/token/validate", _all, new Dictionary<string, string> { ["token"] = token, [kind] = value });
            Assert.False(cross.GetProperty("body").GetBoolean());
        }
    }

    // ---- no 5xx from any input (before: 500 for a lone surrogate or invalid UTF-8 in any JSON string) -----------------

    /// <summary>JSON values an attacker may put in any field (as raw UTF-8 bytes: some are not valid UTF-8).</summary>
    public static readonly byte[][] HostileValues =
    [
        "\"\\ud800\""u8.ToArray(), // escaped lone high surrogate
        "\"\\udc00x\""u8.ToArray(), // escaped lone low surrogate
        "\"a\\u0000b@example.com\""u8.ToArray(), // escaped NUL
        [(byte)'"', 0xff, 0xfe, (byte)'"'], // invalid UTF-8
        [(byte)'"', 0xed, 0xa0, 0x80, (byte)'"'], // UTF-8-encoded surrogate (invalid UTF-8)
        [(byte)'"', 0xc3, (byte)'"'], // truncated sequence
        [(byte)'"', (byte)'a', 0x00, (byte)'"'], // raw NUL inside a string (invalid JSON)
        "1e999999"u8.ToArray(),
        "-123456789012345678901234567890123456789"u8.ToArray(),
        "true"u8.ToArray(),
        "{}"u8.ToArray(),
        "[]"u8.ToArray(),
        "[null]"u8.ToArray(),
        "[1,2,3]"u8.ToArray(),
        "[\"\\ud800\"]"u8.ToArray(),
        "[{\"\\ud800\":1}]"u8.ToArray(),
        Encoding.ASCII.GetBytes(new string('[', 100) + new string(']', 100)), // deeper than the parser allows
        Encoding.ASCII.GetBytes(new string('[', 60) + "\"\\ud800\"" + new string(']', 60)),
    ];

    public static readonly string[] FieldNames =
        ["email", "email_hash", "phone", "phone_hash", "token", "since_timestamp", "advertising_ids", "policy", "optout_check", "\\ud800"];

    private static byte[] Object(string field, byte[] value) =>
        [.. Encoding.UTF8.GetBytes($"{{\"{field}\":"), .. value, (byte)'}'];

    [SkippableFact]
    public async Task Hostile_json_in_any_field_of_any_envelope_endpoint_is_a_4xx_in_protocol_shape()
    {
        var failures = new List<string>();
        foreach (var (path, _) in EnvelopeEndpoints)
        {
            var payloads = FieldNames.SelectMany(f => HostileValues.Select(v => Object(f, v)))
                .Concat(HostileValues)
                .Append("{\"email\":[\"ok@example.com\",\"\\ud800\"]}"u8.ToArray())
                .Append("{\"token\":\"\\ud800\",\"email\":\"validate@example.com\"}"u8.ToArray())
                .Append([0xef, 0xbb, 0xbf, (byte)'{', (byte)'}']) // BOM
                .Append([0xff]);
            foreach (var payload in payloads)
            {
                var (status, json, _) = await _host.PostV2RawAsync(path, _all, payload);
                var ok = status is >= 200 and < 500 && json.ValueKind == JsonValueKind.Object
                         && json.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String;
                if (!ok) failures.Add($"{path} {Convert.ToHexString(payload)[..Math.Min(80, payload.Length * 2)]} → {status} {json}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [SkippableFact]
    public async Task Hostile_json_in_client_generate_is_a_4xx_in_protocol_shape()
    {
        var pair = await AddCstgKeypairAsync("trustCstg1");
        var browser = new CstgBrowser(pair.PublicKey, "trustCstg1");
        var now = _host.Time.GetUtcNow().ToUnixTimeMilliseconds();

        var bodies = new List<byte[]>();
        foreach (var field in new[] { "payload", "iv", "public_key", "timestamp", "subscription_id", "app_name", "\\udfff" })
        {
            foreach (var value in HostileValues)
            {
                var (request, _) = browser.Build(CstgBrowser.EmailHashPayload("trust@example.com"), now);
                var text = request.ToJsonString();
                var json = Encoding.UTF8.GetBytes(text[..^1]);
                bodies.Add([.. json, .. Encoding.UTF8.GetBytes($",\"{field}\":"), .. value, (byte)'}']);
            }
        }
        bodies.AddRange(HostileValues);
        // Hostile JSON inside the encrypted payload, which only a real browser key can produce.
        foreach (var inner in new[] { "{\"email_hash\":\"\\ud800\"}", "{\"\\ud800\":1}", "{\"email_hash\":[\"\\udc00\"]}", "[1]", "1e999999" })
            bodies.Add(Encoding.UTF8.GetBytes(browser.Build(inner, now).Request.ToJsonString()));

        var failures = new List<string>();
        foreach (var body in bodies)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, "/v2/token/client-generate") { Content = new ByteArrayContent(body) };
            message.Headers.TryAddWithoutValidation("Origin", "https://www.example.com");
            using var response = await _host.Http.SendAsync(message);
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            // A 200 (a duplicate field whose last value is valid, say) is base64 ciphertext; anything else is a protocol error.
            if (status >= 500 || (status != 200 && JsonDocument.Parse(text).RootElement.GetProperty("status").ValueKind != JsonValueKind.String))
                failures.Add($"{Encoding.UTF8.GetString(body)[..Math.Min(120, body.Length)]} → {status} {text}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [SkippableTheory]
    [InlineData("email=%ff%fe")]
    [InlineData("email=%ED%A0%80%40example.com")]
    [InlineData("email=a%00b%40example.com")]
    [InlineData("email_hash=%ff")]
    [InlineData("phone=%2B1234567890%00")]
    [InlineData("email=a%40b.com&email=c%40d.com")]
    public async Task Hostile_v1_query_strings_are_4xx(string query)
    {
        // Some of these are valid identities to the reference's normalizer (it keeps any character but the ones it
        // rewrites): what matters is that none is a 5xx and every answer is in the protocol's shape.
        var (status, json) = await _host.GetAsync("/v1/token/generate?" + query, _all.ApiKey);
        Assert.InRange(status, 200, 499);
        Assert.Equal(status == 200 ? "success" : "client_error", json.GetProperty("status").GetString());
    }

    // ---- replay (before: the same envelope was accepted again and again within its window) ----------------------------

    [SkippableFact]
    public async Task An_envelope_is_accepted_once_on_every_endpoint()
    {
        foreach (var (path, payload) in EnvelopeEndpoints)
        {
            var (first, _, envelope) = await _host.PostV2RawAsync(path, _all, Encoding.UTF8.GetBytes(payload));
            Assert.True(first is 200 or 400, $"{path}: {first}"); // validate of "AAAA" answers 400 invalid token, once
            var replay = await _host.PostV2RawAsync(path, _all, null, envelope);
            AssertProtocolError(400, (replay.Status, replay.Json), "Duplicate request: this request was already received");
        }
    }

    [SkippableFact]
    public async Task Repeated_logouts_of_one_identity_leave_one_opt_out_row()
    {
        async Task<int> CountAsync()
        {
            await using var s = Uid2StoreFactory.Create(_host.ConnectionString);
            return (await s.LoadSnapshotAsync()).OptOuts.Count;
        }
        var before = await CountAsync();
        for (var i = 0; i < 3; i++)
        {
            _host.Time.Advance(TimeSpan.FromSeconds(1)); // each a later opt-out: the latest time wins
            Assert.Equal(200, (await _host.PostV2Async("/v2/token/logout", _all, new { email = "repeat.logout@example.com" })).Status);
        }
        Assert.Equal(before + 1, await CountAsync());
    }

    [SkippableFact]
    public async Task A_client_generate_request_is_accepted_once()
    {
        var pair = await AddCstgKeypairAsync("trustCstg2");
        var (request, _) = new CstgBrowser(pair.PublicKey, "trustCstg2")
            .Build(CstgBrowser.EmailHashPayload("replay@example.com"), _host.Time.GetUtcNow().ToUnixTimeMilliseconds());
        var statuses = new List<(int, string)>();
        for (var i = 0; i < 2; i++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, "/v2/token/client-generate") { Content = new StringContent(request.ToJsonString()) };
            message.Headers.TryAddWithoutValidation("Origin", "https://www.example.com");
            using var response = await _host.Http.SendAsync(message);
            statuses.Add(((int)response.StatusCode, await response.Content.ReadAsStringAsync()));
        }
        Assert.Equal(200, statuses[0].Item1);
        Assert.Equal(400, statuses[1].Item1);
        Assert.Contains("Duplicate request", statuses[1].Item2);
    }

    // ---- auth is uniform (before: empty 400 for non-ASCII bytes; unknown key ids skipped the hash) --------------------

    [SkippableTheory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer     ")]
    [InlineData("Bearer UID2-C-L-7001-zzzzz.notTheKey")]
    [InlineData("Bearer \u0001\u0002")]
    [InlineData("Bearerx UID2-C-L-7001-zzzzz.x")]
    public async Task Any_malformed_authorization_header_is_401_in_protocol_shape(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/token/generate?email=a%40b.com");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await _host.Http.SendAsync(request);
        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal("unauthorized", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Non_ascii_bytes_in_the_authorization_header_are_401_in_protocol_shape()
    {
        foreach (var key in new byte[][] { [0xc3, 0xa9, 0xff], [0x80], Encoding.UTF8.GetBytes("UID2-C-L-7001-ñññññ.x") })
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(_host.BaseAddress.Host, _host.BaseAddress.Port);
            await using var stream = tcp.GetStream();
            byte[] request =
            [
                .. "GET /v1/token/generate?email=a%40b.com HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer "u8,
                .. key, .. "\r\n\r\n"u8,
            ];
            await stream.WriteAsync(request);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            var response = await reader.ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 401", response);
            Assert.EndsWith("{\"status\":\"unauthorized\"}", response);
        }
    }

    // ---- health tells the truth (before: 200 OK while every opt-out write failed) -------------------------------------

    [SkippableFact]
    public async Task Health_answers_503_while_durable_writes_fail_and_recovers_by_itself()
    {
        var faults = new StoreFaults();
        await using var host = await StartWithFaultyStoreAsync(faults);
        var publisher = await host.AddParticipantAsync(7003, Role.Optout);
        Assert.Equal((200, "OK"), await HealthAsync(host));

        faults.FailWrites = true; // as a full disk, a read-only file or a lost server does
        var (status, json) = await host.PostV2Async("/v2/token/logout", publisher, new { email = "disk.full@example.com" });
        Assert.Equal(503, status);
        Assert.Equal("unknown", json.GetProperty("status").GetString());
        var health = await HealthAsync(host);
        Assert.Equal(503, health.Status);
        Assert.StartsWith("durable writes failing", health.Text);
        Assert.DoesNotContain("disk.full", health.Text);

        faults.FailWrites = false; // no request needed: the probe notices
        await Eventually.TrueAsync(async () => await HealthAsync(host) == (200, "OK"), TimeSpan.FromSeconds(30), "health recovers");
        Assert.Equal(200, (await host.PostV2Async("/v2/token/logout", publisher, new { email = "disk.full@example.com" })).Status);
    }

    [SkippableFact]
    public async Task The_write_probe_alone_notices_a_store_that_stopped_taking_writes()
    {
        var faults = new StoreFaults();
        await using var host = await StartWithFaultyStoreAsync(faults);
        faults.FailWrites = true;
        await Eventually.TrueAsync(async () => (await HealthAsync(host)).Status == 503, TimeSpan.FromSeconds(30), "health turns 503 with no opt-out sent");
        faults.FailWrites = false;
        await Eventually.TrueAsync(async () => await HealthAsync(host) == (200, "OK"), TimeSpan.FromSeconds(30), "health recovers");
    }

    /// <summary>An operator whose store fails every durable write while <paramref name="faults"/> says so; probing every second.</summary>
    private Task<OperatorHost> StartWithFaultyStoreAsync(StoreFaults faults) => OperatorHost.StartAsync(store: store,
        settings: new() { ["Uid2:WriteProbeIntervalSeconds"] = "1" },
        configure: b => b.Services.AddSingleton<IUid2Store>(_ => FaultyStore.Wrap(Uid2StoreFactory.Create(b.Configuration.GetConnectionString("Uid2")!), faults)));

    private static async Task<(int Status, string Text)> HealthAsync(OperatorHost host)
    {
        using var response = await host.Http.GetAsync("/ops/healthcheck");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

public sealed class TrustTestsOnSqlite() : TrustTests(StoreKind.Sqlite);

public sealed class TrustTestsOnPostgres() : TrustTests(StoreKind.Postgres);

/// <summary>Demo credentials exist only in Development (before: the public demo key kept every role in Production).</summary>
public abstract class DemoCredentialsTests(StoreKind store)
{
    [SkippableFact]
    public async Task The_demo_key_and_cstg_pair_answer_401_in_production_on_a_store_created_in_development()
    {
        var demo = new Configuration.DemoParticipantOptions();
        await using var host = await OperatorHost.StartAsync("Development", store: store);
        var query = "/v1/token/generate?email=demo%40example.com";
        Assert.Equal(200, (await host.GetAsync(query, demo.ApiKey)).Status);

        await host.RestartAsync(environment: "Production");
        var (status, json) = await host.GetAsync(query, demo.ApiKey);
        Assert.Equal(401, status);
        Assert.Equal("unauthorized", json.GetProperty("status").GetString());
        var provider = host.Services.GetRequiredService<OperatorStateProvider>();
        Assert.Contains(provider.DisabledDemoCredentials, c => c.StartsWith("API key UID2-C-L-999-demoK", StringComparison.Ordinal));
        Assert.Contains(provider.DisabledDemoCredentials, c => c.StartsWith($"CSTG key pair {demo.SubscriptionId}", StringComparison.Ordinal));
        Assert.Null(provider.Current.ClientSide.GetKeypair(demo.SubscriptionId));
        Assert.All(provider.DisabledDemoCredentials, c => Assert.DoesNotContain(demo.ClientSecret, c));

        var (request, _) = new CstgBrowser(demo.ServerPublicKey, demo.SubscriptionId)
            .Build(CstgBrowser.EmailHashPayload("demo@example.com"), host.Time.GetUtcNow().ToUnixTimeMilliseconds());
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v2/token/client-generate") { Content = new StringContent(request.ToJsonString()) };
        message.Headers.TryAddWithoutValidation("Origin", "http://localhost:8080");
        using var response = await host.Http.SendAsync(message);
        Assert.InRange((int)response.StatusCode, 400, 401);

        // Back in Development the laptop demo works again: nothing was destroyed.
        await host.RestartAsync(environment: "Development");
        Assert.Equal(200, (await host.GetAsync(query, demo.ApiKey)).Status);
    }
}

public sealed class DemoCredentialsTestsOnSqlite() : DemoCredentialsTests(StoreKind.Sqlite);

public sealed class DemoCredentialsTestsOnPostgres() : DemoCredentialsTests(StoreKind.Postgres);

/// <summary>Unit tests of the authenticator's uniform cost (no timing: the number of hash checks is what is uniform).</summary>
public sealed class ApiKeyAuthenticatorTests
{
    private static OperatorState StateWith(params ApiKeyRecord[] keys) =>
        new(new StoreSnapshot(1, [new Participant(1, "p", Role.Generator, true, DateTimeOffset.UtcNow)], keys, [], null, []), Core.IdentityScope.Uid2);

    [Fact]
    public void Unknown_key_ids_wrong_secrets_and_disabled_keys_each_cost_one_hash_check()
    {
        var key = ApiKeys.Generate(1);
        var disabled = ApiKeys.Generate(1);
        var state = StateWith(
            new ApiKeyRecord(key.KeyId, key.KeyHash, key.KeySalt, 1, "k", Role.Generator, ApiKeys.GenerateClientSecret(), false, DateTimeOffset.UtcNow),
            new ApiKeyRecord(disabled.KeyId, disabled.KeyHash, disabled.KeySalt, 1, "d", Role.Generator, ApiKeys.GenerateClientSecret(), true, DateTimeOffset.UtcNow));
        var checks = 0;
        bool Counting(string k, string h, string s) { checks++; return ApiKeys.Verify(k, h, s); }

        foreach (var (header, expected) in new[]
                 {
                     ("Bearer " + ApiKeys.Generate(1).Key, AuthOutcome.Invalid), // unknown key id
                     ("Bearer " + key.Key[..^1] + (key.Key[^1] == 'A' ? 'B' : 'A'), AuthOutcome.Invalid), // known id, wrong secret
                     ("Bearer " + disabled.Key, AuthOutcome.Invalid), // disabled
                     ("Bearer " + key.Key, AuthOutcome.Authenticated),
                 })
        {
            checks = 0;
            Assert.Equal(expected, ApiKeyAuthenticator.Authenticate(header, state, Counting, out var client));
            Assert.Equal(1, checks);
            Assert.Equal(expected == AuthOutcome.Authenticated, client is not null);
        }
    }

    [Theory]
    [InlineData("Basic abc")]
    [InlineData("Bearer ")]
    [InlineData("Bearer \u00e9\u00ff")]
    [InlineData("bearer")]
    public void Malformed_headers_are_invalid_not_missing(string header) =>
        Assert.Equal(AuthOutcome.Invalid, ApiKeyAuthenticator.Authenticate(header, StateWith(), ApiKeys.Verify, out _));
}

/// <summary>Switches a <see cref="FaultyStore"/> between working and failing every write.</summary>
public sealed class StoreFaults
{
    public volatile bool FailWrites;
}

/// <summary>
/// A store whose durable writes (opt-outs and the write probe) throw <see cref="IOException"/> while
/// <see cref="StoreFaults.FailWrites"/> is set, as a full disk does; everything else goes to the real store.
/// </summary>
public class FaultyStore : DispatchProxy
{
    public interface IProbedStore : IUid2Store, IStoreWriteProbe, IStoreOptOutBatches;

    private IUid2Store _inner = null!;
    private StoreFaults _faults = null!;

    public static IUid2Store Wrap(IUid2Store inner, StoreFaults faults)
    {
        var proxy = Create<IProbedStore, FaultyStore>();
        var self = (FaultyStore)(object)proxy;
        self._inner = inner;
        self._faults = faults;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        if (_faults.FailWrites && method!.Name is nameof(IUid2Store.AddOptOutAsync) or nameof(IStoreOptOutBatches.AddOptOutsAsync)
                or nameof(IStoreWriteProbe.ProbeWriteAsync))
            throw new IOException("No space left on device");
        try
        {
            object target = method!.DeclaringType == typeof(IStoreWriteProbe) ? (IStoreWriteProbe)_inner
                : method.DeclaringType == typeof(IStoreOptOutBatches) ? (IStoreOptOutBatches)_inner : _inner;
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }
    }
}
