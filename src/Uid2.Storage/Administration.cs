using System.Data.Common;
using Npgsql;
using static Uid2.Storage.CommonSql;
using Uid2.Core.Auth;

namespace Uid2.Storage;

/// <summary>One administrative action as recorded: when, who, what, on what, and how it ended. Never a secret.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string Target, string Outcome);

/// <summary>
/// Capability of a store (both providers): the administrative writes beyond creating things — disabling participants
/// and API keys, changing roles and names — and the audit log. Test for it with <c>store is IStoreAdministration</c>.
/// Every write bumps the store version, so running operators pick it up within their poll (at once on PostgreSQL).
/// </summary>
public interface IStoreAdministration
{
    /// <summary>False when no participant has that site id.</summary>
    async Task<bool> SetParticipantEnabledAsync(int siteId, bool enabled, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetParticipantEnabledAsync(conn, siteId, enabled, ct).ConfigureAwait(false);
    }

    async Task<bool> SetParticipantRolesAsync(int siteId, Role roles, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetParticipantRolesAsync(conn, siteId, roles, ct).ConfigureAwait(false);
    }

    async Task<bool> SetParticipantNameAsync(int siteId, string name, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetParticipantNameAsync(conn, siteId, name, ct).ConfigureAwait(false);
    }

    /// <summary>Replaces what kind of business a participant is; false when no participant has that site id.</summary>
    async Task<bool> SetParticipantTypesAsync(int siteId, ClientTypes types, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetParticipantTypesAsync(conn, siteId, types, ct).ConfigureAwait(false);
    }

    /// <summary>Stores the sharing settings of a site's keyset (replacing any); running operators apply them on their next sync.</summary>
    async Task SetKeysetSharingAsync(KeysetSharing sharing, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(sharing);
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        await AdministrationSql.SetKeysetSharingAsync(conn, sharing, ct).ConfigureAwait(false);
    }

    /// <summary>Revokes (or restores) an API key; false when no key has that id.</summary>
    async Task<bool> SetApiKeyDisabledAsync(string keyId, bool disabled, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetApiKeyDisabledAsync(conn, keyId, disabled, ct).ConfigureAwait(false);
    }

    /// <summary>The opt-out of one identity, by its first-level hash (the unique index), or null.</summary>
    async Task<OptOutRecord?> FindOptOutAsync(byte[] firstLevelHash, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, first_level_hash, advertising_id, timestamp_ms FROM optouts WHERE first_level_hash = @h";
        Add(cmd, "h", firstLevelHash);
        return (await StoreRows.ReadAllAsync(cmd, StoreRows.OptOut, ct).ConfigureAwait(false)).SingleOrDefault();
    }

    /// <summary>
    /// Writes the given salt buckets in place (a rotation: only the buckets that changed), in one transaction; the
    /// first-level salt and the other buckets stay. Ids must exist. Running operators reload the salts as after any save.
    /// </summary>
    async Task UpdateSaltBucketsAsync(IReadOnlyList<Core.Identity.SaltBucket> changed, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        await AdministrationSql.UpdateSaltBucketsAsync(conn, Connections, changed, ct).ConfigureAwait(false);
    }

    /// <summary>Moves a key's expiry (retiring it: now; a key not active yet never activates); false when no key has that id.</summary>
    async Task<bool> SetKeyExpiresAsync(int keyId, DateTimeOffset expires, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetKeyExpiresAsync(conn, keyId, expires, ct).ConfigureAwait(false);
    }

