using Microsoft.Data.Sqlite;

namespace Uid2.Storage.Tests;

/// <summary>SQLite-only behaviour; the shared behaviour is in <see cref="SqliteStoreContractTests"/>.</summary>
public sealed class SqliteUid2StoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_717_171_717_123);
    private readonly TempDb _db = new();

    public void Dispose() => _db.Dispose();

    [Fact]
    public async Task A_database_file_readable_by_others_is_narrowed_to_its_owner()
    {
        if (OperatingSystem.IsWindows()) return; // Unix file modes
        Directory.CreateDirectory(Path.GetDirectoryName(_db.Path)!);
        await File.WriteAllBytesAsync(_db.Path, []);
        File.SetUnixFileMode(_db.Path, (UnixFileMode)0b110_100_100); // 0644, as the previous version created it
        await using (var store = _db.Open()) await store.InitializeAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_db.Path));
    }

    /// <summary>
    /// Issue "Internet scale" (two writers on one SQLite file): opt-out batches from two store instances (as two
    /// processes have: each its own write gate on <c>&lt;database&gt;.write-gate</c>) all commit, each identity once,
    /// with distinct ids; the gate file appears with the first write only, owner-only.
    /// </summary>
    [Fact]
    public async Task Two_writers_on_one_file_queue_at_the_write_gate_and_lose_nothing()
    {
        await using var a = _db.Open();
        await using var b = _db.Open();
        await a.InitializeAsync();
        await b.InitializeAsync();
        var gate = _db.Path + ".write-gate";
        Assert.False(File.Exists(gate));
        var random = new Random(11);
        OptOutWrite New() => new(RandomBytes(random, 32), RandomBytes(random, 33), T0);
        var batches = Enumerable.Range(0, 40).Select(_ => Enumerable.Range(0, 25).Select(_ => New()).ToArray()).ToArray();
        var results = await Task.WhenAll(batches.Select((batch, i) =>
            Task.Run(() => ((IStoreOptOutBatches)(i % 2 == 0 ? a : b)).AddOptOutsAsync(batch))));
        var ids = results.SelectMany(r => r.Select(o => o.Id)).ToArray();
        Assert.Equal(1000, ids.Distinct().Count());
        var stored = await a.LoadOptOutsAfterAsync(0);
        Assert.Equal(1000, stored.Count);
        Assert.Equal(ids.Order(), stored.Select(o => o.Id).Order());
        Assert.True(File.Exists(gate));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(gate));
    }

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Issue "Internet scale", one migration runner: a file versioned the old way (one number in <c>schema_version</c>)
    /// has its steps recorded in <c>schema_migrations</c> and keeps its data; a newer schema is refused, as on PostgreSQL;
    /// <c>schema_version</c> stays at the newest version for binaries from before the runner.
    /// </summary>
    [Fact]
    public async Task A_file_versioned_the_old_way_is_adopted_and_a_newer_schema_is_refused()
    {
        await using (var store = _db.Open())
        {
            await store.InitializeAsync();
            await store.AddParticipantAsync(StoreContractTests.SampleParticipant());
        }
        async Task SqlAsync(string sql)
        {
            await using var conn = new SqliteConnection($"Data Source={_db.Path};Pooling=False");
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            await cmd.ExecuteNonQueryAsync();
        }
        async Task<long> ScalarAsync(string sql)
        {
            await using var conn = new SqliteConnection($"Data Source={_db.Path};Pooling=False");
            await conn.OpenAsync();
            await using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            return Convert.ToInt64(await cmd.ExecuteScalarAsync());
        }
        await SqlAsync($"DROP TABLE schema_migrations; CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL); DELETE FROM schema_version; INSERT INTO schema_version VALUES ({SqliteUid2Store.SchemaVersion});");

        await using (var adopted = _db.Open())
        {
            await adopted.InitializeAsync();
            Assert.NotNull(await adopted.GetParticipantAsync(123));
        }
        Assert.Equal(SqliteUid2Store.SchemaVersion, await ScalarAsync("SELECT count(*) FROM schema_migrations"));
        // Kept at the newest version, so a binary from before the runner refuses the file as newer.
        Assert.Equal(SqliteUid2Store.SchemaVersion, await ScalarAsync("SELECT max(version) FROM schema_version"));

        await SqlAsync("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future');");
        await using var older = _db.Open();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => older.InitializeAsync());
        Assert.Contains("999", ex.Message);
    }

    [Fact]
    public async Task Initialize_is_idempotent_and_creates_the_parent_directory()
    {
        Assert.False(Directory.Exists(Path.GetDirectoryName(_db.Path)));
        await using (var store = _db.Open())
        {
            await store.InitializeAsync();
            await store.InitializeAsync();
            await store.AddParticipantAsync(StoreContractTests.SampleParticipant());
            // Issue "Trust": the database, its WAL (there while the store is open) and its folder are the owner's alone.
            const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(ownerOnly, File.GetUnixFileMode(_db.Path));
                Assert.Equal(ownerOnly, File.GetUnixFileMode(_db.Path + "-wal"));
                Assert.Equal(ownerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(_db.Path)!));
            }
        }
        Assert.True(File.Exists(_db.Path));

        await using (var again = _db.Open())
        {
            await again.InitializeAsync();
            Assert.NotNull(await again.GetParticipantAsync(123));
        }

        await using var conn = new SqliteConnection($"Data Source={_db.Path};Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT count(*), max(version) FROM schema_migrations;";
        await using (var r = await cmd.ExecuteReaderAsync())
        {
            Assert.True(await r.ReadAsync());
            Assert.Equal(SqliteUid2Store.SchemaVersion, r.GetInt64(0)); // every step recorded once
            Assert.Equal(SqliteUid2Store.SchemaVersion, r.GetInt64(1));
        }
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task In_memory_store_works()
    {
        await using var store = new SqliteUid2Store("Data Source=:memory:");
        await store.InitializeAsync();
        await store.AddParticipantAsync(StoreContractTests.SampleParticipant());
        await store.AddOptOutAsync([1], [2], T0);
        var snapshot = await store.LoadSnapshotAsync();
        Assert.Single(snapshot.Participants);
        Assert.Single(snapshot.OptOuts);
        Assert.Null(store.DatabasePath);
    }

    [Fact]
    public async Task In_memory_leader_lock_is_exclusive_per_database()
    {
        await using var a = new SqliteUid2Store("Data Source=:memory:");
        await using var b = new SqliteUid2Store("Data Source=:memory:");
        await using var held = await a.TryAcquireAsync("rotation", default);
        Assert.NotNull(held);
        Assert.Null(await a.TryAcquireAsync("rotation", default));
        await using (var other = await b.TryAcquireAsync("rotation", default)) // another database
            Assert.NotNull(other);
        await held!.DisposeAsync();
        await using var again = await a.TryAcquireAsync("rotation", default);
        Assert.NotNull(again);
    }

    [Fact]
    public async Task Leader_lock_files_sit_next_to_the_database_with_safe_names()
    {
        await using var store = _db.Open();
        await using var held = await store.TryAcquireAsync("key rotation/../x", default);
        Assert.NotNull(held);
        var lockFile = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(_db.Path)!, "uid2.db.lock-*"));
        Assert.DoesNotContain("..", Path.GetFileName(lockFile)[8..]);
    }

    [Fact]
    public void Sqlite_does_not_claim_change_notifications()
    {
        Assert.False(typeof(IStoreChangeNotifier).IsAssignableFrom(typeof(SqliteUid2Store)));
    }
}
