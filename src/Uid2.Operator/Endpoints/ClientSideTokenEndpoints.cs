using System.Text.Json;
using Microsoft.Extensions.Options;
using Uid2.Core;
using Uid2.Core.ClientSide;
using Uid2.Core.Envelope;
using Uid2.Core.Normalization;
using Uid2.Operator.Configuration;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// Client-side token generation (protocol §7): <c>POST /v2/token/client-generate</c>, called from publishers' pages
/// with a subscription id instead of an API key. Plain JSON in; 200 answers are base64 of
/// <c>IV ‖ AES-GCM(json) ‖ tag</c> under the ECDH shared secret; errors are plain JSON.
/// </summary>
public static class ClientSideTokenEndpoints
{
    public const string Path = "/v2/token/client-generate";

    /// <summary>CSTG tokens: legacy bit + client-side generated (3).</summary>
    public const int PrivacyBitsValue = (int)(PrivacyBits.Legacy | PrivacyBits.ClientSideGenerated);

    public const string BadSubscriptionId = "bad subscription_id";
    public const string MissingParameters = "required parameters: payload, iv, public_key";
    public const string BadPublicKey = "bad public key";
    public const string BadIv = "bad iv";
    public const string DecryptionFailed = "payload decryption failed";
    public const string InvalidPayloadJson = "encrypted payload contains invalid json";
    public const string ExactlyOneHash = "please provide exactly one of: email_hash, phone_hash";
    public const string BadTimestamp = "invalid timestamp: the request is too old or too far in the future";

    public static void MapClientSideToken(this IEndpointRouteBuilder app) =>
        app.MapPost(Path, Generate).WithTags("v2");

    private static async Task<IResult> Generate(HttpContext http, OperatorStateProvider stateProvider, TokenService tokens, TimeProvider time,
        IOptions<OperatorOptions> options, ReplayGuard replayGuard)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        if (body is null) return ProtocolResults.Error(StatusCodes.Status413PayloadTooLarge, Statuses.ClientError, "Request body too large");
        if (!TryParseRequest(body, out var request, out var parseError)) return ProtocolResults.ClientError(parseError!);

        // The reference's order: subscription, disabled, origin / app name, then the payload.
        var state = stateProvider.Current;
        var keypair = request.SubscriptionId is null ? null : state.ClientSide.GetKeypair(request.SubscriptionId);
        if (keypair is null) return ProtocolResults.ClientError(BadSubscriptionId);
        if (keypair.Disabled) return ProtocolResults.Error(StatusCodes.Status401Unauthorized, Statuses.Unauthorized, "Unauthorized");

        if (request.AppName is not null)
        {
            if (!state.ClientSide.IsAppNameAllowed(keypair.SiteId, request.AppName))
                return ProtocolResults.Error(StatusCodes.Status403Forbidden, Statuses.InvalidAppName, "unexpected app name");
        }
        else if (!SiteDomainNames.IsOriginAllowed(http.Request.Headers.Origin.ToString(), state.ClientSide.DomainNames(keypair.SiteId)))
        {
            return ProtocolResults.Error(StatusCodes.Status403Forbidden, Statuses.InvalidHttpOrigin, "unexpected http origin");
        }

        if (request.Payload is null || request.Iv is null || request.PublicKey is null) return ProtocolResults.ClientError(MissingParameters);

        if (!TryFromBase64(request.PublicKey, out var clientPublicKey)
            || !ClientSideKeys.TryDeriveSharedSecret(keypair.PrivateKeyPkcs8, clientPublicKey, out var sharedSecret))
            return ProtocolResults.ClientError(BadPublicKey);

        if (!TryFromBase64(request.Iv, out var iv) || iv.Length != 12) return ProtocolResults.ClientError(BadIv);

        var aad = ClientSideKeys.AdditionalData(request.Timestamp, request.AppName);
        if (!TryFromBase64(request.Payload, out var payload)
            || !ClientSideKeys.TryDecryptPayload(sharedSecret, iv, payload, aad, out var plaintext))
            return ProtocolResults.ClientError(DecryptionFailed);

