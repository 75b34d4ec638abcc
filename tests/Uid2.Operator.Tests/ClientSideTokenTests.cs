using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Core.ClientSide;
using Uid2.Core.Envelope;
using Uid2.Core.Tokens;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Operator.Tests;

/// <summary>
/// What a browser does for client-side token generation: an ephemeral P-256 key, ECDH with the site's server public
/// key, the payload sealed with AES-GCM under the raw shared secret and AAD <c>[timestamp]</c> (or
/// <c>[timestamp,"app_name"]</c>), plain JSON to <c>/v2/token/client-generate</c>, the answer opened with the same secret.
/// </summary>
public sealed class CstgBrowser(string serverPublicKey, string subscriptionId)
{
    /// <summary>The request body, and the shared secret the response is encrypted with.</summary>
    public (JsonObject Request, byte[] SharedSecret) Build(string payloadJson, long timestampMs, string? appName = null, long? aadTimestampMs = null)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        Assert.True(ClientSideKeys.TryDecodeKeyText(serverPublicKey, out var serverSpki));
        using var server = ECDiffieHellman.Create();
        server.ImportSubjectPublicKeyInfo(serverSpki, out _);
        var secret = ephemeral.DeriveRawSecretAgreement(server.PublicKey);
        var iv = RandomNumberGenerator.GetBytes(12);
        var aad = ClientSideKeys.AdditionalData(aadTimestampMs ?? timestampMs, appName);
        var payload = ClientSideKeys.EncryptPayload(secret, iv, Encoding.UTF8.GetBytes(payloadJson), aad);
        var request = new JsonObject
        {
            ["payload"] = Convert.ToBase64String(payload),
            ["iv"] = Convert.ToBase64String(iv),
            ["public_key"] = Convert.ToBase64String(ephemeral.ExportSubjectPublicKeyInfo()),
            ["timestamp"] = timestampMs,
            ["subscription_id"] = subscriptionId,
        };
        if (appName is not null) request["app_name"] = appName;
        return (request, secret);
    }

    public static string EmailHashPayload(string email) =>
        JsonSerializer.Serialize(new { email_hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(email))) });
}

