using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Envelope;
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

/// <summary>What a v2 handler answers: JSON to encrypt back to the caller, or a plain protocol error.</summary>
public readonly record struct V2Reply(byte[]? Json, IResult? Error)
{
    public static V2Reply Encrypt(byte[] json) => new(json, null);
    public static V2Reply Fail(IResult error) => new(null, error);
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

        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        if (body is null) return BodyTooLarge();

        // As the reference: an octet-stream body is tried as raw envelope bytes first and, when that fails, as base64
        // text (then the answer is base64 text too); any other body is base64 text.
        var now = time.GetUtcNow();
        var binaryReply = false;
        byte[]? secret = null;
        V2Request? request = null;
        EnvelopeStatus status;
        string? errorMessage = null;
        if (body.Length == 0)
        {
            return ProtocolResults.ClientError(EnvelopeErrors.Missing);
        }
        if (RequestBody.IsOctetStream(http.Request))
        {
            status = Open(body, client, now, out secret, out request);
            binaryReply = status == EnvelopeStatus.Success;
            if (status != EnvelopeStatus.Success)
            {
                errorMessage = EnvelopeErrors.For(status, body);
                if (RequestBody.TryDecodeBase64(body, out var decoded))
                {
                    status = Open(decoded, client, now, out secret, out request);
                    errorMessage = EnvelopeErrors.For(status, decoded);
                }
            }
        }
        else if (RequestBody.TryDecodeBase64(body, out var decoded))
        {
            status = Open(decoded, client, now, out secret, out request);
            errorMessage = EnvelopeErrors.For(status, decoded);
        }
        else
        {
            return ProtocolResults.ClientError(EnvelopeErrors.IsJsonObject(body) ? EnvelopeErrors.UnencryptedJson : EnvelopeErrors.NotBase64);
        }
        if (status == EnvelopeStatus.Success && secret is null)
            return ProtocolResults.Error(StatusCodes.Status401Unauthorized, "invalid_client", "Client secret is not configured");
        if (status != EnvelopeStatus.Success || request is null || secret is null)
            return ProtocolResults.ClientError(errorMessage ?? status.Message());

        // Only an authentic envelope reaches the replay cache: nobody without the client secret can fill it.
        var replay = http.RequestServices.GetRequiredService<ReplayGuard>().TryAccept(
            ReplayGuard.EnvelopeId(client.Key.KeyId, request.Nonce), request.TimestampMs + ReplayGuard.EnvelopeWindowSeconds * 1000L);
        if (replay != ReplayVerdict.Accepted) return ProtocolResults.Replay(replay);

        // The payload is read in place (no copy of a large identity map) by a document that lives for the handler.
        JsonDocument? document = null;
        if (request.Payload.Length > 0 && !JsonPayload.TryParseDocument(request.Payload, out document))
            return ProtocolResults.ClientError(EnvelopeErrors.InvalidPayloadJson);
        using (document)
        {
            var reply = await handler(new V2Call(client, document?.RootElement ?? default, state), handlerState);
            if (reply.Error is not null) return reply.Error;
            return SealedReply.Create(reply.Json!, request.Nonce, secret, time.GetUtcNow(), binaryReply);
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
        if (body is null) return BodyTooLarge();
        return handler(new V2PlainCall(auth == AuthOutcome.Authenticated, body, RequestBody.IsOctetStream(http.Request)), handlerState);
    }

    /// <summary>Step 1: the API key, when one is sent.</summary>
    private static AuthOutcome Authenticate(HttpRequest request, OperatorState state, out AuthenticatedClient? client) =>
        ApiKeyAuthenticator.Authenticate(request, state, out client);

    private static IResult BodyTooLarge() =>
        ProtocolResults.Error(StatusCodes.Status413PayloadTooLarge, Statuses.ClientError, "Request body too large");

    /// <summary>Opens an envelope with the client secret, or during a rotation's overlap with the previous one.</summary>
    private static EnvelopeStatus Open(byte[] envelope, AuthenticatedClient client, DateTimeOffset now, out byte[]? secret, out V2Request? request)
    {
        TryDecrypt(envelope, client.Key.ClientSecret, now, out secret, out request, out var status);
        if (status == EnvelopeStatus.DecryptFailed && client.Key.PreviousSecretAt(now) is { } previous)
        {
            // The reply is sealed with the secret that worked.
            TryDecrypt(envelope, previous, now, out secret, out request, out status);
        }
        return status;
    }

    private static bool TryDecrypt(byte[] envelope, string clientSecret, DateTimeOffset now, out byte[]? secret, out V2Request? request,
        out EnvelopeStatus status)
    {
        request = null;
        secret = new byte[32];
        if (!Convert.TryFromBase64String(clientSecret, secret, out var written) || written != 32)
        {
            secret = null;
            status = EnvelopeStatus.Success; // the caller answers "not configured"
            return false;
        }
        status = V2Envelope.TryDecryptRequest(envelope, secret, now, out request);
        return status == EnvelopeStatus.Success;
    }
}
