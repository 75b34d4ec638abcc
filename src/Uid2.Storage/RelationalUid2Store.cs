using System.Data;
using System.Data.Common;
using static Uid2.Storage.CommonSql;
using Uid2.Core.Auth;
using Uid2.Core.ClientSide;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// The store's rules, written once: every transaction of <see cref="IUid2Store"/> and of the capabilities both providers
/// share, in SQL both accept (named <c>@</c> parameters; rows mapped by <see cref="StoreRows"/>, reads by
/// <see cref="StoreReads"/>, salts by <see cref="SaltBlocks"/>). As DataProtection's <c>XmlKeyManager</c> holds the rules
/// over a two-member <c>IXmlRepository</c>, this class holds them over a small dialect each provider supplies:
/// connections, how a write transaction begins and which locks it takes, how a consistent read begins, how text sorts by
/// bytes, what a duplicate key looks like, the opt-out upsert (SQLite: a statement per row behind its write gate;
/// PostgreSQL: one statement per batch), the schema steps, and the leader lock.
/// Only <see cref="SqliteUid2Store"/> and <see cref="PostgresUid2Store"/> derive from it.
/// </summary>
public abstract class RelationalUid2Store : IUid2Store, IStoreSecretSealing, IStoreOptOutBatches, IStoreLeaderLock, IStoreConnections,
    IStoreAdministration, IStoreOptOutPages, IStoreWriteProbe, IStoreOptOutWebhooks
{
    private readonly Lazy<KeyEncryptionKeyRing> _kek;

    private protected RelationalUid2Store(Lazy<KeyEncryptionKeyRing> kek) => _kek = kek;

    /// <summary>The key-encryption keys that seal this store's secrets.</summary>
    public KeyEncryptionKeyRing Kek => _kek.Value;

    // ---------------------------------------------------------------- the dialect

    /// <summary>An open connection with the provider's settings (pooled).</summary>
    private protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken ct);

    /// <summary>
    /// A write transaction that holds <paramref name="locks"/> until it ends (SQLite: <c>BEGIN IMMEDIATE</c>, which
    /// already excludes every other writer; PostgreSQL: READ COMMITTED and one transaction-level advisory lock per flag,
    /// taken before any read, so a read-then-write sees everything the previous holder committed).
    /// </summary>
    private protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection conn, StoreLocks locks, CancellationToken ct);

    /// <summary>A read-only transaction whose statements all see one consistent view.</summary>
    private protected abstract Task<DbTransaction> BeginSnapshotReadAsync(DbConnection conn, CancellationToken ct);

    /// <summary>What makes an <c>ORDER BY</c> on text sort by bytes (PostgreSQL: <c>COLLATE "C"</c>; SQLite: nothing).</summary>
    private protected abstract string OrdinalCollation { get; }

    /// <summary>True when <paramref name="ex"/> is a duplicate key.</summary>
    private protected abstract bool IsConflict(DbException ex);

    /// <summary>The schema steps (<see cref="SchemaMigrator"/>) and anything the provider sets up per file or server.</summary>
    private protected abstract Task MigrateAsync(CancellationToken ct);

    /// <summary><see cref="IStoreOptOutBatches.AddOptOutsAsync"/>: the provider's upsert, committed before it returns.</summary>
    private protected abstract Task<IReadOnlyList<OptOutRecord>> UpsertOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct);

    /// <inheritdoc />
    public abstract Task<IAsyncDisposable?> TryAcquireAsync(string name, CancellationToken ct);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    // ---------------------------------------------------------------- schema

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await MigrateAsync(ct).ConfigureAwait(false);
        // Salt buckets stored a row each (before blocks) move into blocks, under the salts lock.
        await WriteAsync(StoreLocks.Salts, (conn, tx) => SaltBlocks.MoveRowsIntoBlocksAsync(conn, tx, Kek, ct), ct).ConfigureAwait(false);
        // Upgrade in place: secrets written in clear (or under a retired key-encryption key) are sealed now.
        await ResealAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<int> ResealAsync(CancellationToken ct = default) =>
        // The locks every writer of a secret takes, so no secret is written under an older key meanwhile.
        WriteAsync(StoreLocks.Keys | StoreLocks.Salts, (conn, tx) => SecretColumns.ResealAsync(conn, tx, Kek, ct), ct);

    // ---------------------------------------------------------------- reads

    /// <inheritdoc />
    public async Task<long> GetVersionAsync(CancellationToken ct = default)
    {
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, "SELECT version FROM store_version WHERE id = 1");
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is { } v and not DBNull ? Convert.ToInt64(v) : 0;
    }

    /// <inheritdoc />
    public Task<StoreSnapshot> LoadSnapshotAsync(CancellationToken ct = default) => LoadSnapshotAsync(includeOptOuts: true, ct);

    /// <inheritdoc />
    public async Task<StoreSnapshot> LoadSnapshotAsync(bool includeOptOuts, CancellationToken ct = default)
    {
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await BeginSnapshotReadAsync(conn, ct).ConfigureAwait(false);
        var snapshot = await StoreReads.SnapshotAsync(conn, tx, Kek, OrdinalCollation, includeOptOuts, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return snapshot;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<OptOutRecord>> LoadOptOutsAfterAsync(long afterId, CancellationToken ct = default)
    {
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        return await StoreReads.OptOutsAfterAsync(conn, null, afterId, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Participant?> GetParticipantAsync(int siteId, CancellationToken ct = default)
    {
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        var list = await StoreReads.ParticipantsAsync(conn, null, siteId, ct).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    // ---------------------------------------------------------------- writes

    /// <inheritdoc />
    public Task AddParticipantAsync(Participant participant, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(participant);
        return WriteAsync(StoreLocks.None, (conn, tx) => InsertParticipantAsync(conn, tx, participant, ct), ct);
    }

    /// <inheritdoc />
    public Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(apiKey);
        return WriteAsync(StoreLocks.None, (conn, tx) => InsertApiKeyAsync(conn, tx, apiKey, ct), ct);
    }

    /// <inheritdoc />
    public Task CreateParticipantAsync(Participant participant, ApiKeyRecord apiKey, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(participant);
        ArgumentNullException.ThrowIfNull(apiKey);
        return WriteAsync(StoreLocks.None, async (conn, tx) =>
        {
            await InsertParticipantAsync(conn, tx, participant, ct).ConfigureAwait(false);
            await InsertApiKeyAsync(conn, tx, apiKey, ct).ConfigureAwait(false);
        }, ct);
    }

    /// <inheritdoc />
    public Task AddKeysAsync(IEnumerable<EncryptionKey> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        return WriteAsync(StoreLocks.Keys, (conn, tx) => InsertKeysAsync(conn, tx, keys, ct), ct);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<EncryptionKey>> AddKeysAtomicallyAsync(
        Func<IReadOnlyList<EncryptionKey>, IReadOnlyList<EncryptionKey>> plan, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        // The keys lock is held before the read: concurrent planners (operators, the admin CLI) see each other's keys.
        return WriteAsync(StoreLocks.Keys, async (conn, tx) =>
        {
            var added = plan(await StoreReads.KeysAsync(conn, tx, Kek, ct).ConfigureAwait(false));
            if (added.Count > 0) await InsertKeysAsync(conn, tx, added, ct).ConfigureAwait(false);
            return added;
        }, ct);
    }

    /// <inheritdoc />
    public Task SaveSaltsAsync(SaltSet salts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(salts);
        return WriteAsync(StoreLocks.Salts, (conn, tx) => SaltBlocks.WriteAsync(conn, tx, Kek, salts, ct), ct);
    }

    /// <inheritdoc />
    public Task<bool> SaveSaltsIfAbsentAsync(Func<SaltSet> create, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(create);
        return WriteAsync(StoreLocks.Salts, async (conn, tx) =>
        {
            await using (var count = Command(conn, tx, "SELECT count(*) FROM salt_meta"))
                if (Convert.ToInt64(await count.ExecuteScalarAsync(ct).ConfigureAwait(false)) > 0) return false;
            await SaltBlocks.WriteAsync(conn, tx, Kek, create(), ct).ConfigureAwait(false);
            return true;
        }, ct);
    }

    /// <inheritdoc />
    public Task AddClientSideKeypairAsync(ClientSideKeypair keypair, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keypair);
        return WriteAsync(StoreLocks.None, async (conn, tx) =>
        {
            await using var cmd = Command(conn, tx,
                "INSERT INTO client_side_keypairs (subscription_id, site_id, public_key, private_key, created, disabled) " +
                "VALUES (@id, @site, @public, @private, @created, @disabled)");
            Add(cmd, "id", keypair.SubscriptionId);
            Add(cmd, "site", keypair.SiteId);
            Add(cmd, "public", keypair.PublicKey);
            Add(cmd, "private", Kek.SealText(keypair.PrivateKey, SecretColumns.PrivateKey(keypair.SubscriptionId)));
            Add(cmd, "created", keypair.Created.ToUnixTimeMilliseconds());
            Add(cmd, "disabled", keypair.Disabled);
            await InsertAsync(cmd, () => $"A client-side key pair with subscription id {keypair.SubscriptionId} already exists.", ct).ConfigureAwait(false);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<bool> SetClientSideKeypairDisabledAsync(string subscriptionId, bool disabled, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(subscriptionId);
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, "UPDATE client_side_keypairs SET disabled = @disabled WHERE subscription_id = @id");
        Add(cmd, "disabled", disabled);
        Add(cmd, "id", subscriptionId);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public Task SetDomainNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default) =>
        ReplaceSiteNamesAsync("site_domain_names", siteId, names, ct);

    /// <inheritdoc />
    public Task SetAppNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default) =>
        ReplaceSiteNamesAsync("site_app_names", siteId, names, ct);

    private Task ReplaceSiteNamesAsync(string table, int siteId, IReadOnlyList<string> names, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Any(string.IsNullOrWhiteSpace)) throw new ArgumentException("Names must not be empty.", nameof(names));
        // The lock makes concurrent replacements serialize: the last writer wins, never a union of both lists.
        return WriteAsync(StoreLocks.SiteNames, async (conn, tx) =>
        {
            await using (var delete = Command(conn, tx, $"DELETE FROM {table} WHERE site_id = @site"))
            {
                Add(delete, "site", siteId);
                await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            await using (var insert = Command(conn, tx, $"INSERT INTO {table} (site_id, name) VALUES (@site, @name) ON CONFLICT DO NOTHING"))
            {
                Add(insert, "site", siteId);
                var name = Add(insert, "name", "");
                foreach (var n in names)
                {
                    name.Value = n;
                    await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
            }
            // The version moves even when no row changed (an empty list on an empty site): the caller asked for a write.
            await ExecuteAsync(conn, tx, "UPDATE store_version SET version = version + 1 WHERE id = 1", ct).ConfigureAwait(false);
        }, ct);
    }

    /// <inheritdoc />
    public async Task<OptOutRecord> AddOptOutAsync(byte[] firstLevelHash, byte[] advertisingId, DateTimeOffset timestamp, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(firstLevelHash);
        ArgumentNullException.ThrowIfNull(advertisingId);
        // A batch of one: the same rules, committed (durable) before it returns.
        return (await UpsertOptOutsAsync([new OptOutWrite(firstLevelHash, advertisingId, timestamp)], ct).ConfigureAwait(false))[0];
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<OptOutRecord>> AddOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(optOuts);
        foreach (var o in optOuts)
        {
            ArgumentNullException.ThrowIfNull(o.FirstLevelHash);
            ArgumentNullException.ThrowIfNull(o.AdvertisingId);
        }
        return optOuts.Count == 0 ? Task.FromResult<IReadOnlyList<OptOutRecord>>([]) : UpsertOptOutsAsync(optOuts, ct);
    }

    // ---------------------------------------------------------------- rows

    private async Task InsertParticipantAsync(DbConnection conn, DbTransaction tx, Participant p, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            $"INSERT INTO participants ({StoreRows.ParticipantColumns}) VALUES (@site, @name, @roles, @enabled, @created, @types)");
        Add(cmd, "site", p.SiteId);
        Add(cmd, "name", p.Name);
        Add(cmd, "roles", Roles.Format(p.Roles));
        Add(cmd, "enabled", p.Enabled);
        Add(cmd, "created", p.Created.ToUnixTimeMilliseconds());
        Add(cmd, "types", ClientTypeNames.Format(p.Types));
        await InsertAsync(cmd, () => $"A participant with site id {p.SiteId} already exists.", ct).ConfigureAwait(false);
    }

    private async Task InsertApiKeyAsync(DbConnection conn, DbTransaction tx, ApiKeyRecord k, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO api_keys (" + StoreRows.ApiKeyColumns + ") " +
            "VALUES (@id, @hash, @salt, @site, @name, @roles, @secret, @disabled, @created, @prev, @prevUntil)");
        Add(cmd, "id", k.KeyId);
        Add(cmd, "hash", k.KeyHash);
        Add(cmd, "salt", k.KeySalt);
        Add(cmd, "site", k.SiteId);
        Add(cmd, "name", k.Name);
        Add(cmd, "roles", Roles.Format(k.Roles));
        Add(cmd, "secret", Kek.SealText(k.ClientSecret, SecretColumns.ClientSecret(k.KeyId)));
        Add(cmd, "disabled", k.Disabled);
        Add(cmd, "created", k.Created.ToUnixTimeMilliseconds());
        AddNullable(cmd, "prev", DbType.String,
            k.PreviousClientSecret is null ? null : Kek.SealText(k.PreviousClientSecret, SecretColumns.PreviousClientSecret(k.KeyId)));
        AddNullable(cmd, "prevUntil", DbType.Int64, k.PreviousSecretExpires?.ToUnixTimeMilliseconds());
        await InsertAsync(cmd, () => $"An API key with key id {k.KeyId} already exists.", ct).ConfigureAwait(false);
    }

    private async Task InsertKeysAsync(DbConnection conn, DbTransaction tx, IEnumerable<EncryptionKey> keys, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO encryption_keys (id, site_id, created, activates, expires, secret) VALUES (@id, @site, @created, @activates, @expires, @secret)");
        var id = Add(cmd, "id", 0);
        var site = Add(cmd, "site", 0);
        var created = Add(cmd, "created", 0L);
        var activates = Add(cmd, "activates", 0L);
        var expires = Add(cmd, "expires", 0L);
        var secret = Add(cmd, "secret", Array.Empty<byte>());
        foreach (var k in keys)
        {
            id.Value = k.Id;
            site.Value = k.SiteId;
            created.Value = k.Created.ToUnixTimeMilliseconds();
            activates.Value = k.Activates.ToUnixTimeMilliseconds();
            expires.Value = k.Expires.ToUnixTimeMilliseconds();
            secret.Value = Kek.SealBytes(k.Secret, SecretColumns.KeySecret(k.Id));
            await InsertAsync(cmd, () => $"An encryption key with id {k.Id} already exists.", ct).ConfigureAwait(false);
        }
    }

    private Task InsertAsync(DbCommand cmd, Func<string> conflictMessage, CancellationToken ct) =>
        StoreRows.InsertAsync(cmd, IsConflict, conflictMessage, ct);

    // ---------------------------------------------------------------- transactions

    private Task WriteAsync(StoreLocks locks, Func<DbConnection, DbTransaction, Task> work, CancellationToken ct) =>
        WriteAsync(locks, async (conn, tx) =>
        {
            await work(conn, tx).ConfigureAwait(false);
            return true;
        }, ct);

    /// <summary>Runs <paramref name="work"/> in one write transaction holding <paramref name="locks"/>; commits if it returns.</summary>
    private async Task<T> WriteAsync<T>(StoreLocks locks, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken ct)
    {
        await using var conn = await OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await BeginWriteAsync(conn, locks, ct).ConfigureAwait(false);
        var result = await work(conn, tx).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return result;
    }

    Task<DbConnection> IStoreConnections.OpenConnectionAsync(CancellationToken ct) => OpenConnectionAsync(ct);

    Task<DbTransaction> IStoreConnections.BeginWriteAsync(DbConnection conn, StoreLocks locks, CancellationToken ct) => BeginWriteAsync(conn, locks, ct);
}

/// <summary>
/// The locks a write transaction takes among all processes sharing the store, beyond what its writes lock themselves:
/// each serializes one kind of read-then-write (PostgreSQL advisory locks; SQLite's write transaction excludes all writers).
/// </summary>
[Flags]
internal enum StoreLocks
{
    None = 0,
    /// <summary>Encryption keys: planning new keys from the stored ones; resealing.</summary>
    Keys = 1,
    /// <summary>Salts: saving, rotating, moving into blocks; resealing.</summary>
    Salts = 2,
    /// <summary>A site's domain or app names: replacing the list.</summary>
    SiteNames = 4,
}
