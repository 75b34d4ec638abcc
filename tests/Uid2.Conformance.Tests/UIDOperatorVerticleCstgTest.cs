using System.Text.Json;
using Uid2.Operator.Tests;

namespace Uid2.Conformance.Tests;

/// <summary>
/// The client-side token generation tests of IABTechLab/uid2-operator <c>UIDOperatorVerticleTest.java</c> (cstg…), with
/// the reference's site set-up: domains cstg.co.uk, cstg2.com, localhost; app names com.123.Game.App.android, 123456789.
/// </summary>
public sealed class UIDOperatorVerticleCstgTest(ConformanceOperator op) : IClassFixture<ConformanceOperator>
{
    private static string EmailHash(string email) => CstgBrowser.EmailHashPayload(email);

    private static void AssertError(Answer answer, int status, string protocolStatus, string message)
    {
        Assert.Equal(status, answer.Status);
        Assert.Equal(protocolStatus, answer.ProtocolStatus);
        Assert.Equal(message, answer.Message);
        Assert.False(answer.Json.TryGetProperty("body", out _));
    }

    [Theory]
    [InlineData("https://cstg.co.uk")]
    [InlineData("https://cstg2.com")]
    [InlineData("http://localhost:8080")]
    public async Task cstgDomainNameCheckPasses(string origin)
    {
        var answer = await op.CstgAsync(EmailHash("random@unifiedid.com"), origin);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        var token = op.DecodeAdvertisingToken(answer.Body_.GetProperty("advertising_token").GetString()!);
        Assert.Equal(ConformanceOperator.CstgSite, token.SiteId);
        Assert.Equal(3, token.PrivacyBits); // client-side generated
        Assert.Equal(388, answer.Body_.GetProperty("refresh_token").GetString()!.Length);
    }

