using System.Data.Common;
using Microsoft.Data.Sqlite;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// The embedded store: one SQLite file shared by the operator(s) and the admin CLI. WAL mode (readers never block the
/// writer), a busy timeout for the rare write/write overlap, and triggers that bump <c>store_version</c> on every
/// insert, update or delete, so no writer can forget to. Times are stored as Unix epoch milliseconds.
/// </summary>
public sealed class SqliteUid2Store : RelationalUid2Store
{
    /// <summary>The schema version this code writes and reads.</summary>
    public const int SchemaVersion = 8;

    /// <summary>
    /// The versioned steps, run by <see cref="SchemaMigrator"/> (the runner PostgreSQL uses too) and recorded in
    /// <c>schema_migrations</c>; step 1, the idempotent baseline, is re-applied on every start. Never edit a shipped step.
    /// </summary>
    private static readonly SchemaStep[] Migrations =
    [
        new(1, "baseline schema (idempotent, re-applied on every start)", SchemaSql),
        new(2, "one opt-out row per identity", """
            -- One opt-out row per identity, the latest time wins: drop older duplicates, then make the hash unique.
            DELETE FROM optouts WHERE EXISTS (
                SELECT 1 FROM optouts newer WHERE newer.first_level_hash = optouts.first_level_hash
                  AND (newer.timestamp_ms > optouts.timestamp_ms OR (newer.timestamp_ms = optouts.timestamp_ms AND newer.id > optouts.id)));
            DROP INDEX IF EXISTS ix_optouts_first_level_hash;
            CREATE UNIQUE INDEX IF NOT EXISTS ux_optouts_first_level_hash ON optouts (first_level_hash);
            -- A repeated opt-out moves its row to a new id (read incrementally, like an insert): no full reload.
            DROP TRIGGER IF EXISTS trg_optouts_update_version;
            """),
        new(3, "encryption keys stored sealed", """
            -- Encryption keys are stored sealed (longer than 32 bytes): the table is rebuilt without the length check.
            CREATE TABLE encryption_keys_sealed (
                id        INTEGER PRIMARY KEY,
                site_id   INTEGER NOT NULL,
                created   INTEGER NOT NULL,
                activates INTEGER NOT NULL,
                expires   INTEGER NOT NULL,
                secret    BLOB NOT NULL);
            INSERT INTO encryption_keys_sealed (id, site_id, created, activates, expires, secret)
                SELECT id, site_id, created, activates, expires, secret FROM encryption_keys;
            DROP TABLE encryption_keys;
            ALTER TABLE encryption_keys_sealed RENAME TO encryption_keys;
            CREATE INDEX IF NOT EXISTS ix_encryption_keys_site_id ON encryption_keys (site_id);
            """),
        new(4, "audit log", """
            -- Every administrative action (admin CLI, admin page): never a secret in it.
            CREATE TABLE IF NOT EXISTS audit_log (
                id      INTEGER PRIMARY KEY AUTOINCREMENT,
                at_ms   INTEGER NOT NULL,
                actor   TEXT NOT NULL,
                action  TEXT NOT NULL,
                target  TEXT NOT NULL,
                outcome TEXT NOT NULL);
            """),
        new(5, "client-secret rotation with an overlap", """
            -- Client-secret rotation with an overlap: the previous secret (sealed) is accepted until the given time.
            ALTER TABLE api_keys ADD COLUMN previous_client_secret TEXT NULL;
            ALTER TABLE api_keys ADD COLUMN previous_secret_expires_ms INTEGER NULL;
            """),
        new(6, "salt buckets in sealed blocks of 256", """
            -- Initialization moves the salt_buckets rows into the blocks (SaltBlocks).

            """ + SaltBlocks.CreateSqlite),
        new(7, "keyset sharing (allowed sites and types) and participant types", """
            ALTER TABLE participants ADD COLUMN client_types TEXT NOT NULL DEFAULT '';
            CREATE TABLE IF NOT EXISTS keysets (
                site_id       INTEGER PRIMARY KEY,
                allowed_sites TEXT NULL,
                allowed_types TEXT NOT NULL DEFAULT '',
                enabled       INTEGER NOT NULL DEFAULT 1);
            """),
        new(8, "opt-out webhooks for DSPs and their outbox, filled with each opt-out in its transaction", """
            CREATE TABLE IF NOT EXISTS optout_webhooks (
                site_id           INTEGER PRIMARY KEY,
                url_template      TEXT NOT NULL,
                method            TEXT NOT NULL DEFAULT 'GET',
                enabled           INTEGER NOT NULL DEFAULT 1,
                created_ms        INTEGER NOT NULL,
                lease_owner       TEXT NULL,
                lease_until_ms    INTEGER NOT NULL DEFAULT 0,
                next_attempt_ms   INTEGER NOT NULL DEFAULT 0,
                failures          INTEGER NOT NULL DEFAULT 0,
                failed_attempts   INTEGER NOT NULL DEFAULT 0,
                delivered         INTEGER NOT NULL DEFAULT 0,
                last_delivered_ms INTEGER NULL,
                last_delay_ms     INTEGER NULL,
                last_error        TEXT NULL,
                last_error_ms     INTEGER NULL);
            CREATE TABLE IF NOT EXISTS optout_outbox (
                id             INTEGER PRIMARY KEY AUTOINCREMENT,
                site_id        INTEGER NOT NULL,
                advertising_id BLOB NOT NULL,
                timestamp_ms   INTEGER NOT NULL,
                enqueued_ms    INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_optout_outbox_site ON optout_outbox (site_id, id);
            CREATE TRIGGER IF NOT EXISTS trg_optouts_outbox_insert AFTER INSERT ON optouts BEGIN
                INSERT INTO optout_outbox (site_id, advertising_id, timestamp_ms, enqueued_ms)
                SELECT site_id, NEW.advertising_id, NEW.timestamp_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
                  FROM optout_webhooks WHERE enabled = 1;
            END;
            CREATE TRIGGER IF NOT EXISTS trg_optouts_outbox_update AFTER UPDATE OF id ON optouts WHEN NEW.id <> OLD.id BEGIN
                INSERT INTO optout_outbox (site_id, advertising_id, timestamp_ms, enqueued_ms)
                SELECT site_id, NEW.advertising_id, NEW.timestamp_ms, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
                  FROM optout_webhooks WHERE enabled = 1;
            END;
            """),
    ];

