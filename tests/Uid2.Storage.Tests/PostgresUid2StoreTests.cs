using System.Diagnostics;
using System.Threading.Channels;
using Npgsql;
using Xunit.Abstractions;

namespace Uid2.Storage.Tests;

/// <summary>PostgreSQL-only behaviour; the shared behaviour is in <see cref="PostgresStoreContractTests"/>.</summary>
public sealed class PostgresUid2StoreTests(ITestOutputHelper output) : StoreTestBase, IPostgresTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_717_171_717_123);

    protected override StoreTarget NewTarget() => new PostgresTarget();

    private PostgresTarget Pg => (PostgresTarget)Target;

    private async Task<PostgresUid2Store> OpenInitializedAsync()
    {
        var store = Pg.OpenPostgres();
        await store.InitializeAsync();
        return store;
    }

    [StoreFact]
    public async Task Migrations_are_recorded_once_and_a_newer_schema_is_refused()
    {
        await using (var store = await OpenInitializedAsync())
            await store.InitializeAsync();
        Assert.Equal((long)PostgresUid2Store.SchemaVersion, await Pg.ScalarAsync("SELECT count(*) FROM schema_migrations;"));
        Assert.Equal(PostgresUid2Store.SchemaVersion, await Pg.ScalarAsync("SELECT max(version) FROM schema_migrations;"));

        await Pg.ExecuteSqlAsync("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future');");
        await using var newer = Pg.OpenPostgres();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => newer.InitializeAsync());
        Assert.Contains("999", ex.Message);
    }

    [StoreFact]
    public async Task Concurrent_initialize_from_two_instances_on_a_fresh_database_succeeds()
    {
        for (var round = 0; round < 3; round++)
        {
            await using var target = (PostgresTarget)await CreateExtraTargetAsync();
            await using var a = target.OpenPostgres();
            await using var b = target.OpenPostgres();
            using var start = new Barrier(2);
            await Task.WhenAll(
                Task.Run(async () => { start.SignalAndWait(); await a.InitializeAsync(); }),
                Task.Run(async () => { start.SignalAndWait(); await b.InitializeAsync(); }));
            Assert.Equal((long)PostgresUid2Store.SchemaVersion, await target.ScalarAsync("SELECT count(*) FROM schema_migrations;"));
            await a.AddParticipantAsync(StoreContractTests.SampleParticipant());
            Assert.NotNull(await b.GetParticipantAsync(123));
        }
    }

    [StoreFact]
    public async Task Listener_hears_an_opt_out_written_by_another_instance_within_a_second()
    {
        await using var listenerStore = await OpenInitializedAsync();
        await using var writer = await OpenInitializedAsync();
        var payloads = Channel.CreateUnbounded<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var listening = listenerStore.ListenAsync(p => payloads.Writer.WriteAsync(p).AsTask(), cts.Token);

        Assert.Equal(StoreChanges.Resync, await payloads.Reader.ReadAsync(cts.Token)); // subscribed

        var sw = Stopwatch.StartNew();
        var record = await writer.AddOptOutAsync([1, 2, 3], [4, 5, 6], T0);
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        within.CancelAfter(TimeSpan.FromSeconds(1));
        var payload = await payloads.Reader.ReadAsync(within.Token);
        output.WriteLine($"opt-out notification after {sw.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(StoreChanges.TryParseOptOutId(payload, out var id), payload);
        Assert.Equal(record.Id, id);
        Assert.True(StoreChanges.IsOptOutChange(payload));

        // Config writes name their table; one notification per table per transaction at most.
        await writer.CreateParticipantAsync(StoreContractTests.SampleParticipant(), StoreContractTests.SampleApiKey());
        Assert.Equal("participants", await payloads.Reader.ReadAsync(cts.Token));
        Assert.Equal("api_keys", await payloads.Reader.ReadAsync(cts.Token));
        await writer.SaveSaltsAsync(StoreContractTests.SampleSalts(100));
        Assert.Equal("salt_meta", await payloads.Reader.ReadAsync(cts.Token));
        Assert.Equal("salt_blocks", await payloads.Reader.ReadAsync(cts.Token));
        await writer.AddKeysAsync([StoreContractTests.SampleKey(1, 123)]);
        Assert.Equal("encryption_keys", await payloads.Reader.ReadAsync(cts.Token));
        await Pg.ExecuteSqlAsync("DELETE FROM optouts;");
        Assert.Equal("optouts", await payloads.Reader.ReadAsync(cts.Token));
        Assert.False(payloads.Reader.TryRead(out var extra), extra);

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listening);
    }

    [StoreFact]
    public async Task Listener_throws_when_its_connection_drops_and_can_listen_again()
    {
        await using var store = await OpenInitializedAsync();
        var subscribed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listening = store.ListenAsync(p =>
        {
            if (p == StoreChanges.Resync) subscribed.TrySetResult();
            return Task.CompletedTask;
        }, default);
        await subscribed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var killed = await Pg.ScalarAsync(
            $"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{Pg.DatabaseName}' AND query LIKE 'LISTEN%';");
        Assert.Equal(1L, killed);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => listening.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(ex is NpgsqlException or ObjectDisposedException or InvalidOperationException, ex.ToString());

        // The caller reconnects by calling again.
        var again = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cts = new CancellationTokenSource();
        var second = store.ListenAsync(p =>
        {
            if (p != StoreChanges.Resync) again.TrySetResult();
            return Task.CompletedTask;
        }, cts.Token);
        await Task.Delay(200);
        await store.AddParticipantAsync(StoreContractTests.SampleParticipant(77));
        await again.Task.WaitAsync(TimeSpan.FromSeconds(5));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
    }

    [StoreFact]
    public async Task Leader_lock_is_released_when_the_holder_dies()
    {
        await using var a = await OpenInitializedAsync();
        await using var b = await OpenInitializedAsync();
        // Advisory locks are server-wide: a name of its own, so tests running at the same time on the server never meet.
        var name = "rotation-" + Guid.NewGuid().ToString("N");
        var held = await a.TryAcquireAsync(name, default);
        Assert.NotNull(held);
        Assert.Null(await b.TryAcquireAsync(name, default));

        // The holder's session ends (process crash, network loss): the server releases the lock.
        var key = PostgresUid2Store.LeaderLockKey(name);
        Assert.Equal(1L, await Pg.ScalarAsync(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted " +
            $"AND ((classid::bigint << 32) | objid::bigint) = {key};"));
        IAsyncDisposable? next = null;
        for (var i = 0; i < 50 && next is null; i++)
        {
            next = await b.TryAcquireAsync(name, default);
            if (next is null) await Task.Delay(100);
        }
        Assert.NotNull(next);
        await next.DisposeAsync();
        await held.DisposeAsync(); // harmless after the connection died
    }

    [StoreFact]
    public async Task Snapshots_are_consistent_while_salts_are_replaced()
    {
        await using var writer = await OpenInitializedAsync();
        await using var reader = await OpenInitializedAsync();
        await writer.SaveSaltsAsync(new Uid2.Core.Identity.SaltSet("v0", StoreContractTests.SampleSalts(20_000).Buckets));
        using var cts = new CancellationTokenSource();
        var writes = Task.Run(async () =>
        {
            for (var i = 1; i <= 5; i++)
            {
                var buckets = Enumerable.Range(0, 20_000).Select(b => new Uid2.Core.Identity.SaltBucket(b, i, "v" + i, i, null)).ToList();
                await writer.SaveSaltsAsync(new Uid2.Core.Identity.SaltSet("v" + i, buckets));
            }
        });
        var reads = 0;
        while (!writes.IsCompleted || reads < 3)
        {
            var salts = (await reader.LoadSnapshotAsync(includeOptOuts: false)).Salts!;
            Assert.Equal(20_000, salts.Buckets.Count);
            if (salts.FirstLevelSalt != "v0")
                Assert.All(salts.Buckets, b => Assert.Equal(salts.FirstLevelSalt, b.CurrentSalt));
            reads++;
        }
        await writes;
        output.WriteLine($"{reads} consistent snapshots");
    }
}
