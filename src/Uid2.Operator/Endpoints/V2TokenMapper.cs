using System.Text;
using System.Text.Json;
using Uid2.Core.Normalization;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// The v2 API's mapping between HTTP and <see cref="TokenLifecycleService"/>, client-side generate included: envelope
/// payloads (or the refresh body, or the client-generate JSON) in; replies as the <see cref="V2Pipeline"/> encrypts
/// them, or as the service sealed them.
/// </summary>
public static class V2TokenMapper
{
    public const string TcfConsentStringField = "tcf_consent_string";

    // ------------------------------------------------------------------ parse

    public static bool TryParseGenerate(in V2Call call, out GenerateInput input, out V2Reply error)
    {
        input = default;
        // Unknown fields and the legacy optout_check/policy parameter are accepted and ignored: opt-out is always respected.
        if (!DiiParameters.TryRead(call.Payload, out var identity, out var message))
        {
            error = V2Reply.Fail(ProtocolResults.ClientError(message!));
            return false;
        }
        var present = call.Payload.TryGetProperty(TcfConsentStringField, out var tcf);
        input = new GenerateInput(identity, call.Client.SiteId, TokenApi.V2, present,
            present && tcf.ValueKind == JsonValueKind.String ? tcf.GetString() : null);
        error = default;
        return true;
    }

    /// <summary>The refresh body is the token itself (trimmed); an empty one is an invalid token, as the reference.</summary>
    public static RefreshInput ParseRefresh(in V2PlainCall call) => new(Encoding.UTF8.GetString(call.Body).Trim(), TokenApi.V2);

    public static bool TryParseValidate(in V2Call call, out string token, out IdentityInput identity, out V2Reply error)
    {
        token = "";
        identity = default;
        if (call.Payload.ValueKind != JsonValueKind.Object
            || !call.Payload.TryGetProperty("token", out var tokenElement)
            || tokenElement.ValueKind != JsonValueKind.String
            || string.IsNullOrWhiteSpace(tokenElement.GetString()))
        {
            error = V2Reply.Fail(ProtocolResults.ClientError(TokenErrors.TokenMissingMessage));
            return false;
        }
        if (!DiiParameters.TryRead(call.Payload, out identity, out var message))
        {
            error = V2Reply.Fail(ProtocolResults.ClientError(message!));
            return false;
        }
        token = tokenElement.GetString()!.Trim();
        error = default;
        return true;
    }

    /// <summary>As the reference: a missing or invalid identity answers invalid_token.</summary>
    public static bool TryParseLogout(in V2Call call, out IdentityInput identity, out V2Reply error)
    {
        if (!DiiParameters.TryRead(call.Payload, out identity, out _))
        {
            error = V2Reply.Fail(ProtocolResults.Error(StatusCodes.Status400BadRequest, Statuses.InvalidToken, "Invalid Token presented"));
            return false;
        }
        error = default;
        return true;
    }

    // ------------------------------------------------------------------ reply

    /// <summary>A generate reply: the identity, optout or insufficient consent, encrypted by the pipeline; else an error.</summary>
    public static V2Reply ToReply(in TokenReply reply) =>
        reply.Body is { } json ? V2Reply.Encrypt(json) : V2Reply.Fail(TokenErrors.Failure(reply, authenticated: true));

    /// <summary>
    /// A refresh reply: sealed under the token's response key (raw bytes back to an octet-stream caller, base64 text
    /// otherwise, as the reference), plain JSON for an inner token, or the failure for this caller.
    /// </summary>
    public static IResult ToResult(in TokenReply reply, in V2PlainCall call)
    {
        if (reply.Body is not { } body)
        {
            // A 388-char body that does not open is a malformed request there (client_error), whoever calls.
            return reply.Outcome == TokenOutcome.MalformedRefreshToken
                ? ProtocolResults.ClientError(reply.Detail!)
                : TokenErrors.Failure(reply, call.Authenticated);
        }
        if (!reply.Sealed) return ProtocolResults.Json(body);
        return call.OctetStream
            ? Results.Bytes(body, "application/octet-stream")
            : ProtocolResults.Base64Text(body);
    }

