using System.Text.Json;
using System.Text.RegularExpressions;
using Uid2.Admin;
using Uid2.Core.ClientSide;
using Uid2.Storage;

namespace Uid2.Admin.Tests;

/// <summary><c>uid2-admin cstg …</c> and <c>uid2-admin site …</c>.</summary>
public sealed class ClientSideCliTests : CliTestBase
{
    private async Task CreateParticipantAsync(int siteId) =>
        Assert.Equal(0, (await RunAsync("participant", "create", "--name", "P" + siteId, "--site-id", siteId.ToString(), "--roles", "generator")).ExitCode);

    private static void AssertError(Result r, string contains)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("error: ", r.Err);
        Assert.Contains(contains, r.Err, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public async Task Cstg_create_json_prints_the_public_parts_and_stores_a_working_keypair()
    {
        await CreateParticipantAsync(321);
        var r = await RunAsync("cstg", "create", "--site-id", "321", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Err);
        var line = Assert.Single(r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var json = JsonDocument.Parse(line);
        Assert.Equal(["subscriptionId", "serverPublicKey"], json.RootElement.EnumerateObject().Select(p => p.Name));
        var subscriptionId = json.RootElement.GetProperty("subscriptionId").GetString()!;
        var publicKey = json.RootElement.GetProperty("serverPublicKey").GetString()!;
        Assert.Matches(new Regex("^[A-Za-z0-9]{10}$"), subscriptionId);
        Assert.StartsWith("UID2-X-L-", publicKey);

        var snapshot = await SnapshotAsync();
        var stored = Assert.Single(snapshot.ClientSideKeypairs!);
        Assert.Equal(subscriptionId, stored.SubscriptionId);
        Assert.Equal(321, stored.SiteId);
        Assert.Equal(publicKey, stored.PublicKey);
        Assert.False(stored.Disabled);
        Assert.Equal(Now, stored.Created);
        Assert.StartsWith("UID2-Y-L-", stored.PrivateKey);
        Assert.DoesNotContain(stored.PrivateKey[9..], r.Out);
        Assert.Contains(snapshot.Keys, k => k.SiteId == 321);

        // The stored pair is a pair: a browser's ECDH with the public key agrees with the operator's with the private key.
        using var browser = System.Security.Cryptography.ECDiffieHellman.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        Assert.True(ClientSideKeys.TryDecodeKeyText(publicKey, out var serverSpki));
        using var server = System.Security.Cryptography.ECDiffieHellman.Create();
        server.ImportSubjectPublicKeyInfo(serverSpki, out _);
        var browserSecret = browser.DeriveRawSecretAgreement(server.PublicKey);
        Assert.True(ClientSideKeys.TryDecodeKeyText(stored.PrivateKey, out var serverPkcs8));
        Assert.True(ClientSideKeys.TryDeriveSharedSecret(serverPkcs8, browser.ExportSubjectPublicKeyInfo(), out var operatorSecret));
        Assert.Equal(browserSecret, operatorSecret);

        // A second pair for the same site gets another subscription id.
        var second = await RunAsync("cstg", "create", "--site-id", "321");
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("Subscription id:", second.Out);
        Assert.Contains("no domain names yet", second.Out);
        Assert.Equal(2, (await SnapshotAsync()).ClientSideKeypairs!.Select(k => k.SubscriptionId).Distinct().Count());
    }

    [Fact]
    public async Task Cstg_create_needs_an_existing_participant()
    {
        AssertError(await RunAsync("cstg", "create", "--site-id", "77"), "no participant with site id 77");
        AssertError(await RunAsync("cstg", "create", "--site-id", "0"), "invalid site id");
        Assert.Equal(1, (await RunAsync("cstg", "create")).ExitCode);
    }

    [Fact]
    public async Task Cstg_disable_and_enable()
    {
        await CreateParticipantAsync(5);
        var created = await RunAsync("cstg", "create", "--site-id", "5", "--json");
        var id = JsonDocument.Parse(created.Out).RootElement.GetProperty("subscriptionId").GetString()!;
        Assert.Equal(0, (await RunAsync("cstg", "disable", "--subscription-id", id)).ExitCode);
        Assert.True((await SnapshotAsync()).ClientSideKeypairs!.Single().Disabled);
        Assert.Equal(0, (await RunAsync("cstg", "enable", "--subscription-id", id)).ExitCode);
        Assert.False((await SnapshotAsync()).ClientSideKeypairs!.Single().Disabled);
        AssertError(await RunAsync("cstg", "disable", "--subscription-id", "nope000000"), "no cstg key pair");
    }

    [Fact]
    public async Task Site_domains_set_show_and_clear()
    {
        await CreateParticipantAsync(8);
        var r = await RunAsync("site", "domains", "--site-id", "8", "--set", "Example.COM, example.co.uk ,localhost,example.com,127.0.0.1", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("""{"siteId":8,"domainNames":["127.0.0.1","example.co.uk","example.com","localhost"]}""", r.Out.Trim());
        Assert.Equal(["127.0.0.1", "example.co.uk", "example.com", "localhost"], (await SnapshotAsync()).DomainNames![8]);

        // Replace, not add.
        Assert.Equal(0, (await RunAsync("site", "domains", "--site-id", "8", "--set", "other.org")).ExitCode);
        Assert.Equal(["other.org"], (await SnapshotAsync()).DomainNames![8]);
        var shown = await RunAsync("site", "domains", "--site-id", "8");
        Assert.Contains("other.org", shown.Out);

        Assert.Equal(0, (await RunAsync("site", "domains", "--site-id", "8", "--set", "")).ExitCode);
        Assert.False((await SnapshotAsync()).DomainNames!.ContainsKey(8));
        Assert.Contains("no domain names", (await RunAsync("site", "domains", "--site-id", "8")).Out);
    }

    [Theory]
    [InlineData("www.example.com", "use 'example.com'")]
    [InlineData("shop.example.com.au", "use 'example.com.au'")]
    [InlineData("co.uk", "public suffix")]
    [InlineData("com", "public suffix")]
    [InlineData("exa_mple.com", "not a valid host name")]
    [InlineData("-example.com", "not a valid host name")]
    [InlineData("https://example.com", "not a valid host name")]
    [InlineData("example.com/path", "not a valid host name")]
    public async Task Site_domains_rejects_names_that_can_never_match(string name, string message)
    {
        await CreateParticipantAsync(9);
        AssertError(await RunAsync("site", "domains", "--site-id", "9", "--set", "good.com," + name), message);
        Assert.False((await SnapshotAsync()).DomainNames!.ContainsKey(9)); // nothing written
    }

    [Fact]
    public async Task Site_domains_needs_an_existing_participant()
    {
        AssertError(await RunAsync("site", "domains", "--site-id", "404", "--set", "example.com"), "no participant with site id 404");
    }

    [Fact]
    public async Task Site_app_names_are_stored_as_given()
    {
        await CreateParticipantAsync(12);
        var r = await RunAsync("site", "app-names", "--site-id", "12", "--set", "com.Example.App,123456789", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(["123456789", "com.Example.App"], (await SnapshotAsync()).AppNames![12]);
        AssertError(await RunAsync("site", "app-names", "--site-id", "12", "--set", "has space"), "not a valid app name");
    }
}