    private const int BusyTimeoutMilliseconds = 15_000;

    /// <summary>SQLite's part of the migration runner.</summary>
    private sealed class SqliteSchemaDialect : ISchemaDialect
    {
        public Task<DbTransaction> BeginExclusiveAsync(DbConnection conn, CancellationToken ct) =>
            Task.FromResult<DbTransaction>(((SqliteConnection)conn).BeginTransaction(deferred: false)); // BEGIN IMMEDIATE

        public string CreateMigrationsTable => """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
            """;

        public bool ReapplyBaseline => true;

        /// <summary>Files written before the runner kept one number in <c>schema_version</c>: the steps up to it are recorded.</summary>
        public async Task AdoptLegacyVersioningAsync(DbConnection conn, DbTransaction tx, IReadOnlyList<SchemaStep> steps, CancellationToken ct)
        {
            var sqlite = (SqliteConnection)conn;
            var stx = (SqliteTransaction)tx;
            if (Convert.ToInt64(await ScalarAsync(sqlite, stx, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version';", ct)
                    .ConfigureAwait(false)) == 0) return;
            var recorded = await SchemaMigrator.NewestAsync(conn, tx, ct).ConfigureAwait(false);
            if (recorded > 0) return; // adopted already: schema_migrations is the record from then on
            var legacy = Convert.ToInt64(await ScalarAsync(sqlite, stx, "SELECT coalesce(max(version), 0) FROM schema_version;", ct).ConfigureAwait(false));
            if (legacy > steps[^1].Version)
                throw new InvalidOperationException($"The database schema is version {legacy}, newer than this build understands ({steps[^1].Version}).");
            foreach (var step in steps.Where(s => s.Version <= legacy && s.Version > recorded))
                await SchemaMigrator.RecordAsync(conn, tx, step, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Every table whose writes bump <c>store_version</c> (opt-outs: updates and deletes only).</summary>
    private static readonly string[] VersionedTables =
    [
        "participants", "api_keys", "encryption_keys", "salt_meta", "salt_buckets", "salt_blocks", "optouts",
        "client_side_keypairs", "site_domain_names", "site_app_names", "keysets",
    ];

    private readonly string _connectionString;
    private readonly SqliteWriteGate _writeGate;
    private readonly bool _inMemory;
    private SqliteConnection? _memoryKeeper; // keeps a shared in-memory database alive
    private bool _disposed;

    /// <summary>
    /// Opens (lazily) the SQLite database named by <paramref name="connectionString"/> (<c>Data Source=path</c>).
    /// A relative path is resolved against the current directory and its directory is created if missing.
    /// <c>Data Source=:memory:</c> gives a private in-memory database that lives as long as this instance.
    /// </summary>
    /// <param name="keyEncryptionKeys">Seals the secrets at rest; null: found by <see cref="KeyEncryptionKeys.Resolve"/> on first
    /// use (the environment, else the key file beside the database, created if missing).</param>
    public SqliteUid2Store(string connectionString, KeyEncryptionKeyRing? keyEncryptionKeys = null)
        : base(LazyKek(connectionString, keyEncryptionKeys))
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"Invalid SQLite connection string: {ex.Message}", nameof(connectionString));
        }

        if (string.IsNullOrWhiteSpace(builder.DataSource))
            throw new ArgumentException("The SQLite connection string needs a 'Data Source=<file path>'.", nameof(connectionString));

        if (builder.DataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
        {
            _inMemory = true;
            builder.DataSource = builder.DataSource == ":memory:" ? "uid2-" + Guid.NewGuid().ToString("N") : builder.DataSource;
            builder.Mode = SqliteOpenMode.Memory;
            builder.Cache = SqliteCacheMode.Shared;
        }
        else
        {
            var fullPath = Path.GetFullPath(builder.DataSource);
            builder.DataSource = fullPath;
            DatabasePath = fullPath;
        }

        builder.DefaultTimeout = Math.Max(builder.DefaultTimeout, 30);
        builder.Pooling = true;
        _writeGate = new SqliteWriteGate(DatabasePath, TimeSpan.FromMilliseconds(BusyTimeoutMilliseconds));
        _connectionString = builder.ConnectionString;
    }

    private static Lazy<KeyEncryptionKeyRing> LazyKek(string connectionString, KeyEncryptionKeyRing? given) =>
        given is not null
            ? new Lazy<KeyEncryptionKeyRing>(given)
            : new Lazy<KeyEncryptionKeyRing>(() => KeyEncryptionKeys.Resolve(connectionString, null, null, createIfMissing: true));

    /// <summary>The absolute path of the database file; null for an in-memory store.</summary>
    public string? DatabasePath { get; }

    // ---------------------------------------------------------------- schema

    private protected override async Task MigrateAsync(CancellationToken ct)
    {
        if (DatabasePath is not null) CreateOwnerOnlyFile(DatabasePath);
        if (_inMemory && _memoryKeeper is null)
        {
            _memoryKeeper = new SqliteConnection(_connectionString);
            await _memoryKeeper.OpenAsync(ct).ConfigureAwait(false);
        }

        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        if (!_inMemory)
        {
            // Persistent in the file; harmless to repeat. Needs no open transaction.
            await ExecuteAsync(conn, null, "PRAGMA journal_mode=WAL;", ct).ConfigureAwait(false);
            await ExecuteAsync(conn, null, "PRAGMA journal_size_limit=67108864;", ct).ConfigureAwait(false);
        }

        await SchemaMigrator.MigrateAsync(conn, new SqliteSchemaDialect(), Migrations, ct).ConfigureAwait(false);

        await using var tx = conn.BeginTransaction(deferred: false);
        // The number binaries from before the runner look at: they refuse this file as newer, with their own message.
        await ExecuteAsync(conn, tx, $"""
            CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
            DELETE FROM schema_version;
            INSERT INTO schema_version (version) VALUES ({SchemaVersion});
            """, ct).ConfigureAwait(false);
        // After the migrations: a rebuilt table has lost its triggers.
        foreach (var table in VersionedTables)
        {
            foreach (var op in new[] { "INSERT", "UPDATE", "DELETE" })
            {
                // New and repeated opt-outs are read incrementally (LoadOptOutsAfterAsync): no full reload for them.
                if (table == "optouts" && op is "INSERT" or "UPDATE") continue;
                await ExecuteAsync(conn, tx,
                    $"CREATE TRIGGER IF NOT EXISTS trg_{table}_{op.ToLowerInvariant()}_version AFTER {op} ON {table} " +
                    "BEGIN UPDATE store_version SET version = version + 1 WHERE id = 1; END;", ct).ConfigureAwait(false);
            }
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The database holds secrets (encrypted) and the opt-out list: its file is the owner's alone (0600), as are the
    /// WAL and shared-memory files SQLite creates beside it with the same mode, and a folder created for it (0700).
    /// An existing file with a wider mode is narrowed.
    /// </summary>
    private static void CreateOwnerOnlyFile(string path)
    {
        var dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
            else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (OperatingSystem.IsWindows()) return;
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = ownerOnly,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // There already (or another process created it at the same moment): narrowed below.
        }
        foreach (var file in new[] { path, path + "-wal", path + "-shm" })
        {
            if (File.Exists(file) && (File.GetUnixFileMode(file) & ~ownerOnly) != 0) File.SetUnixFileMode(file, ownerOnly);
        }
    }

    private const string SchemaSql = """
        CREATE TABLE IF NOT EXISTS store_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL);
        INSERT OR IGNORE INTO store_version (id, version) VALUES (1, 0);

        CREATE TABLE IF NOT EXISTS participants (
            site_id INTEGER PRIMARY KEY,
            name    TEXT NOT NULL,
            roles   TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created INTEGER NOT NULL);

        CREATE TABLE IF NOT EXISTS api_keys (
            key_id        TEXT PRIMARY KEY,
            key_hash      TEXT NOT NULL,
            key_salt      TEXT NOT NULL,
            site_id       INTEGER NOT NULL,
            name          TEXT NOT NULL,
            roles         TEXT NOT NULL,
            client_secret TEXT NOT NULL,
            disabled      INTEGER NOT NULL DEFAULT 0,
            created       INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_api_keys_site_id ON api_keys (site_id);

        CREATE TABLE IF NOT EXISTS encryption_keys (
            id        INTEGER PRIMARY KEY,
            site_id   INTEGER NOT NULL,
            created   INTEGER NOT NULL,
            activates INTEGER NOT NULL,
            expires   INTEGER NOT NULL,
            secret    BLOB NOT NULL CHECK (length(secret) = 32));
        CREATE INDEX IF NOT EXISTS ix_encryption_keys_site_id ON encryption_keys (site_id);

        CREATE TABLE IF NOT EXISTS salt_meta (
            id               INTEGER PRIMARY KEY CHECK (id = 1),
            first_level_salt TEXT NOT NULL);

        CREATE TABLE IF NOT EXISTS salt_buckets (
            id              INTEGER PRIMARY KEY,
            last_updated_ms INTEGER NOT NULL,
            current_salt    TEXT NOT NULL,
            refresh_from_ms INTEGER NOT NULL,
            previous_salt   TEXT);

        CREATE TABLE IF NOT EXISTS optouts (
            id               INTEGER PRIMARY KEY AUTOINCREMENT,
            first_level_hash BLOB NOT NULL,
            advertising_id   BLOB NOT NULL,
            timestamp_ms     INTEGER NOT NULL);
        -- Its unique index on first_level_hash comes from migration 2 (a version-1 file may hold duplicates).

        CREATE TABLE IF NOT EXISTS client_side_keypairs (
            subscription_id TEXT PRIMARY KEY,
            site_id         INTEGER NOT NULL,
            public_key      TEXT NOT NULL,
            private_key     TEXT NOT NULL,
            created         INTEGER NOT NULL,
            disabled        INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS ix_client_side_keypairs_site_id ON client_side_keypairs (site_id);

        CREATE TABLE IF NOT EXISTS site_domain_names (
            site_id INTEGER NOT NULL,
            name    TEXT NOT NULL,
            PRIMARY KEY (site_id, name));

        CREATE TABLE IF NOT EXISTS site_app_names (
            site_id INTEGER NOT NULL,
            name    TEXT NOT NULL,
            PRIMARY KEY (site_id, name));
        """;

    // ---------------------------------------------------------------- reads

    // ---------------------------------------------------------------- dialect

    private protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken ct) => await OpenAsync(ct).ConfigureAwait(false);

    // BEGIN IMMEDIATE: the write lock before the first read, so no lock needs naming (SQLite has one writer at a time).
    private protected override Task<DbTransaction> BeginWriteAsync(DbConnection conn, StoreLocks locks, CancellationToken ct) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)conn).BeginTransaction(deferred: false));

    // A deferred transaction: its first SELECT pins one consistent WAL snapshot for all the reads.
    private protected override Task<DbTransaction> BeginSnapshotReadAsync(DbConnection conn, CancellationToken ct) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)conn).BeginTransaction(deferred: true));

    private protected override string OrdinalCollation => ""; // BINARY, SQLite's default

    private protected override bool IsConflict(DbException ex) => ex is SqliteException { SqliteErrorCode: 19 }; // SQLITE_CONSTRAINT

    /// <summary>
    /// One write transaction for the whole batch, behind the write gate (one writer per file at a time, in arrival order):
    /// one commit, one fsync (synchronous=FULL) for all of them, before it returns.
    /// </summary>
    private protected override async Task<IReadOnlyList<OptOutRecord>> UpsertOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct)
    {
        using var turn = await _writeGate.EnterAsync(ct).ConfigureAwait(false);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        var latest = new Dictionary<string, OptOutRecord>();
        foreach (var o in optOuts)
            latest[Convert.ToHexString(o.FirstLevelHash)] =
                await UpsertOptOutAsync(conn, tx, o.FirstLevelHash, o.AdvertisingId, o.Timestamp.ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return optOuts.Select(o => latest[Convert.ToHexString(o.FirstLevelHash)]).ToArray();
    }

    /// <summary>
    /// One row per identity: a later opt-out takes a new id (so every instance reads it incrementally, as an insert); an
    /// earlier or equal one changes nothing and the stored row is returned. In the caller's write transaction.
    /// </summary>
    private static async Task<OptOutRecord> UpsertOptOutAsync(SqliteConnection conn, SqliteTransaction tx, byte[] firstLevelHash, byte[] advertisingId, long ms,
        CancellationToken ct)
    {
        await using (var find = Command(conn, tx, "SELECT id, first_level_hash, advertising_id, timestamp_ms FROM optouts WHERE first_level_hash = $flh;"))
        {
            find.Parameters.Add("$flh", SqliteType.Blob).Value = firstLevelHash;
            var existing = await StoreRows.ReadAllAsync(find, StoreRows.OptOut, ct).ConfigureAwait(false);
            if (existing.Count == 1 && existing[0].Timestamp.ToUnixTimeMilliseconds() >= ms) return existing[0];
        }
        await using var cmd = Command(conn, tx, """
            UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(id), 0) FROM optouts)) + 1 WHERE name = 'optouts';
            INSERT INTO optouts (id, first_level_hash, advertising_id, timestamp_ms)
                VALUES ((SELECT seq FROM sqlite_sequence WHERE name = 'optouts'), $flh, $uid, $ts)
                ON CONFLICT (first_level_hash) DO UPDATE SET id = excluded.id, advertising_id = excluded.advertising_id, timestamp_ms = excluded.timestamp_ms
                RETURNING id;
            """);
        cmd.Parameters.Add("$flh", SqliteType.Blob).Value = firstLevelHash;
        cmd.Parameters.Add("$uid", SqliteType.Blob).Value = advertisingId;
        cmd.Parameters.AddWithValue("$ts", ms);
        var id = (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        return new OptOutRecord(id, (byte[])firstLevelHash.Clone(), (byte[])advertisingId.Clone(), StoreRows.FromMs(ms));
    }

    // ---------------------------------------------------------------- leader lock

    /// <summary>In-memory stores: lock names held in this process, per database.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> MemoryLocks = new();

    /// <summary>
    /// A SQLite file is shared only by processes on one host, so an OS file lock is enough: an exclusive lock on
    /// <c>&lt;database&gt;.lock-&lt;name&gt;</c> (created if missing, never deleted), released on dispose or process exit.
    /// It excludes other handles in this process too. An in-memory store locks within this process.
    /// </summary>
    public override Task<IAsyncDisposable?> TryAcquireAsync(string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        ct.ThrowIfCancellationRequested();
        var safe = string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        if (safe.Length > 64 || safe != name)
            safe = safe[..Math.Min(safe.Length, 40)] + "-" + Convert.ToHexString(
                System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..16].ToLowerInvariant();

        if (DatabasePath is null)
        {
            var key = _connectionString + "\n" + name;
            return Task.FromResult<IAsyncDisposable?>(MemoryLocks.TryAdd(key, 0) ? new Lease(() => MemoryLocks.TryRemove(key, out _)) : null);
        }

        var dir = Path.GetDirectoryName(DatabasePath);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock on Unix, a share lock on Windows) without blocking.
            var file = new FileStream(DatabasePath + ".lock-" + safe, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return Task.FromResult<IAsyncDisposable?>(new Lease(file.Dispose));
        }
        catch (IOException)
        {
            return Task.FromResult<IAsyncDisposable?>(null); // held by another process or handle
        }
    }

    private sealed class Lease(Action release) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) release();
            return ValueTask.CompletedTask;
        }
    }

    // ---------------------------------------------------------------- plumbing

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (DatabasePath is not null)
        {
            var dir = Path.GetDirectoryName(DatabasePath);
            if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir)) Directory.CreateDirectory(dir);
        }
        var conn = new SqliteConnection(_connectionString);
        try
        {
            await conn.OpenAsync(ct).ConfigureAwait(false);
            await ExecuteAsync(conn, null,
                $"PRAGMA busy_timeout={BusyTimeoutMilliseconds}; PRAGMA synchronous=FULL;", ct).ConfigureAwait(false);
            return conn;
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static SqliteCommand Command(SqliteConnection conn, SqliteTransaction? tx, string sql)
    {
        var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }

    private static async Task ExecuteAsync(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection conn, SqliteTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql);
        var v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return v is DBNull ? null : v;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _writeGate.Dispose();
        if (_memoryKeeper is not null) await _memoryKeeper.DisposeAsync().ConfigureAwait(false);
        // Release pooled handles so the file can be moved or deleted once the store is gone.
        using var probe = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(probe);
    }
}
