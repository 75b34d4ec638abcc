using Uid2.Operator.Protocol;
using Uid2.Operator.Services;
using Uid2.Operator.State;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// The v1 endpoints of the publisher integration guide: plain JSON over GET, no envelope. Each parses with
/// <see cref="V1TokenMapper"/>, asks <see cref="TokenLifecycleService"/> and maps its answer back.
/// </summary>
public static class V1Endpoints
{
    public static void MapV1(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/token/generate", Generate).WithTags("v1");
        app.MapGet("/v1/token/refresh", Refresh).WithTags("v1");
        app.MapGet("/v1/token/validate", Validate).WithTags("v1");
    }

    private static IResult Generate(HttpRequest request, OperatorStateProvider state, TokenLifecycleService tokens)
    {
        if (V1TokenMapper.Generator(request, state) is not { } client) return ProtocolResults.Unauthorized();
        if (!V1TokenMapper.TryParseGenerate(request, client, out var input, out var error)) return error!;
        return V1TokenMapper.ToResult(tokens.Generate(input));
    }

    private static IResult Refresh(HttpRequest request, OperatorStateProvider state, TokenLifecycleService tokens)
    {
        // An API key is optional; a bad one is refused.
        if (Auth.ApiKeyAuthenticator.Authenticate(request, state.Current, out _) == Auth.AuthOutcome.Invalid) return ProtocolResults.Unauthorized();
        if (!V1TokenMapper.TryParseRefresh(request, out var input, out var error)) return error!;
        return V1TokenMapper.ToResult(tokens.Refresh(input));
    }

    private static IResult Validate(HttpRequest request, OperatorStateProvider state, TokenLifecycleService tokens)
    {
        if (V1TokenMapper.Generator(request, state) is null) return ProtocolResults.Unauthorized();
        if (!V1TokenMapper.TryParseValidate(request, out var token, out var identity, out var error)) return error!;
        return V1TokenMapper.ToResult(tokens.Validate(token, identity, callerSiteId: null));
    }
}
