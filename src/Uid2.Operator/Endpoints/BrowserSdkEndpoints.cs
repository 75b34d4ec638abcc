using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Operator.Protocol;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// Serves the browser SDK bundle (web/sdk, built with npm) so publishers can load it from the operator:
/// <c>&lt;script src="https://operator.example/static/js/uid2-sdk.js"&gt;</c>.
/// </summary>
public static class BrowserSdkEndpoints
{
    public const string Path = "/static/js/uid2-sdk.js";

    /// <summary>Where the bundle is copied at build time when web/sdk/dist exists (see Uid2.Operator.csproj).</summary>
    public static string DefaultFile => System.IO.Path.Combine(AppContext.BaseDirectory, "wwwroot", "static", "js", "uid2-sdk.js");

    public static void MapBrowserSdk(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext http, IOptions<OperatorOptions> options) =>
        {
            var file = string.IsNullOrEmpty(options.Value.BrowserSdkFile) ? DefaultFile : options.Value.BrowserSdkFile;
            if (!File.Exists(file))
                return ProtocolResults.Error(StatusCodes.Status404NotFound, Statuses.ClientError,
                    "The browser SDK is not built: run 'npm ci && npm run build' in web/sdk, then rebuild the operator");
            http.Response.Headers.CacheControl = "public, max-age=300";
            return Results.File(file, "text/javascript; charset=utf-8", enableRangeProcessing: false);
        }).WithTags("sdk");
    }
}
