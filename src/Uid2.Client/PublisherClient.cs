using System.Net;
using System.Text.Json;
using Uid2.Core.Envelope;

namespace Uid2.Client;

/// <summary>
/// Server-side publisher integration: generates identities from DII (<c>POST /v2/token/generate</c>, encrypted v2 envelope)
/// and refreshes them (<c>POST /v2/token/refresh</c>). The envelope-level methods (<see cref="CreateTokenGenerateRequest"/>,
/// <see cref="ReadTokenGenerateResponse"/>, <see cref="ReadTokenRefreshResponse"/>) let callers use their own HTTP stack.
/// Protocol errors are returned as statuses, never thrown; network failures surface as <see cref="HttpRequestException"/>.
/// </summary>
public sealed class PublisherClient
{
    private readonly Transport _transport;

    /// <summary>Creates a publisher client.</summary>
    /// <param name="baseUrl">Operator base URL, e.g. <c>https://prod.uidapi.com</c>.</param>
    /// <param name="apiKey">The API key (GENERATOR role), sent as <c>Authorization: Bearer</c>.</param>
    /// <param name="clientSecret">The base64 client secret (32 bytes) that encrypts the envelope.</param>
    /// <param name="http">Optional <see cref="HttpClient"/>; a shared one is used otherwise.</param>
    /// <param name="time">Optional clock (envelope timestamps and local expiry checks).</param>
    /// <exception cref="ArgumentException">The base URL is relative or the client secret is not base64 of 32 bytes.</exception>
    public PublisherClient(Uri baseUrl, string apiKey, string clientSecret, HttpClient? http = null, TimeProvider? time = null)
    {
        _transport = new Transport(baseUrl, apiKey, clientSecret, http, time);
    }

    /// <summary>Path of the generate endpoint.</summary>
    public const string GeneratePath = "/v2/token/generate";
    /// <summary>Path of the refresh endpoint.</summary>
    public const string RefreshPath = "/v2/token/refresh";

    /// <summary>
    /// Builds the encrypted body of a <c>/v2/token/generate</c> request:
    /// <c>{"email_hash"|"phone_hash":"&lt;b64&gt;","optout_check":1}</c> in a v2 envelope, plus <c>tcf_consent_string</c> when
    /// the input carries one. (<c>optout_check</c> is ignored by current operators and was required by older ones.)
    /// </summary>
    public EnvelopeRequest CreateTokenGenerateRequest(TokenGenerateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString(input.ParameterName, input.HashBase64);
            w.WriteNumber("optout_check", 1);
            if (input.TransparencyAndConsentString is { } tcf) w.WriteString("tcf_consent_string", tcf);
            w.WriteEndObject();
        }
        return _transport.CreateEnvelope(buffer.WrittenSpan);
    }

    /// <summary>
    /// Reads a <c>/v2/token/generate</c> response body: a base64 envelope (HTTP 200) opened with the client secret and checked
    /// against <paramref name="request"/>'s nonce, or a plain JSON error.
    /// </summary>
    public TokenGenerateResponse ReadTokenGenerateResponse(string responseBody, EnvelopeRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ToGenerateResponse(_transport.ReadEnvelopeResponse(responseBody, request.Nonce));
    }

    /// <summary>
    /// Reads a <c>/v2/token/refresh</c> response body: a 200 body is base64 of <c>IV ‖ GCM(JSON) ‖ tag</c> under
    /// <paramref name="current"/>'s <see cref="IdentityTokens.RefreshResponseKey"/>; anything that starts with <c>{</c>
    /// (errors, or identities without a response key) is read as plain JSON.
    /// </summary>
    public TokenRefreshResponse ReadTokenRefreshResponse(string responseBody, IdentityTokens current)
    {
        ArgumentNullException.ThrowIfNull(current);
        return ReadRefresh(responseBody, current, null);
    }

    /// <summary>
    /// Generates an identity: POSTs the envelope to <c>{base}/v2/token/generate</c> with the API key and
    /// <c>X-UID2-Client-Version</c>, then decrypts the answer.
    /// </summary>
    /// <exception cref="HttpRequestException">The request could not be sent.</exception>
    public async Task<TokenGenerateResponse> GenerateTokenAsync(TokenGenerateInput input, CancellationToken ct = default)
    {
        var request = CreateTokenGenerateRequest(input);
        var (status, body) = await _transport.PostAsync(GeneratePath, request.Body, authenticate: true, ct).ConfigureAwait(false);
        return ToGenerateResponse(_transport.ReadEnvelopeResponse(body, request.Nonce, status));
    }

    /// <summary>
    /// Refreshes an identity: POSTs its refresh token (the body itself, no envelope, no API key) to <c>{base}/v2/token/refresh</c>.
    /// If the refresh token has already expired locally, returns <see cref="ResponseStatus.ExpiredToken"/> without a request.
    /// </summary>
    /// <exception cref="HttpRequestException">The request could not be sent.</exception>
    public async Task<TokenRefreshResponse> RefreshTokenAsync(IdentityTokens tokens, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (!tokens.IsRefreshable(_transport.Time.GetUtcNow()))
            return new TokenRefreshResponse(ResponseStatus.ExpiredToken, null, "The refresh token has expired.", null);
        var (status, body) = await _transport.PostAsync(RefreshPath, tokens.RefreshToken, authenticate: false, ct).ConfigureAwait(false);
        return ReadRefresh(body, tokens, status);
    }

    private static TokenRefreshResponse ReadRefresh(string body, IdentityTokens current, HttpStatusCode? http)
    {
        byte[]? key = null;
        if (current.RefreshResponseKey is { } k)
        {
            key = new byte[32];
            if (!Convert.TryFromBase64String(k, key, out var n) || n != 32) key = null;
        }
        var parsed = Transport.ReadResponse(body, http,
            (raw, _) => key is not null && V2Envelope.TryDecryptNoNonce(raw, key, out var json) ? json : null, default);
        var (status, identity, message) = Interpret(parsed);
        return new TokenRefreshResponse(status, identity, message, parsed.StatusText);
    }

    private static TokenGenerateResponse ToGenerateResponse(ParsedResponse parsed)
    {
        var (status, identity, message) = Interpret(parsed);
        return new TokenGenerateResponse(status, identity, message, parsed.StatusText);
    }

    private static (ResponseStatus, IdentityTokens?, string?) Interpret(ParsedResponse parsed)
    {
        if (parsed.Status != ResponseStatus.Success) return (parsed.Status, null, parsed.Message);
        var identity = parsed.Body is { } body ? IdentityTokens.FromElement(body) : null;
        return identity is null
            ? (ResponseStatus.Error, null, "The success response carries no valid identity.")
            : (ResponseStatus.Success, identity, parsed.Message);
    }
}