        // Not in the reference: the timestamp (authenticated as AAD above) must be recent, so a captured request
        // cannot be replayed for long.
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var toleranceMs = options.Value.ClientSideTokenGenerateMaxTimestampSkewSeconds * 1000L;
        if (request.Timestamp < now - toleranceMs || request.Timestamp > now + toleranceMs) return ProtocolResults.ClientError(BadTimestamp);

        // Nor once within that window: each authentic request (its IV) is accepted once.
        var replay = replayGuard.TryAccept(ReplayGuard.ClientSideId(keypair.SubscriptionId, iv), request.Timestamp + toleranceMs);
        if (replay != ReplayVerdict.Accepted) return ProtocolResults.Replay(replay);

        if (!TryReadIdentity(plaintext, out var input, out var identityError)) return ProtocolResults.ClientError(identityError!);

        var result = tokens.Generate(input, keypair.SiteId, PrivacyBitsValue);
        byte[] json;
        switch (result.Outcome)
        {
            case TokenOutcome.Success: json = TokenReplies.V2Success(result.Identity!); break;
            case TokenOutcome.OptOut: json = TokenReplies.OptOutJson; break;
            default: return TokenReplies.NotReady(result.Detail);
        }
        return Results.Text(Convert.ToBase64String(V2Envelope.EncryptNoNonce(json, sharedSecret)), "text/plain");
    }

    internal readonly record struct CstgRequest(string? Payload, string? Iv, string? PublicKey, long Timestamp, string? SubscriptionId, string? AppName);

    /// <summary>
    /// Reads the plain JSON request. Fields of the wrong type read as missing (a non-string subscription id is an
    /// unknown one); a missing timestamp reads as 0, as in the reference (and then fails the freshness check).
    /// </summary>
    internal static bool TryParseRequest(byte[] body, out CstgRequest request, out string? error)
    {
        request = default;
        if (body.Length == 0)
        {
            error = "json payload expected but not found"; // the reference's words for a missing body
            return false;
        }
        if (!JsonPayload.TryParse(body, out var root))
        {
            error = "json payload is not valid";
            return false;
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "json payload expected but not found";
            return false;
        }
        long timestamp = 0;
        if (root.TryGetProperty("timestamp", out var ts) && ts.ValueKind != JsonValueKind.Null
            && (ts.ValueKind != JsonValueKind.Number || !ts.TryGetInt64(out timestamp)))
        {
            error = "bad timestamp";
            return false;
        }
        request = new CstgRequest(String(root, "payload"), String(root, "iv"), String(root, "public_key"), timestamp,
            String(root, "subscription_id"), String(root, "app_name"));
        error = null;
        return true;

        static string? String(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    /// <summary>The decrypted payload: exactly one of email_hash, phone_hash, a valid SHA-256 (base64 or hex).</summary>
    internal static bool TryReadIdentity(byte[] plaintext, out IdentityInput input, out string? error)
    {
        input = default;
        if (!JsonPayload.TryParse(plaintext, out var root) || root.ValueKind != JsonValueKind.Object)
        {
            error = InvalidPayloadJson;
            return false;
        }
        var email = Present(root, "email_hash");
        var phone = Present(root, "phone_hash");
        if (email is null == phone is null)
        {
            error = ExactlyOneHash;
            return false;
        }
        var (kind, value) = email is { } e ? (DiiKind.EmailHash, e) : (DiiKind.PhoneHash, phone!.Value);
        if (value.ValueKind != JsonValueKind.String || !IdentityInputParser.TryParse(kind, value.GetString(), out input))
        {
            error = DiiParameters.InvalidMessage;
            return false;
        }
        error = null;
        return true;

        static JsonElement? Present(JsonElement root, string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
    }

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        var buffer = new byte[(text.Length + 3) / 4 * 3];
        if (Convert.TryFromBase64String(text, buffer, out var written))
        {
            bytes = buffer.AsSpan(0, written).ToArray();
            return true;
        }
        bytes = [];
        return false;
    }
}
