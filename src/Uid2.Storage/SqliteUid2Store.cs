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
public sealed partial class SqliteUid2Store : IUid2Store, IStoreLeaderLock, IStoreSecretSealing, IStoreOptOutBatches
{
    /// <summary>The schema version this code writes and reads.</summary>
    public const int SchemaVersion = 6;

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
        "client_side_keypairs", "site_domain_names", "site_app_names",
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
        var original = connectionString;
        _kek = keyEncryptionKeys is not null
            ? new Lazy<KeyEncryptionKeyRing>(keyEncryptionKeys)
            : new Lazy<KeyEncryptionKeyRing>(() => KeyEncryptionKeys.Resolve(original, null, null, createIfMissing: true));
    }

    private readonly Lazy<KeyEncryptionKeyRing> _kek;

    /// <summary>The key-encryption keys that seal this store's secrets.</summary>
    public KeyEncryptionKeyRing Kek => _kek.Value;

    /// <summary>The absolute path of the database file; null for an in-memory store.</summary>
    public string? DatabasePath { get; }

    // ---------------------------------------------------------------- schema

    public async Task InitializeAsync(CancellationToken ct = default)
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
        // Salt buckets stored a row each (before blocks) move into blocks.
        await SaltBlocks.MoveRowsIntoBlocksAsync(conn, tx, Kek, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);

        // Upgrade in place: secrets written in clear (or under a retired key-encryption key) are sealed now.
        await using var reseal = conn.BeginTransaction(deferred: false);
        await SecretColumns.ResealAsync(conn, reseal, Kek, ct).ConfigureAwait(false);
        await reseal.CommitAsync(ct).ConfigureAwait(false);
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

    public async Task<long> GetVersionAsync(CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        var v = await ScalarAsync(conn, null, "SELECT version FROM store_version WHERE id = 1;", ct).ConfigureAwait(false);
        return v is long l ? l : 0;
    }

    public Task<StoreSnapshot> LoadSnapshotAsync(CancellationToken ct = default) => LoadSnapshotAsync(includeOptOuts: true, ct);

    public async Task<StoreSnapshot> LoadSnapshotAsync(bool includeOptOuts, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        // A deferred transaction: its first SELECT pins one consistent WAL snapshot for all the reads.
        await using var tx = conn.BeginTransaction(deferred: true);
        var snapshot = await StoreReads.SnapshotAsync(conn, tx, Kek, ordinal: "", includeOptOuts, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return snapshot;
    }

    public async Task<IReadOnlyList<OptOutRecord>> LoadOptOutsAfterAsync(long afterId, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        return await StoreReads.OptOutsAfterAsync(conn, null, afterId, ct).ConfigureAwait(false);
    }

    public async Task<Participant?> GetParticipantAsync(int siteId, CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        var list = await StoreReads.ParticipantsAsync(conn, null, siteId, ct).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    private Task<IReadOnlyList<EncryptionKey>> ReadKeysAsync(SqliteConnection conn, SqliteTransaction tx, CancellationToken ct) =>
        StoreReads.KeysAsync(conn, tx, Kek, ct);

    // ---------------------------------------------------------------- writes

    public async Task AddParticipantAsync(Participant participant, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(participant);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await InsertParticipantAsync(conn, tx, participant, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(apiKey);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await InsertApiKeyAsync(conn, tx, apiKey, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task CreateParticipantAsync(Participant participant, ApiKeyRecord apiKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(participant);
        ArgumentNullException.ThrowIfNull(apiKey);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await InsertParticipantAsync(conn, tx, participant, ct).ConfigureAwait(false);
        await InsertApiKeyAsync(conn, tx, apiKey, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task InsertParticipantAsync(SqliteConnection conn, SqliteTransaction tx, Participant p, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO participants (site_id, name, roles, enabled, created) VALUES ($site, $name, $roles, $enabled, $created);");
        cmd.Parameters.AddWithValue("$site", p.SiteId);
        cmd.Parameters.AddWithValue("$name", p.Name);
        cmd.Parameters.AddWithValue("$roles", Roles.Format(p.Roles));
        cmd.Parameters.AddWithValue("$enabled", p.Enabled ? 1 : 0);
        cmd.Parameters.AddWithValue("$created", p.Created.ToUnixTimeMilliseconds());
        await StoreRows.InsertAsync(cmd, IsConstraint, () => $"A participant with site id {p.SiteId} already exists.", ct).ConfigureAwait(false);
    }

    private async Task InsertApiKeyAsync(SqliteConnection conn, SqliteTransaction tx, ApiKeyRecord k, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO api_keys (" + StoreRows.ApiKeyColumns + ") " +
            "VALUES ($id, $hash, $salt, $site, $name, $roles, $secret, $disabled, $created, $prev, $prevUntil);");
        cmd.Parameters.AddWithValue("$id", k.KeyId);
        cmd.Parameters.AddWithValue("$hash", k.KeyHash);
        cmd.Parameters.AddWithValue("$salt", k.KeySalt);
        cmd.Parameters.AddWithValue("$site", k.SiteId);
        cmd.Parameters.AddWithValue("$name", k.Name);
        cmd.Parameters.AddWithValue("$roles", Roles.Format(k.Roles));
        cmd.Parameters.AddWithValue("$secret", Kek.SealText(k.ClientSecret, SecretColumns.ClientSecret(k.KeyId)));
        cmd.Parameters.AddWithValue("$disabled", k.Disabled ? 1 : 0);
        cmd.Parameters.AddWithValue("$created", k.Created.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$prev", k.PreviousClientSecret is null ? DBNull.Value : Kek.SealText(k.PreviousClientSecret, SecretColumns.PreviousClientSecret(k.KeyId)));
        cmd.Parameters.AddWithValue("$prevUntil", k.PreviousSecretExpires is { } until ? until.ToUnixTimeMilliseconds() : DBNull.Value);
        await StoreRows.InsertAsync(cmd, IsConstraint, () => $"An API key with key id {k.KeyId} already exists.", ct).ConfigureAwait(false);
    }

    public async Task AddKeysAsync(IEnumerable<EncryptionKey> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await InsertKeysAsync(conn, tx, keys, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<EncryptionKey>> AddKeysAtomicallyAsync(
        Func<IReadOnlyList<EncryptionKey>, IReadOnlyList<EncryptionKey>> plan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: the write lock before the read
        var existing = await ReadKeysAsync(conn, tx, ct).ConfigureAwait(false);
        var added = plan(existing);
        if (added.Count == 0)
        {
            await tx.RollbackAsync(ct).ConfigureAwait(false);
            return added;
        }
        await InsertKeysAsync(conn, tx, added, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return added;
    }

    private async Task InsertKeysAsync(SqliteConnection conn, SqliteTransaction tx, IEnumerable<EncryptionKey> keys, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO encryption_keys (id, site_id, created, activates, expires, secret) VALUES ($id, $site, $created, $activates, $expires, $secret);");
        var pId = cmd.Parameters.Add("$id", SqliteType.Integer);
        var pSite = cmd.Parameters.Add("$site", SqliteType.Integer);
        var pCreated = cmd.Parameters.Add("$created", SqliteType.Integer);
        var pActivates = cmd.Parameters.Add("$activates", SqliteType.Integer);
        var pExpires = cmd.Parameters.Add("$expires", SqliteType.Integer);
        var pSecret = cmd.Parameters.Add("$secret", SqliteType.Blob);
        foreach (var k in keys)
        {
            pId.Value = k.Id;
            pSite.Value = k.SiteId;
            pCreated.Value = k.Created.ToUnixTimeMilliseconds();
            pActivates.Value = k.Activates.ToUnixTimeMilliseconds();
            pExpires.Value = k.Expires.ToUnixTimeMilliseconds();
            pSecret.Value = Kek.SealBytes(k.Secret, SecretColumns.KeySecret(k.Id));
            await StoreRows.InsertAsync(cmd, IsConstraint, () => $"An encryption key with id {k.Id} already exists.", ct).ConfigureAwait(false);
        }
    }

    public async Task SaveSaltsAsync(SaltSet salts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(salts);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await WriteSaltsAsync(conn, tx, salts, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> SaveSaltsIfAbsentAsync(Func<SaltSet> create, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(create);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        var present = await ScalarAsync(conn, tx, "SELECT count(*) FROM salt_meta;", ct).ConfigureAwait(false);
        if (Convert.ToInt64(present) > 0)
        {
            await tx.RollbackAsync(ct).ConfigureAwait(false);
            return false;
        }
        await WriteSaltsAsync(conn, tx, create(), ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

    private Task WriteSaltsAsync(SqliteConnection conn, SqliteTransaction tx, SaltSet salts, CancellationToken ct) =>
        SaltBlocks.WriteAsync(conn, tx, Kek, salts, ct);

    public async Task AddClientSideKeypairAsync(ClientSideKeypair keypair, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keypair);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await using (var cmd = Command(conn, tx,
            "INSERT INTO client_side_keypairs (subscription_id, site_id, public_key, private_key, created, disabled) " +
            "VALUES ($id, $site, $public, $private, $created, $disabled);"))
        {
            cmd.Parameters.AddWithValue("$id", keypair.SubscriptionId);
            cmd.Parameters.AddWithValue("$site", keypair.SiteId);
            cmd.Parameters.AddWithValue("$public", keypair.PublicKey);
            cmd.Parameters.AddWithValue("$private", Kek.SealText(keypair.PrivateKey, SecretColumns.PrivateKey(keypair.SubscriptionId)));
            cmd.Parameters.AddWithValue("$created", keypair.Created.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$disabled", keypair.Disabled ? 1 : 0);
            await StoreRows.InsertAsync(cmd, IsConstraint,
                () => $"A client-side key pair with subscription id {keypair.SubscriptionId} already exists.", ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<bool> SetClientSideKeypairDisabledAsync(string subscriptionId, bool disabled, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(subscriptionId);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, "UPDATE client_side_keypairs SET disabled = $disabled WHERE subscription_id = $id;");
        cmd.Parameters.AddWithValue("$disabled", disabled ? 1 : 0);
        cmd.Parameters.AddWithValue("$id", subscriptionId);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    public Task SetDomainNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default) =>
        ReplaceSiteNamesAsync("site_domain_names", siteId, names, ct);

    public Task SetAppNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default) =>
        ReplaceSiteNamesAsync("site_app_names", siteId, names, ct);

    private async Task ReplaceSiteNamesAsync(string table, int siteId, IReadOnlyList<string> names, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Names must not be empty.", nameof(names));
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        await using (var delete = Command(conn, tx, $"DELETE FROM {table} WHERE site_id = $site;"))
        {
            delete.Parameters.AddWithValue("$site", siteId);
            await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var insert = Command(conn, tx, $"INSERT OR IGNORE INTO {table} (site_id, name) VALUES ($site, $name);"))
        {
            var pSite = insert.Parameters.Add("$site", SqliteType.Integer);
            var pName = insert.Parameters.Add("$name", SqliteType.Text);
            foreach (var name in names)
            {
                pSite.Value = siteId;
                pName.Value = name;
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        // Bump the version even when nothing changed (an empty list on an empty site): the caller asked for a write.
        await using (var bump = Command(conn, tx, "UPDATE store_version SET version = version + 1 WHERE id = 1;"))
            await bump.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public async Task<OptOutRecord> AddOptOutAsync(byte[] firstLevelHash, byte[] advertisingId, DateTimeOffset timestamp, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(firstLevelHash);
        ArgumentNullException.ThrowIfNull(advertisingId);
        using var turn = await _writeGate.EnterAsync(ct).ConfigureAwait(false);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        // One write transaction, committed (and, with synchronous=FULL, on disk) before it returns.
        await using var tx = conn.BeginTransaction(deferred: false);
        var record = await UpsertOptOutAsync(conn, tx, firstLevelHash, advertisingId, timestamp.ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return record;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OptOutRecord>> AddOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(optOuts);
        using var turn = await _writeGate.EnterAsync(ct).ConfigureAwait(false);
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        // One write transaction for the whole batch: one commit (one fsync) for all of them.
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

    // ---------------------------------------------------------------- secrets at rest

    public async Task<int> ResealAsync(CancellationToken ct = default)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var tx = conn.BeginTransaction(deferred: false);
        var count = await SecretColumns.ResealAsync(conn, tx, Kek, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return count;
    }

    // ---------------------------------------------------------------- leader lock

    /// <summary>In-memory stores: lock names held in this process, per database.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> MemoryLocks = new();

    /// <summary>
    /// A SQLite file is shared only by processes on one host, so an OS file lock is enough: an exclusive lock on
    /// <c>&lt;database&gt;.lock-&lt;name&gt;</c> (created if missing, never deleted), released on dispose or process exit.
    /// It excludes other handles in this process too. An in-memory store locks within this process.
    /// </summary>
    public Task<IAsyncDisposable?> TryAcquireAsync(string name, CancellationToken ct)
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

    private static bool IsConstraint(DbException ex) => ex is SqliteException { SqliteErrorCode: 19 }; // SQLITE_CONSTRAINT

    public async ValueTask DisposeAsync()
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
