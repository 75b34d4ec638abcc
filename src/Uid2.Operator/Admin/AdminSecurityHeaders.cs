using System.Net;
using Uid2.Operator.Protocol;

namespace Uid2.Operator.Admin;

/// <summary>
/// Everything under <c>/admin</c>: only over HTTPS — or a loopback connection, which is as private (browsers treat
/// <c>http://localhost</c> as a secure context, so the <c>Secure</c> cookies work there) — because an admin key or
/// session must never cross a network in clear; behind a TLS-terminating proxy listed in <c>Uid2:TrustedProxies</c>
/// its <c>X-Forwarded-Proto</c> counts. Then headers: nothing cached (pages show secrets once), no framing, no
/// referrer, and a content policy that allows only this origin and the pages' own styles.
/// </summary>
public static class AdminSecurityHeaders
{
    public static async Task Apply(HttpContext context, Func<Task> next)
    {
        if (!context.Request.IsHttps)
        {
            if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                context.Response.ContentType = "application/json";
                await context.Response.Body.WriteAsync(ProtocolResults.ErrorJson(Statuses.ClientError,
                    "The admin page and API need HTTPS: terminate TLS in front of the operator (see the README's 'Running in production')."));
                return;
            }
            context.Request.Scheme = "https"; // loopback: treated as secure, like browsers do
        }

        var headers = context.Response.Headers;
        headers.CacheControl = "no-store";
        headers["X-Frame-Options"] = "DENY";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = "default-src 'self'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        await next();
    }
}
