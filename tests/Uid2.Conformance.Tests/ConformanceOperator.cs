using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Core.ClientSide;
using Uid2.Core.Envelope;
using Uid2.Core.Tokens;
using Uid2.Operator.State;
using Uid2.Operator.Tests;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;

namespace Uid2.Conformance.Tests;

/// <summary>An HTTP answer: status, content type, raw body, and the JSON (decrypted when the answer is an envelope).</summary>
public sealed record Answer(int Status, string ContentType, byte[] Body, JsonElement Json)
{
    public string? ProtocolStatus => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("status", out var s) ? s.GetString() : null;
    public string? Message => Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("message", out var m) ? m.GetString() : null;
    public JsonElement Body_ => Json.GetProperty("body");
}

/// <summary>
/// One operator (SQLite) with the participants the reference's tests fake: a publisher (site 201, GENERATOR), an
/// advertiser (MAPPER), an opt-out caller (OPTOUT), a sharer and a DSP, and a CSTG key pair for site 123 whose
/// domains and app names are those of the reference's CSTG tests.
/// </summary>
public sealed class ConformanceOperator : IAsyncLifetime
{
    public const int PublisherSite = 201;
    public const int CstgSite = 123;
    public const string CstgSubscriptionId = "4WvryDGbR5";

    public OperatorHost Host { get; private set; } = null!;
    public TestParticipant Publisher { get; private set; } = null!;
    public TestParticipant OtherPublisher { get; private set; } = null!;
    public TestParticipant Mapper { get; private set; } = null!;
    public TestParticipant OptOut { get; private set; } = null!;
    public TestParticipant Sharer { get; private set; } = null!;
    public TestParticipant IdReader { get; private set; } = null!;
    public ClientSideKeypair Cstg { get; private set; } = null!;
    public ClientSideKeypair CstgDisabled { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await OperatorHost.StartAsync();
        Publisher = await Host.AddParticipantAsync(PublisherSite, Role.Generator);
        OtherPublisher = await Host.AddParticipantAsync(999, Role.Generator);
        Mapper = await Host.AddParticipantAsync(202, Role.Mapper);
        OptOut = await Host.AddParticipantAsync(203, Role.Optout);
        Sharer = await Host.AddParticipantAsync(204, Role.Sharer);
        IdReader = await Host.AddParticipantAsync(205, Role.IdReader);
        var pair = ClientSideKeys.Generate();
        var other = ClientSideKeys.Generate();
        Cstg = new ClientSideKeypair(CstgSubscriptionId, CstgSite, pair.PublicKey, pair.PrivateKey, DateTimeOffset.UtcNow, false);
        CstgDisabled = new ClientSideKeypair("PpRrE5YY84", CstgSite, other.PublicKey, other.PrivateKey, DateTimeOffset.UtcNow, true);
        await using (var s = Uid2StoreFactory.Create(Host.ConnectionString))
        {
            await s.InitializeAsync();
            await s.AddParticipantAsync(new Participant(CstgSite, "test", Role.Generator, true, DateTimeOffset.UtcNow));
            await s.AddClientSideKeypairAsync(Cstg);
            await s.AddClientSideKeypairAsync(CstgDisabled);
            await s.SetDomainNamesAsync(CstgSite, ["cstg.co.uk", "cstg2.com", "localhost"]);
            await s.SetAppNamesAsync(CstgSite, ["com.123.Game.App.android", "123456789"]);
        }
        await State.ReloadAsync(CancellationToken.None);
        await Host.Services.GetRequiredService<KeyMaintenanceService>().RunOnceAsync(CancellationToken.None);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public OperatorStateProvider State => Host.Services.GetRequiredService<OperatorStateProvider>();

    public AdvertisingToken DecodeAdvertisingToken(string token)
    {
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(token, State.Current.Keys, out var decoded));
        return decoded!;
    }

    public static string Sha256Base64(string value) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    // ---- v2 envelope -------------------------------------------------------------------------------------------------

