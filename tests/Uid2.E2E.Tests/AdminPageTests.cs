using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Uid2.Client;
using Uid2.E2E.Tests.Infrastructure;
using Uid2.Operator.State;
using Uid2.Storage;

namespace Uid2.E2E.Tests;

/// <summary>
/// Issue "Operate it for real": the admin page in Chromium, as an operator would use it — sign in with an admin
/// credential, create a participant, issue a key (shown once), revoke it (its calls now get 401), rotate a client secret
/// with an overlap (old and new both work), opt a user out (refresh answers optout) — checked with the .NET SDK.
/// Screenshots of each page for the README (docs/screenshots/admin-*.png with UID2_UPDATE_SCREENSHOTS=1).
/// </summary>
public sealed class AdminPageTests
{
    [SkippableFact]
    public async Task An_operator_runs_participants_keys_and_opt_outs_from_the_admin_page()
    {
        Chromium.RequireBrowser();
        await using var op = await OperatorServer.StartAsync();
        var adminKey = (await new AdminService(op.Services.GetRequiredService<IUid2Store>(), TimeProvider.System)
            .CreateAdminCredentialAsync("cli:test", "Alice", CancellationToken.None)).ApiKey;
        await op.Services.GetRequiredService<OperatorStateProvider>().ReloadAsync(CancellationToken.None);
        // localhost: a secure context for the browser, so the Secure cookies work over the loopback's plain HTTP.
        var url = op.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal);

        await using var chromium = await Chromium.LaunchAsync();
        var tab = await chromium.Context.NewPageAsync();
        await tab.GotoAsync(url + "/admin");
        Assert.Contains("/admin/login", tab.Url);
        await tab.GetByLabel("Admin key").FillAsync(adminKey);
        await tab.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await tab.WaitForURLAsync(url + "/admin");
        var cookies = await chromium.Context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "uid2-admin");
        Assert.True(session.Secure && session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);

        // Create a participant: its first API key and secret are shown once.
        await tab.GetByLabel("Name", new() { Exact = true }).FillAsync("Playwright Publisher");
        await tab.GetByLabel("Site id").FillAsync("4242");
        await tab.Locator("input[name=Roles][value=OPTOUT]").CheckAsync();
        await tab.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var apiKey = (await tab.Locator("#issued-api-key").TextContentAsync())!.Trim();
        var secret = (await tab.Locator("#issued-secret").TextContentAsync())!.Trim();
        await tab.GetByLabel("Search participants").FillAsync("Playwright");
        await tab.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        Assert.Equal(1, await tab.Locator("tbody tr").CountAsync());
        await Chromium.ScreenshotAsync(tab, "admin-1-participants");
        var publisher = new PublisherClient(op.BaseAddress, apiKey, secret);
        Assert.True((await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("page.user@example.com"))).IsSuccess);

        // Issue a second key on the participant page, then revoke it: calls with it get 401.
        await tab.GetByRole(AriaRole.Link, new() { Name = "Playwright Publisher" }).ClickAsync();
        await tab.GetByRole(AriaRole.Button, new() { Name = "Issue API key" }).ClickAsync();
        var secondKey = (await tab.Locator("#shown-api-key").TextContentAsync())!.Trim();
        var secondSecret = (await tab.Locator("#shown-secret").TextContentAsync())!.Trim();
        var second = new PublisherClient(op.BaseAddress, secondKey, secondSecret);
        Assert.True((await second.GenerateTokenAsync(TokenGenerateInput.FromEmail("page.user@example.com"))).IsSuccess);
        await tab.GotoAsync(url + "/admin/participant/4242");
        Assert.Equal(0, await tab.Locator("#shown-api-key").CountAsync()); // shown once, never again
        var secondKeyId = Uid2.Core.Auth.ApiKeys.KeyIdOf(secondKey);
        await tab.Locator($"tr[data-key-id='{secondKeyId}']").GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await tab.Locator($"tr[data-key-id='{secondKeyId}']").GetByText("revoked").WaitForAsync();
        var revoked = await second.GenerateTokenAsync(TokenGenerateInput.FromEmail("page.user@example.com"));
        Assert.False(revoked.IsSuccess);
        Assert.Equal(401, await StatusOfGenerateAsync(op, secondKey));

        // Rotate the first key's secret with a one-day overlap: the old and the new secret both work.
        var firstKeyId = Uid2.Core.Auth.ApiKeys.KeyIdOf(apiKey);
        var row = tab.Locator($"tr[data-key-id='{firstKeyId}']");
        await row.GetByLabel("Overlap hours").FillAsync("24");
        await row.GetByRole(AriaRole.Button, new() { Name = "Rotate secret" }).ClickAsync();
        var newSecret = (await tab.Locator("#shown-secret").TextContentAsync())!.Trim();
        Assert.NotEqual(secret, newSecret);
        Assert.True((await new PublisherClient(op.BaseAddress, apiKey, newSecret).GenerateTokenAsync(TokenGenerateInput.FromEmail("page.user@example.com"))).IsSuccess);
        Assert.True((await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("page.user@example.com"))).IsSuccess);
        await tab.Locator($"tr[data-key-id='{firstKeyId}']").GetByText("rolling").WaitForAsync();
        await Chromium.ScreenshotAsync(tab, "admin-2-participant");

        // Opt a user out from the page: refreshing that user's token now answers optout.
        var identity = (await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail("page.optout@example.com"))).Identity!;
        await tab.GetByRole(AriaRole.Link, new() { Name = "Opt-outs" }).ClickAsync();
        await tab.GetByLabel("Opt-out value").FillAsync("page.optout@example.com");
        await tab.GetByRole(AriaRole.Button, new() { Name = "Opt out" }).ClickAsync();
        await tab.Locator("#optout-result").WaitForAsync();
        var refreshed = await publisher.RefreshTokenAsync(identity);
        Assert.True(refreshed.IsOptOut, refreshed.Status.ToString());
        await tab.GetByLabel("Lookup value").FillAsync("page.optout@example.com");
        await tab.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
        Assert.Contains("Opted out since", await tab.Locator("#optout-result").TextContentAsync());
        await Chromium.ScreenshotAsync(tab, "admin-3-optout");

        await tab.GetByRole(AriaRole.Link, new() { Name = "Keys & salts" }).ClickAsync();
        Assert.Contains("next scheduled rotation", await tab.Locator("#salts").TextContentAsync());
        await Chromium.ScreenshotAsync(tab, "admin-4-keys");
        await tab.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        var audit = await tab.Locator("#audit").TextContentAsync();
        foreach (var action in new[] { "participant.create", "apikey.issue", "apikey.revoke", "secret.rotate", "optout.add", "admin.login" })
            Assert.Contains(action, audit);
        Assert.Contains("admin:Alice", audit);
        Assert.DoesNotContain("page.optout", audit);
        Assert.DoesNotContain(newSecret, await tab.ContentAsync());
        await Chromium.ScreenshotAsync(tab, "admin-5-audit");

        // Signing out ends the session.
        await tab.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await tab.GotoAsync(url + "/admin/audit");
        Assert.Contains("/admin/login", tab.Url);
    }

    private static async Task<int> StatusOfGenerateAsync(OperatorServer op, string apiKey)
    {
        using var http = new HttpClient { BaseAddress = op.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/token/generate") { Content = new StringContent("AQ==") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        return (int)(await http.SendAsync(request)).StatusCode;
    }
}
