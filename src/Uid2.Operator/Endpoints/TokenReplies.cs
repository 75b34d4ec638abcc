using System.Security.Cryptography;
using Uid2.Core.Tokens;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;

namespace Uid2.Operator.Endpoints;

/// <summary>Turns token results into protocol replies for v1 (plain) and v2 (wrapped refresh token + response key).</summary>
public static class TokenReplies
{
    public static byte[] V1Success(IssuedIdentity identity) =>
        ProtocolResults.SuccessJson(w => IdentityJson.Write(w, identity, identity.RefreshToken, null));

    public static byte[] V2Success(IssuedIdentity identity)
    {
        Span<byte> responseKey = stackalloc byte[32];
        RandomNumberGenerator.Fill(responseKey);
        var wrapped = RefreshTokenWrapper.Wrap(identity.RefreshToken, responseKey, identity.RefreshKey, identity.Scope);
        var keyText = Convert.ToBase64String(responseKey);
        return ProtocolResults.SuccessJson(w => IdentityJson.Write(w, identity, wrapped, keyText));
    }

    public static readonly byte[] OptOutJson = ProtocolResults.StatusOnlyJson(Statuses.OptOut);

    public static IResult NotReady(string? detail) =>
        ProtocolResults.Error(StatusCodes.Status500InternalServerError, Statuses.Unknown, "Operator is not ready: " + (detail ?? "unknown"));

    /// <summary>Refresh failures as the reference maps them: plain 'error' for unauthenticated callers.</summary>
    public static IResult RefreshFailure(TokenResult result, bool authenticated) => result.Outcome switch
    {
        TokenOutcome.NotReady => NotReady(result.Detail),
        _ when !authenticated => ProtocolResults.Error(400, Statuses.Error, "Error refreshing token"),
        TokenOutcome.ExpiredToken => ProtocolResults.Error(400, Statuses.ExpiredToken, "Refresh token has expired"),
        _ => ProtocolResults.Error(400, Statuses.InvalidToken, "Invalid refresh token"),
    };
}
