using Uid2.Core;
using Uid2.Core.Auth;
using Uid2.Core.Tokens;
using Uid2.Operator.Auth;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>The v1 endpoints of the publisher integration guide: plain JSON over GET, no envelope.</summary>
public static class V1Endpoints
{
    public static void MapV1(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/token/generate", Generate).WithTags("v1");
        app.MapGet("/v1/token/refresh", Refresh).WithTags("v1");
        app.MapGet("/v1/token/validate", Validate).WithTags("v1");
    }

    private static IResult Generate(HttpRequest request, OperatorStateProvider state, TokenService tokens)
    {
        if (Generator(request, state) is not { } client) return ProtocolResults.Unauthorized();
        if (!DiiParameters.TryRead(request.Query, out var input, out var error))
            return ProtocolResults.ClientError(error!);

        var result = tokens.Generate(input, client.SiteId, (int)PrivacyBits.Legacy);
        return result.Outcome switch
        {
            TokenOutcome.Success => ProtocolResults.Json(TokenReplies.V1Success(result.Identity!)),
            TokenOutcome.OptOut => ProtocolResults.Json(TokenReplies.OptOutJson),
            _ => TokenReplies.NotReady(result.Detail),
        };
    }

    private static IResult Refresh(HttpRequest request, OperatorStateProvider state, TokenService tokens)
    {
        var auth = ApiKeyAuthenticator.Authenticate(request, state.Current, out _);
        if (auth == AuthOutcome.Invalid) return ProtocolResults.Unauthorized();
        if (!request.Query.TryGetValue("refresh_token", out var values) || values.Count != 1 || string.IsNullOrWhiteSpace(values[0]))
            return ProtocolResults.ClientError("Required Parameter Missing: refresh_token");

        var token = values[0]!.Trim();
        if (token.Length == RefreshTokenWrapper.WrappedLength)
        {
            if (!RefreshTokenWrapper.TryUnwrap(token, state.Current.Keys, out var inner, out _) || inner is null)
                return TokenReplies.RefreshFailure(TokenResult.Invalid, authenticated: true);
            token = inner;
        }

        var result = tokens.Refresh(token);
        return result.Outcome switch
        {
            TokenOutcome.Success => ProtocolResults.Json(TokenReplies.V1Success(result.Identity!)),
            TokenOutcome.OptOut => ProtocolResults.Json(TokenReplies.OptOutJson),
            _ => TokenReplies.RefreshFailure(result, authenticated: true),
        };
    }

    private static IResult Validate(HttpRequest request, OperatorStateProvider state, TokenService tokens)
    {
        if (Generator(request, state) is not { } client) return ProtocolResults.Unauthorized();
        if (!request.Query.TryGetValue("token", out var values) || values.Count != 1 || string.IsNullOrWhiteSpace(values[0]))
            return ProtocolResults.ClientError("Required Parameter Missing: token");
        if (!DiiParameters.TryRead(request.Query, out var input, out var error))
            return ProtocolResults.ClientError(error!);
        var reply = ValidateReply(tokens.Validate(values[0]!.Trim(), input, callerSiteId: null));
        return reply.Error ?? ProtocolResults.Json(reply.Json!);
    }

    /// <summary>The caller, when its API key is valid and has the GENERATOR role; else null (401).</summary>
    private static AuthenticatedClient? Generator(HttpRequest request, OperatorStateProvider state) =>
        ApiKeyAuthenticator.Authenticate(request, state.Current, out var client) == AuthOutcome.Authenticated && client!.Has(Role.Generator)
            ? client
            : null;

    /// <summary>Shared by v1 and v2: maps a validate outcome to a JSON body (<c>true</c>/<c>false</c>) or an error.</summary>
    internal static V2Reply ValidateReply(ValidateOutcome outcome)
    {
        if (outcome == ValidateOutcome.InvalidToken) return V2Reply.Fail(ProtocolResults.ClientError("Invalid token"));
        if (outcome == ValidateOutcome.OtherSite) return V2Reply.Fail(ProtocolResults.ClientError("Unauthorised to validate token"));
        return V2Reply.Encrypt(ProtocolResults.SuccessJson(w => w.WriteBooleanValue(outcome == ValidateOutcome.Match)));
    }
}
