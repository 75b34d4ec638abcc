using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>Behind a load balancer, forwarded headers are believed only from trusted proxies.</summary>
public sealed class ForwardedHeadersTests
{
    /// <summary>What the operator's pipeline made of the last request (read after it ran).</summary>
    private sealed class Seen
    {
        public string? RemoteIp;
        public string? Scheme;
    }

    private sealed class Recorder(Seen seen) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, inner) =>
            {
                await inner(context);
                seen.RemoteIp = context.Connection.RemoteIpAddress?.ToString();
                seen.Scheme = context.Request.Scheme;
            });
            next(app);
        };
    }

    private static async Task<Seen> SendAsync(Dictionary<string, string?>? settings)
    {
        var seen = new Seen();
        await using var host = await OperatorHost.StartAsync(settings: settings,
            configure: b => b.Services.AddSingleton<IStartupFilter>(new Recorder(seen)));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ops/healthcheck");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var response = await host.Http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        return seen;
    }

    [Fact]
    public async Task A_trusted_proxy_sets_the_client_address_and_scheme()
    {
        var seen = await SendAsync(null); // the test client is on loopback, trusted by default
        Assert.Equal("203.0.113.7", seen.RemoteIp);
        Assert.Equal("https", seen.Scheme);

        seen = await SendAsync(new() { ["Uid2:TrustedProxies:0"] = "127.0.0.0/8" });
        Assert.Equal("203.0.113.7", seen.RemoteIp);
    }

    [Fact]
    public async Task Headers_from_an_untrusted_address_are_ignored()
    {
        var seen = await SendAsync(new() { ["Uid2:TrustedProxies:0"] = "10.0.0.0/8", ["Uid2:TrustedProxies:1"] = "192.0.2.1" });
        Assert.Equal("127.0.0.1", seen.RemoteIp);
        Assert.Equal("http", seen.Scheme);
    }
}