/// <summary>POST /v2/token/client-generate end to end through a real Kestrel.</summary>
public abstract class ClientSideTokenTests(StoreKind store) : IAsyncLifetime
{
    private const int Site = 5001;
    private const string Origin = "https://www.example.com";

    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _dsp = null!;
    private ClientSideKeypair _keypair = null!;
    private ClientSideKeypair _disabled = null!;
    private CstgBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _publisher = await _host.AddParticipantAsync(Site, Role.Generator);
        _dsp = await _host.AddParticipantAsync(5002, Role.IdReader);
        var pair = ClientSideKeys.Generate();
        var other = ClientSideKeys.Generate();
        _keypair = new ClientSideKeypair("cstgTest01", Site, pair.PublicKey, pair.PrivateKey, DateTimeOffset.UtcNow, false);
        _disabled = new ClientSideKeypair("cstgOff001", Site, other.PublicKey, other.PrivateKey, DateTimeOffset.UtcNow, true);
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            await s.AddClientSideKeypairAsync(_keypair);
            await s.AddClientSideKeypairAsync(_disabled);
            await s.SetDomainNamesAsync(Site, ["example.com", "example.co.uk"]);
            await s.SetAppNamesAsync(Site, ["com.example.App"]);
        }
        await StateProvider.ReloadAsync(CancellationToken.None);
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
        _browser = new CstgBrowser(_keypair.PublicKey, _keypair.SubscriptionId);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private OperatorStateProvider StateProvider => _host.Services.GetRequiredService<OperatorStateProvider>();

    private long NowMs => _host.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed record Reply(int Status, string ContentType, string Body);

    private async Task<Reply> PostAsync(string body, string? origin = Origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ClientSideTokenPath)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (origin is not null) request.Headers.TryAddWithoutValidation("Origin", origin);
        using var response = await _host.Http.SendAsync(request);
        return new Reply((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", await response.Content.ReadAsStringAsync());
    }

    private const string ClientSideTokenPath = "/v2/token/client-generate";

    /// <summary>Sends a browser request; a 200 is decrypted with the shared secret.</summary>
    private async Task<(int Status, JsonElement Json)> GenerateAsync(string payloadJson, string? origin = Origin, string? appName = null,
        long? timestamp = null, Action<JsonObject>? tamper = null, CstgBrowser? browser = null)
    {
        var (request, secret) = (browser ?? _browser).Build(payloadJson, timestamp ?? NowMs, appName);
        tamper?.Invoke(request);
        var reply = await PostAsync(request.ToJsonString(), origin);
        if (reply.Status == 200)
        {
            Assert.Equal("text/plain", reply.ContentType);
            Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(reply.Body), secret, out var plain),
                "a CSTG response must decrypt with the ECDH shared secret");
            return (200, JsonDocument.Parse(plain!).RootElement.Clone());
        }
        Assert.Equal("application/json", reply.ContentType);
        return (reply.Status, JsonDocument.Parse(reply.Body).RootElement.Clone());
    }

    private static void AssertError(int status, string protocolStatus, string? message, (int Status, JsonElement Json) actual)
    {
        Assert.Equal(status, actual.Status);
        Assert.Equal(protocolStatus, actual.Json.GetProperty("status").GetString());
        if (message is not null) Assert.Equal(message, actual.Json.GetProperty("message").GetString());
    }

    private AdvertisingToken Decode(string advertisingToken)
    {
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(advertisingToken, StateProvider.Current.Keys, out var token));
        return token!;
    }

    [SkippableFact]
    public async Task Browser_flow_issues_cstg_tokens_that_decode_and_refresh()
    {
        var (status, json) = await GenerateAsync(CstgBrowser.EmailHashPayload("cstg.user@example.com"));
        Assert.Equal(200, status);
        Assert.Equal("success", json.GetProperty("status").GetString());
        var body = json.GetProperty("body");
        var advertising = body.GetProperty("advertising_token").GetString()!;
        var refresh = body.GetProperty("refresh_token").GetString()!;
        var responseKey = body.GetProperty("refresh_response_key").GetString()!;
        Assert.Equal(388, refresh.Length); // wrapped as for /v2/token/generate
        Assert.Equal(32, Convert.FromBase64String(responseKey).Length);
        var now = NowMs;
        Assert.InRange(body.GetProperty("identity_expires").GetInt64(), now + 3_500_000, now + 3_700_000);
        Assert.True(body.GetProperty("refresh_from").GetInt64() < body.GetProperty("identity_expires").GetInt64());

        var token = Decode(advertising);
        Assert.Equal(3, token.PrivacyBits);
        Assert.Equal(Site, token.SiteId);

        // The same user as a server-side generate for that site (which carries privacy bits 1).
        var (_, server) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "CSTG.User@example.com" });
        var serverToken = Decode(server.GetProperty("body").GetProperty("advertising_token").GetString()!);
        Assert.Equal(serverToken.RawUid, token.RawUid);
        Assert.Equal(1, serverToken.PrivacyBits);

        // Refresh through the ordinary endpoint keeps the CSTG privacy bits.
        var (refreshStatus, refreshed) = await _host.RefreshV2Async(refresh, responseKey);
        Assert.Equal(200, refreshStatus);
        Assert.Equal("success", refreshed.GetProperty("status").GetString());
        var again = Decode(refreshed.GetProperty("body").GetProperty("advertising_token").GetString()!);
        Assert.Equal(3, again.PrivacyBits);
        Assert.Equal(token.RawUid, again.RawUid);
        Assert.Equal(Site, again.SiteId);
    }

    [SkippableFact]
    public async Task Phone_hashes_hex_hashes_and_subdomains_and_loopback_origins_work()
    {
        var phoneHash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("+12345678901")));
        var (status, json) = await GenerateAsync(JsonSerializer.Serialize(new { phone_hash = phoneHash }), origin: "https://news.example.co.uk:8443");
        Assert.Equal(200, status);
        Assert.Equal(3, Decode(json.GetProperty("body").GetProperty("advertising_token").GetString()!).PrivacyBits);

        var hex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("hex@example.com"))).ToLowerInvariant();
        Assert.Equal(200, (await GenerateAsync(JsonSerializer.Serialize(new { email_hash = hex }), origin: "http://example.com")).Status);

        foreach (var origin in new[] { "http://localhost:3000", "http://app.localhost", "http://127.0.0.1:8080", "http://[::1]:5000" })
            Assert.Equal(200, (await GenerateAsync(CstgBrowser.EmailHashPayload("local@example.com"), origin: origin)).Status);
    }

    [SkippableFact]
    public async Task App_names_replace_the_origin_check_and_are_bound_into_the_aad()
    {
        var (status, _) = await GenerateAsync(CstgBrowser.EmailHashPayload("app@example.com"), origin: null, appName: "COM.EXAMPLE.APP");
        Assert.Equal(200, status);
        AssertError(403, "invalid_app_name", "unexpected app name",
            await GenerateAsync(CstgBrowser.EmailHashPayload("app@example.com"), origin: Origin, appName: "com.other.app"));

        // The app name is authenticated: changing it after encryption breaks the payload.
        AssertError(400, "client_error", "payload decryption failed",
            await GenerateAsync(CstgBrowser.EmailHashPayload("app@example.com"), origin: null, appName: "com.example.app",
                tamper: r => r["app_name"] = "COM.example.app"));
    }

    [SkippableFact]
    public async Task Opted_out_identity_answers_optout_encrypted()
    {
        var (status, json) = await GenerateAsync(CstgBrowser.EmailHashPayload("optout@example.com"));
        Assert.Equal(200, status);
        Assert.Equal("optout", json.GetProperty("status").GetString());
        Assert.False(json.TryGetProperty("body", out _));
    }

    [SkippableFact]
    public async Task Subscription_and_origin_errors_follow_the_reference_order()
    {
        var payload = CstgBrowser.EmailHashPayload("order@example.com");
        AssertError(400, "client_error", "bad subscription_id", await GenerateAsync(payload, tamper: r => r["subscription_id"] = "unknown123"));
        AssertError(400, "client_error", "bad subscription_id", await GenerateAsync(payload, tamper: r => r.Remove("subscription_id")));
        AssertError(400, "client_error", "bad subscription_id", await GenerateAsync(payload, tamper: r => r["subscription_id"] = 42));
        // Unknown subscription wins over a bad origin; disabled (401) over a bad origin; origin (403) over bad fields.
        AssertError(400, "client_error", "bad subscription_id",
            await GenerateAsync(payload, origin: "https://evil.com", tamper: r => r["subscription_id"] = "unknown123"));
        var disabledBrowser = new CstgBrowser(_disabled.PublicKey, _disabled.SubscriptionId);
        AssertError(401, "unauthorized", null, await GenerateAsync(payload, origin: "https://evil.com", browser: disabledBrowser));
        AssertError(401, "unauthorized", null, await GenerateAsync(payload, browser: disabledBrowser));
        AssertError(403, "invalid_http_origin", "unexpected http origin",
            await GenerateAsync(payload, origin: "https://evil.com", tamper: r => r.Remove("payload")));

        foreach (var origin in new[] { "https://evil.com", "https://example.com.evil.com", "https://notexample.com", "https://co.uk",
                     "https://other.co.uk", "null", "not a url", "file:///etc/passwd", "https://192.168.1.10" })
            AssertError(403, "invalid_http_origin", "unexpected http origin", await GenerateAsync(payload, origin: origin));
        AssertError(403, "invalid_http_origin", "unexpected http origin", await GenerateAsync(payload, origin: null));
    }

    [SkippableFact]
    public async Task Bad_fields_are_client_errors()
    {
        var payload = CstgBrowser.EmailHashPayload("fields@example.com");
        const string missing = "required parameters: payload, iv, public_key";
        AssertError(400, "client_error", missing, await GenerateAsync(payload, tamper: r => r.Remove("payload")));
        AssertError(400, "client_error", missing, await GenerateAsync(payload, tamper: r => r.Remove("iv")));
        AssertError(400, "client_error", missing, await GenerateAsync(payload, tamper: r => r.Remove("public_key")));
        AssertError(400, "client_error", missing, await GenerateAsync(payload, tamper: r => r["iv"] = 12));

        AssertError(400, "client_error", "bad public key", await GenerateAsync(payload, tamper: r => r["public_key"] = "not base64!"));
        AssertError(400, "client_error", "bad public key", await GenerateAsync(payload, tamper: r => r["public_key"] = Convert.ToBase64String(new byte[91])));
        using (var p384 = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP384))
        {
            var spki = Convert.ToBase64String(p384.ExportSubjectPublicKeyInfo());
            AssertError(400, "client_error", "bad public key", await GenerateAsync(payload, tamper: r => r["public_key"] = spki));
        }
        using (var rsa = RSA.Create(2048))
        {
            var spki = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
            AssertError(400, "client_error", "bad public key", await GenerateAsync(payload, tamper: r => r["public_key"] = spki));
        }

        AssertError(400, "client_error", "bad iv", await GenerateAsync(payload, tamper: r => r["iv"] = Convert.ToBase64String(new byte[16])));
        AssertError(400, "client_error", "bad iv", await GenerateAsync(payload, tamper: r => r["iv"] = "%%%"));
        AssertError(400, "client_error", "bad iv", await GenerateAsync(payload, tamper: r => r["iv"] = ""));

        const string decryption = "payload decryption failed";
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r => r["payload"] = "%%%"));
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r => r["payload"] = ""));
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r =>
        {
            var bytes = Convert.FromBase64String(r["payload"]!.GetValue<string>());
            bytes[0] ^= 1;
            r["payload"] = Convert.ToBase64String(bytes);
        }));
        // The timestamp is the AAD: a request whose timestamp differs from the one sealed in fails to decrypt.
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r => r["timestamp"] = NowMs + 1));
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r => r.Remove("timestamp")));
        AssertError(400, "client_error", null, await GenerateAsync(payload, tamper: r => r["timestamp"] = "soon"));
        // An extra app_name changes the AAD too.
        AssertError(400, "client_error", decryption, await GenerateAsync(payload, tamper: r => r["app_name"] = "com.example.app", origin: null));
    }

    [SkippableFact]
    public async Task Bad_identities_inside_the_payload_are_client_errors()
    {
        var hash = Convert.ToBase64String(SHA256.HashData("x@example.com"u8));
        const string exactlyOne = "please provide exactly one of: email_hash, phone_hash";
        AssertError(400, "client_error", exactlyOne, await GenerateAsync("{}"));
        AssertError(400, "client_error", exactlyOne, await GenerateAsync(JsonSerializer.Serialize(new { email_hash = hash, phone_hash = hash })));
        AssertError(400, "client_error", exactlyOne, await GenerateAsync(JsonSerializer.Serialize(new { email = "x@example.com" })));
        AssertError(400, "client_error", "Invalid Identifier", await GenerateAsync(JsonSerializer.Serialize(new { email_hash = "abc" })));
        AssertError(400, "client_error", "Invalid Identifier", await GenerateAsync("""{"phone_hash":12}"""));
        AssertError(400, "client_error", "encrypted payload contains invalid json", await GenerateAsync("not json"));
        AssertError(400, "client_error", "encrypted payload contains invalid json", await GenerateAsync("[1]"));
    }

    [SkippableFact]
    public async Task Stale_or_future_timestamps_are_refused()
    {
        var payload = CstgBrowser.EmailHashPayload("replay@example.com");
        var message = Endpoints.V2TokenMapper.ClientGenerateMessages.BadTimestamp;
        AssertError(400, "client_error", message, await GenerateAsync(payload, timestamp: NowMs - 10 * 60_000));
        AssertError(400, "client_error", message, await GenerateAsync(payload, timestamp: NowMs + 10 * 60_000));
        Assert.Equal(200, (await GenerateAsync(payload, timestamp: NowMs - 2 * 60_000)).Status);

        // The same (captured) request works now and is refused once it is old.
        var (request, _) = _browser.Build(payload, NowMs);
        Assert.Equal(200, (await PostAsync(request.ToJsonString())).Status);
        _host.Time.Advance(TimeSpan.FromMinutes(6));
        var replayed = await PostAsync(request.ToJsonString());
        Assert.Equal(400, replayed.Status);
        Assert.Contains("timestamp", replayed.Body);
    }

    [SkippableFact]
    public async Task Malformed_request_bodies_are_client_errors()
    {
        foreach (var body in new[] { "", "not json", "[]", "42", "null", "{\"payload\":", new string('x', 10_000) })
        {
            var reply = await PostAsync(body);
            Assert.Equal(400, reply.Status);
            Assert.Equal("application/json", reply.ContentType);
            Assert.Equal("client_error", JsonDocument.Parse(reply.Body).RootElement.GetProperty("status").GetString());
        }
    }

    [SkippableFact]
    public async Task Key_endpoints_publish_site_data_for_cstg_sites()
    {
        var (status, json) = await _host.PostV2Async("/v2/key/bidstream", _dsp, null);
        Assert.Equal(200, status);
        var siteData = json.GetProperty("body").GetProperty("site_data").EnumerateArray().ToList();
        var site = Assert.Single(siteData);
        Assert.Equal(Site, site.GetProperty("id").GetInt32());
        // App names are listed among the domain names (sorted by bytes), as the reference does with
        // key_sharing_endpoint_provide_app_names (uid2-operator UIDOperatorVerticle.toJson(Site, includeAppNames)).
        Assert.Equal(["com.example.App", "example.co.uk", "example.com"], site.GetProperty("domain_names").EnumerateArray().Select(e => e.GetString()));

        var (_, sharing) = await _host.PostV2Async("/v2/key/sharing", _dsp, null);
        Assert.Equal(Site, Assert.Single(sharing.GetProperty("body").GetProperty("site_data").EnumerateArray()).GetProperty("id").GetInt32());

        // A site with domain names but no CSTG key pair is not published.
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            await s.SetDomainNamesAsync(5002, ["dsp.example"]);
        }
        await StateProvider.ReloadAsync(CancellationToken.None);
        var (_, after) = await _host.PostV2Async("/v2/key/bidstream", _dsp, null);
        Assert.Single(after.GetProperty("body").GetProperty("site_data").EnumerateArray());
    }

    [SkippableFact]
    public async Task A_token_generated_in_a_mobile_app_passes_the_sdk_app_name_check()
    {
        var (status, json) = await GenerateAsync(CstgBrowser.EmailHashPayload("in.app@example.com"), origin: null, appName: "com.example.App");
        Assert.Equal(200, status);
        var token = json.GetProperty("body").GetProperty("advertising_token").GetString()!;

        var bidder = new Uid2.Client.BidstreamClient(_host.BaseAddress, _dsp.ApiKey, _dsp.Secret);
        Assert.True((await bidder.RefreshAsync()).Success);
        var decrypted = bidder.Decrypt(token, "com.example.App");
        Assert.Equal(Uid2.Client.DecryptionStatus.Success, decrypted.Status);
        Assert.True(decrypted.IsClientSideGenerated == true);
        Assert.Equal(Uid2.Client.DecryptionStatus.DomainOrAppNameCheckFailed, bidder.Decrypt(token, "com.other.app").Status);
        Assert.Equal(Uid2.Client.DecryptionStatus.Success, bidder.Decrypt(token, "example.com").Status);
    }

    [SkippableFact]
    public async Task App_names_can_be_left_out_of_site_data_by_configuration()
    {
        await _host.RestartAsync(new Dictionary<string, string?> { ["Uid2:KeySharingEndpointProvideAppNames"] = "false" });
        var (_, json) = await _host.PostV2Async("/v2/key/bidstream", _dsp, null);
        var site = Assert.Single(json.GetProperty("body").GetProperty("site_data").EnumerateArray());
        Assert.Equal(["example.co.uk", "example.com"], site.GetProperty("domain_names").EnumerateArray().Select(e => e.GetString()));
    }

    [SkippableFact]
    public async Task A_new_keypair_and_domains_reach_the_running_operator_without_a_restart()
    {
        var pair = ClientSideKeys.Generate();
        var keypair = new ClientSideKeypair("cstgLive01", 5003, pair.PublicKey, pair.PrivateKey, DateTimeOffset.UtcNow, false);
        await using (var s = Uid2StoreFactory.Create(_host.ConnectionString))
        {
            await s.InitializeAsync();
            await s.AddParticipantAsync(new Participant(5003, "live", Role.None, true, DateTimeOffset.UtcNow));
            await s.AddClientSideKeypairAsync(keypair);
            await s.SetDomainNamesAsync(5003, ["live.example"]);
        }
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (StateProvider.Current.ClientSide.GetKeypair("cstgLive01") is null
               || StateProvider.Current.ClientSide.DomainNames(5003).Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the operator did not pick up the new key pair");
            await Task.Delay(100);
        }
        // Key maintenance gives the CSTG site its own key (not the fallback publisher's).
        await _host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
        var (status, json) = await GenerateAsync(CstgBrowser.EmailHashPayload("live@example.com"), origin: "https://www.live.example",
            browser: new CstgBrowser(keypair.PublicKey, keypair.SubscriptionId));
        Assert.Equal(200, status);
        var token = Decode(json.GetProperty("body").GetProperty("advertising_token").GetString()!);
        Assert.Equal(5003, token.SiteId);
        Assert.Equal(5003, StateProvider.Current.Keys.All.Single(k => k.Id == token.SiteKeyId).SiteId);
    }
}

