using System.Data;
using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// The scale-out store: one PostgreSQL database shared by any number of operators and the admin CLI.
/// Same logical schema and behaviour as <see cref="SqliteUid2Store"/> (times as Unix epoch milliseconds, triggers that
/// bump <c>store_version</c> on every insert, update, delete or truncate of every data table, opt-outs included),
/// plus <c>NOTIFY uid2_changes</c> from the same triggers (<see cref="IStoreChangeNotifier"/>) and advisory-lock
/// leader election (<see cref="IStoreLeaderLock"/>).
/// <para>
/// The schema is created and upgraded by <see cref="InitializeAsync"/> from versioned migrations recorded in
/// <c>schema_migrations</c>; each runs in its own transaction under <c>pg_advisory_xact_lock</c>, so instances
/// starting together apply each migration once. Tables live in the connection's default schema (search_path).
/// </para>
/// </summary>
public sealed class PostgresUid2Store : RelationalUid2Store, IStoreChangeNotifier
{
    // Transaction-scoped advisory lock keys (the single-bigint key space; leader locks use hashed keys).
    private const long MigrationLockKey = 0x5549_4432_0000_0001; // "UID2" + 1
    private const long KeysLockKey = 0x5549_4432_0000_0002;
    private const long SaltsLockKey = 0x5549_4432_0000_0003;
    private const long SiteNamesLockKey = 0x5549_4432_0000_0004;

