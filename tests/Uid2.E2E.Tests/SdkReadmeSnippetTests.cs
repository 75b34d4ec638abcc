using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>
/// Issue "Operate it for real": the browser SDK README's page (web/sdk/README.md, the <c>html</c> block) runs as
/// written in Chromium against our operator — with only the operator's address and the demo site's CSTG public key and
/// subscription id filled in where the README says "yours": a login gets a token, an opted-out user is told so, and
/// "Log out" forgets the token.
/// </summary>
public sealed class SdkReadmeSnippetTests
{
    private const string DemoServerPublicKey =
        "UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbO+OfuOGtx2Tpzyae7DAviEjdE69lZL80HB0Teg+7XiD5CvPXh0UpQvyXKGT3ZzaEtM0TCrkSNbDP//wmj/xAQ==";

    [SkippableFact]
    public async Task The_readme_page_gets_a_token_shows_an_opt_out_and_logs_out()
    {
        Chromium.RequireBrowser();
        await Repo.BrowserSdkAsync();
        await using var op = await OperatorServer.StartAsync();
        var readme = await File.ReadAllTextAsync(Repo.Path("web", "sdk", "README.md"));
        var html = Regex.Match(readme, "```html\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        Assert.Contains("https://operator.example.com", html);
        html = html.Replace("https://operator.example.com", op.Url, StringComparison.Ordinal);
        html = Regex.Replace(html, "serverPublicKey: '[^']*'", $"serverPublicKey: '{DemoServerPublicKey}'");
        html = html.Replace("'your-subscription-id'", "'demoCstg01'", StringComparison.Ordinal);

        await using var page = await ReadmePage.StartAsync(html);
        await using var chromium = await Chromium.LaunchAsync();
        var tab = await chromium.Context.NewPageAsync();
        var errors = new List<string>();
        tab.PageError += (_, e) => errors.Add(e);
        tab.Dialog += async (_, d) => { errors.Add("alert: " + d.Message); await d.DismissAsync(); };
        await tab.GotoAsync(page.Url);
        await tab.Locator("#status", new() { HasTextString = "no UID2 token" }).WaitForAsync();

        await tab.Locator("#email").FillAsync("readme.page@example.com");
        await tab.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Get UID2 token" }).ClickAsync();
        await tab.Locator("#status", new() { HasTextString = "UID2 token: A" }).WaitForAsync();

        await tab.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await tab.Locator("#status", new() { HasTextString = "no UID2 token" }).WaitForAsync();
        Assert.Null(await tab.EvaluateAsync<string?>("() => localStorage.getItem('UID2-sdk-identity')"));

        await tab.Locator("#email").FillAsync("optout@example.com");
        await tab.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Get UID2 token" }).ClickAsync();
        await tab.Locator("#status", new() { HasTextString = "opted out" }).WaitForAsync();
        Assert.Empty(errors);
    }

    /// <summary>The README's page, served from a loopback origin (one of the demo site's allowed domains).</summary>
    private sealed class ReadmePage : KestrelHost
    {
        public static async Task<ReadmePage> StartAsync(string html)
        {
            var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"]);
            var app = builder.Build();
            app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
            var page = new ReadmePage();
            await page.StartAsync(app);
            return page;
        }
    }
}
