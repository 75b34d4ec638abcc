using System.Buffers;
using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;
using Uid2.Operator.Auth;
using Uid2.Operator.State;

namespace Uid2.Operator.Protocol;

/// <summary>A decrypted v2 call: the authenticated client and its JSON payload (Undefined when the payload is empty).</summary>
public readonly record struct V2Call(AuthenticatedClient Client, JsonElement Payload, OperatorState State);

/// <summary>
/// A v2 call whose body is not an envelope (<c>/v2/token/refresh</c>: the refresh token itself): whether the caller
/// authenticated (an API key is optional there), the body, and whether it came as <c>application/octet-stream</c>.
/// </summary>
public readonly record struct V2PlainCall(bool Authenticated, byte[] Body, bool OctetStream);

/// <summary>
/// What a v2 handler answers: JSON to encrypt back to the caller — ready bytes, or a success body the pipeline writes
/// straight into the sealed reply (no array of the whole JSON) — or a plain protocol error. <see cref="Owned"/> is
/// disposed once the reply is sealed (e.g. the pooled buffers the body is written from).
/// </summary>
public readonly record struct V2Reply(byte[]? Json, Action<Utf8JsonWriter>? SuccessBody, IDisposable? Owned, IResult? Error)
{
    public static V2Reply Encrypt(byte[] json) => new(json, null, null, null);

    /// <summary><c>{"status":"success","body":…}</c> with the body written by <paramref name="writeBody"/> when sealed.</summary>
    public static V2Reply Success(Action<Utf8JsonWriter> writeBody, IDisposable? owned = null) => new(null, writeBody, owned, null);

    public static V2Reply Fail(IResult error) => new(null, null, null, error);
}

/// <summary>
/// The v2 request flow as small steps every v2 endpoint shares: API-key auth and role → body (1 MiB) → for envelope
/// endpoints, envelope decrypt with the client secret (version, timestamp window, replay) → JSON → handler → response
/// encrypted with the request nonce. <c>/v2/token/refresh</c> runs the first two steps (auth optional) and its handler.
/// Handlers take a state argument so that endpoints pass static lambdas (no closure per request).
/// </summary>
public static class V2Pipeline
{
    public static Task<IResult> HandleAsync(HttpContext http, OperatorStateProvider stateProvider, TimeProvider time,
        Role requiredRoles, Func<V2Call, ValueTask<V2Reply>> handler) =>
        HandleAsync(http, stateProvider, time, requiredRoles, handler, static (call, h) => h(call));

    public static async Task<IResult> HandleAsync<TState>(HttpContext http, OperatorStateProvider stateProvider, TimeProvider time,
        Role requiredRoles, TState handlerState, Func<V2Call, TState, ValueTask<V2Reply>> handler)
    {
        var state = stateProvider.Current;
        if (Authenticate(http.Request, state, out var client) != AuthOutcome.Authenticated || client is null)
            return ProtocolResults.Unauthorized();
        if ((client.Roles & requiredRoles) == 0) return ProtocolResults.Unauthorized();

        using var body = await RequestBody.ReadPooledAsync(http.Request, http.RequestAborted);
        if (body is null) return ProtocolResults.BodyTooLarge();

        // As the reference: an octet-stream body is tried as raw envelope bytes first and, when that fails, as base64
        // text (then the answer is base64 text too); any other body is base64 text. Both are decoded and opened in the
        // pooled body buffer itself: the payload is never copied.
        var now = time.GetUtcNow();
        var binaryReply = false;
        GcmKey? secret = null;
        OpenedRequest request = default;
        EnvelopeStatus status;
        string? errorMessage = null;
        if (body.Length == 0)
        {
            return ProtocolResults.ClientError(EnvelopeErrors.Missing);
        }
        var envelope = body.Span;
        if (RequestBody.IsOctetStream(http.Request))
        {
            // A failed decryption zeroes the ciphertext, but only a body starting with the version byte 0x01 gets that
            // far, and such a body is not base64 text either way.
            status = Open(envelope, client, now, out secret, out request);
            binaryReply = status == EnvelopeStatus.Success;
            if (status != EnvelopeStatus.Success)
            {
                errorMessage = EnvelopeErrors.For(status, envelope);
                if (RequestBody.TryDecodeBase64InPlace(envelope, out var decodedLength))
                {
                    envelope = envelope[..decodedLength];
                    status = Open(envelope, client, now, out secret, out request);
                    errorMessage = EnvelopeErrors.For(status, envelope);
                }
            }
        }
        else if (RequestBody.TryDecodeBase64InPlace(envelope, out var decodedLength))
        {
            envelope = envelope[..decodedLength];
            status = Open(envelope, client, now, out secret, out request);
            errorMessage = EnvelopeErrors.For(status, envelope);
        }
        else
        {
            return ProtocolResults.ClientError(EnvelopeErrors.IsJsonObject(body.Span) ? EnvelopeErrors.UnencryptedJson : EnvelopeErrors.NotBase64);
        }
        if (status == EnvelopeStatus.Success && secret is null)
            return ProtocolResults.Error(StatusCodes.Status401Unauthorized, "invalid_client", "Client secret is not configured");
        if (status != EnvelopeStatus.Success || request.Nonce is null || secret is null)
            return ProtocolResults.ClientError(errorMessage ?? status.Message());

        // Only an authentic envelope reaches the replay cache: nobody without the client secret can fill it.
        var replay = http.RequestServices.GetRequiredService<ReplayGuard>().TryAccept(
            ReplayGuard.EnvelopeId(client.Key.KeyId, request.Nonce), request.TimestampMs + ReplayGuard.EnvelopeWindowSeconds * 1000L);
        if (replay != ReplayVerdict.Accepted) return ProtocolResults.Replay(replay);

        // The payload is read in place (in the body buffer) by a document that lives for the handler and the reply.
        JsonDocument? document = null;
        if (request.PayloadLength > 0
            && !JsonPayload.TryParseDocument(body.Buffer.AsMemory(request.PayloadOffset, request.PayloadLength), out document))
            return ProtocolResults.ClientError(EnvelopeErrors.InvalidPayloadJson);
        using (document)
        {
            var reply = await handler(new V2Call(client, document?.RootElement ?? default, state), handlerState);
            try
            {
                if (reply.Error is not null) return reply.Error;
                return reply.SuccessBody is { } writeBody
                    ? ProtocolResults.SealSuccess(writeBody, request.Nonce, secret, time.GetUtcNow(), binaryReply)
                    : SealedReply.Create(reply.Json!, request.Nonce, secret, time.GetUtcNow(), binaryReply);
            }
            finally
            {
                reply.Owned?.Dispose();
            }
        }
    }