    /// <summary>The versioned migrations, in order. Never edit one that has shipped: append a new one.</summary>
    private static readonly SchemaStep[] Migrations =
    [
        new(1, "initial schema, version and notify triggers", """
            CREATE TABLE store_version (
                id      integer PRIMARY KEY CHECK (id = 1),
                version bigint NOT NULL);
            INSERT INTO store_version (id, version) VALUES (1, 0);

            CREATE TABLE participants (
                site_id integer PRIMARY KEY,
                name    text NOT NULL,
                roles   text NOT NULL,
                enabled boolean NOT NULL DEFAULT true,
                created bigint NOT NULL);

            CREATE TABLE api_keys (
                key_id        text PRIMARY KEY,
                key_hash      text NOT NULL,
                key_salt      text NOT NULL,
                site_id       integer NOT NULL,
                name          text NOT NULL,
                roles         text NOT NULL,
                client_secret text NOT NULL,
                disabled      boolean NOT NULL DEFAULT false,
                created       bigint NOT NULL);
            CREATE INDEX ix_api_keys_site_id ON api_keys (site_id);

            CREATE TABLE encryption_keys (
                id        integer PRIMARY KEY,
                site_id   integer NOT NULL,
                created   bigint NOT NULL,
                activates bigint NOT NULL,
                expires   bigint NOT NULL,
                secret    bytea NOT NULL CHECK (octet_length(secret) = 32));
            CREATE INDEX ix_encryption_keys_site_id ON encryption_keys (site_id);

            CREATE TABLE salt_meta (
                id               integer PRIMARY KEY CHECK (id = 1),
                first_level_salt text NOT NULL);

            CREATE TABLE salt_buckets (
                id              integer PRIMARY KEY,
                last_updated_ms bigint NOT NULL,
                current_salt    text NOT NULL,
                refresh_from_ms bigint NOT NULL,
                previous_salt   text);

            CREATE TABLE optouts (
                id               bigserial PRIMARY KEY,
                first_level_hash bytea NOT NULL,
                advertising_id   bytea NOT NULL,
                timestamp_ms     bigint NOT NULL);
            CREATE INDEX ix_optouts_first_level_hash ON optouts (first_level_hash);

            -- Statement-level, so a million-row salt COPY bumps the version once, not a million times.
            CREATE FUNCTION uid2_config_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                UPDATE store_version SET version = version + 1 WHERE id = 1;
                PERFORM pg_notify('uid2_changes', TG_TABLE_NAME);
                RETURN NULL;
            END
            $fn$;

            -- New opt-outs are read incrementally, so only updates and deletes bump the version (as on SQLite);
            -- notifications come from the row trigger below.
            CREATE FUNCTION uid2_optouts_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    UPDATE store_version SET version = version + 1 WHERE id = 1;
                END IF;
                IF TG_OP = 'TRUNCATE' THEN
                    PERFORM pg_notify('uid2_changes', 'optouts');
                END IF;
                RETURN NULL;
            END
            $fn$;

            CREATE FUNCTION uid2_optout_row_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM pg_notify('uid2_changes', NEW.id::text);
                ELSE
                    PERFORM pg_notify('uid2_changes', 'optouts');
                END IF;
                RETURN NULL;
            END
            $fn$;

            CREATE TRIGGER trg_participants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON participants
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_api_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_encryption_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON encryption_keys
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_salt_meta_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON salt_meta
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_salt_buckets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON salt_buckets
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_optouts_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON optouts
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_optouts_changed();
            CREATE TRIGGER trg_optouts_row_changed AFTER INSERT OR UPDATE OR DELETE ON optouts
                FOR EACH ROW EXECUTE FUNCTION uid2_optout_row_changed();
            """),
        new(2, "client-side token generation: key pairs, site domain and app names", """
            CREATE TABLE client_side_keypairs (
                subscription_id text PRIMARY KEY,
                site_id         integer NOT NULL,
                public_key      text NOT NULL,
                private_key     text NOT NULL,
                created         bigint NOT NULL,
                disabled        boolean NOT NULL DEFAULT false);
            CREATE INDEX ix_client_side_keypairs_site_id ON client_side_keypairs (site_id);

            CREATE TABLE site_domain_names (
                site_id integer NOT NULL,
                name    text NOT NULL,
                PRIMARY KEY (site_id, name));

            CREATE TABLE site_app_names (
                site_id integer NOT NULL,
                name    text NOT NULL,
                PRIMARY KEY (site_id, name));

            CREATE TRIGGER trg_client_side_keypairs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON client_side_keypairs
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_site_domain_names_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site_domain_names
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            CREATE TRIGGER trg_site_app_names_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site_app_names
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            """),
        new(3, "one opt-out row per identity; a repeated opt-out is read incrementally", """
            DELETE FROM optouts o USING optouts newer
             WHERE newer.first_level_hash = o.first_level_hash
               AND (newer.timestamp_ms > o.timestamp_ms OR (newer.timestamp_ms = o.timestamp_ms AND newer.id > o.id));
            DROP INDEX IF EXISTS ix_optouts_first_level_hash;
            CREATE UNIQUE INDEX IF NOT EXISTS ux_optouts_first_level_hash ON optouts (first_level_hash);

            -- A repeated opt-out moves its row to a new id: announced like an insert, never a full reload.
            CREATE OR REPLACE FUNCTION uid2_optouts_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                    UPDATE store_version SET version = version + 1 WHERE id = 1;
                END IF;
                IF TG_OP = 'TRUNCATE' THEN
                    PERFORM pg_notify('uid2_changes', 'optouts');
                END IF;
                RETURN NULL;
            END
            $fn$;

            CREATE OR REPLACE FUNCTION uid2_optout_row_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    PERFORM pg_notify('uid2_changes', NEW.id::text);
                ELSE
                    PERFORM pg_notify('uid2_changes', 'optouts');
                END IF;
                RETURN NULL;
            END
            $fn$;
            """),
        new(4, "encryption keys stored sealed (longer than 32 bytes)", """
            ALTER TABLE encryption_keys DROP CONSTRAINT IF EXISTS encryption_keys_secret_check;
            """),
        new(5, "audit log of administrative actions", """
            CREATE TABLE IF NOT EXISTS audit_log (
                id      bigserial PRIMARY KEY,
                at_ms   bigint NOT NULL,
                actor   text NOT NULL,
                action  text NOT NULL,
                target  text NOT NULL,
                outcome text NOT NULL);
            """),
        new(6, "client-secret rotation with an overlap", """
            ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS previous_client_secret text NULL;
            ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS previous_secret_expires_ms bigint NULL;
            """),
        new(7, "salt buckets in sealed blocks of 256", SaltBlocks.CreatePostgres + """

            DROP TRIGGER IF EXISTS trg_salt_blocks_changed ON salt_blocks;
            CREATE TRIGGER trg_salt_blocks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON salt_blocks
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            """),
        new(8, "keyset sharing (allowed sites and types) and participant types", """
            ALTER TABLE participants ADD COLUMN IF NOT EXISTS client_types text NOT NULL DEFAULT '';
            CREATE TABLE IF NOT EXISTS keysets (
                site_id       integer PRIMARY KEY,
                allowed_sites text NULL,
                allowed_types text NOT NULL DEFAULT '',
                enabled       boolean NOT NULL DEFAULT true);
            DROP TRIGGER IF EXISTS trg_keysets_changed ON keysets;
            CREATE TRIGGER trg_keysets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON keysets
                FOR EACH STATEMENT EXECUTE FUNCTION uid2_config_changed();
            """),
        new(9, "opt-out webhooks for DSPs and their outbox, filled with each opt-out in its transaction", """
            CREATE TABLE IF NOT EXISTS optout_webhooks (
                site_id           integer PRIMARY KEY,
                url_template      text NOT NULL,
                method            text NOT NULL DEFAULT 'GET',
                enabled           boolean NOT NULL DEFAULT true,
                created_ms        bigint NOT NULL,
                lease_owner       text NULL,
                lease_until_ms    bigint NOT NULL DEFAULT 0,
                next_attempt_ms   bigint NOT NULL DEFAULT 0,
                failures          integer NOT NULL DEFAULT 0,
                failed_attempts   bigint NOT NULL DEFAULT 0,
                delivered         bigint NOT NULL DEFAULT 0,
                last_delivered_ms bigint NULL,
                last_delay_ms     bigint NULL,
                last_error        text NULL,
                last_error_ms     bigint NULL);
            CREATE TABLE IF NOT EXISTS optout_outbox (
                id             bigserial PRIMARY KEY,
                site_id        integer NOT NULL,
                advertising_id bytea NOT NULL,
                timestamp_ms   bigint NOT NULL,
                enqueued_ms    bigint NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_optout_outbox_site ON optout_outbox (site_id, id);

            CREATE OR REPLACE FUNCTION uid2_optout_outbox() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                IF TG_OP = 'INSERT' OR NEW.id <> OLD.id THEN
                    INSERT INTO optout_outbox (site_id, advertising_id, timestamp_ms, enqueued_ms)
                    SELECT site_id, NEW.advertising_id, NEW.timestamp_ms, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
                      FROM optout_webhooks WHERE enabled;
                END IF;
                RETURN NULL;
            END
            $fn$;
            DROP TRIGGER IF EXISTS trg_optouts_outbox ON optouts;
            CREATE TRIGGER trg_optouts_outbox AFTER INSERT OR UPDATE OF id ON optouts
                FOR EACH ROW EXECUTE FUNCTION uid2_optout_outbox();
            """),
    ];

