using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using Uid2.Operator.Services;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;

namespace Uid2.Operator.Tests;

/// <summary>
/// Token lifetimes come from <see cref="ITokenLifetimePolicy"/>, asked per site: a host that brings its own policy
/// changes the expiries issued to one participant, on generate and on refresh, and no one else's.
/// </summary>
public sealed class TokenLifetimePolicyTests : IAsyncLifetime
{
    private const int LongLivedSite = 2001;
    private const int DefaultSite = 2002;
    private static readonly TokenLifetimes LongLived = new(IdentityExpiresAfterSeconds: 7_200, RefreshExpiresAfterSeconds: 172_800, RefreshFromAfterSeconds: 600);

    /// <summary>One site's lifetimes overridden; every other site gets the configured defaults.</summary>
    private sealed class PerSitePolicy(TokenLifetimes defaults) : ITokenLifetimePolicy
    {
        public TokenLifetimes For(int siteId) => siteId == LongLivedSite ? LongLived : defaults;
    }

    private OperatorHost _host = null!;
    private TestParticipant _longLived = null!;
    private TestParticipant _default = null!;

    public async Task InitializeAsync()
    {
        _host = await OperatorHost.StartAsync(configure: b => b.Services.AddSingleton<ITokenLifetimePolicy>(sp =>
            new PerSitePolicy(new OptionsTokenLifetimePolicy(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Configuration.OperatorOptions>>()).For(0))));
        _longLived = await _host.AddParticipantAsync(LongLivedSite, Role.Generator);
        _default = await _host.AddParticipantAsync(DefaultSite, Role.Generator);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private KeyRing Keys => _host.Services.GetRequiredService<OperatorStateProvider>().Current.Keys;

    /// <summary>The issued expiries as offsets (s) from the advertising token's creation, checked against the tokens themselves.</summary>
    private TokenLifetimes IssuedLifetimes(JsonElement reply)
    {
        Assert.Equal("success", reply.GetProperty("status").GetString());
        var body = reply.GetProperty("body");
        Assert.Equal(TokenDecodeStatus.Success, AdvertisingTokenCodec.TryDecode(body.GetProperty("advertising_token").GetString()!, Keys, out var advertising));
        Assert.True(RefreshTokenWrapper.TryUnwrap(body.GetProperty("refresh_token").GetString()!, Keys, out var inner, out _));
        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(inner!, Keys, out var refresh));

        var created = advertising!.Created.ToUnixTimeMilliseconds();
        var identityExpires = body.GetProperty("identity_expires").GetInt64();
        var refreshExpires = body.GetProperty("refresh_expires").GetInt64();
        Assert.Equal(identityExpires, advertising.Expires.ToUnixTimeMilliseconds());
        Assert.Equal(refreshExpires, refresh!.Expires.ToUnixTimeMilliseconds());
        Assert.Equal(created, refresh.Created.ToUnixTimeMilliseconds());
        return new TokenLifetimes(
            (int)((identityExpires - created) / 1000),
            (int)((refreshExpires - created) / 1000),
            (int)((body.GetProperty("refresh_from").GetInt64() - created) / 1000));
    }

    [Fact]
    public async Task A_per_site_override_changes_that_sites_expiries_on_generate_and_refresh()
    {
        var (status, generated) = await _host.PostV2Async("/v2/token/generate", _longLived, new { email = "lifetime@example.com" });
        Assert.Equal(200, status);
        Assert.Equal(LongLived, IssuedLifetimes(generated));

        var body = generated.GetProperty("body");
        var (refreshStatus, refreshed) = await _host.RefreshV2Async(body.GetProperty("refresh_token").GetString()!,
            body.GetProperty("refresh_response_key").GetString()!);
        Assert.Equal(200, refreshStatus);
        Assert.Equal(LongLived, IssuedLifetimes(refreshed));
    }

    [Fact]
    public async Task Other_sites_keep_the_configured_lifetimes()
    {
        var (status, generated) = await _host.PostV2Async("/v2/token/generate", _default, new { email = "lifetime@example.com" });
        Assert.Equal(200, status);
        // The test host's configuration: identity 3600 s, refresh 86400 s, refresh from 900 s.
        Assert.Equal(new TokenLifetimes(3_600, 86_400, 900), IssuedLifetimes(generated));
    }
}