    private static readonly byte[] LogoutOkJson = ProtocolResults.SuccessJson(static w =>
    {
        w.WriteStartObject();
        w.WriteString("optout", "OK");
        w.WriteEndObject();
    });

    public static V2Reply ToReply(LogoutOutcome outcome) => outcome == LogoutOutcome.Recorded
        ? V2Reply.Encrypt(LogoutOkJson)
        : V2Reply.Fail(ProtocolResults.Error(StatusCodes.Status503ServiceUnavailable, Statuses.Unknown,
            "Opt-out store unavailable; the opt-out was not recorded, retry later"));

    // ------------------------------------------------------------------ client-side generate

    /// <summary>The client-generate refusals, each described once, in the reference's words.</summary>
    public static class ClientGenerateMessages
    {
        public const string BadSubscriptionId = "bad subscription_id";
        public const string MissingParameters = "required parameters: payload, iv, public_key";
        public const string BadPublicKey = "bad public key";
        public const string BadIv = "bad iv";
        public const string DecryptionFailed = "payload decryption failed";
        public const string InvalidPayloadJson = "encrypted payload contains invalid json";
        public const string ExactlyOneHash = "please provide exactly one of: email_hash, phone_hash";
        public const string BadTimestamp = "invalid timestamp: the request is too old or too far in the future";
    }

    public static bool TryParseClientGenerate(byte[] body, string origin, out ClientGenerateInput input, out IResult? error)
    {
        input = default;
        if (!ClientGenerateRequest.TryParse(body, out var request, out var message))
        {
            error = ProtocolResults.ClientError(message!);
            return false;
        }
        input = new ClientGenerateInput(request, origin);
        error = null;
        return true;
    }

    /// <summary>A client-generate reply: base64 of the identity (or optout) sealed under the shared secret, or the refusal.</summary>
    public static IResult ToResult(in ClientGenerateReply reply) => reply.Error switch
    {
        ClientGenerateError.None => reply.Token.Body is { } sealedBody
            ? ProtocolResults.Base64Text(sealedBody)
            : TokenErrors.Failure(reply.Token, authenticated: true),
        ClientGenerateError.BadSubscriptionId => ProtocolResults.ClientError(ClientGenerateMessages.BadSubscriptionId),
        ClientGenerateError.Disabled => ProtocolResults.Error(StatusCodes.Status401Unauthorized, Statuses.Unauthorized, "Unauthorized"),
        ClientGenerateError.UnexpectedAppName => ProtocolResults.Error(StatusCodes.Status403Forbidden, Statuses.InvalidAppName, "unexpected app name"),
        ClientGenerateError.UnexpectedOrigin => ProtocolResults.Error(StatusCodes.Status403Forbidden, Statuses.InvalidHttpOrigin, "unexpected http origin"),
        ClientGenerateError.MissingParameters => ProtocolResults.ClientError(ClientGenerateMessages.MissingParameters),
        ClientGenerateError.BadPublicKey => ProtocolResults.ClientError(ClientGenerateMessages.BadPublicKey),
        ClientGenerateError.BadIv => ProtocolResults.ClientError(ClientGenerateMessages.BadIv),
        ClientGenerateError.DecryptionFailed => ProtocolResults.ClientError(ClientGenerateMessages.DecryptionFailed),
        ClientGenerateError.BadTimestamp => ProtocolResults.ClientError(ClientGenerateMessages.BadTimestamp),
        ClientGenerateError.Replayed => ProtocolResults.Replay(ReplayVerdict.Replayed),
        ClientGenerateError.ReplayCacheFull => ProtocolResults.Replay(ReplayVerdict.Full),
        ClientGenerateError.InvalidPayloadJson => ProtocolResults.ClientError(ClientGenerateMessages.InvalidPayloadJson),
        ClientGenerateError.ExactlyOneHash => ProtocolResults.ClientError(ClientGenerateMessages.ExactlyOneHash),
        ClientGenerateError.InvalidIdentifier => ProtocolResults.ClientError(DiiParameters.InvalidMessage),
        _ => throw new ArgumentOutOfRangeException(nameof(reply), reply.Error, "Unknown client-generate error."),
    };
}
