using Uid2.Core.Auth;
using Uid2.Operator.Auth;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// The v1 API's mapping between HTTP and <see cref="TokenLifecycleService"/>: query parameters in, plain JSON out.
/// </summary>
public static class V1TokenMapper
{
    /// <summary>The caller, when its API key is valid and has the GENERATOR role; else null (401).</summary>
    public static AuthenticatedClient? Generator(HttpRequest request, OperatorStateProvider state) =>
        ApiKeyAuthenticator.Authenticate(request, state.Current, out var client) == AuthOutcome.Authenticated && client!.Has(Role.Generator)
            ? client
            : null;

    public static bool TryParseGenerate(HttpRequest request, AuthenticatedClient client, out GenerateInput input, out IResult? error)
    {
        input = default;
        // Unknown parameters and the legacy optout_check/policy are accepted and ignored: opt-out is always respected.
        if (!DiiParameters.TryRead(request.Query, out var identity, out var message))
        {
            error = ProtocolResults.ClientError(message!);
            return false;
        }
        input = new GenerateInput(identity, client.SiteId, TokenApi.V1);
        error = null;
        return true;
    }

    public static bool TryParseRefresh(HttpRequest request, out RefreshInput input, out IResult? error)
    {
        input = default;
        if (!request.Query.TryGetValue("refresh_token", out var values) || values.Count != 1 || string.IsNullOrWhiteSpace(values[0]))
        {
            error = ProtocolResults.ClientError(TokenErrors.RefreshTokenMissingMessage);
            return false;
        }
        input = new RefreshInput(values[0]!.Trim(), TokenApi.V1);
        error = null;
        return true;
    }

    public static bool TryParseValidate(HttpRequest request, out string token, out Uid2.Core.Normalization.IdentityInput identity, out IResult? error)
    {
        token = "";
        identity = default;
        if (!request.Query.TryGetValue("token", out var values) || values.Count != 1 || string.IsNullOrWhiteSpace(values[0]))
        {
            error = ProtocolResults.ClientError(TokenErrors.TokenMissingMessage);
            return false;
        }
        if (!DiiParameters.TryRead(request.Query, out identity, out var message))
        {
            error = ProtocolResults.ClientError(message!);
            return false;
        }
        token = values[0]!.Trim();
        error = null;
        return true;
    }

    /// <summary>
    /// A generate or refresh reply in v1: the identity (inner refresh token) or optout as JSON; v1 answers failures as
    /// an authenticated caller's (a 388-char token that does not open is an invalid one).
    /// </summary>
    public static IResult ToResult(in TokenReply reply) =>
        reply.Body is { } json ? ProtocolResults.Json(json) : TokenErrors.Failure(reply, authenticated: true);

    public static IResult ToResult(ValidateOutcome outcome)
    {
        var reply = TokenErrors.Validate(outcome);
        return reply.Error ?? ProtocolResults.Json(reply.Json!);
    }
}