public sealed class ClientSideTokenTestsOnSqlite() : ClientSideTokenTests(StoreKind.Sqlite);

public sealed class ClientSideTokenTestsOnPostgres() : ClientSideTokenTests(StoreKind.Postgres);

/// <summary>The Development demo: a fixed CSTG key pair for site 999 that works from localhost.</summary>
public abstract class DemoClientSideTokenTests(StoreKind store)
{
    [SkippableFact]
    public async Task Development_seeds_a_working_demo_keypair_once()
    {
        await using var host = await OperatorHost.StartAsync("Development", store: store);
        var demo = new Configuration.DemoParticipantOptions();
        var state = host.Services.GetRequiredService<OperatorStateProvider>().Current;
        var keypair = state.ClientSide.GetKeypair(demo.SubscriptionId);
        Assert.NotNull(keypair);
        Assert.Equal(999, keypair.SiteId);
        Assert.Equal(["127.0.0.1", "localhost"], state.ClientSide.DomainNames(999));
        Assert.Matches("^[A-Za-z0-9]{10}$", demo.SubscriptionId);

        var browser = new CstgBrowser(demo.ServerPublicKey, demo.SubscriptionId);
        var (request, secret) = browser.Build(CstgBrowser.EmailHashPayload("demo@example.com"), host.Time.GetUtcNow().ToUnixTimeMilliseconds());
        using var message = new HttpRequestMessage(HttpMethod.Post, "/v2/token/client-generate") { Content = new StringContent(request.ToJsonString()) };
        message.Headers.TryAddWithoutValidation("Origin", "http://localhost:8080");
        using var response = await host.Http.SendAsync(message);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(await response.Content.ReadAsStringAsync()), secret, out var plain));
        Assert.Equal("success", JsonDocument.Parse(plain!).RootElement.GetProperty("status").GetString());

        // Restarting (a second start on the same store) neither fails nor duplicates; concurrent seeding adds one.
        await host.RestartAsync();
        await using var s = Uid2StoreFactory.Create(host.ConnectionString);
        await s.InitializeAsync();
        Assert.Single((await s.LoadSnapshotAsync(includeOptOuts: false)).ClientSideKeypairs!);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            DemoSeeder.EnsureDemoClientSideKeypairAsync(s, demo, TimeProvider.System, CancellationToken.None)));
        Assert.All(results, Assert.False);
    }

    [SkippableFact]
    public async Task Concurrent_first_seeding_adds_the_demo_keypair_once()
    {
        await using var db = await TestDatabase.CreateAsync(store);
        await using var s = Uid2StoreFactory.Create(db.ConnectionString);
        await s.InitializeAsync();
        var demo = new Configuration.DemoParticipantOptions();
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ =>
            Task.Run(() => DemoSeeder.EnsureDemoClientSideKeypairAsync(s, demo, TimeProvider.System, CancellationToken.None))));
        Assert.Single(results, r => r);
        var snapshot = await s.LoadSnapshotAsync(includeOptOuts: false);
        Assert.Single(snapshot.ClientSideKeypairs!);
        Assert.Equal(["127.0.0.1", "localhost"], snapshot.DomainNames![999]);
    }

    [Fact]
    public void The_demo_keys_are_a_p256_pair()
    {
        var demo = new Configuration.DemoParticipantOptions();
        Assert.StartsWith("UID2-X-L-", demo.ServerPublicKey);
        Assert.StartsWith("UID2-Y-L-", demo.ServerPrivateKey);
        Assert.True(ClientSideKeys.TryDecodeKeyText(demo.ServerPrivateKey, out var pkcs8));
        Assert.True(ClientSideKeys.TryDecodeKeyText(demo.ServerPublicKey, out var spki));
        using var server = ECDiffieHellman.Create();
        server.ImportPkcs8PrivateKey(pkcs8, out _);
        Assert.Equal(spki, server.ExportSubjectPublicKeyInfo());
    }
}

public sealed class DemoClientSideTokenTestsOnSqlite() : DemoClientSideTokenTests(StoreKind.Sqlite);

public sealed class DemoClientSideTokenTestsOnPostgres() : DemoClientSideTokenTests(StoreKind.Postgres);
