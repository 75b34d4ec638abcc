using System.Text.Json;
using Uid2.Core.Tokens;

namespace Uid2.Conformance.Tests;

/// <summary>
/// IABTechLab/uid2-operator <c>src/test/java/com/uid2/operator/UIDOperatorVerticleTest.java</c>: its assertions on the
/// public HTTP surface, each test named after the reference test it ports (class + method).
/// </summary>
public sealed class UIDOperatorVerticleTest(ConformanceOperator op) : IClassFixture<ConformanceOperator>
{
    private const string OctetStream = "application/octet-stream";
    private const string TextPlain = "text/plain";
    private const string ValidateEmail = "validate@example.com";
    private const string ValidatePhone = "+12345678901";

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static void AssertClientError(Answer answer, string? message = null)
    {
        Assert.Equal(400, answer.Status);
        Assert.Equal("client_error", answer.ProtocolStatus);
        Assert.False(answer.Json.TryGetProperty("body", out _));
        if (message is not null) Assert.Equal(message, answer.Message);
    }

    private void AssertIdentity(JsonElement body, bool phone = false)
    {
        var token = body.GetProperty("advertising_token").GetString()!;
        Assert.Equal(phone ? "B4" : "A4", token[..2]); // v4, UID2 scope, identity type
        Assert.DoesNotContain('=', token);
        Assert.DoesNotContain('+', token);
        Assert.DoesNotContain('/', token);
        Assert.Equal(388, body.GetProperty("refresh_token").GetString()!.Length);
        Assert.Equal(32, Convert.FromBase64String(body.GetProperty("refresh_response_key").GetString()!).Length);
        var identityExpires = body.GetProperty("identity_expires").GetInt64();
        var refreshExpires = body.GetProperty("refresh_expires").GetInt64();
        var refreshFrom = body.GetProperty("refresh_from").GetInt64();
        Assert.True(refreshFrom < identityExpires && identityExpires < refreshExpires);
    }

    // ---- token generate ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task tokenGenerateForEmail(string contentType)
    {
        var answer = await op.PostV2Async("/v2/token/generate", op.Publisher, Json(new { email = "test@uid2.com" }), contentType);
        Assert.Equal(200, answer.Status);
        Assert.Equal(contentType, answer.ContentType);
        Assert.Equal("success", answer.ProtocolStatus);
        AssertIdentity(answer.Body_);
        var token = op.DecodeAdvertisingToken(answer.Body_.GetProperty("advertising_token").GetString()!);
        Assert.Equal(ConformanceOperator.PublisherSite, token.SiteId);
        Assert.Equal(1, token.PrivacyBits); // not client-side generated, not opted out
    }

    [Fact]
    public async Task tokenGenerateForEmailHash()
    {
        var byEmail = await op.GenerateAsync("email", "test@uid2.com");
        var byHash = await op.GenerateAsync("email_hash", ConformanceOperator.Sha256Base64("test@uid2.com"));
        AssertIdentity(byHash);
        Assert.Equal(op.DecodeAdvertisingToken(byEmail.GetProperty("advertising_token").GetString()!).RawUid,
            op.DecodeAdvertisingToken(byHash.GetProperty("advertising_token").GetString()!).RawUid);
    }

    [Fact]
    public async Task tokenGenerateForPhone() => AssertIdentity(await op.GenerateAsync("phone", "+15555555555"), phone: true);

    [Fact]
    public async Task tokenGenerateForPhoneHash()
    {
        var byHash = await op.GenerateAsync("phone_hash", ConformanceOperator.Sha256Base64("+15555555555"));
        AssertIdentity(byHash, phone: true);
        var byPhone = await op.GenerateAsync("phone", "+15555555555");
        Assert.Equal(op.DecodeAdvertisingToken(byPhone.GetProperty("advertising_token").GetString()!).RawUid,
            op.DecodeAdvertisingToken(byHash.GetProperty("advertising_token").GetString()!).RawUid);
    }

    [Theory]
    [InlineData("tokenGenerateBothEmailAndHashSpecified", "email", "test@uid2.com", "email_hash", "HASH:test@uid2.com")]
    [InlineData("tokenGenerateBothPhoneAndHashSpecified", "phone", "+15555555555", "phone_hash", "HASH:+15555555555")]
    [InlineData("tokenGenerateBothPhoneAndEmailSpecified", "phone", "+15555555555", "email", "test@uid2.com")]
    [InlineData("tokenGenerateBothPhoneHashAndEmailHashSpecified", "phone_hash", "HASH:+15555555555", "email_hash", "HASH:test@uid2.com")]
    public async Task tokenGenerateBoth_Specified(string referenceTest, string field1, string value1, string field2, string value2)
    {
        Assert.StartsWith("tokenGenerateBoth", referenceTest);
        static string V(string v) => v.StartsWith("HASH:") ? ConformanceOperator.Sha256Base64(v[5..]) : v;
        var answer = await op.PostV2Async("/v2/token/generate", op.Publisher,
            Json(new Dictionary<string, string> { [field1] = V(value1), [field2] = V(value2) }));
        AssertClientError(answer);
    }

