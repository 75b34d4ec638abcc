using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Uid2.Core.Auth;
using Uid2.Operator.Auth;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.Operator.Admin;

/// <summary>
/// Who may administer the operator: holders of an admin credential (an API key with only the ADMIN role, made by
/// <c>uid2-admin admin create</c>). The page signs them in with a cookie (<c>Secure</c>, <c>HttpOnly</c>,
/// <c>SameSite=Strict</c>, 8 hours sliding) and re-checks the credential on every request, so a revoked credential
/// ends its sessions at once; forms carry an anti-forgery token. The JSON API takes the credential as a bearer token
/// and no cookie, so a browser cannot be made to call it. A publisher's API key is 403 on both.
/// </summary>
public static class AdminAuth
{
    public const string Scheme = "Uid2Admin";
    public const string Policy = "Uid2Admin";
    public const string KeyIdClaim = "uid2:admin_key_id";

    public static void AddAdmin(WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AdminService>();
        builder.Services.AddAuthentication(Scheme).AddCookie(Scheme, o =>
        {
            o.Cookie.Name = "uid2-admin";
            o.Cookie.Path = "/admin";
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.Always;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.LoginPath = "/admin/login";
            o.LogoutPath = "/admin/logout";
            o.AccessDeniedPath = "/admin/login";
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            o.Events.OnValidatePrincipal = ValidateAsync;
            // Relative redirects: on a loopback connection the request is treated as https while the socket is http.
            o.Events.OnRedirectToLogin = c => Redirect(c, "/admin/login?ReturnUrl=" + Uri.EscapeDataString(c.Request.Path + c.Request.QueryString));
            o.Events.OnRedirectToAccessDenied = c => Redirect(c, "/admin/login");
            o.Events.OnRedirectToLogout = c => Redirect(c, "/admin/login");
        });
        builder.Services.AddAuthorization(o => o.AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireRole(Roles.Format(Role.Admin))));
        // One anti-forgery system serves the admin pages and the opt-out portal, each with its own cookie scoped to its path.
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddAntiforgery();
        builder.Services.AddOptions<Microsoft.AspNetCore.Antiforgery.AntiforgeryOptions>()
            .Configure<IHttpContextAccessor>((o, accessor) => o.Cookie = new ScopedAntiforgeryCookie(accessor)
            {
                HttpOnly = true,
                SecurePolicy = CookieSecurePolicy.Always,
                SameSite = SameSiteMode.Strict,
            });
        builder.Services.AddRazorPages(o =>
        {
            o.RootDirectory = "/AdminPages";
            o.Conventions.AuthorizeFolder("/admin", Policy);
            o.Conventions.AllowAnonymousToPage("/admin/Login");
        }).ConfigureApplicationPartManager(parts =>
        {
            // The pages are compiled into this assembly, which is not the entry assembly when a test or another host runs the operator.
            // Its factory gives the code part and the compiled Razor part; add whichever is missing.
            var assembly = typeof(AdminAuth).Assembly;
            foreach (var part in Microsoft.AspNetCore.Mvc.ApplicationParts.ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                if (!parts.ApplicationParts.Any(p => p.GetType() == part.GetType() && p.Name == part.Name))
                    parts.ApplicationParts.Add(part);
        });
    }

    /// <summary>Checks an admin key: valid, not revoked, and holding the ADMIN role.</summary>
    public static AuthOutcome Authenticate(string? authorizationHeader, OperatorState state, out AuthenticatedClient? admin)
    {
        var outcome = ApiKeyAuthenticator.Authenticate(authorizationHeader, state, ApiKeys.Verify, out admin);
        return outcome;
    }

    /// <summary>The principal the cookie carries: the credential's key id and name (never the key).</summary>
    public static ClaimsPrincipal Principal(AuthenticatedClient admin) =>
        new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, admin.Key.Name),
            new Claim(KeyIdClaim, admin.Key.KeyId),
            new Claim(ClaimTypes.Role, Roles.Format(Role.Admin)),
        ], Scheme));

    /// <summary>Who the audit log names for a signed-in admin.</summary>
    public static string Actor(ClaimsPrincipal user) => "admin:" + (user.Identity?.Name ?? "?");

    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> context, string location)
    {
        if (context.Request.Path.StartsWithSegments("/admin/api"))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        }
        context.Response.Redirect(location);
        return Task.CompletedTask;
    }

    private static async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        var keyId = context.Principal?.FindFirstValue(KeyIdClaim);
        var state = context.HttpContext.RequestServices.GetRequiredService<OperatorStateProvider>().Current;
        var valid = false;
        if (keyId is not null)
        {
            foreach (var key in state.ApiKeysWithId(keyId))
                valid |= !key.Disabled && (key.Roles & Role.Admin) != 0;
        }
        if (!valid)
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    /// <summary>
    /// The anti-forgery cookie of the part of the site a request is for: <c>uid2-admin-csrf</c> on <c>/admin</c>,
    /// <c>uid2-optout-csrf</c> on <c>/optout</c> (the consumer opt-out portal), so neither is sent to the other.
    /// </summary>
    private sealed class ScopedAntiforgeryCookie(IHttpContextAccessor accessor) : CookieBuilder
    {
        private bool IsPortal => accessor.HttpContext?.Request.Path.StartsWithSegments(OptOutPortal.OptOutPortalSetup.PathPrefix) == true;

        public override string? Name
        {
            get => IsPortal ? "uid2-optout-csrf" : "uid2-admin-csrf";
            set { }
        }

        public override string? Path
        {
            get => IsPortal ? OptOutPortal.OptOutPortalSetup.PathPrefix : "/admin";
            set { }
        }
    }
}