    /// <summary>
    /// POSTs <paramref name="payloadJson"/> (null: no payload) in an envelope as the reference's test client does:
    /// base64 text, or with <paramref name="contentType"/> <c>application/octet-stream</c> the raw bytes (unless
    /// <paramref name="forceBase64"/>). A 200 is decrypted and its nonce checked.
    /// </summary>
    public async Task<Answer> PostV2Async(string path, TestParticipant? who, string? payloadJson, string contentType = "text/plain",
        bool forceBase64 = false, string? apiKey = null, TestParticipant? secretOf = null, IDictionary<string, string>? headers = null,
        bool expectContinue = false)
    {
        var secret = Convert.FromBase64String((secretOf ?? who)!.Secret);
        var json = payloadJson is null ? [] : Encoding.UTF8.GetBytes(payloadJson);
        var envelope = V2Envelope.EncryptRequest(json, secret, Host.Time.GetUtcNow(), out var nonce);
        var binary = contentType == "application/octet-stream" && !forceBase64;
        var content = new ByteArrayContent(binary ? envelope : Encoding.ASCII.GetBytes(Convert.ToBase64String(envelope)));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        var key = apiKey ?? who?.ApiKey;
        if (key is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(name, value);
        // A body the server refuses by its length: wait for its go-ahead, so the refusal is read instead of a broken pipe.
        if (expectContinue) request.Headers.ExpectContinue = true;
        using var response = await Host.Http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        var type = response.Content.Headers.ContentType?.MediaType ?? "";
        if ((int)response.StatusCode != 200) return new Answer((int)response.StatusCode, type, body, ParseOrDefault(body));
        var sealedBytes = type == "application/octet-stream" ? body : Convert.FromBase64String(Encoding.ASCII.GetString(body));
        Assert.True(V2Envelope.TryDecryptResponse(sealedBytes, secret, nonce, out var plain), "a 200 must decrypt with the request nonce");
        return new Answer(200, type, body, JsonDocument.Parse(plain!).RootElement.Clone());
    }

    /// <summary>Sends <paramref name="body"/> as is (any bytes) with an API key, for envelope error paths.</summary>
    public async Task<Answer> PostRawAsync(string path, TestParticipant who, byte[] body, string contentType = "text/plain")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + who.ApiKey);
        using var response = await Host.Http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType ?? "", bytes, ParseOrDefault(bytes));
    }

    /// <summary>POST /v2/token/refresh as the reference's test client: the token as the body; a 200 opened with the response key.</summary>
    public async Task<Answer> RefreshAsync(string refreshToken, string? responseKey, string? apiKey = null, string contentType = "text/plain",
        IDictionary<string, string>? headers = null)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(refreshToken));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/refresh") { Content = content };
        if (apiKey is not null) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + apiKey);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await Host.Http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        var type = response.Content.Headers.ContentType?.MediaType ?? "";
        if ((int)response.StatusCode != 200 || responseKey is null) return new Answer((int)response.StatusCode, type, body, ParseOrDefault(body));
        var sealedBytes = type == "application/octet-stream" ? body : Convert.FromBase64String(Encoding.ASCII.GetString(body));
        Assert.True(V2Envelope.TryDecryptNoNonce(sealedBytes, Convert.FromBase64String(responseKey), out var plain),
            "a refresh answer must decrypt with refresh_response_key");
        return new Answer(200, type, body, JsonDocument.Parse(plain!).RootElement.Clone());
    }

    public async Task<JsonElement> GenerateAsync(string field, string value, TestParticipant? who = null)
    {
        var answer = await PostV2Async("/v2/token/generate", who ?? Publisher, JsonSerializer.Serialize(new Dictionary<string, string> { [field] = value }));
        Assert.Equal(200, answer.Status);
        Assert.Equal("success", answer.ProtocolStatus);
        return answer.Body_;
    }

    // ---- CSTG ---------------------------------------------------------------------------------------------------------

    public async Task<Answer> PostCstgAsync(string? body, string? origin, byte[]? sharedSecret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/client-generate");
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        if (origin is not null) request.Headers.TryAddWithoutValidation("Origin", origin);
        using var response = await Host.Http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var type = response.Content.Headers.ContentType?.MediaType ?? "";
        if ((int)response.StatusCode != 200 || sharedSecret is null) return new Answer((int)response.StatusCode, type, bytes, ParseOrDefault(bytes));
        Assert.True(V2Envelope.TryDecryptNoNonce(Convert.FromBase64String(Encoding.ASCII.GetString(bytes)), sharedSecret, out var plain));
        return new Answer(200, type, bytes, JsonDocument.Parse(plain!).RootElement.Clone());
    }

    public Task<Answer> CstgAsync(string payloadJson, string? origin = "https://cstg.co.uk", string? appName = null,
        Action<System.Text.Json.Nodes.JsonObject>? tamper = null, ClientSideKeypair? keypair = null)
    {
        var kp = keypair ?? Cstg;
        var (request, secret) = new CstgBrowser(kp.PublicKey, kp.SubscriptionId).Build(payloadJson, Host.Time.GetUtcNow().ToUnixTimeMilliseconds(), appName);
        tamper?.Invoke(request);
        return PostCstgAsync(request.ToJsonString(), origin, secret);
    }

    private static JsonElement ParseOrDefault(byte[] body)
    {
        try { return JsonDocument.Parse(body).RootElement.Clone(); }
        catch (JsonException) { return default; }
    }
}
