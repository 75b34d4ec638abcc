using System.Text.Json.Nodes;
using Uid2.Core.Normalization;
using Uid2.Client;

namespace Uid2.PublisherSample;

/// <summary>
/// A publisher site walking the UID2 publisher integration guide: server-side token generation (3-1), passing the token to
/// an SSP (4-1), refresh (5-2, server side in session mode, by the browser SDK in cookie mode), opt-out and logout (6).
/// </summary>
public static class SampleApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        configure?.Invoke(builder);

        var options = builder.Configuration.GetSection(SampleOptions.Section).Get<SampleOptions>() ?? new SampleOptions();
        var operatorUri = new Uri(options.OperatorUrl);
        builder.Services.AddSingleton(options);
        builder.Services.AddHttpClient();
        builder.Services.AddSingleton(sp => new PublisherClient(operatorUri, options.ApiKey, options.ClientSecret,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient()));
        builder.Services.AddSingleton(sp => new BidstreamClient(operatorUri, options.ApiKey, options.ClientSecret,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient()));
        builder.Services.AddSingleton(sp => new OperatorOptOut(sp.GetRequiredService<IHttpClientFactory>().CreateClient(), options));
        builder.Services.AddSingleton<DemoSsp>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DemoSsp>());
        builder.Services.AddDistributedMemoryCache();
        builder.Services.AddSession(o =>
        {
            o.Cookie.Name = UserState.SessionCookie;
            o.Cookie.HttpOnly = true;
            o.Cookie.IsEssential = true;
            o.IdleTimeout = TimeSpan.FromHours(8);
        });

        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseSession();

        // The browser SDK (uid2-sdk.js, or euid-sdk.js for EUID), served from this site (built by `npm run build` in web/sdk).
        app.MapGet("/sdk/" + options.SdkFileName, (IWebHostEnvironment env) =>
        {
            var path = Path.GetFullPath(Path.Combine(env.ContentRootPath, options.EffectiveSdkPath));
            return File.Exists(path)
                ? Results.File(path, "text/javascript; charset=utf-8")
                : Results.Text($"console.error('{options.SdkFileName} not found at {path.Replace("\\", "/")}: run npm ci && npm run build in web/sdk');",
                    "text/javascript", statusCode: 404);
        });

        var api = app.MapGroup("/api");
        api.MapGet("/state", State);
        api.MapPost("/mode", SetMode);
        api.MapPost("/login", Login);
        api.MapPost("/refresh", Refresh);
        api.MapPost("/optout", OptOut);
        api.MapPost("/logout", (HttpContext http) => { new UserState(http, options).Clear(); return Results.NoContent(); });

        // The demo SSP: the body is the advertising token exactly as the publisher sends it.
        app.MapPost("/ssp/bid", async (HttpRequest request, DemoSsp ssp, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            var token = (await reader.ReadToEndAsync(ct)).Trim();
            return token.Length == 0 ? Results.BadRequest(new { status = "no token" }) : Results.Json(await ssp.DecryptAsync(token, ct));
        });
        return app;
    }

    private static async Task<IResult> State(HttpContext http, SampleOptions options, PublisherClient publisher, CancellationToken ct)
    {
        var user = new UserState(http, options);
        // Session mode, guide step 5-2 on the server: on each page (or state) request, refresh when refresh_from has passed.
        if (user.Mode == StorageMode.Session && user.Identity is { } identity && identity.IsDueForRefresh(DateTimeOffset.UtcNow))
            await RefreshServerSideAsync(user, identity, publisher, ct);
        return Results.Json(user.ToJson());
    }

    public sealed record ModeRequest(string Mode);

    private static IResult SetMode(HttpContext http, SampleOptions options, ModeRequest body)
    {
        if (!Enum.TryParse<StorageMode>(body.Mode, ignoreCase: true, out var mode))
            return Results.BadRequest(new { message = "mode must be session or cookie" });
        var user = new UserState(http, options);
        user.Clear();                 // switching where the identity lives starts over
        user.SetMode(mode);
        return Results.NoContent();
    }

    public sealed record LoginRequest(string Email);

    /// <summary>Guide step 3-1: the user logs in; the server generates the identity from the email and keeps it.</summary>
    private static async Task<IResult> Login(HttpContext http, SampleOptions options, PublisherClient publisher, LoginRequest body,
        CancellationToken ct)
    {
        if (!TokenGenerateInput.TryCreate(DiiKind.Email, body.Email, out var input))
            return Results.BadRequest(new { message = "not a valid email address" });
        var user = new UserState(http, options);
        user.ForgetIdentity();
        user.Email = body.Email.Trim();
        // EUID: the user's TCF consent string goes with the request; the operator checks it (UID2 operators ignore it).
        if (options.IsEuid) input!.WithTransparencyAndConsentString(options.TcfConsentString);
        var generated = await publisher.GenerateTokenAsync(input!, ct);
        if (generated.IsSuccess)
        {
            user.SaveIdentity(generated.Identity!);
            user.Status = "established";
        }
        else if (generated.IsOptOut)
        {
            user.Status = "optout";
        }
        else if (generated.IsInsufficientUserConsent)
        {
            user.Status = "insufficient user consent";   // EUID: no token without the user's consent
        }
        else
        {
            user.Status = $"generate failed: {generated.Status} {generated.Message}";
            return Results.Json(new { message = user.Status }, statusCode: StatusCodes.Status502BadGateway);
        }
        return Results.Json(user.ToJson());
    }

    /// <summary>"Refresh now" in session mode: refreshes even before refresh_from. (In cookie mode the browser SDK refreshes.)</summary>
    private static async Task<IResult> Refresh(HttpContext http, SampleOptions options, PublisherClient publisher, CancellationToken ct)
    {
        var user = new UserState(http, options);
        if (user.Mode != StorageMode.Session)
            return Results.BadRequest(new { message = "in cookie mode the browser SDK refreshes the identity" });
        if (user.Identity is not { } identity) return Results.BadRequest(new { message = "no identity to refresh" });
        await RefreshServerSideAsync(user, identity, publisher, ct);
        return Results.Json(user.ToJson());
    }

    private static async Task RefreshServerSideAsync(UserState user, IdentityTokens identity, PublisherClient publisher, CancellationToken ct)
    {
        TokenRefreshResponse refreshed;
        try
        {
            refreshed = await publisher.RefreshTokenAsync(identity, ct);
        }
        catch (HttpRequestException ex)
        {
            user.Status = "refresh failed (will retry): " + ex.Message;   // keep the identity, try again on the next request
            return;
        }
        switch (refreshed.Status)
        {
            case ResponseStatus.Success:
                user.SaveIdentity(refreshed.Identity!);
                user.Status = "refreshed";
                break;
            case ResponseStatus.OptOut:             // the refresh chain ends: forget the identity
                user.ForgetIdentity();
                user.Status = "optout";
                break;
            case ResponseStatus.ExpiredToken or ResponseStatus.InvalidToken:
                user.ForgetIdentity();
                user.Status = "refresh expired: log in again";
                break;
            default:
                user.Status = $"refresh failed (will retry): {refreshed.Status} {refreshed.Message}";
                break;
        }
    }

    /// <summary>
    /// The user opts out of UID2 on this site: the operator records it (POST /v2/token/logout); then the identity is refreshed,
    /// which ends the chain with <c>optout</c> — here in session mode, by the browser SDK in cookie mode.
    /// </summary>
    private static async Task<IResult> OptOut(HttpContext http, SampleOptions options, OperatorOptOut optOut, PublisherClient publisher,
        CancellationToken ct)
    {
        var user = new UserState(http, options);
        if (user.Email is not { } email) return Results.BadRequest(new { message = "log in first" });
        var (ok, detail) = await optOut.OptOutEmailAsync(email, ct);
        if (!ok) return Results.Json(new { message = "opt-out failed: " + detail }, statusCode: StatusCodes.Status502BadGateway);
        if (user.Mode == StorageMode.Session && user.Identity is { } identity)
            await RefreshServerSideAsync(user, identity, publisher, ct);
        var state = user.ToJson();
        state["logout"] = JsonNode.Parse(detail);
        return Results.Json(state);
    }
}
