using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Uid2.Operator.OptOutPortal;

/// <summary>Wires the consumer opt-out portal (<c>/optout</c>, Razor Pages in <c>AdminPages/optout</c>) into the operator.</summary>
public static class OptOutPortalSetup
{
    public const string RateLimitPolicy = "uid2-optout-portal";
    public const string PathPrefix = "/optout";

    public static void AddOptOutPortal(WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(OptOutPortalOptions.Section);
        builder.Services.AddOptions<OptOutPortalOptions>().Bind(section).Validate(o => { o.Validate(); return true; });
        var smtpConfigured = !string.IsNullOrWhiteSpace(section["Smtp:Host"]);
        var development = builder.Environment.IsDevelopment();

        // A host may bring its own senders (registered before this runs); else SMTP when configured, and in Development
        // the console. Production without SMTP has no email sender, and without a registered SMS sender no phone sender.
        if (smtpConfigured) builder.Services.TryAddSingleton<IEmailCodeSender, SmtpEmailCodeSender>();
        if (development)
        {
            builder.Services.TryAddSingleton<ConsoleCodeSender>(_ => new ConsoleCodeSender());
            builder.Services.TryAddSingleton<IEmailCodeSender>(sp => sp.GetRequiredService<ConsoleCodeSender>());
            builder.Services.TryAddSingleton<ISmsCodeSender>(sp => sp.GetRequiredService<ConsoleCodeSender>());
        }
        builder.Services.AddSingleton<OptOutVerificationService>();
        builder.Services.AddRateLimiter(o => o.AddPolicy<string, PerIpPolicy>(RateLimitPolicy));
    }

    public static void UseOptOutPortal(WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<OptOutPortalOptions>>().Value;
        // The senders only, not the verification service: that one needs the store, which must not be opened before
        // OperatorApp.InitializeAsync (where an unusable store or a missing key-encryption key is one clean log line).
        var emailAvailable = app.Services.GetService<IEmailCodeSender>() is not null;
        if (options.Enabled && !emailAvailable)
            app.Logger.LogWarning("Opt-out portal: no SMTP server is configured ({Section}:Smtp:Host); /optout refuses email addresses.",
                OptOutPortalOptions.Section);
        if (options.Enabled && emailAvailable && !options.Smtp.IsConfigured)
            app.Logger.LogWarning("Opt-out portal (Development): no SMTP server is configured; email codes are written to the console.");
        app.UseWhen(c => c.Request.Path.StartsWithSegments(PathPrefix), portal => portal.Use(async (context, next) =>
        {
            if (!options.Enabled)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            try
            {
                await ApplySecurityAsync(context, next);
            }
            catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                // A person never sees an error page or a stack trace; the log gets the exception's type only (a
                // message could quote what was typed).
                app.Logger.LogError("Opt-out portal: unexpected {ErrorType} on {Method} {Path}.", ex.GetType().Name, context.Request.Method,
                    context.Request.Path.Value);
                context.Response.Clear();
                await WritePlainPageAsync(context, StatusCodes.Status500InternalServerError, "Something went wrong",
                    "Something went wrong on our side and nothing was changed. Please try again in a few minutes.");
            }
        }));
        app.UseRateLimiter();
    }

    /// <summary>
    /// The portal carries people's emails and phone numbers: only over HTTPS (a TLS-terminating proxy listed in
    /// <c>Uid2:TrustedProxies</c>) or a loopback connection (a laptop; browsers treat <c>http://localhost</c> as secure,
    /// so the <c>Secure</c> anti-forgery cookie works there). Pages are not cached, framed or referred.
    /// </summary>
    private static async Task ApplySecurityAsync(HttpContext context, Func<Task> next)
    {
        if (!context.Request.IsHttps)
        {
            if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
            {
                await WritePlainPageAsync(context, StatusCodes.Status403Forbidden, "This page needs a secure connection",
                    "The opt-out page only works over HTTPS. Please open it with an address that starts with https://.");
                return;
            }
            context.Request.Scheme = "https";
        }
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache, no-store"; // what the anti-forgery system also requires
        headers.Pragma = "no-cache";
        headers["X-Frame-Options"] = "DENY";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.ContentSecurityPolicy = "default-src 'self'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        await next();
    }

    /// <summary>A small self-contained page for answers given before a page runs (rate limit, plain HTTP).</summary>
    internal static async Task WritePlainPageAsync(HttpContext context, int status, string title, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        var enc = System.Text.Encodings.Web.HtmlEncoder.Default;
        await context.Response.WriteAsync($"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{enc.Encode(title)} · UID2 opt-out</title>
            <style>body{"{"}margin:0;font:17px/1.5 system-ui,sans-serif;color:#1d2433;background:#f6f8fb{"}"}main{"{"}max-width:40rem;margin:2rem auto;padding:0 1.2rem{"}"}a{"{"}color:#1f5fbf{"}"}</style></head>
            <body><main><h1>{enc.Encode(title)}</h1><p>{enc.Encode(text)}</p><p><a href="{PathPrefix}">Back to the opt-out page</a></p></main></body></html>
            """);
    }

    /// <summary>Form submissions per client IP (fixed window); pages themselves (GET) are not limited.</summary>
    private sealed class PerIpPolicy(IOptions<OptOutPortalOptions> options) : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (context, _) =>
            await WritePlainPageAsync(context.HttpContext, StatusCodes.Status429TooManyRequests, "Too many attempts",
                "We received too many requests from your network in a short time. Please wait a few minutes and try again.");

        public RateLimitPartition<string> GetPartition(HttpContext httpContext)
        {
            if (!HttpMethods.IsPost(httpContext.Request.Method)) return RateLimitPartition.GetNoLimiter("get");
            var o = options.Value;
            var ip = httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            return RateLimitPartition.GetFixedWindowLimiter(ip, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = o.RequestsPerIp,
                Window = TimeSpan.FromMinutes(o.IpWindowMinutes),
                QueueLimit = 0,
            });
        }
    }
}
