using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Envelope;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>Every bad input answers in the protocol's error shape with a 4xx, never a 500.</summary>
public abstract class ErrorPathTests(StoreKind store) : IAsyncLifetime
{
    private OperatorHost _host = null!;
    private TestParticipant _publisher = null!;
    private TestParticipant _mapperOnly = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(store: store);
        _publisher = await _host.AddParticipantAsync(2001, Role.Generator);
        _mapperOnly = await _host.AddParticipantAsync(2002, Role.Mapper);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static void AssertError(int expectedStatus, string expectedProtocolStatus, (int Status, JsonElement Json) actual, string? message = null)
    {
        Assert.Equal(expectedStatus, actual.Status);
        Assert.Equal(expectedProtocolStatus, actual.Json.GetProperty("status").GetString());
        if (message is not null) Assert.Equal(message, actual.Json.GetProperty("message").GetString());
    }

    private async Task<(int, JsonElement)> PostRawAsync(string path, HttpContent content, string? apiKey, bool expectContinue = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        // With 100-continue the client waits for the server before sending a body the server may refuse unread
        // (else the server's early 413 races the client's upload and the connection is reset).
        if (expectContinue) request.Headers.ExpectContinue = true;
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await _host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [SkippableTheory]
    [InlineData("/v1/token/generate")]
    [InlineData("/v1/token/generate?email=a%40b.com&phone=%2B12345678901")]
    [InlineData("/v1/token/generate?email_hash=x&phone_hash=y")]
    public async Task V1_generate_needs_exactly_one_identity(string path) =>
        AssertError(400, "client_error", await _host.GetAsync(path, _publisher.ApiKey),
            "Required Parameter Missing: exactly one of [email, email_hash, phone, phone_hash] must be specified");

    [SkippableTheory]
    [InlineData("email=not-an-email")]
    [InlineData("email=")]
    [InlineData("email=a%40b%40c.com")]
    [InlineData("phone=12345678901")]
    [InlineData("phone=%2B123")]
    [InlineData("email_hash=bm90LWEtaGFzaA%3D%3D")]
    [InlineData("phone_hash=%25%25%25")]
    public async Task V1_generate_rejects_invalid_identifiers(string query) =>
        AssertError(400, "client_error", await _host.GetAsync("/v1/token/generate?" + query, _publisher.ApiKey), "Invalid Identifier");

    [SkippableFact]
    public async Task V2_generate_rejects_missing_conflicting_and_invalid_identities()
    {
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/generate", _publisher, new { }));
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/generate", _publisher, null));
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "a@b.com", phone = "+12345678901" }));
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/generate", _publisher, new { email = 42 }), "Invalid Identifier");
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/generate", _publisher, new { email_hash = "short" }), "Invalid Identifier");
    }

    [SkippableFact]
    public async Task Unknown_or_missing_api_key_is_unauthorized()
    {
        var missing = await _host.GetAsync("/v1/token/generate?email=a%40b.com");
        Assert.Equal(401, missing.Status);
        Assert.Equal("unauthorized", missing.Json.GetProperty("status").GetString());
        var forged = ApiKeys.Generate(2001).Key;
        Assert.Equal(401, (await _host.GetAsync("/v1/token/generate?email=a%40b.com", forged)).Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "a@b.com" }, apiKey: forged)).Status);
        Assert.Equal(401, (await _host.GetAsync("/v1/token/generate?email=a%40b.com", "garbage")).Status);
    }

    [SkippableFact]
    public async Task A_key_without_the_role_is_unauthorized()
    {
        Assert.Equal(401, (await _host.GetAsync("/v1/token/generate?email=a%40b.com", _mapperOnly.ApiKey)).Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/token/generate", _mapperOnly, new { email = "a@b.com" })).Status);
        Assert.Equal(401, (await _host.PostV2Async("/v2/token/logout", _publisher, new { email = "a@b.com" })).Status);
    }

    [SkippableFact]
    public async Task Envelope_errors_are_client_errors()
    {
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent("%%% not base64 %%%"), _publisher.ApiKey));
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent(Convert.ToBase64String(new byte[20])), _publisher.ApiKey));

        var secret = Convert.FromBase64String(_publisher.Secret);
        var envelope = V2Envelope.EncryptRequest("{\"email\":\"a@b.com\"}"u8, secret, DateTimeOffset.UtcNow, out _);
        var wrongVersion = (byte[])envelope.Clone();
        wrongVersion[0] = 2;
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent(Convert.ToBase64String(wrongVersion)), _publisher.ApiKey));
        var tampered = (byte[])envelope.Clone();
        tampered[^1] ^= 0x01;
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent(Convert.ToBase64String(tampered)), _publisher.ApiKey));

        AssertError(400, "client_error",
            await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "a@b.com" }, at: DateTimeOffset.UtcNow.AddMinutes(-5)),
            "Invalid timestamp: Request too old or client time drift.");

        var wrongSecret = _publisher with { Secret = ApiKeys.GenerateClientSecret() };
        var request = V2Envelope.EncryptRequest("{\"email\":\"a@b.com\"}"u8, Convert.FromBase64String(wrongSecret.Secret), DateTimeOffset.UtcNow, out _);
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent(Convert.ToBase64String(request)), _publisher.ApiKey));

        var notJson = V2Envelope.EncryptRequest("{not json"u8, secret, DateTimeOffset.UtcNow, out _);
        AssertError(400, "client_error", await PostRawAsync("/v2/token/generate", new StringContent(Convert.ToBase64String(notJson)), _publisher.ApiKey));
    }

    [SkippableFact]
    public async Task Octet_stream_envelopes_are_accepted_and_answered_in_binary()
    {
        var secret = Convert.FromBase64String(_publisher.Secret);
        var envelope = V2Envelope.EncryptRequest("{\"email\":\"binary@example.com\"}"u8, secret, DateTimeOffset.UtcNow, out var nonce);
        var content = new ByteArrayContent(envelope);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/generate") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _publisher.ApiKey);
        using var response = await _host.Http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(V2Envelope.TryDecryptResponse(bytes, secret, nonce, out var json));
        Assert.Equal("success", JsonDocument.Parse(json!).RootElement.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Chunked_and_line_wrapped_envelopes_are_read_whole_and_decoded_in_place()
    {
        // No Content-Length (chunked, so the pooled body buffer grows as it reads) and base64 wrapped at 76 characters
        // (whitespace anywhere is ignored, as Convert.FromBase64String does): the envelope still opens.
        var secret = Convert.FromBase64String(_publisher.Secret);
        var emails = string.Join(",", Enumerable.Range(0, 300).Select(i => $"\"chunked.{i}@example.com\""));
        var envelope = V2Envelope.EncryptRequest(Encoding.UTF8.GetBytes($"{{\"email\":\"chunked@example.com\",\"pad\":[{emails}]}}"),
            secret, DateTimeOffset.UtcNow, out var nonce);
        var wrapped = Convert.ToBase64String(envelope, Base64FormattingOptions.InsertLineBreaks) + "\r\n";
        Assert.True(wrapped.Length > 8192); // more than the buffer a body of unknown length starts with
        var content = new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes(wrapped)));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/generate") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _publisher.ApiKey);
        request.Headers.TransferEncodingChunked = true;
        using var response = await _host.Http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.True(V2Envelope.TryDecryptResponse(Convert.FromBase64String(await response.Content.ReadAsStringAsync()), secret, nonce, out var json));
        Assert.Equal("success", JsonDocument.Parse(json!).RootElement.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Oversized_body_is_rejected_with_413_in_protocol_shape()
    {
        var big = new string('A', (1 << 20) + 1024);
        var (status, json) = await PostRawAsync("/v2/token/generate", new StringContent(big), _publisher.ApiKey, expectContinue: true);
        Assert.Equal(413, status);
        Assert.Equal("client_error", json.GetProperty("status").GetString());
        var (s2, j2) = await PostRawAsync("/v2/token/refresh", new StringContent(big), null, expectContinue: true);
        Assert.Equal(413, s2);
        Assert.Equal("client_error", j2.GetProperty("status").GetString());
    }

    [SkippableTheory]
    [InlineData("garbage")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public async Task Malformed_refresh_tokens(string token)
    {
        AssertError(400, "error", await PostRawAsync("/v2/token/refresh", new StringContent(token), null), "Error refreshing token");
        AssertError(400, "invalid_token", await PostRawAsync("/v2/token/refresh", new StringContent(token), _publisher.ApiKey));
        AssertError(400, "invalid_token", await _host.GetAsync("/v1/token/refresh?refresh_token=" + Uri.EscapeDataString(token)));
    }

    [SkippableFact]
    public async Task Tampered_wrapped_refresh_token_is_rejected()
    {
        var (_, json) = await _host.PostV2Async("/v2/token/generate", _publisher, new { email = "tamper@example.com" });
        var wrapped = json.GetProperty("body").GetProperty("refresh_token").GetString()!;
        var bytes = Convert.FromBase64String(wrapped);
        bytes[100] ^= 0x20;
        // As the reference: a 388-char wrapper that does not open is a malformed request; an empty body an invalid token.
        AssertError(400, "client_error", await _host.RefreshV2Async(Convert.ToBase64String(bytes), null));
        AssertError(400, "error", await PostRawAsync("/v2/token/refresh", new StringContent(""), null));
        AssertError(400, "client_error", await _host.GetAsync("/v1/token/refresh"));
    }

    [SkippableFact]
    public async Task Validate_needs_a_token_and_an_identity()
    {
        AssertError(400, "client_error", await _host.GetAsync("/v1/token/validate?email=a%40b.com", _publisher.ApiKey));
        AssertError(400, "client_error", await _host.GetAsync("/v1/token/validate?token=abc", _publisher.ApiKey));
        AssertError(400, "client_error", await _host.GetAsync("/v1/token/validate?token=abc&email=a%40b.com", _publisher.ApiKey), "Invalid token");
        AssertError(400, "client_error", await _host.PostV2Async("/v2/token/validate", _publisher, new { email = "a@b.com" }));
    }

    [SkippableFact]
    public async Task Unknown_paths_and_methods_answer_in_protocol_shape()
    {
        AssertError(404, "client_error", await _host.GetAsync("/v9/nothing"));
        using var response = await _host.Http.GetAsync("/v2/token/generate");
        Assert.Equal(405, (int)response.StatusCode);
        Assert.Equal("client_error", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task Healthcheck_reports_ok()
    {
        var response = await _host.Http.GetAsync("/ops/healthcheck");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("OK", await response.Content.ReadAsStringAsync());
    }
}

public sealed class CorsTests
{
    [SkippableFact]
    public async Task Browsers_may_call_refresh_from_any_origin()
    {
        await using var host = await OperatorHost.StartAsync();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v2/token/refresh");
        preflight.Headers.Add("Origin", "https://publisher.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "x-uid2-client-version");
        using var response = await host.Http.SendAsync(preflight);
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}

public sealed class ErrorPathTestsOnSqlite() : ErrorPathTests(StoreKind.Sqlite);

public sealed class ErrorPathTestsOnPostgres() : ErrorPathTests(StoreKind.Postgres);

public sealed class BrowserSdkEndpointTests
{
    [Fact]
    public async Task Serves_the_browser_sdk_bundle_or_says_how_to_build_it()
    {
        var folder = Directory.CreateTempSubdirectory("uid2-sdk-").FullName;
        var bundle = Path.Combine(folder, "uid2-sdk.js");
        await File.WriteAllTextAsync(bundle, "window.__uid2 = {};");
        await File.WriteAllTextAsync(Path.Combine(folder, "euid-sdk.js"), "window.__euid = {};");
        try
        {
            await using (var host = await OperatorHost.StartAsync(settings: new() { ["Uid2:BrowserSdkFile"] = bundle }))
            {
                using var response = await host.Http.GetAsync("/static/js/uid2-sdk.js");
                Assert.Equal(200, (int)response.StatusCode);
                Assert.StartsWith("text/javascript", response.Content.Headers.ContentType!.ToString());
                Assert.Equal("window.__uid2 = {};", await response.Content.ReadAsStringAsync());
                using var euid = await host.Http.GetAsync("/static/js/euid-sdk.js");   // the EUID build, from the same folder
                Assert.Equal(200, (int)euid.StatusCode);
                Assert.Equal("window.__euid = {};", await euid.Content.ReadAsStringAsync());
            }
            await using (var host = await OperatorHost.StartAsync(settings: new() { ["Uid2:BrowserSdkFile"] = bundle + ".missing" }))
            {
                var (status, json) = await host.GetAsync("/static/js/uid2-sdk.js");
                Assert.Equal(404, status);
                Assert.Contains("npm run build", json.GetProperty("message").GetString());
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