    [Fact]
    public async Task tokenGenerateNoEmailOrHashSpecified() =>
        AssertClientError(await op.PostV2Async("/v2/token/generate", op.Publisher, null),
            "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified");

    [Fact]
    public async Task requestWithoutClientKeyOrReferer()
    {
        var answer = await op.PostV2Async("/v2/token/generate", null, Json(new { email = "test@uid2.com" }), secretOf: op.Publisher);
        Assert.Equal(401, answer.Status);
        Assert.Equal("unauthorized", answer.ProtocolStatus);
    }

    [Fact]
    public async Task requestWithReferer()
    {
        var answer = await op.PostV2Async("/v2/token/generate", null, Json(new { email = "test@uid2.com" }), secretOf: op.Publisher,
            headers: new Dictionary<string, string> { ["Referer"] = "test-referer" });
        Assert.Equal(401, answer.Status);
        Assert.Equal("unauthorized", answer.ProtocolStatus);
    }

    [Fact]
    public async Task tokenGenerate_wrongRole_isUnauthorized() // fakeAuth(…, Role.MAPPER) against a GENERATOR endpoint, as optOutStatusUnauthorized
    {
        var answer = await op.PostV2Async("/v2/token/generate", op.Mapper, Json(new { email = "test@uid2.com" }));
        Assert.Equal(401, answer.Status);
        Assert.Equal("unauthorized", answer.ProtocolStatus);
    }

    // ---- token refresh -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task tokenGenerateThenRefresh(string contentType)
    {
        var headers = new Dictionary<string, string> { ["X-UID2-Client-Version"] = "ios-1.2.3" };
        var generated = (await op.PostV2Async("/v2/token/generate", op.Publisher, Json(new { email = "test@uid2.com" }), contentType, headers: headers)).Body_;
        var refreshToken = generated.GetProperty("refresh_token").GetString()!;
        var refreshed = await op.RefreshAsync(refreshToken, generated.GetProperty("refresh_response_key").GetString(), contentType: contentType, headers: headers);
        Assert.Equal(200, refreshed.Status);
        Assert.Equal(contentType, refreshed.ContentType); // a refresh sent as octet-stream gets a binary answer
        Assert.Equal("success", refreshed.ProtocolStatus);
        AssertIdentity(refreshed.Body_);
        Assert.NotEqual(refreshToken, refreshed.Body_.GetProperty("refresh_token").GetString());
        var before = op.DecodeAdvertisingToken(generated.GetProperty("advertising_token").GetString()!);
        var after = op.DecodeAdvertisingToken(refreshed.Body_.GetProperty("advertising_token").GetString()!);
        Assert.Equal(before.RawUid, after.RawUid);
        Assert.Equal(ConformanceOperator.PublisherSite, after.SiteId);
        Assert.Equal(1, after.PrivacyBits);
    }

    [Fact]
    public async Task tokenGenerateThenRefreshForPhone()
    {
        var generated = await op.GenerateAsync("phone", "+15555555555");
        var refreshed = await op.RefreshAsync(generated.GetProperty("refresh_token").GetString()!, generated.GetProperty("refresh_response_key").GetString());
        Assert.Equal("success", refreshed.ProtocolStatus);
        AssertIdentity(refreshed.Body_, phone: true);
    }

    [Fact]
    public async Task tokenRefreshNoToken()
    {
        var answer = await op.RefreshAsync("", null, apiKey: op.Publisher.ApiKey);
        Assert.Equal(400, answer.Status);
        Assert.Equal("invalid_token", answer.ProtocolStatus);
    }

    [Fact]
    public async Task tokenRefreshNoToken_unauthenticated() // the unauthenticated counterpart of tokenRefreshNoToken
    {
        var answer = await op.RefreshAsync("", null);
        Assert.Equal(400, answer.Status);
        Assert.Equal("error", answer.ProtocolStatus);
    }

    [Theory]
    [InlineData("asdf")]
    [InlineData("invalidBase64%%%%")]
    public async Task tokenRefreshInvalidTokenAuthenticated(string token)
    {
        var answer = await op.RefreshAsync(token, null, apiKey: op.Publisher.ApiKey, headers: new Dictionary<string, string> { ["Origin"] = "https://example.com" });
        Assert.Equal(400, answer.Status);
        Assert.Equal("invalid_token", answer.ProtocolStatus);
    }

