using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Uid2.Client;
using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>
/// Wire compatibility with Prebid.js's uid2 user-ID module (prebid.js from npm, built by web/prebid-test/build.sh with only
/// userId + uid2IdSystem). The page hands Prebid an identity from our operator whose refresh_from has passed; Prebid must
/// refresh it against our operator (POST /v2/token/refresh with the 388-char token), decrypt our response and expose the
/// new advertising token in pbjs.getUserIds().
/// </summary>
public sealed class PrebidTests
{
    [SkippableFact]
    public async Task Prebid_uid2_module_refreshes_against_our_operator()
    {
        Chromium.RequireBrowser();
        var bundle = await Repo.PrebidBundleAsync();
        await using var op = await OperatorServer.StartAsync(refreshIdentityTokenAfterSeconds: 1);

        // The publisher's server generates the identity (v2 generate) and waits until refresh_from has passed.
        var publisher = new PublisherClient(op.BaseAddress, Demo.ApiKey, Demo.ClientSecret);
        var generated = await publisher.GenerateTokenAsync(TokenGenerateInput.FromEmail($"prebid-{Guid.NewGuid():N}@example.com"));
        Assert.True(generated.IsSuccess, generated.Message);
        var identity = generated.Identity!;
        var wait = identity.RefreshFrom - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        Assert.True(identity.IsDueForRefresh(DateTimeOffset.UtcNow));
        Assert.False(identity.IsExpired(DateTimeOffset.UtcNow));

        await using var site = await PrebidPage.StartAsync(bundle, op.Url, identity.ToJson());
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.Context.NewPageAsync();
        var refreshCalls = new List<(string Url, string? Body, string? ClientVersion)>();
        page.Request += (_, r) =>
        {
            if (r.Method == "POST" && r.Url.StartsWith(op.Url + "/v2/token/refresh", StringComparison.Ordinal))
                refreshCalls.Add((r.Url, r.PostData, r.Headers.GetValueOrDefault("x-uid2-client-version")));
        };
        var pageErrors = new List<string>();
        page.PageError += (_, e) => pageErrors.Add(e);
        var console = new List<string>();
        page.Console += (_, m) => { if (m.Type is "error" or "warning") console.Add($"[{m.Type}] {m.Text}"); };

        await page.GotoAsync(site.Url);
        IJSHandle newToken;
        try
        {
            newToken = await page.WaitForFunctionAsync(
            """
            original => {
              if (!window.pbjs || typeof pbjs.getUserIds !== 'function') return false;
              const id = pbjs.getUserIds().uid2?.id;
              return id && id !== original ? id : false;
            }
            """, identity.AdvertisingToken, new() { Timeout = 20_000, PollingInterval = 100 });
        }
        catch (TimeoutException)
        {
            var ids = await page.EvaluateAsync<string>("() => JSON.stringify(window.pbjs && pbjs.getUserIds && pbjs.getUserIds())");
            Assert.Fail($"Prebid exposed no refreshed uid2 id: getUserIds() = {ids}; refresh calls: {refreshCalls.Count}; " +
                $"page errors: {string.Join(" | ", pageErrors)}\nconsole:\n{string.Join("\n", console.TakeLast(60))}");
            throw;
        }
        var refreshed = await newToken.JsonValueAsync<string>();

        // Prebid called our refresh endpoint with the 388-char token as the body.
        var call = Assert.Single(refreshCalls);
        Assert.Equal(identity.RefreshToken, call.Body);
        Assert.Equal(388, call.Body!.Length);
        Assert.StartsWith("PrebidJS-", call.ClientVersion);

        // The new token is one of ours, for the same user.
        Assert.StartsWith("A4", refreshed);
        Assert.NotEqual(identity.AdvertisingToken, refreshed);
        var bidstream = new BidstreamClient(op.BaseAddress, Demo.ApiKey, Demo.ClientSecret);
        Assert.True((await bidstream.RefreshAsync()).Success);
        var before = bidstream.Decrypt(identity.AdvertisingToken, null);
        var after = bidstream.Decrypt(refreshed, null);
        Assert.True(after.Success, after.ToString());
        Assert.Equal(before.Uid, after.Uid);

        // Prebid stored the refreshed identity (decrypted from our response) as its latest token, and exposes it as an EID.
        var stored = await page.EvaluateAsync<string>("() => localStorage.getItem('__uid2_advertising_token')");
        using var doc = JsonDocument.Parse(stored);
        Assert.Equal(identity.AdvertisingToken, doc.RootElement.GetProperty("originalToken").GetProperty("advertising_token").GetString());
        var latest = doc.RootElement.GetProperty("latestToken");
        Assert.Equal(refreshed, latest.GetProperty("advertising_token").GetString());
        Assert.Equal(388, latest.GetProperty("refresh_token").GetString()!.Length);
        Assert.NotEqual(identity.RefreshToken, latest.GetProperty("refresh_token").GetString());
        var eids = await page.EvaluateAsync<JsonElement>("() => pbjs.getUserIdsAsEids()");
        var eid = Assert.Single(eids.EnumerateArray(), e => e.GetProperty("source").GetString() == "uidapi.com");
        Assert.Equal(refreshed, eid.GetProperty("uids")[0].GetProperty("id").GetString());
        Assert.Empty(pageErrors);
        await Chromium.ScreenshotAsync(page, "prebid");
    }

    /// <summary>A page on its own loopback origin that loads the Prebid bundle and configures the uid2 module.</summary>
    private sealed class PrebidPage : KestrelHost
    {
        public static async Task<PrebidPage> StartAsync(string bundlePath, string operatorUrl, string identityJson)
        {
            var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"]);
            var app = builder.Build();
            var html = $$"""
                <!doctype html>
                <html><head><meta charset="utf-8"><title>Prebid.js + UID2</title><link rel="icon" href="data:,"><style>body{font-family:system-ui,sans-serif;margin:1.5rem}pre{white-space:pre-wrap;word-break:break-all}</style>
                <script>window.pbjs = window.pbjs || { que: [] };</script>
                <script async src="/prebid-uid2.js"></script>
                <script>
                  pbjs.que.push(function () {
                    pbjs.setConfig({
                      userSync: {
                        // auctionDelay > 0: ID callbacks (here the background refresh) run at once, as before an auction
                        auctionDelay: 200,
                        userIds: [{ name: 'uid2', params: { uid2ApiBase: {{JsonSerializer.Serialize(operatorUrl)}}, uid2Token: {{identityJson}} } }]
                      }
                    });
                    document.getElementById('ids').textContent = JSON.stringify(pbjs.getUserIds(), null, 2);
                  });
                </script></head>
                <body><h1>Prebid.js uid2 module against the .NET operator</h1><pre id="ids"></pre>
                <script>setInterval(function () { if (pbjs.getUserIds) document.getElementById('ids').textContent = JSON.stringify(pbjs.getUserIds(), null, 2); }, 200);</script>
                </body></html>
                """;
            app.MapGet("/", () => Results.Content(html, "text/html; charset=utf-8"));
            app.MapGet("/prebid-uid2.js", () => Results.File(bundlePath, "text/javascript; charset=utf-8"));
            var page = new PrebidPage();
            await page.StartAsync(app);
            return page;
        }
    }
}
