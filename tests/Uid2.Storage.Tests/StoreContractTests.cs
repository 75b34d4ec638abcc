using System.Diagnostics;
using System.Security.Cryptography;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Xunit.Abstractions;

namespace Uid2.Storage.Tests;

/// <summary>The behaviour every <see cref="IUid2Store"/> provider must have; one derived class per provider.</summary>
public abstract class StoreContractTests(ITestOutputHelper output) : StoreTestBase
{
    protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_717_171_717_123);

    protected ITestOutputHelper Output { get; } = output;

    protected Task<IUid2Store> OpenInitializedAsync() => Target.OpenInitializedAsync();

    public static Participant SampleParticipant(int siteId = 123) =>
        new(siteId, "Publisher " + siteId, Role.Generator | Role.Sharer, true, T0);

    public static ApiKeyRecord SampleApiKey(int siteId = 123, string? keyId = null)
    {
        var generated = ApiKeys.Generate(siteId);
        return new ApiKeyRecord(keyId ?? generated.KeyId, generated.KeyHash, generated.KeySalt, siteId, "key for " + siteId,
            Role.Generator | Role.IdReader, ApiKeys.GenerateClientSecret(), false, T0.AddSeconds(1));
    }

    public static EncryptionKey SampleKey(int id, int siteId) =>
        new(id, siteId, T0, T0.AddMinutes(id), T0.AddDays(30), RandomNumberGenerator.GetBytes(32));

    public static SaltSet SampleSalts(int count = 5) =>
        new("first-level-salt", Enumerable.Range(0, count)
            .Select(i => new SaltBucket(i, 1_000 + i, "salt-" + i, 2_000 + i, i % 2 == 0 ? null : "previous-" + i)).ToList());

    [StoreFact]
    public async Task Initialize_is_idempotent()
    {
        await using (var store = await OpenInitializedAsync())
        {
            await store.InitializeAsync();
            await store.AddParticipantAsync(SampleParticipant());
        }
        await using var again = await OpenInitializedAsync();
        var version = await again.GetVersionAsync();
        await again.InitializeAsync();
        Assert.NotNull(await again.GetParticipantAsync(123));
        Assert.Equal(version, await again.GetVersionAsync());
    }

    [StoreFact]
    public async Task Every_entity_round_trips_through_the_snapshot()
    {
        await using var store = await OpenInitializedAsync();
        var empty = await store.LoadSnapshotAsync();
        Assert.Empty(empty.Participants);
        Assert.Empty(empty.ApiKeys);
        Assert.Empty(empty.Keys);
        Assert.Null(empty.Salts);
        Assert.Empty(empty.OptOuts);

        var participant = SampleParticipant();
        var disabled = new Participant(456, "Disabled DSP", Role.IdReader, false, T0.AddDays(-1));
        var apiKey = SampleApiKey();
        var disabledKey = SampleApiKey(456) with { Disabled = true, Roles = Role.None };
        var keys = new[] { SampleKey(1, ReservedSites.Master), SampleKey(2, ReservedSites.Refresh), SampleKey(3, 123) };
        var salts = SampleSalts();
        await store.AddParticipantAsync(participant);
        await store.AddParticipantAsync(disabled);
        await store.AddApiKeyAsync(apiKey);
        await store.AddApiKeyAsync(disabledKey);
        await store.AddKeysAsync(keys);
        await store.SaveSaltsAsync(salts);
        var optOut = await store.AddOptOutAsync([1, 2, 3], [4, 5, 6, 7], T0);

        var snapshot = await store.LoadSnapshotAsync();
        Assert.Equal(await store.GetVersionAsync(), snapshot.Version);
        Assert.Equal([participant, disabled], snapshot.Participants);
        Assert.Equal([apiKey, disabledKey], snapshot.ApiKeys);
        Assert.Equal(keys.Length, snapshot.Keys.Count);
        foreach (var (expected, actual) in keys.Zip(snapshot.Keys))
        {
            Assert.Equal(expected.Id, actual.Id);
            Assert.Equal(expected.SiteId, actual.SiteId);
            Assert.Equal(expected.Created, actual.Created);
            Assert.Equal(expected.Activates, actual.Activates);
            Assert.Equal(expected.Expires, actual.Expires);
            Assert.Equal(expected.Secret, actual.Secret);
        }
        Assert.NotNull(snapshot.Salts);
        Assert.Equal(salts.FirstLevelSalt, snapshot.Salts.FirstLevelSalt);
        Assert.Equal(salts.Buckets, snapshot.Salts.Buckets);
        var stored = Assert.Single(snapshot.OptOuts);
        Assert.Equal(optOut.Id, stored.Id);
        Assert.Equal(new byte[] { 1, 2, 3 }, stored.FirstLevelHash);
        Assert.Equal(new byte[] { 4, 5, 6, 7 }, stored.AdvertisingId);
        Assert.Equal(T0, stored.Timestamp);

        Assert.Equal(participant, await store.GetParticipantAsync(123));
        Assert.Null(await store.GetParticipantAsync(999));

        var withoutOptOuts = await store.LoadSnapshotAsync(includeOptOuts: false);
        Assert.Empty(withoutOptOuts.OptOuts);
        Assert.Equal(2, withoutOptOuts.Participants.Count);
        Assert.Equal(snapshot.Version, withoutOptOuts.Version);
    }

    [StoreFact]
    public async Task Saving_salts_replaces_the_whole_set()
    {
        await using var store = await OpenInitializedAsync();
        await store.SaveSaltsAsync(SampleSalts(10));
        var smaller = new SaltSet("another", [new SaltBucket(0, 5, "x", 6, "y"), new SaltBucket(1, 7, "z", 8, null)]);
        await store.SaveSaltsAsync(smaller);
        var loaded = (await store.LoadSnapshotAsync()).Salts!;
        Assert.Equal("another", loaded.FirstLevelSalt);
        Assert.Equal(smaller.Buckets, loaded.Buckets);

        var larger = SampleSalts(20);
        await store.SaveSaltsAsync(larger);
        Assert.Equal(larger.Buckets, (await store.LoadSnapshotAsync()).Salts!.Buckets);

        Assert.False(await store.SaveSaltsIfAbsentAsync(() => throw new InvalidOperationException("must not be called")));
    }

    [StoreFact]
    public async Task Salts_are_saved_if_absent_exactly_once_under_concurrency()
    {
        await using var a = await OpenInitializedAsync();
        await using var b = await OpenInitializedAsync();
        var calls = 0;
        SaltSet Create()
        {
            Interlocked.Increment(ref calls);
            return SampleSalts(1000);
        }
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            Task.Run(() => (i % 2 == 0 ? a : b).SaveSaltsIfAbsentAsync(Create))));
        Assert.Equal(1, results.Count(r => r));
        Assert.Equal(1, calls);
        Assert.Equal(1000, (await b.LoadSnapshotAsync()).Salts!.Buckets.Count);
    }

    [StoreFact]
    public async Task Keyset_sharing_and_participant_types_round_trip_and_bump_the_version()
    {
        await using var store = await OpenInitializedAsync();
        var admin = (IStoreAdministration)store;
        await store.AddParticipantAsync(SampleParticipant(10) with { Types = ClientTypes.Dsp | ClientTypes.Publisher });
        await store.AddParticipantAsync(SampleParticipant(11));
        await store.AddParticipantAsync(SampleParticipant(12));
        Assert.Equal(ClientTypes.Dsp | ClientTypes.Publisher, (await store.GetParticipantAsync(10))!.Types);

        var before = await store.GetVersionAsync();
        await admin.SetKeysetSharingAsync(new KeysetSharing(11, [12, 10, 12], ClientTypes.None, true));
        Assert.True(await store.GetVersionAsync() > before);
        await admin.SetKeysetSharingAsync(new KeysetSharing(12, null, ClientTypes.Advertiser, false));
        Assert.True(await admin.SetParticipantTypesAsync(12, ClientTypes.Advertiser));
        Assert.False(await admin.SetParticipantTypesAsync(99, ClientTypes.Advertiser));

        var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false);
        var sets = snapshot.Keysets!;
        Assert.Equal(2, sets.Count);
        Assert.Equal([10, 12], sets[0].AllowedSites); // stored once each, in order
        Assert.True(sets[0].Enabled);
        Assert.Null(sets[1].AllowedSites);
        Assert.Equal(ClientTypes.Advertiser, sets[1].AllowedTypes);
        Assert.False(sets[1].Enabled);

        // The reference's rules over what was stored.
        var policy = new KeysetAccessPolicy(snapshot);
        Assert.True(policy.CanAccess(11, 11, idReader: false));   // the owner
        Assert.True(policy.CanAccess(11, 12, idReader: false));   // listed
        Assert.False(policy.CanAccess(11, 13, idReader: true));   // an explicit list excludes unlisted ID readers
        Assert.False(policy.CanAccess(12, 12, idReader: true));   // disabled: nobody, not even the owner
        Assert.True(policy.CanAccess(10, 13, idReader: true));    // no row: every ID reader
        Assert.False(policy.CanAccess(10, 13, idReader: false));
        Assert.True(policy.CanAccess(ReservedSites.Master, 13, idReader: false));
        Assert.False(policy.CanAccess(ReservedSites.Refresh, 13, idReader: true));

        // Replacing keeps one row per site; a type allowance adds the sites of that type to an explicit list.
        await admin.SetKeysetSharingAsync(new KeysetSharing(11, [], ClientTypes.Advertiser, true));
        snapshot = await store.LoadSnapshotAsync(includeOptOuts: false);
        Assert.Equal(2, snapshot.Keysets!.Count);
        policy = new KeysetAccessPolicy(snapshot);
        Assert.True(policy.CanAccess(11, 12, idReader: false));   // 12 is an ADVERTISER
        Assert.False(policy.CanAccess(11, 10, idReader: true));   // 10 is not
        Assert.Equal([12], policy.AllowedSites(11)!.Order());
    }

    [StoreFact]
    public async Task Version_increases_on_every_kind_of_write()
    {
        await using var store = await OpenInitializedAsync();
        var last = await store.GetVersionAsync();

        async Task AssertBumped(string what)
        {
            var now = await store.GetVersionAsync();
            Assert.True(now > last, $"version did not increase after {what}");
            last = now;
        }

        await store.AddParticipantAsync(SampleParticipant(10)); await AssertBumped("participant");
        await store.AddApiKeyAsync(SampleApiKey(10)); await AssertBumped("api key");
        await store.CreateParticipantAsync(SampleParticipant(11), SampleApiKey(11)); await AssertBumped("participant + key");
        await store.AddKeysAsync([SampleKey(1, 10)]); await AssertBumped("keys");
        await store.AddKeysAtomicallyAsync(_ => [SampleKey(2, 10)]); await AssertBumped("atomic keys");
        await store.SaveSaltsAsync(SampleSalts()); await AssertBumped("salts");
        await store.SaveSaltsAsync(SampleSalts(2)); await AssertBumped("smaller salts");
        var beforeOptOut = await store.GetVersionAsync();
        await store.AddOptOutAsync([1], [2], T0);
        Assert.Equal(beforeOptOut, await store.GetVersionAsync()); // read incrementally, never a full reload

        // Writers that bypass the store class (another tool, a manual fix) bump it too: the triggers do it.
        foreach (var sql in new[]
                 {
                     "UPDATE participants SET name = 'renamed' WHERE site_id = 10;",
                     "UPDATE api_keys SET name = 'renamed' WHERE site_id = 10;",
                     "UPDATE encryption_keys SET expires = expires + 1 WHERE id = 1;",
                     "UPDATE salt_meta SET first_level_salt = 'x';",
                     "UPDATE salt_blocks SET sealed = sealed WHERE first_bucket = 0;",
                     "DELETE FROM api_keys WHERE site_id = 11;",
                     "DELETE FROM participants WHERE site_id = 11;",
                     "DELETE FROM encryption_keys WHERE id = 2;",
                     "DELETE FROM salt_blocks WHERE first_bucket = 0;",
                     "DELETE FROM salt_meta;",
                     "DELETE FROM optouts;",
                 })
        {
            Assert.Equal(1, await Target.ExecuteSqlAsync(sql));
            await AssertBumped(sql);
        }

        // An opt-out update is what a repeated opt-out does (a new id): read incrementally, so no version bump.
        await store.AddOptOutAsync([3], [4], T0);
        var beforeUpdate = await store.GetVersionAsync();
        Assert.Equal(1, await Target.ExecuteSqlAsync("UPDATE optouts SET timestamp_ms = timestamp_ms + 1;"));
        Assert.Equal(beforeUpdate, await store.GetVersionAsync());
        last = beforeUpdate;

        var noChange = await store.AddKeysAtomicallyAsync(_ => []);
        Assert.Empty(noChange);
        Assert.Equal(last, await store.GetVersionAsync());
        Assert.Equal(last, (await store.LoadSnapshotAsync()).Version);
    }

    [StoreFact]
    public async Task Opt_outs_survive_reopening_and_load_incrementally()
    {
        var records = new List<OptOutRecord>();
        await using (var store = await OpenInitializedAsync())
        {
            for (var i = 0; i < 5; i++)
                records.Add(await store.AddOptOutAsync([(byte)i, 0xAA], [(byte)(i + 100)], T0.AddSeconds(i)));
        }
        Assert.Equal(records.Select(r => r.Id).Order(), records.Select(r => r.Id));
        Assert.Equal(records.Count, records.Select(r => r.Id).Distinct().Count());

        await using var reopened = await OpenInitializedAsync();
        var all = await reopened.LoadOptOutsAfterAsync(0);
        Assert.Equal(records.Select(r => r.Id), all.Select(r => r.Id));
        Assert.Equal(records.Select(r => r.Timestamp), all.Select(r => r.Timestamp));
        Assert.Equal(records.Select(r => Convert.ToHexString(r.FirstLevelHash)), all.Select(r => Convert.ToHexString(r.FirstLevelHash)));
        Assert.Equal(records.Select(r => Convert.ToHexString(r.AdvertisingId)), all.Select(r => Convert.ToHexString(r.AdvertisingId)));

        var after = await reopened.LoadOptOutsAfterAsync(records[2].Id);
        Assert.Equal(records.Skip(3).Select(r => r.Id), after.Select(r => r.Id));
        Assert.Empty(await reopened.LoadOptOutsAfterAsync(records[^1].Id));

        var next = await reopened.AddOptOutAsync([9], [9], T0);
        Assert.True(next.Id > records[^1].Id);
    }

    [StoreFact]
    public async Task Opt_outs_read_a_page_at_a_time_give_the_same_rows_in_order()
    {
        await using var store = await OpenInitializedAsync();
        for (var i = 0; i < 25; i++) await store.AddOptOutAsync([(byte)i, .. Enumerable.Repeat((byte)0x5A, 31)], [(byte)i], T0.AddSeconds(i));
        var all = await store.LoadOptOutsAfterAsync(0);
        var pages = new List<IReadOnlyList<OptOutRecord>>();
        await IStoreOptOutPages.ReadAllAsync(store, 0, 10, page => { pages.Add(page); return Task.CompletedTask; }, default);
        Assert.Equal([10, 10, 5], pages.Select(p => p.Count));
        Assert.Equal(all.Select(r => r.Id), pages.SelectMany(p => p).Select(r => r.Id));
        var afterSome = new List<OptOutRecord>();
        await IStoreOptOutPages.ReadAllAsync(store, all[19].Id, 10, page => { afterSome.AddRange(page); return Task.CompletedTask; }, default);
        Assert.Equal(all.Skip(20).Select(r => r.Id), afterSome.Select(r => r.Id));
    }

    [StoreFact]
    public async Task A_batch_of_opt_outs_commits_together_with_the_same_rules_as_one()
    {
        await using var store = await OpenInitializedAsync();
        var batches = Assert.IsAssignableFrom<IStoreOptOutBatches>(store);
        byte[] a = [.. Enumerable.Repeat((byte)0xA1, 32)], b = [.. Enumerable.Repeat((byte)0xB2, 32)], c = [.. Enumerable.Repeat((byte)0xC3, 32)];
        var before = await store.AddOptOutAsync(c, [1], T0.AddMinutes(10));

        var records = await batches.AddOptOutsAsync(
        [
            new OptOutWrite(a, [1], T0),
            new OptOutWrite(b, [2], T0.AddMinutes(1)),
            new OptOutWrite(a, [3], T0.AddMinutes(2)),  // later repeat inside the batch: moves the row
            new OptOutWrite(b, [4], T0),                // earlier repeat inside the batch: the stored row comes back
            new OptOutWrite(c, [5], T0),                // earlier than what the store holds: unchanged
        ]);
        // Each input gets its identity's row as committed: the latest time in the batch or the store wins.
        Assert.Equal(5, records.Count);
        Assert.Equal(new byte[] { 3 }, records[0].AdvertisingId);
        Assert.Equal(records[0].Id, records[2].Id);
        Assert.Equal(T0.AddMinutes(2), records[2].Timestamp);
        Assert.Equal(records[1].Id, records[3].Id);
        Assert.Equal(new byte[] { 2 }, records[3].AdvertisingId);
        Assert.Equal(before.Id, records[4].Id);
        Assert.Equal(T0.AddMinutes(10), records[4].Timestamp);
        Assert.True(records[0].Id > before.Id && records[1].Id > before.Id);

        // Durable and visible to any reader, one row per identity, read incrementally after what was there.
        await using var reopened = await OpenInitializedAsync();
        var all = (await reopened.LoadSnapshotAsync()).OptOuts;
        Assert.Equal(3, all.Count);
        Assert.Equal(T0.AddMinutes(2), all.Single(r => r.FirstLevelHash.SequenceEqual(a)).Timestamp);
        Assert.Equal(2, (await reopened.LoadOptOutsAfterAsync(before.Id)).Count);
        Assert.Empty(await batches.AddOptOutsAsync([]));
    }

    [StoreFact]
    public async Task An_identity_has_one_opt_out_row_and_the_latest_time_wins()
    {
        await using var store = await OpenInitializedAsync();
        byte[] flh = [.. Enumerable.Repeat((byte)7, 32)];
        var first = await store.AddOptOutAsync(flh, [1, 1, 1], T0.AddMinutes(1));
        var other = await store.AddOptOutAsync([.. Enumerable.Repeat((byte)8, 32)], [2], T0);
        var version = await store.GetVersionAsync();

        // Earlier or equal: nothing changes, the stored row comes back.
        foreach (var earlier in new[] { T0, T0.AddMinutes(1) })
        {
            var same = await store.AddOptOutAsync(flh, [9, 9, 9], earlier);
            Assert.Equal(first.Id, same.Id);
            Assert.Equal(first.Timestamp, same.Timestamp);
            Assert.Equal(first.AdvertisingId, same.AdvertisingId);
        }

        // Later: the row takes the new time and advertising id and a new, higher id, so incremental readers see it.
        var later = await store.AddOptOutAsync(flh, [3, 3, 3], T0.AddMinutes(5));
        Assert.True(later.Id > other.Id);
        Assert.Equal(T0.AddMinutes(5), later.Timestamp);
        var moved = Assert.Single(await store.LoadOptOutsAfterAsync(other.Id));
        Assert.Equal(later.Id, moved.Id);
        Assert.Equal(new byte[] { 3, 3, 3 }, moved.AdvertisingId);
        Assert.Equal(version, await store.GetVersionAsync()); // never a full reload

        // Many repeats (a logout replayed, an admin command run twice): still one row per identity.
        for (var i = 0; i < 5; i++) await store.AddOptOutAsync(flh, [4], T0.AddMinutes(10 + i));
        var all = (await store.LoadSnapshotAsync()).OptOuts;
        Assert.Equal(2, all.Count);
        Assert.Equal(T0.AddMinutes(14), all.Single(r => r.FirstLevelHash.SequenceEqual(flh)).Timestamp);
        var next = await store.AddOptOutAsync([.. Enumerable.Repeat((byte)9, 32)], [5], T0);
        Assert.True(next.Id > all.Max(r => r.Id));
    }

    [StoreFact]
    public async Task Upgrading_a_store_with_duplicate_opt_outs_keeps_the_latest_row_of_each_identity()
    {
        await using (var store = await OpenInitializedAsync()) { }
        // Back to the previous schema: no unique index, duplicates as repeated logouts wrote them.
        var downgrade = Target.Provider == "sqlite"
            ? """
              DROP INDEX ux_optouts_first_level_hash;
              CREATE INDEX ix_optouts_first_level_hash ON optouts (first_level_hash);
              CREATE TRIGGER trg_optouts_update_version AFTER UPDATE ON optouts BEGIN UPDATE store_version SET version = version + 1 WHERE id = 1; END;
              ALTER TABLE api_keys DROP COLUMN previous_client_secret;
              ALTER TABLE api_keys DROP COLUMN previous_secret_expires_ms;
              ALTER TABLE participants DROP COLUMN client_types;
              DROP TABLE keysets;
              DELETE FROM schema_migrations WHERE version >= 2;
              """
            : """
              DROP INDEX ux_optouts_first_level_hash;
              CREATE INDEX ix_optouts_first_level_hash ON optouts (first_level_hash);
              DELETE FROM schema_migrations WHERE version >= 3;
              """;
        await Target.ExecuteSqlAsync(downgrade);
        await Target.ExecuteSqlAsync("""
            INSERT INTO optouts (first_level_hash, advertising_id, timestamp_ms) VALUES
              (X'AA', X'01', 100), (X'AA', X'02', 300), (X'AA', X'03', 200), (X'BB', X'04', 50), (X'BB', X'05', 50);
            """.Replace("X'", Target.Provider == "sqlite" ? "X'" : "'\\x"));

        await using var upgraded = await OpenInitializedAsync();
        var rows = (await upgraded.LoadSnapshotAsync()).OptOuts.OrderBy(r => r.FirstLevelHash[0]).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal((0xAA, 0x02, 300L), (rows[0].FirstLevelHash[0], rows[0].AdvertisingId[0], rows[0].Timestamp.ToUnixTimeMilliseconds()));
        Assert.Equal((0xBB, 0x05, 50L), (rows[1].FirstLevelHash[0], rows[1].AdvertisingId[0], rows[1].Timestamp.ToUnixTimeMilliseconds()));
        // And from now on one row per identity, with no full reload for a repeat.
        var version = await upgraded.GetVersionAsync();
        await upgraded.AddOptOutAsync([0xAA], [0x09], DateTimeOffset.FromUnixTimeMilliseconds(400));
        Assert.Equal(2, (await upgraded.LoadSnapshotAsync()).OptOuts.Count);
        Assert.Equal(version, await upgraded.GetVersionAsync());
    }

    [StoreFact]
    public async Task Duplicates_are_reported_as_conflicts()
    {
        await using var store = await OpenInitializedAsync();
        await store.AddParticipantAsync(SampleParticipant());
        var ex = await Assert.ThrowsAsync<StoreConflictException>(() => store.AddParticipantAsync(SampleParticipant()));
        Assert.Contains("123", ex.Message);

        var key = SampleApiKey();
        await store.AddApiKeyAsync(key);
        await Assert.ThrowsAsync<StoreConflictException>(() => store.AddApiKeyAsync(key));

        await store.AddKeysAsync([SampleKey(7, 123)]);
        var keyEx = await Assert.ThrowsAsync<StoreConflictException>(() => store.AddKeysAsync([SampleKey(8, 123), SampleKey(7, 123)]));
        Assert.Contains("7", keyEx.Message);
        Assert.DoesNotContain((await store.LoadSnapshotAsync()).Keys, k => k.Id == 8); // all or nothing

        // A failed CreateParticipant leaves nothing behind.
        await Assert.ThrowsAsync<StoreConflictException>(() => store.CreateParticipantAsync(SampleParticipant(500), key));
        Assert.Null(await store.GetParticipantAsync(500));
        await Assert.ThrowsAsync<StoreConflictException>(() => store.CreateParticipantAsync(SampleParticipant(), SampleApiKey(123)));
        Assert.Single((await store.LoadSnapshotAsync()).ApiKeys);
    }

    [StoreFact]
    public async Task Concurrent_key_maintenance_from_two_instances_creates_one_set()
    {
        var time = new ManualTimeProvider(T0);
        await using var a = await OpenInitializedAsync();
        await using var b = await OpenInitializedAsync();
        var added = await Task.WhenAll(
            Task.Run(() => KeyMaintenance.EnsureActiveKeysAsync(a, [], time, new KeyPolicy(), default)),
            Task.Run(() => KeyMaintenance.EnsureActiveKeysAsync(b, [], time, new KeyPolicy(), default)));
        Assert.Equal(3, added.Sum(x => x.Count));
        var keys = (await a.LoadSnapshotAsync()).Keys;
        Assert.Equal([1, 2, 3], keys.Select(k => k.Id));
        Assert.Equal(KeyMaintenance.ReservedSiteIds.Order(), keys.Select(k => k.SiteId).Order());
    }

    [StoreFact]
    public async Task Leader_lock_is_exclusive_across_instances_and_released_on_dispose()
    {
        await using var a = await OpenInitializedAsync();
        await using var b = await OpenInitializedAsync();
        var lockA = Assert.IsAssignableFrom<IStoreLeaderLock>(a);
        var lockB = Assert.IsAssignableFrom<IStoreLeaderLock>(b);

        var held = await lockA.TryAcquireAsync("key-rotation", default);
        Assert.NotNull(held);
        Assert.Null(await lockB.TryAcquireAsync("key-rotation", default));
        Assert.Null(await lockA.TryAcquireAsync("key-rotation", default)); // not re-entrant either

        var other = await lockB.TryAcquireAsync("salt-rotation", default); // names are independent
        Assert.NotNull(other);
        await other.DisposeAsync();

        await held.DisposeAsync();
        await held.DisposeAsync(); // idempotent
        var next = await lockB.TryAcquireAsync("key-rotation", default);
        Assert.NotNull(next);
        Assert.Null(await lockA.TryAcquireAsync("key-rotation", default));
        await next.DisposeAsync();
    }

    [StoreFact]
    public async Task A_million_salt_buckets_save_load_replace_and_rotate()
    {
        const int count = 1 << 20;
        var salts = SaltSetFactory.CreateRandom(count, T0.ToUnixTimeMilliseconds());
        await using var store = await OpenInitializedAsync();

        var sw = Stopwatch.StartNew();
        await store.SaveSaltsAsync(salts);
        var saved = sw.Elapsed;
        sw.Restart();
        var loaded = (await store.LoadSnapshotAsync()).Salts!;
        var load = sw.Elapsed;
        sw.Restart();
        var replacement = SaltSetFactory.CreateRandom(count, T0.ToUnixTimeMilliseconds() + 1);
        sw.Restart();
        await store.SaveSaltsAsync(replacement);
        var resave = sw.Elapsed;

        // A typical rotation: 1% of the buckets get a new salt.
        var rotated = new SaltSet(replacement.FirstLevelSalt, replacement.Buckets
            .Select(b => b.Id % 100 == 0 ? new SaltBucket(b.Id, 99, "rotated-" + b.Id, 100, b.CurrentSalt) : b).ToList());
        sw.Restart();
        await store.SaveSaltsAsync(rotated);
        var rotate = sw.Elapsed;
        Output.WriteLine($"{Target.Provider}: save {saved.TotalMilliseconds:F0} ms, load {load.TotalMilliseconds:F0} ms, " +
            $"replace all {resave.TotalMilliseconds:F0} ms, rotate 1% {rotate.TotalMilliseconds:F0} ms");
        var reloaded = (await store.LoadSnapshotAsync(includeOptOuts: false)).Salts!;
        Assert.Equal(rotated.Buckets[100], reloaded.Buckets[100]);
        Assert.Equal(rotated.Buckets[101], reloaded.Buckets[101]);
        Assert.Equal(count, reloaded.Buckets.Count);

        Assert.Equal(count, loaded.Buckets.Count);
        Assert.Equal(salts.FirstLevelSalt, loaded.FirstLevelSalt);
        Assert.Equal(salts.Buckets[0], loaded.Buckets[0]);
        Assert.Equal(salts.Buckets[count - 1], loaded.Buckets[count - 1]);
    }
}

public sealed class SqliteStoreContractTests(ITestOutputHelper output) : StoreContractTests(output)
{
    protected override StoreTarget NewTarget() => new SqliteTarget();
}

public sealed class PostgresStoreContractTests(ITestOutputHelper output) : StoreContractTests(output), IPostgresTests
{
    protected override StoreTarget NewTarget() => new PostgresTarget();
}
