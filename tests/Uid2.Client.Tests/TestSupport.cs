using System.Net;
using System.Text;
using System.Text.Json;
using Uid2.Core;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;

namespace Uid2.Client.Tests;

/// <summary>Key material and token builders; tokens are made with Core's codecs.</summary>
internal static class TestData
{
    public const int MasterKeyId = 164;
    public const int SiteKeyId = 165;
    public const int SiteId = 9000;
    public const int SiteId2 = 2;
    public const int MasterKeysetId = 9999999;
    public const int SiteKeysetId = 99999;

    // Fixed secrets of the uid2-client-net test data (needed for its cross-platform token vector).
    public static readonly byte[] MasterSecret =
    [
        139, 37, 241, 173, 18, 92, 36, 232, 165, 168, 23, 18, 38, 195, 123, 92, 160, 136, 185, 40, 91, 173, 165,
        221, 168, 16, 169, 164, 38, 139, 8, 155,
    ];
    public static readonly byte[] SiteSecret =
    [
        32, 251, 7, 194, 132, 154, 250, 86, 202, 116, 104, 29, 131, 192, 139, 215, 48, 164, 11, 65, 226, 110, 167,
        14, 108, 51, 254, 125, 65, 24, 23, 133,
    ];

    public const string EmailRawUidV2 = "ywsvDNINiZOVSsfkHpLpSJzXzhr6Jx9Z/4Q0+lsEUvM=";
    public const string PhoneRawUidV3 = "BFOsW2SkK0egqbfyiALtpti5G/cG+PcEvjkoHl56rEV8";
    public const string ClientSecret = "ioG3wKxAokmp+rERx6A4kM/13qhyolUXIu14WN16Spo=";
    public static readonly Uri BaseUrl = new("https://operator.test/");

    // Whole seconds, as key JSON carries epoch seconds.
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    public static readonly EncryptionKey MasterKey = new(MasterKeyId, ReservedSites.Master, Now.AddDays(-1), Now.AddHours(-1), Now.AddDays(1), MasterSecret);
    public static readonly EncryptionKey SiteKey = new(SiteKeyId, SiteId, Now.AddDays(-10), Now.AddDays(-1), Now.AddDays(1), SiteSecret);

    public sealed record KeySpec(EncryptionKey Key, int? KeysetId, DateTimeOffset? Activates = null, DateTimeOffset? Expires = null);

    public static KeySpec Master(EncryptionKey? k = null) => new(k ?? MasterKey, MasterKeysetId);
    public static KeySpec Site(EncryptionKey? k = null, bool withKeyset = true) => new(k ?? SiteKey, withKeyset ? SiteKeysetId : null);

