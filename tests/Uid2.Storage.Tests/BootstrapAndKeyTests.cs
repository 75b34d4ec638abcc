using Uid2.Core.Keys;

namespace Uid2.Storage.Tests;

public abstract class BootstrapAndKeyTests : StoreTestBase
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly int[] Reserved = [ReservedSites.Master, ReservedSites.Refresh, ReservedSites.FallbackPublisher];

    [StoreFact]
    public async Task Bootstrapper_creates_salts_and_keys_once()
    {
        var time = new ManualTimeProvider(T0);
        await using var store = Target.Open();
        Assert.True(await StoreBootstrapper.EnsureInitializedAsync(store, time, 1000, default));
        var first = await store.LoadSnapshotAsync();
        Assert.NotNull(first.Salts);
        Assert.Equal(1000, first.Salts.Buckets.Count);
        Assert.Equal(1000, first.Salts.Buckets.Select(b => b.CurrentSalt).Distinct().Count());
        Assert.Equal(44, first.Salts.FirstLevelSalt.Length);
        Assert.All(first.Salts.Buckets, b => Assert.Equal(T0.ToUnixTimeMilliseconds(), b.LastUpdatedMs));

        var ring = new KeyRing(first.Keys);
        Assert.Equal(3, first.Keys.Count);
        foreach (var site in Reserved)
        {
            var key = ring.GetActiveKey(site, T0);
            Assert.NotNull(key);
            Assert.Equal(T0, key.Activates);
            Assert.Equal(T0.AddDays(30), key.Expires);
        }
        Assert.Equal(3, first.Keys.Select(k => Convert.ToHexString(k.Secret)).Distinct().Count());

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(await StoreBootstrapper.EnsureInitializedAsync(store, time, 1000, default));
        var second = await store.LoadSnapshotAsync();
        Assert.Equal(first.Version, second.Version);
        Assert.Equal(first.Salts.FirstLevelSalt, second.Salts!.FirstLevelSalt);
    }

    [StoreFact]
    public async Task Concurrent_bootstrappers_on_one_database_create_one_set()
    {
        for (var round = 0; round < 5; round++)
        {
            await using var db = await CreateExtraTargetAsync();
            var time = new ManualTimeProvider(T0);
            await using var a = db.Open();
            await using var b = db.Open();
            var results = await Task.WhenAll(
                Task.Run(() => StoreBootstrapper.EnsureInitializedAsync(a, time, 5000, default)),
                Task.Run(() => StoreBootstrapper.EnsureInitializedAsync(b, time, 5000, default)));
            Assert.Contains(true, results);

            var snapshot = await a.LoadSnapshotAsync();
            Assert.Equal(3, snapshot.Keys.Count);
            Assert.Equal([1, 2, 3], snapshot.Keys.Select(k => k.Id).Order());
            Assert.Equal(Reserved.Order(), snapshot.Keys.Select(k => k.SiteId).Order());
            Assert.Equal(5000, snapshot.Salts!.Buckets.Count);
            Assert.Equal(snapshot.Salts.FirstLevelSalt, (await b.LoadSnapshotAsync()).Salts!.FirstLevelSalt);
        }
    }

    [StoreFact]
    public async Task Concurrent_key_maintenance_adds_each_key_once_with_distinct_ids()
    {
        var time = new ManualTimeProvider(T0);
        await using var a = Target.Open();
        await using var b = Target.Open();
        await a.InitializeAsync();
        await b.InitializeAsync();
        var sites = Enumerable.Range(100, 20).ToArray();
        var added = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            KeyMaintenance.EnsureActiveKeysAsync(i % 2 == 0 ? a : b, sites, time, new KeyPolicy(), default))));
        Assert.Equal(23, added.Sum(x => x.Count));
        var keys = (await a.LoadSnapshotAsync()).Keys;
        Assert.Equal(Enumerable.Range(1, 23), keys.Select(k => k.Id));
        Assert.Equal(23, keys.Select(k => k.SiteId).Distinct().Count());
    }

    [StoreFact]
    public async Task Key_maintenance_rotates_before_expiry_and_replaces_expired_keys()
    {
        var time = new ManualTimeProvider(T0);
        var policy = new KeyPolicy();
        await using var store = Target.Open();
        await store.InitializeAsync();

        var initial = await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default);
        Assert.Equal(4, initial.Count);
        Assert.Equal([1, 2, 3, 4], initial.Select(k => k.Id));
        Assert.Equal(Reserved.Append(123), initial.Select(k => k.SiteId));
        Assert.All(initial, k => Assert.True(k.IsActiveAt(T0)));
        Assert.Empty(await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default));

        // 22 days in: the keys expire in 8 days, more than the 7-day lead.
        time.Set(T0.AddDays(22));
        Assert.Empty(await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default));

        // 23 days in: within the lead, so each site gets a successor activating in an hour.
        var rotationTime = T0.AddDays(23);
        time.Set(rotationTime);
        var successors = await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default);
        Assert.Equal(4, successors.Count);
        Assert.Equal([5, 6, 7, 8], successors.Select(k => k.Id));
        Assert.All(successors, k =>
        {
            Assert.Equal(rotationTime, k.Created);
            Assert.Equal(rotationTime.AddHours(1), k.Activates);
            Assert.Equal(rotationTime.AddHours(1).AddDays(30), k.Expires);
        });
        Assert.Empty(await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default));

        // The old key stays active until its successor activates, then the successor takes over.
        var ring = new KeyRing((await store.LoadSnapshotAsync()).Keys);
        Assert.Equal(4, ring.GetActiveKey(123, rotationTime.AddMinutes(30))!.Id);
        Assert.Equal(8, ring.GetActiveKey(123, rotationTime.AddHours(2))!.Id);
        time.Set(T0.AddDays(31));
        Assert.Empty(await KeyMaintenance.EnsureActiveKeysAsync(store, [123], time, policy, default));

        // Long after everything expired (nobody ran maintenance): fresh keys activating now, no successor needed.
        var late = T0.AddDays(200);
        time.Set(late);
        var fresh = await KeyMaintenance.EnsureActiveKeysAsync(store, [123, 456], time, policy, default);
        Assert.Equal(5, fresh.Count);
        Assert.Equal([9, 10, 11, 12, 13], fresh.Select(k => k.Id));
        Assert.All(fresh, k => Assert.Equal(late, k.Activates));
        Assert.Equal(456, new KeyRing((await store.LoadSnapshotAsync()).Keys).ActivePublisherKey(456, late)!.SiteId);
    }
}

/// <summary>Key planning: pure, no store.</summary>
public sealed class KeyPlanTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_successor_never_leaves_a_gap_when_the_current_key_expires_within_the_delay()
    {
        var now = T0;
        var existing = new[] { new EncryptionKey(7, 123, now.AddDays(-30), now.AddDays(-30), now.AddMinutes(20), new byte[32]) };
        var added = KeyMaintenance.Plan(existing, [123], now, new KeyPolicy());
        var successor = Assert.Single(added);
        Assert.Equal(8, successor.Id);
        Assert.Equal(now.AddMinutes(20), successor.Activates);
    }

    [Fact]
    public void Policies_that_would_rotate_forever_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new KeyPolicy { Lifetime = TimeSpan.FromDays(7) }.Validate());
        new KeyPolicy().Validate();
    }
}


public sealed class SqliteBootstrapAndKeyTests : BootstrapAndKeyTests
{
    protected override StoreTarget NewTarget() => new SqliteTarget();
}

public sealed class PostgresBootstrapAndKeyTests : BootstrapAndKeyTests, IPostgresTests
{
    protected override StoreTarget NewTarget() => new PostgresTarget();
}
