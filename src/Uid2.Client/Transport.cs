using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Uid2.Core.Envelope;

namespace Uid2.Client;

/// <summary>Protocol status of a publisher or identity-map response (the operator's <c>status</c> string, grouped).</summary>
public enum ResponseStatus
{
    /// <summary><c>success</c>.</summary>
    Success,
    /// <summary><c>optout</c>: the user opted out; there is no identity.</summary>
    OptOut,
    /// <summary>
    /// <c>insufficient_user_consent</c> (EUID operators only): the generate request's TCF consent string does not allow
    /// EUID's vendor the required purposes; there is no identity. HTTP 200, like <c>optout</c>.
    /// </summary>
    InsufficientUserConsent,
    /// <summary><c>expired_token</c> (or the refresh token expired locally, before any request was sent).</summary>
    ExpiredToken,
    /// <summary><c>invalid_token</c>.</summary>
    InvalidToken,
    /// <summary><c>client_error</c> (bad input, bad envelope, stale timestamp, …).</summary>
    ClientError,
    /// <summary><c>unauthorized</c> / <c>invalid_client</c> / HTTP 401: bad API key or missing role.</summary>
    Unauthorized,
    /// <summary>Anything else: <c>error</c>, <c>unknown</c>, a server error, or a body that could not be decrypted or parsed.</summary>
    Error,
}

/// <summary>An encrypted v2 request built by the SDK: the base64 body to POST and the nonce the response must echo.</summary>
/// <param name="Body">Base64 text of <c>0x01 ‖ IV ‖ GCM(timestamp ‖ nonce ‖ JSON) ‖ tag</c>, to be sent as the HTTP body.</param>
/// <param name="Nonce">The 8 random bytes inside the envelope; needed to open the response.</param>
public sealed record EnvelopeRequest(string Body, byte[] Nonce);

/// <summary>A parsed operator response wrapper: <c>{"status":..,"body":..,"message":..}</c>.</summary>
internal readonly record struct ParsedResponse(ResponseStatus Status, string StatusText, string? Message, JsonElement? Body)
{
    public static ParsedResponse Failure(string message) => new(ResponseStatus.Error, "error", message, null);
}

/// <summary>HTTP plumbing shared by all clients: URL building, headers, the v2 envelope and response decoding.</summary>
internal sealed class Transport
{
    private readonly string _base;
    private readonly string _apiKey;
    private readonly byte[] _secret;
    private readonly HttpClient _http;

    public Transport(Uri baseUrl, string apiKey, string clientSecret, HttpClient? http, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(apiKey);
        ArgumentNullException.ThrowIfNull(clientSecret);
        if (!baseUrl.IsAbsoluteUri) throw new ArgumentException("The base URL must be absolute.", nameof(baseUrl));
        _base = baseUrl.AbsoluteUri.TrimEnd('/');
        _apiKey = apiKey;
        _secret = DecodeSecret(clientSecret);
        _http = http ?? SharedHttp.Value;
        Time = time ?? TimeProvider.System;
    }

    private static readonly Lazy<HttpClient> SharedHttp = new(() => new HttpClient());

    public TimeProvider Time { get; }

    public ReadOnlySpan<byte> Secret => _secret;

    /// <summary><c>uid2-client-dotnet-&lt;version&gt;</c>.</summary>
    public static readonly string ClientVersion = "uid2-client-dotnet-" + AssemblyVersion();

    private static string AssemblyVersion()
    {
        var asm = typeof(Transport).Assembly;
        var v = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? asm.GetName().Version?.ToString() ?? "0.0.0";
        var plus = v.IndexOf('+');
        return plus >= 0 ? v[..plus] : v;
    }

    private static byte[] DecodeSecret(string secret)
    {
        var bytes = new byte[32];
        if (!Convert.TryFromBase64String(secret.Trim(), bytes, out var n) || n != 32)
            throw new ArgumentException("The client secret must be the base64 of 32 bytes.", nameof(secret));
        return bytes;
    }

