using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Uid2.Client;
using Uid2.E2E.Tests.Infrastructure;

namespace Uid2.E2E.Tests;

/// <summary>
/// Client-side token generation for real: our browser SDK in Chromium (WebCrypto ECDH P-256 + AES-GCM) against our
/// operator's /v2/token/client-generate, with the demo subscription, from an allowed loopback origin; the page loads
/// the SDK from the operator's /static/js/uid2-sdk.js.
/// </summary>
public sealed class BrowserCstgTests
{
    private const string DemoSubscriptionId = "demoCstg01";
    private const string DemoServerPublicKey =
        "UID2-X-L-MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEbO+OfuOGtx2Tpzyae7DAviEjdE69lZL80HB0Teg+7XiD5CvPXh0UpQvyXKGT3ZzaEtM0TCrkSNbDP//wmj/xAQ==";

    [SkippableFact]
    public async Task Browser_sdk_generates_a_token_client_side_that_bidders_can_read()
    {
        Chromium.RequireBrowser();
        await Repo.BrowserSdkAsync();
        await using var op = await OperatorServer.StartAsync();
        // The page loads the SDK from the operator, as a publisher would.
        await using var page = await CstgPage.StartAsync(op.Url + "/static/js/uid2-sdk.js");
        await using var chromium = await Chromium.LaunchAsync();
        var tab = await chromium.Context.NewPageAsync();
        var pageErrors = new List<string>();
        tab.PageError += (_, e) => pageErrors.Add(e);
        await tab.GotoAsync(page.Url);

        const string email = "Browser.CSTG@example.com";
        var token = await tab.EvaluateAsync<string?>(
            """
            async ([baseUrl, email, serverPublicKey, subscriptionId]) => {
              __uid2.init({ baseUrl });
              await __uid2.setIdentityFromEmail(email, { serverPublicKey, subscriptionId });
              return __uid2.getAdvertisingToken() ?? null;
            }
            """, new object[] { op.Url, email, DemoServerPublicKey, DemoSubscriptionId });
        Assert.False(string.IsNullOrEmpty(token));
        Assert.Empty(pageErrors);

        // A bidder reads it as a client-side generated token of the demo site, for the same user as server-side generate.
        var bidder = new BidstreamClient(op.BaseAddress, Demo.ApiKey, Demo.ClientSecret);
        Assert.True((await bidder.RefreshAsync()).Success);
        var seen = bidder.Decrypt(token!, "localhost");
        Assert.True(seen.Success, seen.ToString());
        Assert.True(seen.IsClientSideGenerated);
        Assert.Equal(Demo.SiteId, seen.SiteId);
        var serverSide = await new PublisherClient(op.BaseAddress, Demo.ApiKey, Demo.ClientSecret)
            .GenerateTokenAsync(TokenGenerateInput.FromEmail(email));
        Assert.Equal(bidder.Decrypt(serverSide.Identity!.AdvertisingToken, null).Uid, seen.Uid);

        // The SDK stored the identity and can refresh it against the operator like any other.
        var stored = await tab.EvaluateAsync<string?>("() => localStorage.getItem('UID2-sdk-identity')");
        Assert.Contains(token!, stored);

        // An opted-out user gets no token, client side too.
        var optedOut = await tab.EvaluateAsync<bool>(
            """
            async ([serverPublicKey, subscriptionId]) => {
              await __uid2.setIdentityFromEmail('optout@example.com', { serverPublicKey, subscriptionId });
              return __uid2.hasOptedOut() && !__uid2.getAdvertisingToken();
            }
            """, new object[] { DemoServerPublicKey, DemoSubscriptionId });
        Assert.True(optedOut);
    }

    /// <summary>A publisher page on a loopback origin that loads the browser SDK bundle.</summary>
    private sealed class CstgPage : KestrelHost
    {
        public static async Task<CstgPage> StartAsync(string sdkUrl)
        {
            var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"]);
            var app = builder.Build();
            app.MapGet("/", () => Results.Content(
                $"""<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><script src="{sdkUrl}"></script></head><body>CSTG</body></html>""",
                "text/html; charset=utf-8"));
            var page = new CstgPage();
            await page.StartAsync(app);
            return page;
        }
    }
}
