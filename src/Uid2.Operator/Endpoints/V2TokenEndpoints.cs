using Uid2.Core.Auth;
using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// The v2 token endpoints: the shared <see cref="V2Pipeline"/> (auth, body, envelope), then parse with
/// <see cref="V2TokenMapper"/> → <see cref="TokenLifecycleService"/> → map back. Refresh runs the pipeline's plain
/// flow (optional API key, the body is the token); its reply is sealed by the service under the token's response key.
/// </summary>
public static class V2TokenEndpoints
{
    public static void MapV2Token(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v2/token/generate", Generate).WithTags("v2");
        app.MapPost("/v2/token/refresh", Refresh).WithTags("v2");
        app.MapPost("/v2/token/validate", Validate).WithTags("v2");
        app.MapPost("/v2/token/logout", Logout).WithTags("v2");
    }

    private static Task<IResult> Generate(HttpContext http, OperatorStateProvider state, TimeProvider time, TokenLifecycleService tokens) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Generator, tokens, static (call, tokens) =>
            ValueTask.FromResult(V2TokenMapper.TryParseGenerate(call, out var input, out var error)
                ? V2TokenMapper.ToReply(tokens.Generate(input))
                : error));

    private static Task<IResult> Refresh(HttpContext http, OperatorStateProvider state, TokenLifecycleService tokens) =>
        V2Pipeline.HandlePlainAsync(http, state, tokens, static (call, tokens) =>
            V2TokenMapper.ToResult(tokens.Refresh(V2TokenMapper.ParseRefresh(call)), call));

    private static Task<IResult> Validate(HttpContext http, OperatorStateProvider state, TimeProvider time, TokenLifecycleService tokens) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Generator, tokens, static (call, tokens) =>
            ValueTask.FromResult(V2TokenMapper.TryParseValidate(call, out var token, out var identity, out var error)
                ? TokenErrors.Validate(tokens.Validate(token, identity, call.Client.SiteId))
                : error));

    private static Task<IResult> Logout(HttpContext http, OperatorStateProvider state, TimeProvider time, TokenLifecycleService tokens) =>
        V2Pipeline.HandleAsync(http, state, time, Role.Optout, (tokens, http.RequestAborted), static async (call, s) =>
            V2TokenMapper.TryParseLogout(call, out var identity, out var error)
                ? V2TokenMapper.ToReply(await s.tokens.LogoutAsync(identity, s.RequestAborted))
                : error);
}