    /// <summary>A §5.3 key response wrapped as <c>{"status":"success","body":{..}}</c>.</summary>
    public static string KeyResponse(IEnumerable<KeySpec> keys, IdentityScope scope = IdentityScope.Uid2, bool sharing = true,
        long? maxLifetime = null, int? defaultKeysetId = SiteKeysetId, string tokenExpirySeconds = "2592000", bool includeSiteData = true,
        long? allowClockSkew = 1800, bool wrap = true)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (wrap)
            {
                w.WriteString("status", "success");
                w.WriteStartObject("body");
            }
            if (sharing)
            {
                w.WriteNumber("caller_site_id", SiteId);
                w.WriteNumber("master_keyset_id", MasterKeysetId);
                if (defaultKeysetId is { } d) w.WriteNumber("default_keyset_id", d);
                w.WriteString("token_expiry_seconds", tokenExpirySeconds);
                if (maxLifetime is { } m) w.WriteNumber("max_sharing_lifetime_seconds", m);
            }
            else if (maxLifetime is { } m)
            {
                w.WriteNumber("max_bidstream_lifetime_seconds", m);
            }
            w.WriteString("identity_scope", scope == IdentityScope.Euid ? "EUID" : "UID2");
            if (allowClockSkew is { } skew) w.WriteNumber("allow_clock_skew_seconds", skew);
            w.WriteString("unexpected_header_field", "12345");
            w.WriteStartArray("keys");
            foreach (var spec in keys)
            {
                w.WriteStartObject();
                w.WriteNumber("id", spec.Key.Id);
                if (spec.KeysetId is { } ks) w.WriteNumber("keyset_id", ks);
                w.WriteNumber("created", spec.Key.Created.ToUnixTimeSeconds());
                w.WriteNumber("activates", (spec.Activates ?? spec.Key.Activates).ToUnixTimeSeconds());
                w.WriteNumber("expires", (spec.Expires ?? spec.Key.Expires).ToUnixTimeSeconds());
                w.WriteString("secret", Convert.ToBase64String(spec.Key.Secret));
                w.WriteString("unexpected_key_field", "123");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (includeSiteData)
            {
                w.WriteStartArray("site_data");
                WriteSite(w, SiteId, "example.com", "example.org", "com.123.Game.App.android", "123456789");
                WriteSite(w, SiteId2, "example.net", "example.edu", "com.123.Game.App.ios", "123456780");
                w.WriteEndArray();
            }
            if (wrap) w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteSite(Utf8JsonWriter w, int id, params string[] names)
    {
        w.WriteStartObject();
        w.WriteNumber("id", id);
        w.WriteStartArray("domain_names");
        foreach (var n in names) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static string DefaultSharingKeys(IdentityScope scope = IdentityScope.Uid2, long? maxLifetime = 30L * 24 * 3600) =>
        KeyResponse([Master(), Site()], scope, sharing: true, maxLifetime: maxLifetime);

    public static string DefaultBidstreamKeys(IdentityScope scope = IdentityScope.Uid2, long? maxLifetime = 3L * 24 * 3600) =>
        KeyResponse([new KeySpec(MasterKey, null), new KeySpec(SiteKey, null)], scope, sharing: false, maxLifetime: maxLifetime);

    /// <summary>Builds a token with Core's codecs.</summary>
    public static string Token(TokenVersion version = TokenVersion.V4, IdentityScope scope = IdentityScope.Uid2, string rawUid = EmailRawUidV2,
        DateTimeOffset? generated = null, DateTimeOffset? expires = null, DateTimeOffset? established = null, int privacyBits = 0,
        int siteId = SiteId, EncryptionKey? masterKey = null, EncryptionKey? siteKey = null)
    {
        var raw = Convert.FromBase64String(rawUid);
        var type = raw.Length == 33 ? IdentityByte.TypeOf(raw[0]) : IdentityType.Email;
        var gen = generated ?? DateTimeOffset.UtcNow;
        var token = new AdvertisingToken
        {
            Version = version,
            Scope = raw.Length == 33 ? IdentityByte.ScopeOf(raw[0]) : scope,
            Type = type,
            RawUid = raw,
            SiteId = siteId,
            PrivacyBits = privacyBits,
            Created = gen,
            Refreshed = gen,
            Established = established ?? gen.AddDays(-30),
            Expires = expires ?? gen.AddHours(1),
        };
        var m = masterKey ?? MasterKey;
        var s = siteKey ?? SiteKey;
        return version switch
        {
            TokenVersion.V2 => AdvertisingTokenCodec.EncodeV2(token, m, s),
            TokenVersion.V3 => AdvertisingTokenCodec.EncodeV3(token, m, s),
            _ => AdvertisingTokenCodec.EncodeV4(token, m, s),
        };
    }

    /// <summary>A v3-format raw UID of the given scope/type (33 bytes, first byte = prefix).</summary>
    public static string RawUidV3(IdentityScope scope, IdentityType type)
    {
        var raw = Convert.FromBase64String(PhoneRawUidV3);
        raw[0] = IdentityByte.ForRawUid(scope, type);
        return Convert.ToBase64String(raw);
    }

    public static byte[] ClientSecretBytes => Convert.FromBase64String(ClientSecret);

    /// <summary>What an operator answers on an envelope endpoint: base64 of the response envelope with the request's nonce.</summary>
    public static string EncryptedResponse(string requestBody, string json, DateTimeOffset? now = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(requestBody, ClientSecretBytes, at, out var req));
        return Convert.ToBase64String(V2Envelope.EncryptResponse(Encoding.UTF8.GetBytes(json), req!.Nonce, ClientSecretBytes, at));
    }

    public static V2Request OpenRequest(string requestBody)
    {
        Assert.Equal(EnvelopeStatus.Success, V2Envelope.TryDecryptRequestBase64(requestBody, ClientSecretBytes, DateTimeOffset.UtcNow, out var req));
        return req!;
    }
}

/// <summary>Unit-level HTTP test double: answers each request with a delegate and records what was sent.</summary>
internal sealed class StubHandler(Func<HttpRequestMessage, string, Task<HttpResponseMessage>> answer) : HttpMessageHandler
{
    public List<(HttpRequestMessage Request, string Body)> Requests { get; } = [];
    private readonly object _lock = new();

    public StubHandler(Func<HttpRequestMessage, string, HttpResponseMessage> answer) : this((r, b) => Task.FromResult(answer(r, b))) { }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? string.Empty : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (_lock) Requests.Add((request, body));
        return await answer(request, body);
    }

    public static StubHandler Throwing(Func<Exception> error) =>
        new((Func<HttpRequestMessage, string, HttpResponseMessage>)((_, _) => throw error()));

    public static HttpResponseMessage Text(HttpStatusCode status, string body, string mediaType = "text/plain") =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };

    public static HttpResponseMessage Json(HttpStatusCode status, string json) => Text(status, json, "application/json");
}
