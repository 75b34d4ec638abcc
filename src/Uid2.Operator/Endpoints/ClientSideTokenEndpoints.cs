using Uid2.Operator.Protocol;
using Uid2.Operator.Services;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// Client-side token generation (protocol §7): <c>POST /v2/token/client-generate</c>, called from publishers' pages
/// with a subscription id instead of an API key. Plain JSON in; 200 answers are base64 of
/// <c>IV ‖ AES-GCM(json) ‖ tag</c> under the ECDH shared secret; errors are plain JSON. Parsing and replies are
/// <see cref="V2TokenMapper"/>'s; every protocol step is <see cref="TokenLifecycleService.ClientGenerate"/>'s.
/// </summary>
public static class ClientSideTokenEndpoints
{
    public const string Path = "/v2/token/client-generate";

    public static void MapClientSideToken(this IEndpointRouteBuilder app) =>
        app.MapPost(Path, Generate).WithTags("v2");

    private static async Task<IResult> Generate(HttpContext http, TokenLifecycleService tokens)
    {
        var body = await RequestBody.ReadAsync(http.Request, http.RequestAborted);
        if (body is null) return ProtocolResults.BodyTooLarge();
        if (!V2TokenMapper.TryParseClientGenerate(body, http.Request.Headers.Origin.ToString(), out var input, out var error)) return error!;
        return V2TokenMapper.ToResult(tokens.ClientGenerate(input));
    }
}