    public string Url(string path) => _base + path;

    /// <summary>Builds an encrypted request envelope around <paramref name="json"/> (empty for the key endpoints).</summary>
    public EnvelopeRequest CreateEnvelope(ReadOnlySpan<byte> json)
    {
        var bytes = V2Envelope.EncryptRequest(json, _secret, Time.GetUtcNow(), out var nonce);
        return new EnvelopeRequest(Convert.ToBase64String(bytes), nonce);
    }

    public async Task<(HttpStatusCode Status, string Body)> PostAsync(string path, string body, bool authenticate, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(path));
        if (authenticate) request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + _apiKey);
        request.Headers.TryAddWithoutValidation("X-UID2-Client-Version", ClientVersion);
        request.Content = new StringContent(body, Encoding.ASCII, "text/plain");
        using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        return (response.StatusCode, text);
    }

    /// <summary>Reads an envelope-endpoint response: plain JSON (errors) or a base64 response envelope (HTTP 200) carrying the request's nonce.</summary>
    public ParsedResponse ReadEnvelopeResponse(string body, ReadOnlySpan<byte> nonce, HttpStatusCode? http = null) =>
        ReadResponse(body, http, (bytes, n) =>
            V2Envelope.TryDecryptResponse(bytes, _secret, n, out var json) ? json : null, nonce);

    internal delegate byte[]? Opener(byte[] raw, ReadOnlySpan<byte> nonce);

    /// <summary>Decodes a body that is either plain JSON or base64 of an encrypted payload opened by <paramref name="open"/>.</summary>
    public static ParsedResponse ReadResponse(string? body, HttpStatusCode? http, Opener open, ReadOnlySpan<byte> nonce)
    {
        var trimmed = (body ?? string.Empty).AsSpan().Trim();
        if (trimmed.IsEmpty) return FromHttpStatus(http, "Empty response body.");
        if (trimmed[0] == '{') return ParseJson(Encoding.UTF8.GetBytes(trimmed.ToString()), http);

        var raw = new byte[trimmed.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(trimmed, raw, out var n))
            return FromHttpStatus(http, "The response body is neither JSON nor base64.");
        var json = open(raw[..n], nonce);
        if (json is null)
            return ParsedResponse.Failure("The response could not be decrypted (wrong client secret or key, or nonce mismatch).");
        return ParseJson(json, http);
    }

    private static ParsedResponse FromHttpStatus(HttpStatusCode? http, string message) => http switch
    {
        HttpStatusCode.Unauthorized => new(ResponseStatus.Unauthorized, "unauthorized", message, null),
        HttpStatusCode.BadRequest => new(ResponseStatus.ClientError, "client_error", message, null),
        _ => ParsedResponse.Failure(http is null ? message : $"HTTP {(int)http}: {message}"),
    };

    public static ParsedResponse ParseJson(byte[] json, HttpStatusCode? http)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return ParsedResponse.Failure("The response is not a JSON object.");
            var statusText = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : null;
            var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            JsonElement? body = root.TryGetProperty("body", out var b) ? b.Clone() : null;
            if (statusText is null) return FromHttpStatus(http, message ?? "The response has no status.");
            return new ParsedResponse(MapStatus(statusText), statusText, message, body);
        }
        catch (JsonException)
        {
            return FromHttpStatus(http, "The response is not valid JSON.");
        }
    }

    public static ResponseStatus MapStatus(string status) => status switch
    {
        "success" => ResponseStatus.Success,
        "optout" => ResponseStatus.OptOut,
        "insufficient_user_consent" => ResponseStatus.InsufficientUserConsent,
        "expired_token" => ResponseStatus.ExpiredToken,
        "invalid_token" => ResponseStatus.InvalidToken,
        "client_error" or "invalid_http_origin" or "invalid_app_name" => ResponseStatus.ClientError,
        "unauthorized" or "invalid_client" => ResponseStatus.Unauthorized,
        _ => ResponseStatus.Error,
    };
}
