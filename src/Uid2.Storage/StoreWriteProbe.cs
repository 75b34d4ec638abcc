using System.Data.Common;

namespace Uid2.Storage;

/// <summary>
/// Optional capability of a store: proves that a durable write still commits (disk not full, file not read-only,
/// server reachable), so an operator's health check tells the truth even when no opt-out has been written for a while.
/// Test for it with <c>store is IStoreWriteProbe</c>; both providers implement it.
/// </summary>
public interface IStoreWriteProbe
{
    /// <summary>Commits one tiny write (a single-row table of its own). Throws the provider's exception when it cannot.</summary>
    async Task ProbeWriteAsync(CancellationToken ct)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await StoreWriteProbe.RunAsync(conn, ct).ConfigureAwait(false);
    }
}

/// <summary>The probe's SQL, the same for both dialects (SQLite 3.24+ and PostgreSQL 9.5+ upsert).</summary>
internal static class StoreWriteProbe
{
    private const string Sql = """
        CREATE TABLE IF NOT EXISTS write_probe (id integer PRIMARY KEY CHECK (id = 1), at_ms bigint NOT NULL);
        INSERT INTO write_probe (id, at_ms) VALUES (1, @at_ms) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms;
        """;

    public static async Task RunAsync(DbConnection conn, CancellationToken ct)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = Sql;
        var at = cmd.CreateParameter();
        at.ParameterName = "at_ms";
        at.Value = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        cmd.Parameters.Add(at);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