    /// <summary>
    /// A v2 endpoint whose body is not an envelope: an API key is optional (a bad one is 401), the body is read within the
    /// limit, and the handler answers.
    /// </summary>
    public static async Task<IResult> HandlePlainAsync<TState>(HttpContext http, OperatorStateProvider stateProvider, TState handlerState,
        Func<V2PlainCall, TState, IResult> handler)
    {
        var auth = Authenticate(http.Request, stateProvider.Current, out _);
        if (auth == AuthOutcome.Invalid) return ProtocolResults.Unauthorized();

        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        if (body is null) return ProtocolResults.BodyTooLarge();
        return handler(new V2PlainCall(auth == AuthOutcome.Authenticated, body, RequestBody.IsOctetStream(http.Request)), handlerState);
    }

    /// <summary>Step 1: the API key, when one is sent.</summary>
    private static AuthOutcome Authenticate(HttpRequest request, OperatorState state, out AuthenticatedClient? client) =>
        ApiKeyAuthenticator.Authenticate(request, state, out client);

    /// <summary>
    /// Opens an envelope in place with the client secret, or during a rotation's overlap with the previous one (then the
    /// first attempt runs on a copy: a failed decryption zeroes what it was given).
    /// </summary>
    private static EnvelopeStatus Open(Span<byte> envelope, AuthenticatedClient client, DateTimeOffset now, out GcmKey? secret, out OpenedRequest request)
    {
        if (client.Key.PreviousSecretAt(now) is not { } previous) return TryOpen(envelope, client.Key.ClientSecret, now, out secret, out request);
        var copy = ArrayPool<byte>.Shared.Rent(envelope.Length);
        try
        {
            envelope.CopyTo(copy);
            var status = TryOpen(copy.AsSpan(0, envelope.Length), client.Key.ClientSecret, now, out secret, out request);
            if (status != EnvelopeStatus.DecryptFailed)
            {
                // Opened (or refused before decrypting): the buffer the caller reads the payload from must hold it.
                copy.AsSpan(0, envelope.Length).CopyTo(envelope);
                return status;
            }
            // The reply is sealed with the secret that worked.
            return TryOpen(envelope, previous, now, out secret, out request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy, clearArray: true);
        }
    }

    private static EnvelopeStatus TryOpen(Span<byte> envelope, string clientSecret, DateTimeOffset now, out GcmKey? secret, out OpenedRequest request)
    {
        request = default;
        secret = ClientSecretKeys.For(clientSecret);
        if (secret is null) return EnvelopeStatus.Success; // the caller answers "not configured"
        return V2Envelope.TryOpenRequestInPlace(envelope, secret, now, out request);
    }
}
