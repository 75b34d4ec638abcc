using System.Net;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;
using Uid2.Core.Normalization;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class PublisherClientTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    private static readonly string ResponseKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static string IdentityJson(string adv = "A4advertising", string refresh = "refresh-token", string? key = null) =>
        $$"""{"advertising_token":"{{adv}}","refresh_token":"{{refresh}}","identity_expires":{{T0.AddHours(1).ToUnixTimeMilliseconds()}},"refresh_expires":{{T0.AddDays(30).ToUnixTimeMilliseconds()}},"refresh_from":{{T0.AddMinutes(15).ToUnixTimeMilliseconds()}},"refresh_response_key":"{{key ?? ResponseKey}}"}""";

    private static string SuccessJson(string identity) => $$"""{"status":"success","body":{{identity}}}""";

    private static PublisherClient Client(HttpClient? http = null) => new(BaseUrl, "pub-key", ClientSecret, http);

    [Theory]
    [InlineData("TEst.TEST@Test.com ", "email_hash", "test.test@test.com")]
    [InlineData("jane.saoirse+x@gmail.com", "email_hash", "janesaoirse@gmail.com")]
    [InlineData("+12345678901", "phone_hash", "+12345678901")]
    public void Generate_request_sends_only_the_hash(string dii, string parameter, string normalized)
    {
        var input = dii.StartsWith('+') ? TokenGenerateInput.FromPhone(dii) : TokenGenerateInput.FromEmail(dii);
        var request = Client().CreateTokenGenerateRequest(input);
        var opened = OpenRequest(request.Body);
        Assert.Equal(request.Nonce, opened.Nonce);

        using var doc = JsonDocument.Parse(opened.Payload);
        var expected = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(normalized)));
        Assert.Equal(expected, doc.RootElement.GetProperty(parameter).GetString());
        Assert.False(doc.RootElement.TryGetProperty("email", out _));
        Assert.False(doc.RootElement.TryGetProperty("phone", out _));
        Assert.DoesNotContain(dii.Trim(), Encoding.UTF8.GetString(opened.Payload));
    }

    [Fact]
    public void Known_hash_vectors()
    {
        Assert.Equal("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", TokenGenerateInput.FromEmail("user@example.com").HashBase64);
        Assert.Equal("EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=", TokenGenerateInput.FromPhone("+12345678901").HashBase64);
        Assert.Equal("ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=", TokenGenerateInput.FromEmail("jane.saoirse@gmail.com").HashBase64);
        var hex = Convert.ToHexString(Convert.FromBase64String("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ="));
        Assert.Equal("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", TokenGenerateInput.FromEmailHash(hex).HashBase64);
        Assert.Equal("phone_hash", TokenGenerateInput.FromPhoneHash("EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=").ParameterName);
    }

    [Theory]
    [InlineData(DiiKind.Email, "not-an-email")]
    [InlineData(DiiKind.Email, "a@ba@z.com")]
    [InlineData(DiiKind.Phone, "12345678901")]
    [InlineData(DiiKind.EmailHash, "abc")]
    [InlineData(DiiKind.PhoneHash, "")]
    public void Invalid_dii_is_rejected_locally(DiiKind kind, string value)
    {
        Assert.False(TokenGenerateInput.TryCreate(kind, value, out _));
        Assert.Throws<ArgumentException>(() => kind switch
        {
            DiiKind.Email => TokenGenerateInput.FromEmail(value),
            DiiKind.Phone => TokenGenerateInput.FromPhone(value),
            DiiKind.EmailHash => TokenGenerateInput.FromEmailHash(value),
            _ => TokenGenerateInput.FromPhoneHash(value),
        });
    }

    [Fact]
    public void Envelope_round_trip_success()
    {
        var client = Client();
        var request = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com"));
        var response = EncryptedResponse(request.Body, SuccessJson(IdentityJson()));

        var result = client.ReadTokenGenerateResponse(response, request);
        Assert.Equal(ResponseStatus.Success, result.Status);
        Assert.True(result.IsSuccess);
        var id = result.Identity!;
        Assert.Equal("A4advertising", id.AdvertisingToken);
        Assert.Equal("refresh-token", id.RefreshToken);
        Assert.Equal(T0.AddHours(1), id.IdentityExpires);
        Assert.Equal(T0.AddMinutes(15), id.RefreshFrom);
        Assert.Equal(T0.AddDays(30), id.RefreshExpires);
        Assert.Equal(ResponseKey, id.RefreshResponseKey);
    }

    [Fact]
    public void Envelope_round_trip_optout()
    {
        var client = Client();
        var request = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("optout@example.com"));
        var result = client.ReadTokenGenerateResponse(EncryptedResponse(request.Body, """{"status":"optout"}"""), request);
        Assert.Equal(ResponseStatus.OptOut, result.Status);
        Assert.True(result.IsOptOut);
        Assert.Null(result.Identity);
    }

    // EUID: the consent string travels as tcf_consent_string (the reference Java SDK's withTransparencyAndConsentString);
    // without it nothing is added.
    [Fact]
    public void Generate_request_carries_the_tcf_consent_string_when_given()
    {
        const string tcf = "CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA";
        var input = TokenGenerateInput.FromEmail("user@example.com").WithTransparencyAndConsentString(tcf);
        Assert.Equal(tcf, input.TransparencyAndConsentString);
        using var with = JsonDocument.Parse(OpenRequest(Client().CreateTokenGenerateRequest(input).Body).Payload);
        Assert.Equal(tcf, with.RootElement.GetProperty("tcf_consent_string").GetString());

        using var without = JsonDocument.Parse(OpenRequest(Client().CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com")).Body).Payload);
        Assert.False(without.RootElement.TryGetProperty("tcf_consent_string", out _));
        Assert.Throws<ArgumentException>(() => TokenGenerateInput.FromEmail("user@example.com").WithTransparencyAndConsentString(""));
    }

    // EUID operators answer insufficient_user_consent (HTTP 200, encrypted, no body) when the consent string is not enough.
    [Fact]
    public void Envelope_round_trip_insufficient_user_consent()
    {
        var client = Client();
        var request = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com").WithTransparencyAndConsentString("CPehXK9PehXK9ABAMBFRACBoADAAAEJAAIYgAKwAQAKgArABAAqAAA"));
        var result = client.ReadTokenGenerateResponse(EncryptedResponse(request.Body, """{"status":"insufficient_user_consent"}"""), request);
        Assert.Equal(ResponseStatus.InsufficientUserConsent, result.Status);
        Assert.True(result.IsInsufficientUserConsent);
        Assert.False(result.IsSuccess);
        Assert.False(result.IsOptOut);
        Assert.Null(result.Identity);
        Assert.Equal("insufficient_user_consent", result.StatusText);
    }

    [Fact]
    public void Response_for_another_request_is_an_error_not_an_exception()
    {
        var client = Client();
        var first = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com"));
        var second = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com"));
        var result = client.ReadTokenGenerateResponse(EncryptedResponse(first.Body, SuccessJson(IdentityJson())), second);
        Assert.Equal(ResponseStatus.Error, result.Status);
        Assert.Contains("nonce", result.Message);
    }

    [Theory]
    [InlineData("""{"status":"client_error","message":"Invalid Identifier"}""", ResponseStatus.ClientError)]
    [InlineData("""{"status":"unauthorized"}""", ResponseStatus.Unauthorized)]
    [InlineData("""{"status":"invalid_client"}""", ResponseStatus.Unauthorized)]
    [InlineData("""{"status":"unknown","message":"x"}""", ResponseStatus.Error)]
    [InlineData("""{"status":"success","body":{"advertising_token":"x"}}""", ResponseStatus.Error)]
    [InlineData("%%% not base64", ResponseStatus.Error)]
    [InlineData("", ResponseStatus.Error)]
    [InlineData("{ broken", ResponseStatus.Error)]
    public void Plain_json_and_garbage_bodies(string body, ResponseStatus expected)
    {
        var client = Client();
        var request = client.CreateTokenGenerateRequest(TokenGenerateInput.FromEmail("user@example.com"));
        var result = client.ReadTokenGenerateResponse(body, request);
        Assert.Equal(expected, result.Status);
        Assert.Null(result.Identity);
    }

    [Fact]
    public void Refresh_response_is_decrypted_with_the_refresh_response_key()
    {
        var client = Client();
        var current = IdentityTokens.FromJson(IdentityJson())!;
        var newKey = Convert.ToBase64String(new byte[32]);
        var encrypted = Convert.ToBase64String(V2Envelope.EncryptNoNonce(
            Encoding.UTF8.GetBytes(SuccessJson(IdentityJson("A4new", "refresh-2", newKey))), Convert.FromBase64String(ResponseKey)));

        var result = client.ReadTokenRefreshResponse(encrypted, current);
        Assert.Equal(ResponseStatus.Success, result.Status);
        Assert.Equal("A4new", result.Identity!.AdvertisingToken);
        Assert.Equal(newKey, result.Identity.RefreshResponseKey);

        var optout = Convert.ToBase64String(V2Envelope.EncryptNoNonce("""{"status":"optout"}"""u8, Convert.FromBase64String(ResponseKey)));
        Assert.Equal(ResponseStatus.OptOut, client.ReadTokenRefreshResponse(optout, current).Status);

        // wrong key → error, not exception
        var other = IdentityTokens.FromJson(IdentityJson(key: newKey))!;
        Assert.Equal(ResponseStatus.Error, client.ReadTokenRefreshResponse(encrypted, other).Status);
    }

    [Theory]
    [InlineData("""{"status":"expired_token","message":"Expired Token"}""", ResponseStatus.ExpiredToken)]
    [InlineData("""{"status":"invalid_token","message":"Invalid Token"}""", ResponseStatus.InvalidToken)]
    [InlineData("""{"status":"error","message":"Error refreshing token"}""", ResponseStatus.Error)]
    [InlineData("""{"status":"optout"}""", ResponseStatus.OptOut)]
    public void Refresh_errors_are_plain_json(string body, ResponseStatus expected)
    {
        var current = IdentityTokens.FromJson(IdentityJson())!;
        Assert.Equal(expected, Client().ReadTokenRefreshResponse(body, current).Status);
    }

    [Fact]
    public void Identity_without_response_key_reads_plain_json()
    {
        var legacy = new IdentityTokens("adv", "refresh", T0.AddHours(1), T0, T0.AddDays(1), null);
        var result = Client().ReadTokenRefreshResponse(SuccessJson(IdentityJson("A4x")), legacy);
        Assert.Equal(ResponseStatus.Success, result.Status);
        Assert.Equal("A4x", result.Identity!.AdvertisingToken);
    }

    [Fact]
    public async Task GenerateTokenAsync_posts_the_envelope_with_the_api_key()
    {
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK, EncryptedResponse(body, SuccessJson(IdentityJson()))));
        var result = await Client(new HttpClient(handler)).GenerateTokenAsync(TokenGenerateInput.FromEmail("user@example.com"), CancellationToken.None);
        Assert.True(result.IsSuccess, result.Message);

        var (request, sent) = handler.Requests.Single();
        Assert.Equal("https://operator.test/v2/token/generate", request.RequestUri!.ToString());
        Assert.Equal("Bearer pub-key", request.Headers.GetValues("Authorization").Single());
        Assert.StartsWith("uid2-client-dotnet-", request.Headers.GetValues("X-UID2-Client-Version").Single());
        using var payload = JsonDocument.Parse(OpenRequest(sent).Payload);
        Assert.Equal("tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=", payload.RootElement.GetProperty("email_hash").GetString());
    }

    [Fact]
    public async Task GenerateTokenAsync_maps_http_errors()
    {
        var handler = new StubHandler((req, body) => StubHandler.Json(HttpStatusCode.Unauthorized, """{"status":"unauthorized"}"""));
        var result = await Client(new HttpClient(handler)).GenerateTokenAsync(TokenGenerateInput.FromEmail("user@example.com"));
        Assert.Equal(ResponseStatus.Unauthorized, result.Status);

        var empty = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.Unauthorized, ""));
        Assert.Equal(ResponseStatus.Unauthorized, (await Client(new HttpClient(empty)).GenerateTokenAsync(TokenGenerateInput.FromEmail("user@example.com"))).Status);
    }

    [Fact]
    public async Task RefreshTokenAsync_posts_the_refresh_token_without_api_key()
    {
        var now = DateTimeOffset.UtcNow;
        var current = new IdentityTokens("adv", new string('r', 388), now.AddHours(1), now.AddMinutes(-1), now.AddDays(1), ResponseKey);
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK, Convert.ToBase64String(
            V2Envelope.EncryptNoNonce(Encoding.UTF8.GetBytes(SuccessJson(IdentityJson("A4refreshed"))), Convert.FromBase64String(ResponseKey)))));

        var result = await Client(new HttpClient(handler)).RefreshTokenAsync(current);
        Assert.Equal(ResponseStatus.Success, result.Status);
        Assert.Equal("A4refreshed", result.Identity!.AdvertisingToken);

        var (request, sent) = handler.Requests.Single();
        Assert.Equal("/v2/token/refresh", request.RequestUri!.AbsolutePath);
        Assert.Equal(current.RefreshToken, sent);
        Assert.False(request.Headers.Contains("Authorization"));
    }

    [Fact]
    public async Task RefreshTokenAsync_does_not_call_with_an_expired_refresh_token()
    {
        var handler = StubHandler.Throwing(() => new InvalidOperationException("must not be called"));
        var past = DateTimeOffset.UtcNow.AddDays(-2);
        var current = new IdentityTokens("adv", "r", past, past, past.AddDays(1), ResponseKey);
        var result = await Client(new HttpClient(handler)).RefreshTokenAsync(current);
        Assert.Equal(ResponseStatus.ExpiredToken, result.Status);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Network_failures_propagate_as_HttpRequestException()
    {
        var handler = StubHandler.Throwing(() => new HttpRequestException("down"));
        await Assert.ThrowsAsync<HttpRequestException>(() => Client(new HttpClient(handler)).GenerateTokenAsync(TokenGenerateInput.FromEmail("a@b.com")));
    }
}

