using Uid2.Operator.Protocol;
using Uid2.Operator.Services;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// The token endpoints' error answers, each described once (the v1 and v2 mappers pick among them): status codes,
/// protocol statuses and messages as the reference operator words them.
/// </summary>
internal static class TokenErrors
{
    public const string InvalidConsentMessage = "User consent is invalid";
    public const string TokenMissingMessage = "Required Parameter Missing: token";
    public const string RefreshTokenMissingMessage = "Required Parameter Missing: refresh_token";

    public static IResult NotReady(string? detail) =>
        ProtocolResults.Error(StatusCodes.Status500InternalServerError, Statuses.Unknown, "Operator is not ready: " + (detail ?? "unknown"));

    /// <summary>
    /// A generate or refresh that issued nothing, as the reference maps it: plain <c>error</c> for an unauthenticated
    /// refresh, else <c>invalid_token</c> / <c>expired_token</c>. (A malformed 388-char token is mapped by each version.)
    /// </summary>
    public static IResult Failure(in TokenReply reply, bool authenticated) => reply.Outcome switch
    {
        TokenOutcome.NotReady => NotReady(reply.Detail),
        TokenOutcome.InvalidUserConsent => ProtocolResults.ClientError(InvalidConsentMessage),
        _ when !authenticated => ProtocolResults.Error(400, Statuses.Error, "Error refreshing token"),
        TokenOutcome.ExpiredToken => ProtocolResults.Error(400, Statuses.ExpiredToken, "Refresh token has expired"),
        _ => ProtocolResults.Error(400, Statuses.InvalidToken, "Invalid refresh token"),
    };

    private static readonly byte[] ValidateTrueJson = ProtocolResults.SuccessJson(static w => w.WriteBooleanValue(true));
    private static readonly byte[] ValidateFalseJson = ProtocolResults.SuccessJson(static w => w.WriteBooleanValue(false));

    /// <summary>Validate, shared by v1 and v2: a JSON body (<c>true</c>/<c>false</c>) or an error.</summary>
    public static V2Reply Validate(ValidateOutcome outcome) => outcome switch
    {
        ValidateOutcome.InvalidToken => V2Reply.Fail(ProtocolResults.ClientError("Invalid token")),
        ValidateOutcome.OtherSite => V2Reply.Fail(ProtocolResults.ClientError("Unauthorised to validate token")),
        ValidateOutcome.Match => V2Reply.Encrypt(ValidateTrueJson),
        _ => V2Reply.Encrypt(ValidateFalseJson),
    };
}
