using System.Text.Json;
using Microsoft.Playwright;
using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>
/// The publisher sample in headless Chromium, in both storage modes and once per identity scope (a UID2 operator, and an
/// EUID operator with the sample sending a TCF consent string and using the EUID browser SDK): log in (server-side generate)
/// → token shown → the SSP decrypts it → refresh gives a new token for the same raw UID → opt-out ends the refresh chain →
/// logout clears the session, the cookies and the SDK's storage.
/// </summary>
public sealed class PublisherSampleTests(PublisherSampleFixture fixture) : IClassFixture<PublisherSampleFixture>
{
    [SkippableTheory]
    [InlineData("session", "UID2")]
    [InlineData("cookie", "UID2")]
    [InlineData("session", "EUID")]
    [InlineData("cookie", "EUID")]
    public async Task Whole_flow(string mode, string scope)
    {
        var euid = scope == "EUID";
        var sample = fixture.For(scope).Sample;
        var tokenPrefix = euid ? "E4" : "A4";                    // identity byte 0x13 (EUID, email) or 0x03 (UID2, email); v4
        var sdkCookie = euid ? "__euid" : "__uid_2";
        var localStorageKey = euid ? "EUID-sdk-identity" : "UID2-sdk-identity";
        var shot = euid ? "euid-" + mode : mode;                  // the UID2 names are the README's screenshots
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.Context.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add($"{m.Text} ({m.Location})"); };

        await page.GotoAsync(sample.Url);
        await WaitReadyAsync(page);
        await Expect(page, "status", "logged out");
        await Expect(page, "product", scope);
        await Expect(page, "cookie-name", sdkCookie);

        // Storage mode (persists in a cookie; switching reloads the page).
        if (!await page.GetByTestId("mode-" + mode).IsCheckedAsync())
            await ReloadingAsync(page, () => page.GetByTestId("mode-" + mode).CheckAsync());
        Assert.True(await page.GetByTestId("mode-" + mode).IsCheckedAsync());

        // 3-1: log in → the server generates the identity.
        var email = $"e2e-{mode}-{Guid.NewGuid():N}@example.com";
        await page.GetByTestId("email").FillAsync(email);
        await ReloadingAsync(page, () => page.GetByTestId("login").ClickAsync());
        await Expect(page, "status", "established");
        await Expect(page, "user", email);
        var token1 = await page.GetByTestId("advertising-token").InnerTextAsync();
        Assert.StartsWith(tokenPrefix, token1);
        var json = JsonDocument.Parse(await page.GetByTestId("identity-json").InnerTextAsync()).RootElement;
        Assert.Equal(token1, json.GetProperty("advertising_token").GetString());
        Assert.Equal(388, json.GetProperty("refresh_token").GetString()!.Length);
        if (mode == "cookie")
        {
            Assert.Contains(token1, await CookieAsync(chromium, sdkCookie) ?? "");   // the identity JSON, in the first-party cookie
            Assert.Null(await LocalStorageAsync(page, localStorageKey));
        }
        else
        {
            Assert.Null(await CookieAsync(chromium, sdkCookie));
        }
        await Chromium.ScreenshotAsync(page, $"{shot}-1-logged-in");

        // 4-1: the SSP decrypts the token as sent.
        var uid1 = await SendToSspAsync(page);
        Assert.StartsWith(euid ? "E" : "A", uid1);               // the raw UID's v3 prefix: scope<<4 | type<<2
        await Expect(page, "ssp-site", Demo.SiteId.ToString());
        await Chromium.ScreenshotAsync(page, $"{shot}-2-ssp");

        // 5-2: refresh now (server side, or by the browser SDK against the operator) → a new token, the same raw UID2.
        await page.GetByTestId("refresh").ClickAsync();
        await Expect(page, "status", "refreshed");
        var token2 = await page.GetByTestId("advertising-token").InnerTextAsync();
        Assert.NotEqual(token1, token2);
        Assert.StartsWith(tokenPrefix, token2);
        Assert.Equal(uid1, await SendToSspAsync(page));
        if (mode == "cookie") Assert.Contains(token2, await CookieAsync(chromium, sdkCookie) ?? "");   // the SDK rewrote the cookie
        await Chromium.ScreenshotAsync(page, $"{shot}-3-refreshed");

        // Opt-out: the operator records it; the next refresh answers optout and the identity is gone.
        await page.GetByTestId("optout").ClickAsync();
        await Expect(page, "status", "optout");
        await Expect(page, "advertising-token", "—");
        await Expect(page, "identity-json", "—");
        if (mode == "cookie")
            Assert.Contains("\"status\":\"optout\"", await CookieAsync(chromium, sdkCookie) ?? "");   // the SDK's opt-out marker
        await page.ReloadAsync();
        await WaitReadyAsync(page);
        await Expect(page, "status", "optout");
        await Expect(page, "advertising-token", "—");
        await Chromium.ScreenshotAsync(page, $"{shot}-4-opted-out");

        // 6: logout clears the session, the cookies and the SDK's storage.
        await ReloadingAsync(page, () => page.GetByTestId("logout").ClickAsync());
        await Expect(page, "status", "logged out");
        await Expect(page, "user", "— (logged out)");
        var cookies = (await chromium.Context.CookiesAsync()).Select(c => c.Name).ToList();
        Assert.DoesNotContain(sdkCookie, cookies);
        Assert.DoesNotContain("uid2sample_session", cookies);
        Assert.Null(await LocalStorageAsync(page, localStorageKey));
        if (mode == "cookie") await Chromium.ScreenshotAsync(page, euid ? "euid-logged-out" : "logged-out");

        Assert.Empty(consoleErrors);
    }

    private static async Task<string> SendToSspAsync(IPage page)
    {
        await page.GetByTestId("send-ssp").ClickAsync();
        await Expect(page, "ssp-status", "Success");
        var uid = await page.GetByTestId("ssp-uid").InnerTextAsync();
        Assert.Equal(44, uid.Length);   // base64 of the 33-byte raw UID2
        return uid;
    }

    private static Task Expect(IPage page, string testId, string text) =>
        Assertions.Expect(page.GetByTestId(testId)).ToHaveTextAsync(text, new() { Timeout = 15_000 });

    private static async Task WaitReadyAsync(IPage page) =>
        await page.WaitForFunctionAsync("() => document.body.dataset.ready === 'true'", null, new() { Timeout = 15_000 });

    /// <summary>Runs an action that makes the page reload itself, and waits for the new page to be ready.</summary>
    private static async Task ReloadingAsync(IPage page, Func<Task> action)
    {
        await page.EvaluateAsync("() => { window.__beforeReload = true; }");
        await action();
        await page.WaitForFunctionAsync("() => !window.__beforeReload && document.body.dataset.ready === 'true'", null,
            new() { Timeout = 15_000 });
    }

    private static async Task<string?> CookieAsync(Chromium chromium, string name)
    {
        var cookie = (await chromium.Context.CookiesAsync()).FirstOrDefault(c => c.Name == name);
        return cookie is null ? null : Uri.UnescapeDataString(cookie.Value);
    }

    private static Task<string?> LocalStorageAsync(IPage page, string key) =>
        page.EvaluateAsync<string?>("key => localStorage.getItem(key)", key);
}