    [Fact]
    public async Task tokenRefreshInvalidTokenUnauthenticated()
    {
        var answer = await op.RefreshAsync("abcd", null);
        Assert.Equal(400, answer.Status);
        Assert.Equal("error", answer.ProtocolStatus);
    }

    [Fact]
    public async Task tokenRefreshOptOut() // an opted-out user's refresh answers optout (logout records the opt-out)
    {
        var generated = await op.GenerateAsync("email", "refresh-then-logout@uid2.com");
        var logout = await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email = "refresh-then-logout@uid2.com" }));
        Assert.Equal(200, logout.Status);
        var refreshed = await op.RefreshAsync(generated.GetProperty("refresh_token").GetString()!, generated.GetProperty("refresh_response_key").GetString());
        Assert.Equal(200, refreshed.Status);
        Assert.Equal("optout", refreshed.ProtocolStatus);
        Assert.False(refreshed.Json.TryGetProperty("body", out _));
    }

    [Fact]
    public async Task tokenRefresh_malformedWrappedToken_isClientError() // V2PayloadHandler.handleTokenRefresh on a 388-char body that does not open
    {
        var answer = await op.RefreshAsync(new string('A', 388), null);
        Assert.Equal(400, answer.Status);
        Assert.Equal("client_error", answer.ProtocolStatus);
        Assert.StartsWith("Invalid key: Generator of this token (Key ID: 0) does not exist.", answer.Message);
    }

    // ---- token validate ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task tokenGenerateThenValidateWithEmail_Match()
    {
        var token = (await op.GenerateAsync("email", ValidateEmail)).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, email = ValidateEmail }));
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.True(answer.Body_.GetBoolean());
    }

    [Fact]
    public async Task tokenGenerateThenValidateWithEmailHash_Match()
    {
        var token = (await op.GenerateAsync("email", ValidateEmail)).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, email_hash = ConformanceOperator.Sha256Base64(ValidateEmail) }));
        Assert.True(answer.Body_.GetBoolean());
    }

    [Fact]
    public async Task tokenGenerateThenValidateWithPhone_Match()
    {
        var token = (await op.GenerateAsync("phone", ValidatePhone)).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, phone = ValidatePhone }));
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.True(answer.Body_.GetBoolean());
    }

    [Fact]
    public async Task tokenGenerateThenValidateWithPhoneHash_Match()
    {
        var token = (await op.GenerateAsync("phone", ValidatePhone)).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, phone_hash = ConformanceOperator.Sha256Base64(ValidatePhone) }));
        Assert.True(answer.Body_.GetBoolean());
    }

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task tokenValidateWithEmail_Mismatch(string contentType)
    {
        var token = (await op.GenerateAsync("phone", ValidatePhone)).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, email = ValidateEmail }), contentType);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.False(answer.Body_.GetBoolean());
    }

    [Fact]
    public async Task tokenGenerateThenValidate_Unauthorized()
    {
        var token = (await op.GenerateAsync("email", ValidateEmail)).GetProperty("advertising_token").GetString();
        AssertClientError(await op.PostV2Async("/v2/token/validate", op.OtherPublisher, Json(new { token, email = ValidateEmail })),
            "Unauthorised to validate token");
    }

    [Fact]
    public async Task tokenGenerateThenValidateWithBothEmailAndEmailHash()
    {
        var token = (await op.GenerateAsync("email", ValidateEmail)).GetProperty("advertising_token").GetString();
        AssertClientError(await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new { token, email = ValidateEmail, email_hash = ValidateEmail })));
    }

    [Fact]
    public async Task tokenGenerateThenValidateWithBothPhoneAndPhoneHash()
    {
        var token = (await op.GenerateAsync("phone", ValidatePhone)).GetProperty("advertising_token").GetString();
        AssertClientError(await op.PostV2Async("/v2/token/validate", op.Publisher,
            Json(new { token, phone = ValidatePhone, phone_hash = ConformanceOperator.Sha256Base64(ValidateEmail) })));
    }

    [Fact]
    public async Task tokenValidateWithInvalidToken() =>
        AssertClientError(await op.PostV2Async("/v2/token/validate", op.Publisher,
            Json(new { token = "abcdef", email_hash = ConformanceOperator.Sha256Base64(ValidateEmail) })), "Invalid token");

    // ---- CORS ----------------------------------------------------------------------------------------------------------

    private async Task<string> PreflightAllowedHeadersAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", "https://example.com");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "Content-Type, Authorization");
        using var response = await op.Host.Http.SendAsync(request);
        Assert.Equal(204, (int)response.StatusCode);
        Assert.True(response.Headers.TryGetValues("Access-Control-Allow-Headers", out var values), "Access-Control-Allow-Headers must be present");
        return string.Join(",", values!);
    }

    [Fact]
    public async Task corsTokenValidateAllowsAuthorizationHeader()
    {
        var allowed = await PreflightAllowedHeadersAsync("/v2/token/validate");
        Assert.Contains("Content-Type", allowed);
        Assert.Contains("X-UID2-Client-Version", allowed);
        Assert.Contains("Authorization", allowed);
    }

    [Fact]
    public async Task corsTokenGenerateDoesNotAllowAuthorizationHeader()
    {
        var allowed = await PreflightAllowedHeadersAsync("/v2/token/generate");
        Assert.Contains("Content-Type", allowed);
        Assert.Contains("X-UID2-Client-Version", allowed);
        Assert.DoesNotContain("Authorization", allowed);
    }

    // ---- logout --------------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task logoutV2(string contentType)
    {
        var answer = await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email = "logout-" + contentType.Length + "@uid2.com" }), contentType,
            headers: new Dictionary<string, string> { ["UID-Trace-Id"] = "uid-trace-id" });
        Assert.Equal(200, answer.Status);
        Assert.Equal(contentType, answer.ContentType);
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.Equal("OK", answer.Body_.GetProperty("optout").GetString());
    }

    [Fact]
    public async Task logoutV2_withClientIp()
    {
        var answer = await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email = "iptest@uid2.com", clientIp = "127.0.0.1" }));
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.Equal("OK", answer.Body_.GetProperty("optout").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{\"email\":\"not an email\"}")]
    [InlineData("{\"email\":\"a@b.com\",\"phone\":\"+15555555555\"}")]
    public async Task logoutV2_invalidIdentity(string? payload) // UIDOperatorVerticle.handleLogoutAsyncV2: invalid input → 400 invalid_token
    {
        var answer = await op.PostV2Async("/v2/token/logout", op.OptOut, payload);
        Assert.Equal(400, answer.Status);
        Assert.Equal("invalid_token", answer.ProtocolStatus);
    }

    // ---- identity map v2 -----------------------------------------------------------------------------------------------

    private async Task<JsonElement> MapV2Async(string payload, int expectedStatus = 200, string contentType = TextPlain)
    {
        var answer = await op.PostV2Async("/v2/identity/map", op.Mapper, payload, contentType);
        Assert.Equal(expectedStatus, answer.Status);
        if (expectedStatus == 200) Assert.Equal("success", answer.ProtocolStatus);
        return answer.Json;
    }

    private static void AssertMapped(JsonElement json, params string[] identifiers)
    {
        var mapped = json.GetProperty("body").GetProperty("mapped");
        Assert.Equal(identifiers.Length, mapped.GetArrayLength());
        for (var i = 0; i < identifiers.Length; i++)
        {
            Assert.Equal(identifiers[i], mapped[i].GetProperty("identifier").GetString());
            Assert.InRange(Convert.FromBase64String(mapped[i].GetProperty("advertising_id").GetString()!).Length, 32, 33); // raw UID2 v2 or v3/v4
            Assert.False(string.IsNullOrEmpty(mapped[i].GetProperty("bucket_id").GetString()));
        }
    }

    [Theory]
    [InlineData("identityMapBatchBothEmailAndHashEmpty", "{\"email\":[],\"email_hash\":[]}")]
    [InlineData("identityMapBatchBothPhoneAndHashEmpty", "{\"phone\":[],\"phone_hash\":[]}")]
    [InlineData("identityMapBatchEmailsNoEmails", "{\"email\":[]}")]
    [InlineData("identityMapBatchPhonesNoPhones", "{\"phone\":[]}")]
    public async Task identityMapBatch_Empty(string referenceTest, string payload)
    {
        Assert.StartsWith("identityMapBatch", referenceTest);
        AssertMapped(await MapV2Async(payload));
    }

    [Theory]
    [InlineData("identityMapBatchBothEmailAndHashSpecified", "email", "test1@uid2.com", "email_hash", "test2@uid2.com")]
    [InlineData("identityMapBatchBothPhoneAndHashSpecified", "phone", "+15555555555", "phone_hash", "+15555555555")]
    public async Task identityMapBatchBoth_Specified(string referenceTest, string field1, string value1, string field2, string hashed)
    {
        Assert.StartsWith("identityMapBatchBoth", referenceTest);
        var json = await MapV2Async(Json(new Dictionary<string, string[]> { [field1] = [value1], [field2] = [ConformanceOperator.Sha256Base64(hashed)] }), 400);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
        Assert.False(json.TryGetProperty("body", out _));
    }

    [Fact]
    public async Task identityMapBatchNoEmailOrHashSpecified()
    {
        var json = await MapV2Async("{}", 400);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("identityMapSingleEmailProvided", "email", "test@example.com")]
    [InlineData("identityMapSingleEmailHashProvided", "email_hash", "test@example.com")]
    [InlineData("identityMapSinglePhoneProvided", "phone", "555-555-5555")]
    [InlineData("identityMapSinglePhoneHashProvided", "phone_hash", "555-555-5555")]
    public async Task identityMapSingle_Provided(string referenceTest, string field, string value)
    {
        Assert.StartsWith("identityMapSingle", referenceTest);
        var json = await MapV2Async(Json(new Dictionary<string, string> { [field] = value }), 400);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
        Assert.Equal($"{field} must be an array", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task identityMapBatchEmails() =>
        AssertMapped(await MapV2Async("{\"email\":[\"test1@uid2.com\",\"test2@uid2.com\"]}"), "test1@uid2.com", "test2@uid2.com");

    [Fact]
    public async Task identityMapBatchEmailHashes()
    {
        string[] hashes = [ConformanceOperator.Sha256Base64("test1@uid2.com"), ConformanceOperator.Sha256Base64("test2@uid2.com")];
        var byHash = await MapV2Async(Json(new { email_hash = hashes }));
        AssertMapped(byHash, hashes);
        var byEmail = await MapV2Async("{\"email\":[\"test1@uid2.com\",\"test2@uid2.com\"]}");
        for (var i = 0; i < 2; i++)
            Assert.Equal(byEmail.GetProperty("body").GetProperty("mapped")[i].GetProperty("advertising_id").GetString(),
                byHash.GetProperty("body").GetProperty("mapped")[i].GetProperty("advertising_id").GetString());
    }

    [Fact]
    public async Task identityMapBatchEmailsOneEmailInvalid()
    {
        var json = await MapV2Async("{\"email\":[\"test1@uid2.com\",\"bogus\",\"test2@uid2.com\"]}");
        AssertMapped(json, "test1@uid2.com", "test2@uid2.com");
        var unmapped = json.GetProperty("body").GetProperty("unmapped");
        Assert.Equal("bogus", unmapped[0].GetProperty("identifier").GetString());
        Assert.Equal("invalid identifier", unmapped[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task identityMapBatchPhones() =>
        AssertMapped(await MapV2Async("{\"phone\":[\"+15555555555\",\"+15555555556\"]}"), "+15555555555", "+15555555556");

    [Fact]
    public async Task identityMapBatchPhoneHashes()
    {
        string[] hashes = [ConformanceOperator.Sha256Base64("+15555555555"), ConformanceOperator.Sha256Base64("+15555555556")];
        AssertMapped(await MapV2Async(Json(new { phone_hash = hashes })), hashes);
    }

    [Fact]
    public async Task identityMapBatchPhonesOnePhoneInvalid() =>
        AssertMapped(await MapV2Async("{\"phone\":[\"+15555555555\",\"bogus\",\"+15555555556\"]}"), "+15555555555", "+15555555556");

    [Theory]
    [InlineData("identityMapBatchRequestTooLarge", "test@uid2.com")]
    [InlineData("identityMapBatchRequestTooLargeForPhone", "+15555555555")]
    public async Task identityMapBatchRequestTooLarge(string referenceTest, string value)
    {
        Assert.StartsWith("identityMapBatchRequestTooLarge", referenceTest);
        var field = value.StartsWith('+') ? "phone" : "email";
        var items = Enumerable.Repeat(value, (1 << 20) / value.Length + 1).ToArray();
        var answer = await op.PostV2Async("/v2/identity/map", op.Mapper, Json(new Dictionary<string, string[]> { [field] = items }), expectContinue: true);
        Assert.Equal(413, answer.Status);
    }

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task identityMapNewClientNoPolicySpecified(string contentType) // and identityMapOptoutDefaultOption: opted-out users are unmapped
    {
        await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email = "random-optout-user@email.io" }));
        var json = await MapV2Async("{\"email\":[\"random-optout-user@email.io\"]}", contentType: contentType);
        var body = json.GetProperty("body");
        Assert.Equal(0, body.GetProperty("mapped").GetArrayLength());
        var unmapped = body.GetProperty("unmapped");
        Assert.Equal(1, unmapped.GetArrayLength());
        Assert.Equal("random-optout-user@email.io", unmapped[0].GetProperty("identifier").GetString());
        Assert.Equal("optout", unmapped[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task fallbackToBase64DecodingIfBinaryEnvelopeDecodeFails()
    {
        var answer = await op.PostV2Async("/v2/identity/map", op.Mapper, "{\"email\":[\"test1@uid2.com\"]}", OctetStream, forceBase64: true);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        Assert.Equal(TextPlain, answer.ContentType); // answered as it was sent: base64 text
    }

    [Fact]
    public async Task identityMap_batchLargerThan5000_inOneRequest() // uid2-e2e OperatorTest.testV2IdentityMap: 10,000 identities in one request
    {
        var emails = Enumerable.Range(0, 10_000).Select(i => $"user{i}@example.com").ToArray();
        var json = await MapV2Async(Json(new { email = emails }));
        var mapped = json.GetProperty("body").GetProperty("mapped");
        Assert.Equal(10_000, mapped.GetArrayLength());
        Assert.Equal("user9999@example.com", mapped[9_999].GetProperty("identifier").GetString());
    }

    // ---- identity map v3 -----------------------------------------------------------------------------------------------

    private async Task<Answer> MapV3Async(string? payload, string contentType = TextPlain) =>
        await op.PostV2Async("/v3/identity/map", op.Mapper, payload, contentType);

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task v3IdentityMapMixedInputSuccess(string contentType)
    {
        var phoneHash = ConformanceOperator.Sha256Base64("+15555555555");
        var answer = await MapV3Async($"{{\"email\":[\"test1@uid2.com\",\"test2@uid2.com\"],\"phone\":[],\"phone_hash\":[\"{phoneHash}\"]}}", contentType);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        var body = answer.Body_;
        Assert.Equal(["email", "email_hash", "phone", "phone_hash"], body.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(2, body.GetProperty("email").GetArrayLength());
        Assert.Equal(0, body.GetProperty("email_hash").GetArrayLength());
        Assert.Equal(0, body.GetProperty("phone").GetArrayLength());
        Assert.Equal(1, body.GetProperty("phone_hash").GetArrayLength());
        var v2 = await MapV2Async("{\"email\":[\"test1@uid2.com\"]}");
        foreach (var item in body.GetProperty("email").EnumerateArray().Concat(body.GetProperty("phone_hash").EnumerateArray()))
        {
            Assert.Equal(["p", "r", "u"], item.EnumerateObject().Select(p => p.Name).Order());
            Assert.InRange(Convert.FromBase64String(item.GetProperty("u").GetString()!).Length, 32, 33);
            Assert.Equal(JsonValueKind.Number, item.GetProperty("r").ValueKind);
            Assert.True(item.GetProperty("p").ValueKind is JsonValueKind.Null or JsonValueKind.String);
            Assert.True(item.GetProperty("r").GetInt64() > DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds()); // epoch seconds, not yet past
            Assert.True(item.GetProperty("r").GetInt64() < 10_000_000_000);
        }
        Assert.Equal(v2.GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString(),
            body.GetProperty("email")[0].GetProperty("u").GetString());
    }

    [Fact]
    public async Task v3IdentityMapUnmappedIdentitiesOptoutAndInvalid()
    {
        await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email = "test1-optout@uid2.com" }));
        var answer = await MapV3Async("{\"email\":[\"test1-optout@uid2.com\",\"invalid_email\"]}");
        Assert.Equal(
            """{"email":[{"e":"optout"},{"e":"invalid identifier"}],"email_hash":[],"phone":[],"phone_hash":[]}""",
            JsonSerializer.Serialize(answer.Body_));
    }

    [Theory]
    [InlineData("{\"email\": []}")]
    [InlineData("{\"email_hash\": null}")]
    public async Task v3IdentityMapEmptyInputFormats(string payload)
    {
        var answer = await MapV3Async(payload);
        Assert.Equal(200, answer.Status);
        Assert.Equal("""{"email":[],"email_hash":[],"phone":[],"phone_hash":[]}""", JsonSerializer.Serialize(answer.Body_));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("{}")]
    public async Task v3IdentityMapMissingValidInputKeys(string? payload) =>
        AssertClientError(await MapV3Async(payload), "Required Parameter Missing: one or more of [email, email_hash, phone, phone_hash] must be specified");

    [Theory]
    [InlineData("{\"invalid_key\": []}")]
    [InlineData("{\"email\": [ null ]}")]
    [InlineData("{\"email\": [ \"some_email\", null ]}")]
    public async Task v3IdentityMapIncorrectInputFormats(string payload) =>
        AssertClientError(await MapV3Async(payload), "Incorrect request format");

    [Fact]
    public async Task v3IdentityMap_batchLargerThan5000_inOneRequest() // uid2-e2e OperatorTest.testV3IdentityMapLargeBatch
    {
        var emails = Enumerable.Range(0, 10_000).Select(i => $"user{i}@example.com").ToArray();
        var answer = await MapV3Async(Json(new { email = emails }));
        Assert.Equal(200, answer.Status);
        Assert.Equal(10_000, answer.Body_.GetProperty("email").GetArrayLength());
    }

    // ---- buckets -------------------------------------------------------------------------------------------------------

    [Fact]
    public async Task identityBucketsAlwaysReturnMilliseconds()
    {
        var answer = await op.PostV2Async("/v2/identity/buckets", op.Mapper, "{\"since_timestamp\":\"2023-12-31T00:00:00\"}");
        Assert.Equal(200, answer.Status);
        var buckets = answer.Body_;
        Assert.True(buckets.GetArrayLength() > 0);
        foreach (var bucket in buckets.EnumerateArray())
        {
            Assert.False(string.IsNullOrEmpty(bucket.GetProperty("bucket_id").GetString()));
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$", bucket.GetProperty("last_updated").GetString()!);
        }
    }

    // ---- opt-out status ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("MAPPER")]
    [InlineData("ID_READER")]
    [InlineData("SHARER")]
    public async Task optOutStatusRequest(string role)
    {
        var who = role switch { "MAPPER" => op.Mapper, "ID_READER" => op.IdReader, _ => op.Sharer };
        // Opt a user out, and find its raw UID2 through identity map before that.
        var email = $"optout-status-{role}@uid2.com";
        var rawUid = (await MapV2Async(Json(new { email = new[] { email } }))).GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()!;
        await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email }));
        string[] ids = [rawUid, "r3wW2uvJkwmeFcbUwSeM6BIpGF8tX38wtPfVc4wYyo71", "e6SA-JVAXnvk8F1MUtzsMOyWuy5Xqe15rLAgqzSGiAbz"];
        var answer = await op.PostV2Async("/v2/optout/status", who, Json(new { advertising_ids = ids }));
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        var optedOut = answer.Body_.GetProperty("opted_out");
        Assert.Equal(1, optedOut.GetArrayLength());
        Assert.Equal(rawUid, optedOut[0].GetProperty("advertising_id").GetString());
        var since = optedOut[0].GetProperty("opted_out_since").GetInt64(); // epoch milliseconds, whole seconds
        Assert.Equal(0, since % 1000);
        Assert.InRange(since, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task optOutStatusRequest_urlSafeIds() // the reference's ids include URL-safe base64 ("…k_Rh…", "e6SA-…"): each is looked up
    {
        var email = "optout-status-urlsafe@uid2.com";
        var rawUid = (await MapV2Async(Json(new { email = new[] { email } }))).GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()!;
        await op.PostV2Async("/v2/token/logout", op.OptOut, Json(new { email }));
        var urlSafe = rawUid.Replace('+', '-').Replace('/', '_');
        var answer = await op.PostV2Async("/v2/optout/status", op.Mapper, Json(new { advertising_ids = new[] { "qAmIGxqLk_RhOtm4f1nLlqYewqSma8fgvjEXYnQ3Jr0K", urlSafe } }));
        Assert.Equal(200, answer.Status);
        var optedOut = answer.Body_.GetProperty("opted_out");
        Assert.Equal(1, optedOut.GetArrayLength());
        Assert.Equal(urlSafe, optedOut[0].GetProperty("advertising_id").GetString());
    }

    [Fact]
    public async Task optOutStatusValidationError_tooLarge()
    {
        var ids = Enumerable.Range(0, 5_001).Select(_ => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))).ToArray();
        AssertClientError(await op.PostV2Async("/v2/optout/status", op.Mapper, Json(new { advertising_ids = ids })), "Request payload is too large");
    }

    [Fact]
    public async Task optOutStatusValidationError_missing() =>
        AssertClientError(await op.PostV2Async("/v2/optout/status", op.Mapper, Json(new { advertising = new[] { "x" } })),
            "Required Parameter Missing: advertising_ids");

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task optOutStatusUnauthorized(string contentType)
    {
        var answer = await op.PostV2Async("/v2/optout/status", op.Publisher, "{}", contentType);
        Assert.Equal(401, answer.Status);
        Assert.Equal("unauthorized", answer.ProtocolStatus);
    }

    // ---- key endpoints -------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(TextPlain)]
    [InlineData(OctetStream)]
    public async Task keyLatestNoAcl(string contentType)
    {
        var answer = await op.PostV2Async("/v2/key/latest", op.IdReader, null, contentType);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        var keys = answer.Body_;
        Assert.True(keys.GetArrayLength() > 0);
        var ids = keys.EnumerateArray().Select(k => k.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Order(), ids); // sorted by id
        foreach (var key in keys.EnumerateArray())
        {
            Assert.Equal(["activates", "created", "expires", "id", "secret", "site_id"], key.EnumerateObject().Select(p => p.Name).Order());
            Assert.Equal(32, Convert.FromBase64String(key.GetProperty("secret").GetString()!).Length);
            Assert.True(key.GetProperty("expires").GetInt64() < 10_000_000_000); // epoch seconds
        }
    }

    [Fact]
    public async Task keyLatestHideRefreshKey()
    {
        var answer = await op.PostV2Async("/v2/key/latest", op.IdReader, null);
        Assert.DoesNotContain(answer.Body_.EnumerateArray(), k => k.GetProperty("site_id").GetInt32() == -2);
    }

    [Fact]
    public async Task keySharingKeysets_SHARER()
    {
        var answer = await op.PostV2Async("/v2/key/sharing", op.Sharer, null);
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        var body = answer.Body_;
        Assert.Equal(204, body.GetProperty("caller_site_id").GetInt32());
        Assert.Equal(9999999, body.GetProperty("master_keyset_id").GetInt32());
        Assert.Equal(JsonValueKind.String, body.GetProperty("token_expiry_seconds").ValueKind);
        Assert.Equal(2592000, int.Parse(body.GetProperty("token_expiry_seconds").GetString()!));
        Assert.Equal(2592000 + 10, body.GetProperty("max_sharing_lifetime_seconds").GetInt64());
        Assert.Equal("UID2", body.GetProperty("identity_scope").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("allow_clock_skew_seconds").ValueKind);
        var keys = body.GetProperty("keys");
        Assert.Contains(keys.EnumerateArray(), k => k.TryGetProperty("keyset_id", out var ks) && ks.GetInt32() == 9999999);
        foreach (var key in keys.EnumerateArray())
        {
            Assert.False(key.TryGetProperty("site_id", out _));
            if (key.TryGetProperty("keyset_id", out var keysetId)) Assert.True(keysetId.GetInt32() > 0);
        }
    }

    [Fact]
    public async Task keyDownloadEndpointKeysets_IDREADER_bidstream()
    {
        var answer = await op.PostV2Async("/v2/key/bidstream", op.IdReader, null);
        Assert.Equal(200, answer.Status);
        var body = answer.Body_;
        Assert.Equal(3600 + 10, body.GetProperty("max_bidstream_lifetime_seconds").GetInt64()); // identity expiry (test host: 3600 s) + 10
        Assert.Equal("UID2", body.GetProperty("identity_scope").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("allow_clock_skew_seconds").ValueKind);
        foreach (var key in body.GetProperty("keys").EnumerateArray())
        {
            Assert.False(key.TryGetProperty("keyset_id", out _));
            Assert.Equal(["activates", "created", "expires", "id", "secret"], key.EnumerateObject().Select(p => p.Name).Order());
        }
        var site = Assert.Single(body.GetProperty("site_data").EnumerateArray(), s => s.GetProperty("id").GetInt32() == ConformanceOperator.CstgSite);
        var names = site.GetProperty("domain_names").EnumerateArray().Select(n => n.GetString()).ToList();
        Assert.Contains("cstg.co.uk", names);
        Assert.Contains("com.123.Game.App.android", names); // app names too (key_sharing_endpoint_provide_app_names)
    }

    [Fact]
    public async Task keyBidstream_wrongRole_isUnauthorized() // keyLatestClientBelongsToReservedSiteId: a caller without access gets 401
    {
        var answer = await op.PostV2Async("/v2/key/bidstream", op.Sharer, null);
        Assert.Equal(401, answer.Status);
        Assert.Equal("unauthorized", answer.ProtocolStatus);
    }

    // ---- test identities (uid2-e2e OperatorTest) ----------------------------------------------------------------------

    [Theory]
    [InlineData("email", "optout@example.com")]
    [InlineData("phone", "+00000000000")]
    public async Task testV2TokenGenerateSpecialOptout(string field, string value)
    {
        var answer = await op.PostV2Async("/v2/token/generate", op.Publisher, Json(new Dictionary<string, string> { [field] = value }));
        Assert.Equal(200, answer.Status);
        Assert.Equal("optout", answer.ProtocolStatus);
    }

    [Theory]
    [InlineData("email", "refresh-optout@example.com")]
    [InlineData("phone", "+00000000002")]
    public async Task testV2SpecialRefreshOptout(string field, string value)
    {
        var generated = await op.GenerateAsync(field, value);
        var refreshed = await op.RefreshAsync(generated.GetProperty("refresh_token").GetString()!, generated.GetProperty("refresh_response_key").GetString());
        Assert.Equal("optout", refreshed.ProtocolStatus);
    }

    [Theory]
    [InlineData("email", ValidateEmail)]
    [InlineData("phone", ValidatePhone)]
    public async Task testV2TokenValidate(string field, string value)
    {
        var token = (await op.GenerateAsync(field, value)).GetProperty("advertising_token").GetString()!;
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, Json(new Dictionary<string, string> { ["token"] = token, [field] = value }));
        Assert.Equal("""{"body":true,"status":"success"}""", JsonSerializer.Serialize(JsonSerializer.Deserialize<SortedDictionary<string, JsonElement>>(answer.Json.GetRawText())));
    }

    [Theory]
    [InlineData("email", ValidateEmail)]
    [InlineData("phone", ValidatePhone)]
    public async Task testV2IdentityMapValidateArgs(string field, string value) // optout_check is accepted and ignored
    {
        var json = await MapV2Async($"{{\"{field}\":[\"{value}\"],\"optout_check\":1}}");
        Assert.False(string.IsNullOrEmpty(json.GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()));
    }
}
