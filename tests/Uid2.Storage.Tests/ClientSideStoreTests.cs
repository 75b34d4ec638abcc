using Uid2.Core.ClientSide;
using Xunit.Abstractions;

namespace Uid2.Storage.Tests;

/// <summary>CSTG key pairs and per-site domain and app names, on every provider.</summary>
public abstract class ClientSideStoreTests(ITestOutputHelper output) : StoreTestBase
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_717_171_717_123);

    protected ITestOutputHelper Output { get; } = output;

    public static ClientSideKeypair SampleKeypair(string subscriptionId, int siteId, bool disabled = false, DateTimeOffset? created = null)
    {
        var pair = ClientSideKeys.Generate();
        return new ClientSideKeypair(subscriptionId, siteId, pair.PublicKey, pair.PrivateKey, created ?? T0, disabled);
    }

    [StoreFact]
    public async Task Keypairs_and_names_round_trip_through_the_snapshot()
    {
        await using var store = await Target.OpenInitializedAsync();
        var empty = await store.LoadSnapshotAsync();
        Assert.Empty(empty.ClientSideKeypairs!);
        Assert.Empty(empty.DomainNames!);
        Assert.Empty(empty.AppNames!);

        var a = SampleKeypair("bbbbbbbbbb", 20, created: T0.AddSeconds(1));
        var b = SampleKeypair("aaaaaaaaaa", 20, disabled: true, created: T0.AddSeconds(2));
        var c = SampleKeypair("cccccccccc", 10);
        await store.AddClientSideKeypairAsync(a);
        await store.AddClientSideKeypairAsync(b);
        await store.AddClientSideKeypairAsync(c);
        await store.SetDomainNamesAsync(20, ["z.example", "a.example", "m.example", "a.example"]);
        await store.SetDomainNamesAsync(10, ["localhost"]);
        await store.SetAppNamesAsync(20, ["com.example.App"]);

        var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false);
        Assert.Equal([c, a, b], snapshot.ClientSideKeypairs!); // by site, then created
        Assert.Equal(["a.example", "m.example", "z.example"], snapshot.DomainNames![20]);
        Assert.Equal(["localhost"], snapshot.DomainNames[10]);
        Assert.Equal(["com.example.App"], snapshot.AppNames![20]);
        Assert.False(snapshot.AppNames.ContainsKey(10));

        // Replacing is a replacement, and an empty list removes the site.
        await store.SetDomainNamesAsync(20, ["b.example"]);
        await store.SetDomainNamesAsync(10, []);
        snapshot = await store.LoadSnapshotAsync();
        Assert.Equal(["b.example"], snapshot.DomainNames![20]);
        Assert.False(snapshot.DomainNames.ContainsKey(10));

        // Survives reopening.
        await using var again = await Target.OpenInitializedAsync();
        Assert.Equal([c, a, b], (await again.LoadSnapshotAsync()).ClientSideKeypairs!);
    }

    [StoreFact]
    public async Task Duplicate_subscription_id_is_a_conflict_and_disable_toggles()
    {
        await using var store = await Target.OpenInitializedAsync();
        await store.AddClientSideKeypairAsync(SampleKeypair("dupdupdup1", 5));
        var ex = await Assert.ThrowsAsync<StoreConflictException>(() => store.AddClientSideKeypairAsync(SampleKeypair("dupdupdup1", 6)));
        Assert.Contains("dupdupdup1", ex.Message);

        Assert.True(await store.SetClientSideKeypairDisabledAsync("dupdupdup1", true));
        Assert.True((await store.LoadSnapshotAsync()).ClientSideKeypairs!.Single().Disabled);
        Assert.True(await store.SetClientSideKeypairDisabledAsync("dupdupdup1", false));
        Assert.False((await store.LoadSnapshotAsync()).ClientSideKeypairs!.Single().Disabled);
        Assert.False(await store.SetClientSideKeypairDisabledAsync("missing000", true));
    }

    [StoreFact]
    public async Task Every_cstg_write_bumps_the_version()
    {
        await using var store = await Target.OpenInitializedAsync();
        var last = await store.GetVersionAsync();

        async Task AssertBumped(string what)
        {
            var now = await store.GetVersionAsync();
            Assert.True(now > last, $"version did not increase after {what}");
            last = now;
        }

        await store.AddClientSideKeypairAsync(SampleKeypair("vvvvvvvvv1", 7)); await AssertBumped("keypair");
        await store.SetClientSideKeypairDisabledAsync("vvvvvvvvv1", true); await AssertBumped("disable");
        await store.SetDomainNamesAsync(7, ["example.com"]); await AssertBumped("domain names");
        await store.SetDomainNamesAsync(7, []); await AssertBumped("cleared domain names");
        await store.SetDomainNamesAsync(8, []); await AssertBumped("empty domain names on an empty site");
        await store.SetAppNamesAsync(7, ["com.example"]); await AssertBumped("app names");

        foreach (var sql in new[]
                 {
                     "UPDATE client_side_keypairs SET disabled = false WHERE site_id = 7;".Replace("false", Target.Provider == "sqlite" ? "0" : "false"),
                     "UPDATE site_app_names SET name = 'com.other' WHERE site_id = 7;",
                     "DELETE FROM site_app_names WHERE site_id = 7;",
                     "DELETE FROM client_side_keypairs WHERE site_id = 7;",
                 })
        {
            Assert.Equal(1, await Target.ExecuteSqlAsync(sql));
            await AssertBumped(sql);
        }
        Assert.Equal(last, (await store.LoadSnapshotAsync()).Version);
    }

    [StoreFact]
    public async Task A_store_created_before_cstg_gains_the_tables_on_initialize()
    {
        await using (var store = await Target.OpenInitializedAsync())
            await store.AddParticipantAsync(StoreContractTests.SampleParticipant(3));
        await Target.ExecuteSqlAsync(Target.Provider == "sqlite"
            ? "DROP TABLE client_side_keypairs; DROP TABLE site_domain_names; DROP TABLE site_app_names;"
            : "DROP TABLE client_side_keypairs, site_domain_names, site_app_names; DELETE FROM schema_migrations WHERE version >= 2;");

        await using var upgraded = await Target.OpenInitializedAsync();
        var before = await upgraded.GetVersionAsync();
        await upgraded.AddClientSideKeypairAsync(SampleKeypair("upgrade001", 3));
        await upgraded.SetDomainNamesAsync(3, ["example.com"]);
        Assert.True(await upgraded.GetVersionAsync() > before);
        var snapshot = await upgraded.LoadSnapshotAsync();
        Assert.Single(snapshot.ClientSideKeypairs!);
        Assert.Equal(["example.com"], snapshot.DomainNames![3]);
        Assert.NotNull(await upgraded.GetParticipantAsync(3));
    }

    [StoreFact]
    public void A_keypair_never_prints_its_private_key()
    {
        var keypair = SampleKeypair("printme001", 1);
        Assert.DoesNotContain(keypair.PrivateKey, keypair.ToString());
        Assert.DoesNotContain(keypair.PrivateKey[9..], keypair.ToString());
        Assert.Contains(keypair.PublicKey, keypair.ToString());
    }
}

public sealed class SqliteClientSideStoreTests(ITestOutputHelper output) : ClientSideStoreTests(output)
{
    protected override StoreTarget NewTarget() => new SqliteTarget();
}

public sealed class PostgresClientSideStoreTests(ITestOutputHelper output) : ClientSideStoreTests(output), IPostgresTests
{
    protected override StoreTarget NewTarget() => new PostgresTarget();
}
