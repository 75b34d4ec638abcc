using System.Data.Common;
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

    /// <summary>Revokes (or restores) an API key; false when no key has that id.</summary>
    async Task<bool> SetApiKeyDisabledAsync(string keyId, bool disabled, CancellationToken ct = default)
    {
        await using var conn = await Connections.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await AdministrationSql.SetApiKeyDisabledAsync(conn, keyId, disabled, ct).ConfigureAwait(false);
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

    public static Task<bool> SetApiKeyDisabledAsync(DbConnection conn, string keyId, bool disabled, CancellationToken ct) =>
        UpdateAsync(conn, "UPDATE api_keys SET disabled = @v WHERE key_id = @k", disabled, keyId, ct);

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

    private static void Add(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }
}

public sealed partial class SqliteUid2Store : IStoreAdministration, IStoreConnections
{
    async Task<DbConnection> IStoreConnections.OpenConnectionAsync(CancellationToken ct) => await OpenAsync(ct).ConfigureAwait(false);
}

public sealed partial class PostgresUid2Store : IStoreAdministration, IStoreConnections
{
    async Task<DbConnection> IStoreConnections.OpenConnectionAsync(CancellationToken ct) => await OpenAsync(ct).ConfigureAwait(false);
}
