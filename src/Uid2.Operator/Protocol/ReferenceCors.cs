namespace Uid2.Operator.Protocol;

/// <summary>
/// CORS as the reference operator answers it: any origin; GET, POST and OPTIONS; a fixed list of request headers
/// (the SDKs' <c>X-UID2-Client-Version</c> and <c>Content-Type</c> among them) that adds <c>Authorization</c> only on
/// <c>/v2/token/validate</c>, so a browser page cannot send an API key to any other endpoint. A preflight is answered
/// 204 with the whole list, whatever it asked for. No cookies are involved, so the origin is <c>*</c>.
/// </summary>
public static class ReferenceCors
{
    public const string AllowedHeaders =
        "X-UID2-Client-Version,Access-Control-Request-Method,Access-Control-Allow-Credentials,Access-Control-Allow-Origin,Access-Control-Allow-Headers,Content-Type";
    public const string AllowedMethods = "GET,POST,OPTIONS";

    public static Task Apply(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        if (!request.Headers.ContainsKey("Origin") || request.Path.StartsWithSegments("/admin")) return next(context);

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey("Access-Control-Request-Method"))
        {
            headers.AccessControlAllowMethods = AllowedMethods;
            headers.AccessControlAllowHeaders = request.Path.Equals("/v2/token/validate", StringComparison.OrdinalIgnoreCase)
                ? AllowedHeaders + ",Authorization"
                : AllowedHeaders;
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
        return next(context);
    }
}