public class IdentityTokensTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    private static readonly IdentityTokens Id = new("adv", "refresh", T0.AddHours(1), T0.AddMinutes(15), T0.AddDays(30), "a2V5");

    [Fact]
    public void Time_rules()
    {
        Assert.False(Id.IsDueForRefresh(T0));
        Assert.True(Id.IsDueForRefresh(T0.AddMinutes(15)));
        Assert.False(Id.IsExpired(T0.AddHours(1)));
        Assert.True(Id.IsExpired(T0.AddHours(1).AddMilliseconds(1)));
        Assert.True(Id.IsRefreshable(T0.AddDays(30)));
        Assert.False(Id.IsRefreshable(T0.AddDays(30).AddMilliseconds(1)));
    }

    [Fact]
    public void Json_round_trip_in_the_protocol_shape()
    {
        var json = Id.ToJson();
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("adv", doc.RootElement.GetProperty("advertising_token").GetString());
        Assert.Equal(T0.AddHours(1).ToUnixTimeMilliseconds(), doc.RootElement.GetProperty("identity_expires").GetInt64());
        Assert.Equal(T0.AddMinutes(15).ToUnixTimeMilliseconds(), doc.RootElement.GetProperty("refresh_from").GetInt64());
        Assert.Equal(T0.AddDays(30).ToUnixTimeMilliseconds(), doc.RootElement.GetProperty("refresh_expires").GetInt64());
        Assert.Equal("a2V5", doc.RootElement.GetProperty("refresh_response_key").GetString());

        var back = IdentityTokens.FromJson(json)!;
        Assert.Equal(Id.AdvertisingToken, back.AdvertisingToken);
        Assert.Equal(Id.RefreshToken, back.RefreshToken);
        Assert.Equal(Id.IdentityExpires, back.IdentityExpires);
        Assert.Equal(Id.RefreshFrom, back.RefreshFrom);
        Assert.Equal(Id.RefreshExpires, back.RefreshExpires);
        Assert.Equal(Id.RefreshResponseKey, back.RefreshResponseKey);

        var legacy = new IdentityTokens("a", "r", T0, T0, T0, null);
        Assert.Null(IdentityTokens.FromJson(legacy.ToJson())!.RefreshResponseKey);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"advertising_token":"a","refresh_token":"r","identity_expires":1,"refresh_from":1}""")]
    [InlineData("""{"advertising_token":"a","refresh_token":"r","identity_expires":"1","refresh_from":1,"refresh_expires":1}""")]
    [InlineData("""{"status":"optout","identity_expires":1,"refresh_expires":1}""")]
    public void FromJson_returns_null_for_bad_input(string? json) => Assert.Null(IdentityTokens.FromJson(json));
}