    /// <summary>Deletes a key (a revoked, possibly leaked key); false when no key has that id.</summary>
    async Task<bool> DeleteKeyAsync(int keyId, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.DeleteKeyAsync(conn, keyId, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Gives an API key a new client secret; the current one stays accepted until <paramref name="previousUntil"/> (the
    /// overlap; now or earlier: not at all). False when no key has that id. One transaction: read, seal both, write.
    /// </summary>
    async Task<bool> RotateClientSecretAsync(string keyId, string newSecret, DateTimeOffset previousUntil, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.RotateClientSecretAsync(conn, Connections.Kek, keyId, newSecret, previousUntil, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds opt-outs in one transaction, as they were recorded (a restore): an identity already opted out keeps its row.
    /// </summary>
    async Task ImportOptOutsAsync(IReadOnlyList<(byte[] FirstLevelHash, byte[] AdvertisingId, DateTimeOffset Timestamp)> optOuts, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        await AdministrationSql.ImportOptOutsAsync(conn, optOuts, ct).ConfigureAwait(false);
    }

    async Task AppendAuditAsync(string actor, string action, string target, string outcome, DateTimeOffset at, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        await AdministrationSql.AppendAuditAsync(conn, actor, action, target, outcome, at, ct).ConfigureAwait(false);
    }

    /// <summary>The newest <paramref name="limit"/> entries, newest first.</summary>
    async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(int limit, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.ListAuditAsync(conn, limit, ct).ConfigureAwait(false);
    }

    private IStoreConnections Connections => (IStoreConnections)this;
}

/// <summary>What the rules written once over both providers need of them: an open connection (their own pooling and settings).</summary>
internal interface IStoreConnections
{
    Task<DbConnection> OpenConnectionAsync(CancellationToken ct);

    /// <summary>The key-encryption keys that seal the store's secrets.</summary>
    Secrets.KeyEncryptionKeyRing Kek { get; }

    /// <summary>A write transaction holding <paramref name="locks"/> (see <see cref="RelationalUid2Store"/>).</summary>
    Task<DbTransaction> BeginWriteAsync(DbConnection conn, StoreLocks locks, CancellationToken ct);
}

/// <summary>The SQL of <see cref="IStoreAdministration"/>, common to both dialects (named <c>@</c> parameters).</summary>
internal static class AdministrationSql
{
    public static Task<bool> SetParticipantEnabledAsync(DbConnection conn, int siteId, bool enabled, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE participants SET enabled = @v WHERE site_id = @k", enabled, siteId, ct);

    public static Task<bool> SetParticipantRolesAsync(DbConnection conn, int siteId, Role roles, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE participants SET roles = @v WHERE site_id = @k", Roles.Format(roles), siteId, ct);

    public static Task<bool> SetParticipantNameAsync(DbConnection conn, int siteId, string name, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE participants SET name = @v WHERE site_id = @k", name, siteId, ct);

    public static Task<bool> SetParticipantTypesAsync(DbConnection conn, int siteId, ClientTypes types, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE participants SET client_types = @v WHERE site_id = @k", ClientTypeNames.Format(types), siteId, ct);

    public static async Task SetKeysetSharingAsync(DbConnection conn, KeysetSharing sharing, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = """
            INSERT INTO keysets (site_id, allowed_sites, allowed_types, enabled) VALUES (@site, @sites, @types, @enabled)
            ON CONFLICT (site_id) DO UPDATE SET allowed_sites = excluded.allowed_sites, allowed_types = excluded.allowed_types, enabled = excluded.enabled
            """;
        Add(cmd, "site", sharing.SiteId);
        AddNullable(cmd, "sites", System.Data.DbType.String, KeysetSharing.FormatSites(sharing.AllowedSites));
        Add(cmd, "types", ClientTypeNames.Format(sharing.AllowedTypes));
        Add(cmd, "enabled", sharing.Enabled);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public static Task<bool> SetApiKeyDisabledAsync(DbConnection conn, string keyId, bool disabled, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE api_keys SET disabled = @v WHERE key_id = @k", disabled, keyId, ct);

    public static Task<bool> SetKeyExpiresAsync(DbConnection conn, int keyId, DateTimeOffset expires, CancellationToken ct) =>
        UpdateAsync(conn,
            // A key that has not activated yet is moved into the past too (a key must expire after it activates).
            "UPDATE encryption_keys SET activates = CASE WHEN activates >= @v THEN @v - 1 ELSE activates END, expires = @v WHERE id = @k",
            expires.ToUnixTimeMilliseconds(), keyId, ct);

    public static async Task<bool> DeleteKeyAsync(DbConnection conn, int keyId, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "DELETE FROM encryption_keys WHERE id = @k";
        Add(cmd, "k", keyId);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

    public static async Task<bool> RotateClientSecretAsync(DbConnection conn, Secrets.KeyEncryptionKeyRing kek, string keyId, string newSecret,
        DateTimeOffset previousUntil, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        string? sealedCurrent;
        await using (var read = conn.CreateCommand())
        {
            read.Transaction = tx;
            read.CommandText = "SELECT client_secret FROM api_keys WHERE key_id = @k";
            Add(read, "k", keyId);
            sealedCurrent = await read.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }
        if (sealedCurrent is null) return false;
        var current = kek.OpenText(sealedCurrent, Secrets.SecretColumns.ClientSecret(keyId));
        await using (var write = conn.CreateCommand())
        {
            write.Transaction = tx;
            write.CommandText = "UPDATE api_keys SET client_secret = @s, previous_client_secret = @p, previous_secret_expires_ms = @u WHERE key_id = @k";
            Add(write, "s", kek.SealText(newSecret, Secrets.SecretColumns.ClientSecret(keyId)));
            Add(write, "p", kek.SealText(current, Secrets.SecretColumns.PreviousClientSecret(keyId)));
            Add(write, "u", previousUntil.ToUnixTimeMilliseconds());
            Add(write, "k", keyId);
            await write.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

    public static async Task UpdateSaltBucketsAsync(DbConnection conn, IStoreConnections store, IReadOnlyList<Core.Identity.SaltBucket> changed,
        CancellationToken ct)
    {
        await using var tx = await store.BeginWriteAsync(conn, StoreLocks.Salts, ct).ConfigureAwait(false);
        await SaltBlocks.UpdateAsync(conn, tx, store.Kek, changed, ct).ConfigureAwait(false);
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public static async Task ImportOptOutsAsync(DbConnection conn, IReadOnlyList<(byte[] FirstLevelHash, byte[] AdvertisingId, DateTimeOffset Timestamp)> optOuts,
        CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "INSERT INTO optouts (first_level_hash, advertising_id, timestamp_ms) VALUES (@h, @a, @t) ON CONFLICT (first_level_hash) DO NOTHING";
        var h = Add(cmd, "h", Array.Empty<byte>());
        var a = Add(cmd, "a", Array.Empty<byte>());
        var t = Add(cmd, "t", 0L);
        foreach (var (hash, id, at) in optOuts)
        {
            h.Value = hash;
            a.Value = id;
            t.Value = at.ToUnixTimeMilliseconds();
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    public static async Task AppendAuditAsync(DbConnection conn, string actor, string action, string target, string outcome, DateTimeOffset at,
        CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "INSERT INTO audit_log (at_ms, actor, action, target, outcome) VALUES (@at, @actor, @action, @target, @outcome)";
        Add(cmd, "at", at.ToUnixTimeMilliseconds());
        Add(cmd, "actor", actor);
        Add(cmd, "action", action);
        Add(cmd, "target", target);
        Add(cmd, "outcome", outcome);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<AuditEntry>> ListAuditAsync(DbConnection conn, int limit, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, at_ms, actor, action, target, outcome FROM audit_log ORDER BY id DESC LIMIT @limit";
        Add(cmd, "limit", Math.Max(0, limit));
        return await StoreRows.ReadAllAsync(cmd, r => new AuditEntry(Convert.ToInt64(r.GetValue(0)), StoreRows.FromMs(Convert.ToInt64(r.GetValue(1))),
            r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)), ct).ConfigureAwait(false);
    }

    private static async Task<bool> UpdateAsync(DbConnection conn, string sql, object value, object key, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        Add(cmd, "v", value);
        Add(cmd, "k", key);
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
    }

}
