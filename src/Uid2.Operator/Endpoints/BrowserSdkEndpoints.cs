using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Operator.Protocol;

namespace Uid2.Operator.Endpoints;

/// <summary>
/// Serves the browser SDK bundle (web/sdk, built with npm) so publishers can load it from the operator:
/// <c>&lt;script src="https://operator.example/static/js/uid2-sdk.js"&gt;</c>, and its EUID build (<c>window.__euid</c>) at
/// <c>/static/js/euid-sdk.js</c>, read from the same folder.
/// </summary>
public static class BrowserSdkEndpoints
{
    public const string Path = "/static/js/uid2-sdk.js";
    public const string EuidPath = "/static/js/euid-sdk.js";
    public const string EuidFileName = "euid-sdk.js";

    /// <summary>Where the bundle is copied at build time when web/sdk/dist exists (see Uid2.Operator.csproj).</summary>
    public static string DefaultFile => System.IO.Path.Combine(AppContext.BaseDirectory, "wwwroot", "static", "js", "uid2-sdk.js");

    public static void MapBrowserSdk(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext http, IOptions<OperatorOptions> options) => Serve(http, Uid2File(options.Value))).WithTags("sdk");
        app.MapGet(EuidPath, (HttpContext http, IOptions<OperatorOptions> options) =>
            Serve(http, System.IO.Path.Combine(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Uid2File(options.Value)))!, EuidFileName)))
            .WithTags("sdk");
    }

    private static string Uid2File(OperatorOptions options) =>
        string.IsNullOrEmpty(options.BrowserSdkFile) ? DefaultFile : options.BrowserSdkFile;

    private static IResult Serve(HttpContext http, string file)
    {
        if (!File.Exists(file))
            return ProtocolResults.Error(StatusCodes.Status404NotFound, Statuses.ClientError,
                "The browser SDK is not built: run 'npm ci && npm run build' in web/sdk, then rebuild the operator");
        http.Response.Headers.CacheControl = "public, max-age=300";
        return Results.File(file, "text/javascript; charset=utf-8", enableRangeProcessing: false);
    }
}