    [Theory]
    [InlineData("https://blahblah.com")]
    [InlineData("http://local1host:8080")]
    public async Task cstgDomainNameCheckFails(string origin) =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), origin), 403, "invalid_http_origin", "unexpected http origin");

    [Theory]
    [InlineData("com.123.Game.App.android")]
    [InlineData("com.123.game.app.android")]
    [InlineData("123456789")]
    public async Task cstgAppNameCheckPasses(string appName)
    {
        var answer = await op.CstgAsync(EmailHash("random@unifiedid.com"), origin: null, appName: appName);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
    }

    [Theory]
    [InlineData("")]
    [InlineData("com.123")]
    [InlineData("com.")]
    public async Task cstgAppNameCheckFails(string appName)
    {
        var answer = await op.CstgAsync(EmailHash("random@unifiedid.com"), origin: null, appName: appName);
        Assert.Equal(403, answer.Status);
        Assert.Equal("""{"message":"unexpected app name","status":"invalid_app_name"}""",
            JsonSerializer.Serialize(JsonSerializer.Deserialize<SortedDictionary<string, string>>(answer.Json.GetRawText())));
    }

    [Fact]
    public async Task cstgNoIdentityHashProvided() =>
        AssertError(await op.CstgAsync("{}"), 400, "client_error", "please provide exactly one of: email_hash, phone_hash");

    [Fact]
    public async Task cstgPhoneAndEmailProvided() =>
        AssertError(await op.CstgAsync(JsonSerializer.Serialize(new
        {
            email_hash = ConformanceOperator.Sha256Base64("random@unifiedid.com"),
            phone_hash = ConformanceOperator.Sha256Base64("+10001110000"),
        })), 400, "client_error", "please provide exactly one of: email_hash, phone_hash");

    [Fact]
    public async Task cstgDisabledAsUnauthorized()
    {
        var answer = await op.CstgAsync(EmailHash("random@unifiedid.com"), keypair: op.CstgDisabled);
        Assert.Equal(401, answer.Status);
        Assert.Equal("Unauthorized", answer.Message);
    }

    [Fact]
    public async Task cstgNoBody()
    {
        var answer = await op.PostCstgAsync(null, "https://cstg.co.uk", null);
        Assert.Equal("client_error", answer.ProtocolStatus);
        Assert.Equal("json payload expected but not found", answer.Message);
    }

    [Fact]
    public async Task cstgForInvalidJsonPayloadReturns400() =>
        Assert.Equal(400, (await op.PostCstgAsync("not a valid json payload", "https://cstg.co.uk", null)).Status);

    [Theory]
    [InlineData("payload")]
    [InlineData("iv")]
    [InlineData("public_key")]
    public async Task cstgMissingRequiredField(string field) =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r.Remove(field)),
            400, "client_error", "required parameters: payload, iv, public_key");

    [Theory]
    [InlineData("bad-key")]
    [InlineData("UID2-C-L-999-fCXrMM.fsR3mDqAXELtWWMS+xG1s7RdgRTMqdOH2qaAo=")]
    public async Task cstgBadPublicKey(string publicKey) =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r["public_key"] = publicKey),
            400, "client_error", "bad public key");

    [Theory]
    [InlineData("bad")]
    [InlineData("UID2-C-L-999-fCXrMM.fsR3mDqAXELtWWMS+xG1s7RdgRTMqdOH2qaAo=")]
    public async Task cstgBadSubscriptionId(string subscriptionId) =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r["subscription_id"] = subscriptionId),
            400, "client_error", "bad subscription_id");

    [Fact]
    public async Task cstgBadIvNotBase64() =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r["iv"] = "............"), 400, "client_error", "bad iv");

    [Fact]
    public async Task cstgBadIvIncorrectLength() =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r["iv"] = Convert.ToBase64String(new byte[16])),
            400, "client_error", "bad iv");

    [Fact]
    public async Task cstgBadEncryptedPayload() =>
        AssertError(await op.CstgAsync(EmailHash("random@unifiedid.com"), tamper: r => r["payload"] = "not-encrypted"),
            400, "client_error", "payload decryption failed");

    [Fact]
    public async Task cstgInvalidEncryptedPayloadJson() =>
        AssertError(await op.CstgAsync("not-json"), 400, "client_error", "encrypted payload contains invalid json");

    [Theory]
    [InlineData("email_hash", "random@unifiedid.com")]
    [InlineData("phone_hash", "1234567890")]
    public async Task cstgInvalidInput(string field, string raw) =>
        AssertError(await op.CstgAsync(JsonSerializer.Serialize(new Dictionary<string, string>
        {
            [field] = ConformanceOperator.Sha256Base64(raw) + ConformanceOperator.Sha256Base64(raw),
        })), 400, "client_error", "Invalid Identifier");

    [Theory]
    [InlineData("test@example.com", false)]
    [InlineData("+61400000000", true)]
    public async Task cstgSuccessForBothOptedAndNonOptedOutTest(string id, bool phone)
    {
        var field = phone ? "phone_hash" : "email_hash";
        var payload = JsonSerializer.Serialize(new Dictionary<string, string> { [field] = ConformanceOperator.Sha256Base64(id) });
        var answer = await op.CstgAsync(payload);
        Assert.Equal("success", answer.ProtocolStatus);
        var body = answer.Body_;
        var refreshed = await op.RefreshAsync(body.GetProperty("refresh_token").GetString()!, body.GetProperty("refresh_response_key").GetString());
        Assert.Equal("success", refreshed.ProtocolStatus);
        var token = op.DecodeAdvertisingToken(refreshed.Body_.GetProperty("advertising_token").GetString()!);
        Assert.Equal(3, token.PrivacyBits); // still client-side generated after a refresh
        Assert.Equal(op.DecodeAdvertisingToken(body.GetProperty("advertising_token").GetString()!).RawUid, token.RawUid);

        // Opted out: CSTG answers optout (status only), and so does a refresh of the earlier token.
        await op.PostV2Async("/v2/token/logout", op.OptOut, JsonSerializer.Serialize(new Dictionary<string, string> { [field] = ConformanceOperator.Sha256Base64(id) }));
        var optedOut = await op.CstgAsync(payload);
        Assert.Equal(200, optedOut.Status);
        Assert.Equal("optout", optedOut.ProtocolStatus);
        var refreshAfter = await op.RefreshAsync(refreshed.Body_.GetProperty("refresh_token").GetString()!, refreshed.Body_.GetProperty("refresh_response_key").GetString());
        Assert.Equal("optout", refreshAfter.ProtocolStatus); // cstgUserOptsOutAfterTokenGenerate
    }
}
