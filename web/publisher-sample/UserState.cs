using System.Text.Json.Nodes;
using Uid2.Client;

namespace Uid2.PublisherSample;

/// <summary>
/// One visitor's state. The publisher's own login (the email) lives in the server-side session in both modes; the UID2
/// identity lives where the storage mode says: in the session, or in the first-party cookie <c>__uid_2</c> as the identity
/// JSON — the cookie the browser SDK reads, refreshes and rewrites (<c>useCookie: true</c>).
/// </summary>
public sealed class UserState(HttpContext http, SampleOptions options)
{
    public const string ModeCookie = "uid2sample_mode";
    public const string SessionCookie = "uid2sample_session";
    /// <summary>The browser SDK's cookie: <c>__uid_2</c>, or <c>__euid</c> for EUID.</summary>
    private string SdkCookie => options.SdkCookie;

    private const string EmailKey = "email";
    private const string IdentityKey = "identity";
    private const string StatusKey = "status";

    private ISession Session => http.Session;

    public StorageMode Mode =>
        Enum.TryParse<StorageMode>(http.Request.Cookies[ModeCookie], ignoreCase: true, out var mode) ? mode : options.DefaultStorageMode;

    public void SetMode(StorageMode mode) =>
        http.Response.Cookies.Append(ModeCookie, mode.ToString().ToLowerInvariant(),
            new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Lax, IsEssential = true, MaxAge = TimeSpan.FromDays(30) });

    public string? Email
    {
        get => Session.GetString(EmailKey);
        set { if (value is null) Session.Remove(EmailKey); else Session.SetString(EmailKey, value); }
    }

    /// <summary>Last thing that happened to the identity: established, refreshed, optout, refresh expired, …</summary>
    public string Status
    {
        get => Session.GetString(StatusKey) ?? (Email is null ? "logged out" : "no identity");
        set => Session.SetString(StatusKey, value);
    }

    /// <summary>The identity from this mode's store (session, or the <c>__uid_2</c> cookie), or null.</summary>
    public IdentityTokens? Identity =>
        Mode == StorageMode.Session ? IdentityTokens.FromJson(Session.GetString(IdentityKey)) : IdentityTokens.FromJson(http.Request.Cookies[SdkCookie]);

    public void SaveIdentity(IdentityTokens identity)
    {
        if (Mode == StorageMode.Session)
        {
            Session.SetString(IdentityKey, identity.ToJson());
            return;
        }
        // The browser SDK's cookie format: URL-encoded identity JSON (ASP.NET Core escapes the value), path /, expiring with
        // the refresh token. Not HttpOnly: the SDK must read and rewrite it.
        http.Response.Cookies.Append(SdkCookie, identity.ToJson(), new CookieOptions
        {
            Path = "/", Expires = identity.RefreshExpires, HttpOnly = false, SameSite = SameSiteMode.Lax, IsEssential = true,
        });
    }

    public void ForgetIdentity()
    {
        Session.Remove(IdentityKey);
        http.Response.Cookies.Delete(SdkCookie, new CookieOptions { Path = "/" });
    }

    /// <summary>Logout (guide step 6): the session, its cookie and the identity cookie. The page clears the SDK's storage.</summary>
    public void Clear()
    {
        Session.Clear();
        http.Response.Cookies.Delete(SessionCookie, new CookieOptions { Path = "/" });
        http.Response.Cookies.Delete(SdkCookie, new CookieOptions { Path = "/" });
    }

    public JsonObject ToJson()
    {
        var identity = Mode == StorageMode.Session ? Identity : null;   // in cookie mode the page shows what the SDK holds
        return new JsonObject
        {
            ["mode"] = Mode.ToString().ToLowerInvariant(),
            ["email"] = Email,
            ["status"] = Status,
            ["identity"] = identity is null ? null : JsonNode.Parse(identity.ToJson()),
            ["operatorUrl"] = options.BrowserOperatorUrl,
            ["product"] = new JsonObject
            {
                ["name"] = options.ProductName,
                ["sdkGlobal"] = options.SdkGlobal,
                ["sdkUrl"] = "/sdk/" + options.SdkFileName,
                ["cookie"] = options.SdkCookie,
                ["localStorageKey"] = options.SdkLocalStorageKey,
            },
        };
    }
}
