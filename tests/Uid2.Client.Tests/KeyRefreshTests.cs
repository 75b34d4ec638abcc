using System.Net;
using static Uid2.Client.Tests.TestData;

namespace Uid2.Client.Tests;

public class KeyRefreshTests
{
    private static string Success(string requestBody, string keysJson) => EncryptedResponse(requestBody, keysJson);

    [Fact]
    public async Task Refresh_posts_an_empty_envelope_and_loads_the_keys()
    {
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK, Success(body, DefaultBidstreamKeys())));
        var client = new BidstreamClient(new Uri("https://operator.test/base/"), "the-api-key", ClientSecret, new HttpClient(handler));

        var result = await client.RefreshAsync();
        Assert.True(result.Success, result.Reason);
        Assert.Equal(1, result.Attempts);

        var (request, sent) = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("https://operator.test/base/v2/key/bidstream", request.RequestUri!.ToString());
        Assert.Equal("Bearer the-api-key", request.Headers.GetValues("Authorization").Single());
        Assert.StartsWith("uid2-client-dotnet-", request.Headers.GetValues("X-UID2-Client-Version").Single());
        Assert.True(OpenRequest(sent).IsEmpty);

        Assert.True(client.Decrypt(Token(), DateTimeOffset.UtcNow).Success);
    }

    [Fact]
    public async Task Sharing_client_uses_the_sharing_endpoint()
    {
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK, Success(body, DefaultSharingKeys())));
        var client = new SharingClient(BaseUrl, "k", ClientSecret, new HttpClient(handler));
        Assert.True((await client.RefreshAsync()).Success);
        Assert.Equal("/v2/key/sharing", handler.Requests.Single().Request.RequestUri!.AbsolutePath);
        Assert.True(client.Encrypt(EmailRawUidV2).Success);
    }

    [Fact]
    public async Task Failed_refresh_keeps_the_last_good_keys()
    {
        var fail = false;
        var handler = new StubHandler((req, body) => fail
            ? StubHandler.Json(HttpStatusCode.InternalServerError, """{"status":"unknown","message":"boom"}""")
            : StubHandler.Text(HttpStatusCode.OK, Success(body, DefaultBidstreamKeys())));
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, new HttpClient(handler)) { RefreshBackoff = TimeSpan.Zero };

        Assert.True((await client.RefreshAsync()).Success);
        var before = client.Keys;

        fail = true;
        var result = await client.RefreshAsync();
        Assert.False(result.Success);
        Assert.Equal(3, result.Attempts);
        Assert.Contains("500", result.Reason);
        Assert.Equal(4, handler.Requests.Count);
        Assert.Same(before, client.Keys);
        Assert.True(client.Decrypt(Token(), DateTimeOffset.UtcNow).Success);
    }

    [Fact]
    public async Task Network_errors_are_retried_then_reported()
    {
        var handler = StubHandler.Throwing(() => new HttpRequestException("connection refused"));
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, new HttpClient(handler)) { RefreshBackoff = TimeSpan.Zero, RefreshAttempts = 4 };
        Assert.True(client.RefreshJson(DefaultBidstreamKeys()).Success);

        var result = await client.RefreshAsync();
        Assert.False(result.Success);
        Assert.Equal(4, result.Attempts);
        Assert.Contains("connection refused", result.Reason);
        Assert.True(client.Decrypt(Token(), DateTimeOffset.UtcNow).Success);
    }

    [Fact]
    public async Task Transient_failure_then_success()
    {
        var calls = 0;
        var handler = new StubHandler((req, body) => ++calls == 1
            ? StubHandler.Json(HttpStatusCode.ServiceUnavailable, "{}")
            : StubHandler.Text(HttpStatusCode.OK, Success(body, DefaultBidstreamKeys())));
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, new HttpClient(handler)) { RefreshBackoff = TimeSpan.FromMilliseconds(1) };
        var result = await client.RefreshAsync();
        Assert.True(result.Success, result.Reason);
        Assert.Equal(2, result.Attempts);
    }

    [Fact]
    public async Task Unauthorized_is_not_retried()
    {
        var handler = new StubHandler((req, body) => StubHandler.Json(HttpStatusCode.Unauthorized, """{"status":"unauthorized"}"""));
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, new HttpClient(handler)) { RefreshBackoff = TimeSpan.Zero };
        var result = await client.RefreshAsync();
        Assert.False(result.Success);
        Assert.Equal(1, result.Attempts);
        Assert.Null(client.Keys);
    }

    [Fact]
    public async Task Response_encrypted_with_another_nonce_is_rejected()
    {
        var other = V2EnvelopeFor(DefaultBidstreamKeys());
        var handler = new StubHandler((req, body) => StubHandler.Text(HttpStatusCode.OK, other));
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret, new HttpClient(handler)) { RefreshBackoff = TimeSpan.Zero };
        var result = await client.RefreshAsync();
        Assert.False(result.Success);
        Assert.Null(client.Keys);
    }

    private static string V2EnvelopeFor(string json) =>
        Convert.ToBase64String(Uid2.Core.Envelope.V2Envelope.EncryptResponse(System.Text.Encoding.UTF8.GetBytes(json), new byte[8], ClientSecretBytes, DateTimeOffset.UtcNow));

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"status":"success","body":{"identity_scope":"UID2"}}""")]
    [InlineData("""{"status":"error","body":{"keys":[]}}""")]
    [InlineData("""{"body":[{"id":1,"site_id":1,"created":0,"activates":0,"expires":1,"secret":"AAAA"}]}""")]
    [InlineData("""{"body":{"keys":[{"id":1,"created":0,"activates":0,"expires":1,"secret":"AAAA"}]}}""")]
    [InlineData("""{"body":{"keys":[{"id":1,"created":0,"activates":0,"expires":1}]}}""")]
    [InlineData("[]")]
    [InlineData("")]
    public void RefreshJson_failure_keeps_previous_keys(string json)
    {
        var client = new BidstreamClient(BaseUrl, "k", ClientSecret);
        Assert.True(client.RefreshJson(DefaultBidstreamKeys()).Success);
        var before = client.Keys;
        var result = client.RefreshJson(json);
        Assert.False(result.Success);
        Assert.NotEmpty(result.Reason);
        Assert.Same(before, client.Keys);
    }

    [Fact]
    public void Constructor_rejects_bad_secrets_and_relative_urls()
    {
        Assert.Throws<ArgumentException>(() => new BidstreamClient(BaseUrl, "k", "short"));
        Assert.Throws<ArgumentException>(() => new SharingClient(new Uri("/relative", UriKind.Relative), "k", ClientSecret));
    }
}