    /// <summary>PostgreSQL's part of the migration runner.</summary>
    private sealed class PostgresSchemaDialect : ISchemaDialect
    {
        public async Task<DbTransaction> BeginExclusiveAsync(DbConnection conn, CancellationToken ct)
        {
            var pg = (NpgsqlConnection)conn;
            var tx = await pg.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
            await ExecuteAsync(pg, tx, $"SELECT pg_advisory_xact_lock({MigrationLockKey});", ct).ConfigureAwait(false);
            return tx;
        }

        public string CreateMigrationsTable => """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now());
            """;

        public bool ReapplyBaseline => false;

        public Task AdoptLegacyVersioningAsync(DbConnection conn, DbTransaction tx, IReadOnlyList<SchemaStep> steps, CancellationToken ct) => Task.CompletedTask;
    }

    /// <summary>The newest schema version this build knows.</summary>
    public static int SchemaVersion => Migrations[^1].Version;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _dedicatedConnectionString;
    private bool _disposed;

    /// <summary>
    /// Connects (lazily, pooled) with an Npgsql connection string, e.g.
    /// <c>Host=db;Port=5432;Database=uid2;Username=uid2;Password=…</c>. The database must exist.
    /// </summary>
    /// <param name="keyEncryptionKeys">Seals the secrets at rest; null: found by <see cref="KeyEncryptionKeys.Resolve"/> on first
    /// use (<c>UID2_KEK</c> or <c>UID2_KEK_FILE</c>: PostgreSQL has no default).</param>
    public PostgresUid2Store(string connectionString, KeyEncryptionKeyRing? keyEncryptionKeys = null)
        : base(LazyKek(connectionString, keyEncryptionKeys))
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            throw new ArgumentException($"Invalid PostgreSQL connection string: {ex.Message}", nameof(connectionString));
        }
        if (string.IsNullOrWhiteSpace(builder.Host))
            throw new ArgumentException("The PostgreSQL connection string needs a 'Host=<server>'.", nameof(connectionString));

        // Fail fast when the server is down (Npgsql's defaults wait 15 s to connect): the operator keeps serving from
        // its snapshot and answers durable writes with 503 rather than hanging the request. Explicit settings win.
        if (!connectionString.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 3;
            builder.CommandTimeout = 15;
        }
        _dataSource = NpgsqlDataSource.Create(builder);

        // LISTEN and session advisory locks need a connection of their own, never returned to the pool (a pool reset
        // would drop them); keepalives make a dead server or network show up as an exception instead of silence.
        var dedicated = new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false };
        if (dedicated.KeepAlive == 0) dedicated.KeepAlive = 15;
        _dedicatedConnectionString = dedicated.ConnectionString;
    }

    private static Lazy<KeyEncryptionKeyRing> LazyKek(string connectionString, KeyEncryptionKeyRing? given) =>
        given is not null
            ? new Lazy<KeyEncryptionKeyRing>(given)
            : new Lazy<KeyEncryptionKeyRing>(() => KeyEncryptionKeys.Resolve(connectionString, null, null, createIfMissing: true));

    // ---------------------------------------------------------------- dialect

    private protected override async Task MigrateAsync(CancellationToken ct)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await SchemaMigrator.MigrateAsync(conn, new PostgresSchemaDialect(), Migrations, ct).ConfigureAwait(false);
    }

    private protected override async Task<DbConnection> OpenConnectionAsync(CancellationToken ct) => await OpenAsync(ct).ConfigureAwait(false);

    /// <summary>
    /// READ COMMITTED, then the advisory locks in a fixed order (keys, salts, site names: no deadlock between two writers
    /// that take several). Under READ COMMITTED each later statement starts after the lock is granted, so it sees
    /// everything the previous holder committed.
    /// </summary>
    private protected override async Task<DbTransaction> BeginWriteAsync(DbConnection conn, StoreLocks locks, CancellationToken ct)
    {
        var pg = (NpgsqlConnection)conn;
        var tx = await pg.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct).ConfigureAwait(false);
        try
        {
            var sql = string.Concat(
                locks.HasFlag(StoreLocks.Keys) ? $"SELECT pg_advisory_xact_lock({KeysLockKey});" : "",
                locks.HasFlag(StoreLocks.Salts) ? $"SELECT pg_advisory_xact_lock({SaltsLockKey});" : "",
                locks.HasFlag(StoreLocks.SiteNames) ? $"SELECT pg_advisory_xact_lock({SiteNamesLockKey});" : "");
            if (sql.Length > 0) await ExecuteAsync(pg, tx, sql, ct).ConfigureAwait(false);
            return tx;
        }
        catch
        {
            await tx.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>REPEATABLE READ, read only: every statement sees the one snapshot taken by the first.</summary>
    private protected override async Task<DbTransaction> BeginSnapshotReadAsync(DbConnection conn, CancellationToken ct)
    {
        var pg = (NpgsqlConnection)conn;
        var tx = await pg.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct).ConfigureAwait(false);
        await ExecuteAsync(pg, tx, "SET TRANSACTION READ ONLY;", ct).ConfigureAwait(false);
        return tx;
    }

    private protected override string OrdinalCollation => " COLLATE \"C\"";

    private protected override bool IsConflict(DbException ex) => ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <summary>
    /// One statement for the whole batch (one round trip, one commit in autocommit): the latest time of each identity in
    /// the batch, upserted with the single opt-out's rule; identities whose stored time is not older come back as stored.
    /// </summary>
    private protected override async Task<IReadOnlyList<OptOutRecord>> UpsertOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct)
    {
        await using var conn = await OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, """
            WITH input AS (
                SELECT DISTINCT ON (flh) flh, uid, ts
                  FROM unnest($1::bytea[], $2::bytea[], $3::bigint[]) WITH ORDINALITY AS t(flh, uid, ts, ord)
                 ORDER BY flh, ts DESC, ord DESC),
            upsert AS (
                INSERT INTO optouts (first_level_hash, advertising_id, timestamp_ms) SELECT flh, uid, ts FROM input
                ON CONFLICT (first_level_hash) DO UPDATE
                    SET id = nextval(pg_get_serial_sequence('optouts', 'id')),
                        advertising_id = EXCLUDED.advertising_id, timestamp_ms = EXCLUDED.timestamp_ms
                    WHERE optouts.timestamp_ms < EXCLUDED.timestamp_ms
                RETURNING id, first_level_hash, advertising_id, timestamp_ms)
            SELECT id, first_level_hash, advertising_id, timestamp_ms FROM upsert
            UNION ALL
            SELECT o.id, o.first_level_hash, o.advertising_id, o.timestamp_ms FROM optouts o JOIN input i ON o.first_level_hash = i.flh
             WHERE NOT EXISTS (SELECT 1 FROM upsert u WHERE u.first_level_hash = o.first_level_hash);
            """);
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = optOuts.Select(o => o.FirstLevelHash).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = optOuts.Select(o => o.AdvertisingId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        cmd.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = optOuts.Select(o => o.Timestamp.ToUnixTimeMilliseconds()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        var stored = (await StoreRows.ReadAllAsync(cmd, StoreRows.OptOut, ct).ConfigureAwait(false))
            .ToDictionary(r => Convert.ToHexString(r.FirstLevelHash));
        var records = new OptOutRecord[optOuts.Count];
        for (var i = 0; i < records.Length; i++)
        {
            var key = Convert.ToHexString(optOuts[i].FirstLevelHash);
            if (!stored.TryGetValue(key, out var record))
            {
                // A concurrent writer committed this identity after the statement's snapshot (and its time won): read it now.
                await using var read = Command(conn, null, "SELECT id, first_level_hash, advertising_id, timestamp_ms FROM optouts WHERE first_level_hash = $1;");
                read.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = optOuts[i].FirstLevelHash, NpgsqlDbType = NpgsqlDbType.Bytea });
                stored[key] = record = (await StoreRows.ReadAllAsync(read, StoreRows.OptOut, ct).ConfigureAwait(false)).Single();
            }
            records[i] = record;
        }
        return records;
    }


    // ---------------------------------------------------------------- notifications

    /// <inheritdoc />
    public async Task ListenAsync(Func<string, Task> onChange, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await using var conn = new NpgsqlConnection(_dedicatedConnectionString);
        await conn.OpenAsync(ct).ConfigureAwait(false);

        // Raised from inside WaitAsync (on this call's flow); queued and handled after it returns, one at a time.
        var pending = new Queue<string>();
        conn.Notification += (_, e) =>
        {
            lock (pending) pending.Enqueue(e.Payload);
        };
        await using (var listen = new NpgsqlCommand($"LISTEN {StoreChanges.Channel};", conn))
            await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);

        await onChange(StoreChanges.Resync).ConfigureAwait(false);
        while (true)
        {
            await conn.WaitAsync(ct).ConfigureAwait(false);
            while (true)
            {
                string payload;
                lock (pending)
                {
                    if (!pending.TryDequeue(out payload!)) break;
                }
                await onChange(payload).ConfigureAwait(false);
            }
        }
    }

    // ---------------------------------------------------------------- leader lock

    /// <inheritdoc />
    public override async Task<IAsyncDisposable?> TryAcquireAsync(string name, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var key = LeaderLockKey(name);
        var conn = new NpgsqlConnection(_dedicatedConnectionString);
        try
        {
            await conn.OpenAsync(ct).ConfigureAwait(false);
            await using var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock($1);", conn);
            cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = key });
            if ((bool)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!)
                return new LeaderLease(conn, key);
        }
        catch
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        await conn.DisposeAsync().ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The session advisory lock key (<c>pg_try_advisory_lock(bigint)</c>) of the leader lock <paramref name="name"/>:
    /// the first 8 bytes of a SHA-256, stable across processes and builds.
    /// </summary>
    public static long LeaderLockKey(string name)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("uid2-leader-lock:" + name), hash);
        return BitConverter.ToInt64(hash);
    }

    private sealed class LeaderLease(NpgsqlConnection conn, long key) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                // Closing the (unpooled) session releases the lock anyway; unlocking first makes it immediate and explicit.
                await using var cmd = new NpgsqlCommand("SELECT pg_advisory_unlock($1);", conn);
                cmd.Parameters.Add(new NpgsqlParameter<long> { TypedValue = key });
                await cmd.ExecuteScalarAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                // The connection is gone, and the server released the lock with the session.
            }
            finally
            {
                await conn.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // ---------------------------------------------------------------- plumbing

    private ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _dataSource.OpenConnectionAsync(ct);
    }

    private static NpgsqlCommand Command(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql) => new(sql, conn, tx);

    private static async Task ExecuteAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql);
        var v = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return v is DBNull ? null : v;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}
