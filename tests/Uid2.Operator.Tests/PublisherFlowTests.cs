using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Uid2.Operator.Tests;

/// <summary>The publisher integration guide end to end, through a real Kestrel: generate → refresh → refresh → opt-out.</summary>
public abstract class PublisherFlowTests(StoreKind store) : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _publisher = await _host.AddParticipantAsync(1001, Role.Generator | Role.Optout);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static string Str(JsonElement e, string name) => e.GetProperty(name).GetString()!;

    private KeyRing Keys => _host.Services.GetRequiredService<OperatorStateProvider>().Current.Keys;

    private byte[] RawUidOf(string advertisingToken)
    {
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(advertisingToken, Keys, out var token));
        return token!.RawUid;
    }

    [SkippableFact]
    public async Task V2_generate_refresh_refresh_then_logout_ends_the_chain()
    {
        var (status, generated) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "Jane.Doe@example.com" });
        Assert.Equal(200, status);
        Assert.Equal("success", Str(generated, "status"));
        var body = generated.GetProperty("body");
        var ad1 = Str(body, "advertising_token");
        Assert.StartsWith("A4", ad1);
        Assert.Equal(RefreshTokenWrapper.WrappedLength, Str(body, "refresh_token").Length);
        Assert.Equal(44, Str(body, "refresh_response_key").Length);
        var identityExpires = body.GetProperty("identity_expires").GetInt64();
        var refreshFrom = body.GetProperty("refresh_from").GetInt64();
        var refreshExpires = body.GetProperty("refresh_expires").GetInt64();
        Assert.True(refreshFrom < identityExpires && identityExpires < refreshExpires);
        Assert.Equal(2700_000, identityExpires - refreshFrom); // 3600 s - 900 s from the test configuration

        var (s2, refreshed) = await _host.RefreshV2Async(Str(body, "refresh_token"), Str(body, "refresh_response_key"));
        Assert.Equal(200, s2);
        Assert.Equal("success", Str(refreshed, "status"));
        var body2 = refreshed.GetProperty("body");
        var ad2 = Str(body2, "advertising_token");

        var (s3, refreshedAgain) = await _host.RefreshV2Async(Str(body2, "refresh_token"), Str(body2, "refresh_response_key"));
        Assert.Equal(200, s3);
        var body3 = refreshedAgain.GetProperty("body");
        var ad3 = Str(body3, "advertising_token");

        // Every token looks different, yet all carry the same raw UID.
        Assert.Distinct(new[] { ad1, ad2, ad3 });
        Assert.Distinct(new[] { Str(body, "refresh_token"), Str(body2, "refresh_token"), Str(body3, "refresh_token") });
        Assert.Equal(RawUidOf(ad1), RawUidOf(ad2));
        Assert.Equal(RawUidOf(ad1), RawUidOf(ad3));

        var (s4, logout) = await _host.PostV2Async("/v2/token/logout", _publisher, new { email = "jane.doe@example.com" });
        Assert.Equal(200, s4);
        Assert.Equal("OK", logout.GetProperty("body").GetProperty("optout").GetString());

        var (s5, afterOptOut) = await _host.RefreshV2Async(Str(body3, "refresh_token"), Str(body3, "refresh_response_key"));
        Assert.Equal(200, s5);
        Assert.Equal("optout", Str(afterOptOut, "status"));
        Assert.False(afterOptOut.TryGetProperty("body", out _));

        var (s6, generateAgain) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "jane.doe@example.com" });
        Assert.Equal(200, s6);
        Assert.Equal("optout", Str(generateAgain, "status"));
    }

    [SkippableFact]
    public async Task V1_generate_refresh_refresh_then_optout()
    {
        var (status, generated) = await _host.GetAsync("/v1/token/generate?email=v1.user%40example.com", _publisher.ApiKey);
        Assert.Equal(200, status);
        var body = generated.GetProperty("body");
        Assert.False(body.TryGetProperty("refresh_response_key", out _));
        var refresh1 = Str(body, "refresh_token");
        Assert.Equal(168, refresh1.Length); // v1 hands out the inner v3 refresh token

        var (s2, r2) = await _host.GetAsync("/v1/token/refresh?refresh_token=" + Uri.EscapeDataString(refresh1));
        Assert.Equal(200, s2);
        var b2 = r2.GetProperty("body");
        var (s3, r3) = await _host.GetAsync("/v1/token/refresh?refresh_token=" + Uri.EscapeDataString(Str(b2, "refresh_token")));
        Assert.Equal(200, s3);
        var b3 = r3.GetProperty("body");
        Assert.Distinct(new[] { Str(body, "advertising_token"), Str(b2, "advertising_token"), Str(b3, "advertising_token") });
        Assert.Equal(RawUidOf(Str(body, "advertising_token")), RawUidOf(Str(b3, "advertising_token")));

        var (s4, _) = await _host.PostV2Async("/v2/token/logout", _publisher, new { email = "v1.user@example.com" });
        Assert.Equal(200, s4);
        var (s5, r5) = await _host.GetAsync("/v1/token/refresh?refresh_token=" + Uri.EscapeDataString(Str(b3, "refresh_token")));
        Assert.Equal(200, s5);
        Assert.Equal("optout", Str(r5, "status"));
    }

    [SkippableTheory]
    [InlineData("email", "hashed@example.com")]
    [InlineData("phone", "+15551234567")]
    public async Task Hashed_and_raw_input_give_the_same_raw_uid(string kind, string dii)
    {
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dii)));
        var (_, raw) = await _host.GetAsync($"/v1/token/generate?{kind}={Uri.EscapeDataString(dii)}", _publisher.ApiKey);
        var (_, hashed) = await _host.PostV2Async("/v2/token/generate", _publisher, new Dictionary<string, string> { [kind + "_hash"] = hash });
        var hex = Convert.ToHexString(Convert.FromBase64String(hash)).ToLowerInvariant();
        var (_, hexed) = await _host.GetAsync($"/v1/token/generate?{kind}_hash={hex}", _publisher.ApiKey);
        var expected = RawUidOf(Str(raw.GetProperty("body"), "advertising_token"));
        Assert.Equal(expected, RawUidOf(Str(hashed.GetProperty("body"), "advertising_token")));
        Assert.Equal(expected, RawUidOf(Str(hexed.GetProperty("body"), "advertising_token")));
        Assert.Equal(kind == "phone" ? 0x04 : 0x00, expected[0]);
    }

    [SkippableFact]
    public async Task Validate_matches_the_identity_of_the_token()
    {
        var (_, gen) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "validate@example.com" });
        var token = Str(gen.GetProperty("body"), "advertising_token");

        var (s1, same) = await _host.PostV2Async("/v2/token/validate", _publisher, new { token, email = "validate@example.com" });
        Assert.Equal(200, s1);
        Assert.True(same.GetProperty("body").GetBoolean());
        var (_, other) = await _host.PostV2Async("/v2/token/validate", _publisher, new { token, email = "someone.else@example.com" });
        Assert.False(other.GetProperty("body").GetBoolean());

        var (s3, v1) = await _host.GetAsync($"/v1/token/validate?token={Uri.EscapeDataString(token)}&email=validate%40example.com", _publisher.ApiKey);
        Assert.Equal(200, s3);
        Assert.True(v1.GetProperty("body").GetBoolean());

        var otherSite = await _host.AddParticipantAsync(1002, Role.Generator);
        var (s4, notMine) = await _host.PostV2Async("/v2/token/validate", otherSite, new { token, email = "validate@example.com" });
        Assert.Equal(400, s4);
        Assert.Equal("Unauthorised to validate token", Str(notMine, "message"));

        var (s5, bad) = await _host.PostV2Async("/v2/token/validate", _publisher, new { token = "AAAA" + token[4..], email = "validate@example.com" });
        Assert.Equal(400, s5);
        Assert.Equal("client_error", Str(bad, "status"));
    }

    [SkippableTheory]
    [InlineData("email", "optout@example.com")]
    [InlineData("phone", "+00000000000")]
    public async Task Optout_test_identities_never_get_a_token(string kind, string dii)
    {
        var (status, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new Dictionary<string, string> { [kind] = dii });
        Assert.Equal(200, status);
        Assert.Equal("optout", Str(json, "status"));
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(dii)));
        var (_, hashed) = await _host.PostV2Async("/v2/token/generate", _publisher, new Dictionary<string, string> { [kind + "_hash"] = hash });
        Assert.Equal("optout", Str(hashed, "status"));
    }

    [SkippableTheory]
    [InlineData("email", "refresh-optout@example.com")]
    [InlineData("phone", "+00000000002")]
    public async Task Refresh_optout_test_identities_generate_but_never_refresh(string kind, string dii)
    {
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new Dictionary<string, string> { [kind] = dii });
        Assert.Equal("success", Str(json, "status"));
        var body = json.GetProperty("body");
        var (status, refreshed) = await _host.RefreshV2Async(Str(body, "refresh_token"), Str(body, "refresh_response_key"));
        Assert.Equal(200, status);
        Assert.Equal("optout", Str(refreshed, "status"));
    }

    [SkippableFact]
    public async Task Validate_identity_is_never_opted_out()
    {
        var (s, _) = await _host.PostV2Async("/v2/token/logout", _publisher, new { phone = "+12345678901" });
        Assert.Equal(200, s);
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new { phone = "+12345678901" });
        Assert.Equal("success", Str(json, "status"));
    }

    [SkippableFact]
    public async Task Unknown_fields_and_legacy_optout_check_are_ignored()
    {
        var (status, json) = await _host.PostV2Async("/v2/token/generate", _publisher,
            new { email = "legacy@example.com", optout_check = 1, policy = 1, some_future_field = new[] { 1, 2 } });
        Assert.Equal(200, status);
        Assert.Equal("success", Str(json, "status"));
        var (s2, j2) = await _host.GetAsync("/v1/token/generate?email=legacy%40example.com&optout_check=0&policy=1", _publisher.ApiKey);
        Assert.Equal(200, s2);
        Assert.Equal("success", Str(j2, "status"));
    }

    [SkippableFact]
    public async Task Expired_refresh_token_answers_expired_token_when_authenticated()
    {
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "expiring@example.com" });
        var body = json.GetProperty("body");
        _host.Time.Advance(TimeSpan.FromSeconds(86400 + 60));
        var (s1, authed) = await _host.RefreshV2Async(Str(body, "refresh_token"), null, _publisher.ApiKey);
        Assert.Equal(400, s1);
        Assert.Equal("expired_token", Str(authed, "status"));
        var (s2, anonymous) = await _host.RefreshV2Async(Str(body, "refresh_token"), null);
        Assert.Equal(400, s2);
        Assert.Equal("error", Str(anonymous, "status"));
        var (s3, v1) = await _host.GetAsync("/v1/token/refresh?refresh_token=" + Uri.EscapeDataString(Str(body, "refresh_token")));
        Assert.Equal(400, s3);
        Assert.Equal("expired_token", Str(v1, "status"));
    }

    [SkippableFact]
    public async Task A_token_issued_before_a_restart_refreshes_after_it()
    {
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "restart@example.com" });
        var body = json.GetProperty("body");
        var rawBefore = RawUidOf(Str(body, "advertising_token"));
        await _host.RestartAsync();
        var (status, refreshed) = await _host.RefreshV2Async(Str(body, "refresh_token"), Str(body, "refresh_response_key"));
        Assert.Equal(200, status);
        Assert.Equal("success", Str(refreshed, "status"));
        Assert.Equal(rawBefore, RawUidOf(Str(refreshed.GetProperty("body"), "advertising_token")));
    }
}

public sealed class PublisherFlowTestsOnSqlite() : PublisherFlowTests(StoreKind.Sqlite);

public sealed class PublisherFlowTestsOnPostgres() : PublisherFlowTests(StoreKind.Postgres);
