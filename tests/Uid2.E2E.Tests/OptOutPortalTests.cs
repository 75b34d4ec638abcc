using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using MimeKit;
using Uid2.Client;
using Uid2.Core.Envelope;
using Uid2.E2E.Tests.Infrastructure;
using Uid2.Tests.Shared;

namespace Uid2.E2E.Tests;

/// <summary>
/// Issue 12: a person opts out at the portal in Chromium, with the keyboard only — types an email, receives the code
/// by SMTP (a real SMTP server on loopback; the operator sends with MailKit), confirms — and every protocol answer
/// honours it: a new generate answers optout, a refresh of a token issued before answers optout, /v2/optout/status lists
/// the raw UID2. Each page is checked with axe-core (no serious or critical violation) on a desktop and a phone screen,
/// and screenshotted for the README (docs/screenshots/portal-*.png with UID2_UPDATE_SCREENSHOTS=1).
/// </summary>
public sealed partial class OptOutPortalTests
{
    private const string Email = "chromium.person@example.com";

    [SkippableFact]
    public async Task A_person_opts_out_with_an_emailed_code_and_every_participant_sees_it()
    {
        Chromium.RequireBrowser();
        var axe = await File.ReadAllTextAsync(await Repo.AxeScriptAsync());
        await using var smtp = new SmtpReceiver();
        await using var op = await OperatorServer.StartAsync(settings: new()
        {
            ["Uid2:OptOutPortal:Smtp:Host"] = "127.0.0.1",
            ["Uid2:OptOutPortal:Smtp:Port"] = smtp.Port.ToString(),
            ["Uid2:OptOutPortal:Smtp:Security"] = "None",
            ["Uid2:OptOutPortal:Smtp:Sender"] = "UID2 opt-out <no-reply@portal.test>",
        });
        var publisher = new PublisherClient(op.BaseAddress, Demo.ApiKey, Demo.ClientSecret);
        var before = await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail(Email));
        Assert.True(before.IsSuccess);
        var rawUid = (await PostV2Async(op, "/v2/identity/map", new { email = new[] { Email } }))
            .GetProperty("body").GetProperty("mapped")[0].GetProperty("advertising_id").GetString()!;

        // localhost: a secure context for the browser, so the Secure anti-forgery cookie works over the loopback's plain HTTP.
        var url = op.Url.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/optout";
        await using var chromium = await Chromium.LaunchAsync();
        var tab = await chromium.Context.NewPageAsync();
        await tab.GotoAsync(url);
        Assert.Equal("Opt out of UID2", await tab.GetByRole(AriaRole.Heading, new() { Level = 1 }).TextContentAsync());
        Assert.Contains("cannot be undone here", await tab.ContentAsync());
        await CheckAccessibilityAsync(tab, axe, "start, desktop");
        await Chromium.ScreenshotAsync(tab, "portal-1-start");
        await tab.SetViewportSizeAsync(390, 844);
        await CheckAccessibilityAsync(tab, axe, "start, phone");
        await AssertFitsWidthAsync(tab);
        await Chromium.ScreenshotAsync(tab, "portal-1-start-phone");

        // Keyboard only: Tab past the skip link to the labelled field, type, Enter.
        await tab.Keyboard.PressAsync("Tab");
        Assert.Equal("Skip to content", await tab.EvaluateAsync<string>("document.activeElement.textContent"));
        await tab.Keyboard.PressAsync("Tab");
        Assert.Equal("identity", await tab.EvaluateAsync<string>("document.activeElement.id"));
        await tab.Keyboard.TypeAsync(Email);
        await tab.Keyboard.PressAsync("Enter");
        await tab.GetByRole(AriaRole.Heading, new() { Name = "Enter your code" }).WaitForAsync();
        Assert.DoesNotContain(Email, await tab.ContentAsync());

        var mail = await smtp.NextAsync();
        Assert.Equal([Email], mail.To);
        var code = SixDigits().Match(MimeMessage.Load(new MemoryStream(mail.Data)).TextBody!).Value;
        Assert.Equal(6, code.Length);
        await CheckAccessibilityAsync(tab, axe, "code, phone");
        await Chromium.ScreenshotAsync(tab, "portal-2-code-phone");

        // A wrong code first: the page says so, the field is marked invalid, the code field keeps focus order.
        await tab.GetByLabel("Verification code").FillAsync(((int.Parse(code) + 1) % 1_000_000).ToString("D6"));
        await tab.Keyboard.PressAsync("Enter");
        await tab.GetByRole(AriaRole.Alert).GetByText("That code isn't right").WaitForAsync();
        Assert.Equal("true", await tab.GetByLabel("Verification code").GetAttributeAsync("aria-invalid"));
        await CheckAccessibilityAsync(tab, axe, "wrong code, phone");

        await tab.GetByLabel("Verification code").FillAsync(code);
        await tab.Keyboard.PressAsync("Enter");
        await tab.Locator("#optout-done").WaitForAsync();
        Assert.Contains("is now opted out of UID2", await tab.Locator("#optout-done").TextContentAsync());
        await CheckAccessibilityAsync(tab, axe, "done, phone");
        await Chromium.ScreenshotAsync(tab, "portal-3-done-phone");
        await tab.SetViewportSizeAsync(1100, 1000);
        await CheckAccessibilityAsync(tab, axe, "done, desktop");
        await Chromium.ScreenshotAsync(tab, "portal-3-done");

        // The checker is not vacuous: a field without a label is a critical violation it reports.
        await tab.EvaluateAsync("document.body.insertAdjacentHTML('beforeend', '<input id=unlabelled>')");
        await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => CheckAccessibilityAsync(tab, axe, "planted violation"));

        // Every participant now sees the opt-out.
        Assert.True((await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail(Email))).IsOptOut);
        var refreshed = await publisher.RefreshTokenAsync(before.Identity!);
        Assert.True(refreshed.IsOptOut, refreshed.Status.ToString());
        var status = await PostV2Async(op, "/v2/optout/status", new { advertising_ids = new[] { rawUid } });
        Assert.Equal(rawUid, status.GetProperty("body").GetProperty("opted_out")[0].GetProperty("advertising_id").GetString());
    }

    /// <summary>Runs axe-core in the page (evaluated through the DevTools protocol, which the page's CSP does not govern).</summary>
    private static async Task CheckAccessibilityAsync(IPage tab, string axe, string what)
    {
        if (!await tab.EvaluateAsync<bool>("typeof window.axe === 'object'")) await tab.EvaluateAsync(axe);
        var violations = await tab.EvaluateAsync<JsonElement>("""
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))
            """);
        var list = violations.EnumerateArray().Select(v => v.GetString()).ToList();
        Assert.True(list.Count == 0, $"axe-core, {what}: " + string.Join("; ", list));
    }

    private static async Task AssertFitsWidthAsync(IPage tab) =>
        Assert.True(await tab.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways on a phone");

    private static async Task<JsonElement> PostV2Async(OperatorServer op, string path, object payload)
    {
        var secret = Convert.FromBase64String(Demo.ClientSecret);
        var envelope = V2Envelope.EncryptRequest(JsonSerializer.SerializeToUtf8Bytes(payload), secret, DateTimeOffset.UtcNow, out var nonce);
        using var http = new HttpClient { BaseAddress = op.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(Convert.ToBase64String(envelope)) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Demo.ApiKey);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        Assert.True(V2Envelope.TryDecryptResponse(Convert.FromBase64String(text), secret, nonce, out var json));
        return JsonDocument.Parse(json!).RootElement.Clone();
    }

    [GeneratedRegex(@"\b\d{6}\b")]
    private static partial Regex SixDigits();
}
