using System.Data.Common;
using static Uid2.Storage.CommonSql;

namespace Uid2.Storage;

/// <summary>One versioned schema change: applied once, in order, recorded in <c>schema_migrations</c>. Never edit one that shipped.</summary>
internal sealed record SchemaStep(int Version, string Name, string Sql);

/// <summary>What a provider tells <see cref="SchemaMigrator"/>: how to lock, and its few differences.</summary>
internal interface ISchemaDialect
{
    /// <summary>
    /// Begins the transaction one step runs in, holding what keeps two processes from migrating at once (PostgreSQL:
    /// an advisory transaction lock; SQLite: <c>BEGIN IMMEDIATE</c>, the write lock).
    /// </summary>
    Task<DbTransaction> BeginExclusiveAsync(DbConnection conn, CancellationToken ct);

    /// <summary>The <c>schema_migrations</c> table in this dialect (created if missing).</summary>
    string CreateMigrationsTable { get; }

    /// <summary>
    /// True when step 1 is an idempotent baseline run on every start (SQLite: tables added to the baseline before it
    /// was versioned reach older files that way).
    /// </summary>
    bool ReapplyBaseline { get; }

    /// <summary>In the step's transaction, before anything is read: records what an older way of versioning applied (or nothing).</summary>
    Task AdoptLegacyVersioningAsync(DbConnection conn, DbTransaction tx, IReadOnlyList<SchemaStep> steps, CancellationToken ct);
}

/// <summary>
/// The one migration runner of both providers: each step in its own exclusive transaction, applied if
/// <c>schema_migrations</c> does not list it yet, then recorded (version, name, time). A database whose schema is newer
/// than the newest step this build knows is refused, so an older binary never writes to a newer schema.
/// </summary>
internal static class SchemaMigrator
{
    public static async Task MigrateAsync(DbConnection conn, ISchemaDialect dialect, IReadOnlyList<SchemaStep> steps, CancellationToken ct)
    {
        for (var i = 0; i < steps.Count; i++)
            if (steps[i].Version != i + 1) throw new InvalidOperationException("Schema steps must be numbered 1, 2, 3 … in order.");
        var newestKnown = steps[^1].Version;
        foreach (var step in steps)
        {
            await using var tx = await dialect.BeginExclusiveAsync(conn, ct).ConfigureAwait(false);
            await ExecuteAsync(conn, tx, dialect.CreateMigrationsTable, ct).ConfigureAwait(false);
            if (step.Version == 1) await dialect.AdoptLegacyVersioningAsync(conn, tx, steps, ct).ConfigureAwait(false);
            var newest = await NewestAsync(conn, tx, ct).ConfigureAwait(false);
            if (newest > newestKnown)
                throw new InvalidOperationException($"The database schema is version {newest}, newer than this build understands ({newestKnown}).");
            if (newest >= step.Version)
            {
                if (step.Version == 1 && dialect.ReapplyBaseline) await ExecuteAsync(conn, tx, step.Sql, ct).ConfigureAwait(false);
                await tx.CommitAsync(ct).ConfigureAwait(false);
                continue;
            }
            await ExecuteAsync(conn, tx, step.Sql, ct).ConfigureAwait(false);
            await RecordAsync(conn, tx, step, ct).ConfigureAwait(false);
            await tx.CommitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The newest version recorded (0 for none).</summary>
    public static async Task<long> NewestAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT max(version) FROM schema_migrations");
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is null or DBNull ? 0 : Convert.ToInt64(value);
    }

    public static async Task RecordAsync(DbConnection conn, DbTransaction tx, SchemaStep step, CancellationToken ct)
    {
        // applied_at: the column's default (the database's clock).
        await using var cmd = Command(conn, tx, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)");
        Add(cmd, "version", step.Version);
        Add(cmd, "name", step.Name);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
