using System.Text;
using System.Text.Json;
using Uid2.Core.Consent;
using Uid2.Core;
using Uid2.Core.Auth;
using Uid2.Core.Envelope;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using Uid2.Operator.Auth;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>The v2 token endpoints: encrypted envelope in and out, refresh answered under refresh_response_key.</summary>
public static class V2TokenEndpoints
{
    public static void MapV2Token(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v2/token/generate", Generate).WithTags("v2");
        app.MapPost("/v2/token/refresh", Refresh).WithTags("v2");
        app.MapPost("/v2/token/validate", Validate).WithTags("v2");
        app.MapPost("/v2/token/logout", Logout).WithTags("v2");
    }

    public const string TcfConsentStringField = "tcf_consent_string";
    public const string InvalidConsentMessage = "User consent is invalid";
    private static readonly byte[] InsufficientConsentJson = ProtocolResults.StatusOnlyJson(Statuses.InsufficientUserConsent);

    private static Task<IResult> Generate(HttpContext http, OperatorStateProvider state, TimeProvider time, TokenService tokens) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Generator, call =>
        {
            // Unknown fields and the legacy optout_check/policy parameter are accepted and ignored: opt-out is always respected.
            if (!DiiParameters.TryRead(call.Payload, out var input, out var error))
                return ValueTask.FromResult(V2Reply.Fail(ProtocolResults.ClientError(error!)));
            // EUID: tcf_consent_string, when present, is checked after the identity and before anything is derived.
            var present = call.Payload.TryGetProperty(TcfConsentStringField, out var tcf);
            switch (tokens.CheckConsent(present, present && tcf.ValueKind == JsonValueKind.String ? tcf.GetString() : null))
            {
                case UserConsentStatus.Invalid:
                    return ValueTask.FromResult(V2Reply.Fail(ProtocolResults.ClientError(InvalidConsentMessage)));
                case UserConsentStatus.Insufficient:
                    return ValueTask.FromResult(V2Reply.Encrypt(InsufficientConsentJson));
            }
            var result = tokens.Generate(input, call.Client.SiteId, (int)PrivacyBits.Legacy);
            return ValueTask.FromResult(result.Outcome switch
            {
                TokenOutcome.Success => V2Reply.Encrypt(TokenReplies.V2Success(result.Identity!)),
                TokenOutcome.OptOut => V2Reply.Encrypt(TokenReplies.OptOutJson),
                _ => V2Reply.Fail(TokenReplies.NotReady(result.Detail)),
            });
        });

    private static async Task<IResult> Refresh(HttpContext http, OperatorStateProvider stateProvider, TokenService tokens)
    {
        var state = stateProvider.Current;
        var auth = ApiKeyAuthenticator.Authenticate(http.Request, state, out _);
        if (auth == AuthOutcome.Invalid) return ProtocolResults.Unauthorized();
        var authenticated = auth == AuthOutcome.Authenticated;

        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        if (body is null) return ProtocolResults.Error(StatusCodes.Status413PayloadTooLarge, Statuses.ClientError, "Request body too large");
        var token = Encoding.UTF8.GetString(body).Trim();
        // As the reference: an empty body is an invalid token (invalid_token with an API key, else the generic error).
        if (token.Length == 0) return TokenReplies.RefreshFailure(TokenResult.Invalid, authenticated);

        byte[]? responseKey = null;
        if (token.Length == RefreshTokenWrapper.WrappedLength)
        {
            // A 388-char body that does not open is a malformed request there (client_error), whoever calls.
            if (!RefreshTokenWrapper.TryUnwrap(token, state.Keys, out var inner, out responseKey) || inner is null)
                return ProtocolResults.ClientError(WrapperFailure(token, state.Keys));
            token = inner;
        }

        var result = tokens.Refresh(token);
        byte[] json;
        switch (result.Outcome)
        {
            case TokenOutcome.Success: json = TokenReplies.V2Success(result.Identity!); break;
            case TokenOutcome.OptOut: json = TokenReplies.OptOutJson; break;
            default: return TokenReplies.RefreshFailure(result, authenticated);
        }
        if (responseKey is null) return ProtocolResults.Json(json);
        var sealedJson = V2Envelope.EncryptNoNonce(json, responseKey);
        // As the reference: raw bytes back to a caller that sent application/octet-stream, base64 text otherwise.
        return RequestBody.IsOctetStream(http.Request)
            ? Results.Bytes(sealedJson, "application/octet-stream")
            : Results.Text(Convert.ToBase64String(sealedJson), "text/plain");
    }

    /// <summary>Why a 388-char refresh body did not open, in the reference's words (no secret in them).</summary>
    private static string WrapperFailure(string token, IKeyLookup keys)
    {
        Span<byte> bytes = stackalloc byte[300];
        if (!Convert.TryFromBase64String(token, bytes, out var length)) return "Invalid body: Body is not valid base64.";
        if (length < 5) return "Invalid data: Check encryption method and encryption key.";
        var keyId = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes[1..]);
        if (keys.GetById(keyId) is null) return $"Invalid key: Generator of this token (Key ID: {keyId}) does not exist.";
        return "Invalid data: Check encryption method and encryption key.";
    }

    private static Task<IResult> Validate(HttpContext http, OperatorStateProvider state, TimeProvider time, TokenService tokens) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Generator, call =>
        {
            if (call.Payload.ValueKind != System.Text.Json.JsonValueKind.Object
                || !call.Payload.TryGetProperty("token", out var tokenElement)
                || tokenElement.ValueKind != System.Text.Json.JsonValueKind.String
                || string.IsNullOrWhiteSpace(tokenElement.GetString()))
                return ValueTask.FromResult(V2Reply.Fail(ProtocolResults.ClientError("Required Parameter Missing: token")));
            if (!DiiParameters.TryRead(call.Payload, out var input, out var error))
                return ValueTask.FromResult(V2Reply.Fail(ProtocolResults.ClientError(error!)));
            var outcome = tokens.Validate(tokenElement.GetString()!.Trim(), input, call.Client.SiteId);
            return ValueTask.FromResult(V1Endpoints.ValidateReply(outcome));
        });

    private static readonly byte[] LogoutOk = ProtocolResults.SuccessJson(w =>
    {
        w.WriteStartObject();
        w.WriteString("optout", "OK");
        w.WriteEndObject();
    });

    private static Task<IResult> Logout(HttpContext http, OperatorStateProvider state, TimeProvider time, OptOutService optOuts) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Optout, async call =>
        {
            // As the reference: a missing or invalid identity answers invalid_token.
            if (!DiiParameters.TryRead(call.Payload, out var input, out _))
                return V2Reply.Fail(ProtocolResults.Error(StatusCodes.Status400BadRequest, Statuses.InvalidToken, "Invalid Token presented"));
            if (!await optOuts.OptOutAsync(input, http.RequestAborted))
                return V2Reply.Fail(ProtocolResults.Error(StatusCodes.Status503ServiceUnavailable, Statuses.Unknown,
                    "Opt-out store unavailable; the opt-out was not recorded, retry later"));
            return V2Reply.Encrypt(LogoutOk);
        });
}
