using System.Data.Common;

namespace Uid2.Storage;

/// <summary>
/// The plumbing of the SQL written once for both providers (<see cref="StoreReads"/>, <see cref="SaltBlocks"/>,
/// <see cref="SchemaMigrator"/>, the administration and resealing SQL): ADO.NET base types and named <c>@</c>
/// parameters, which Microsoft.Data.Sqlite and Npgsql both accept.
/// </summary>
internal static class CommonSql
{
    public static DbCommand Command(DbConnection conn, DbTransaction? tx, string sql)
    {
        var cmd = conn.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    public static DbParameter Add(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
        return p;
    }

    /// <summary>A parameter that may be null: typed, so both providers bind a null of the column's type.</summary>
    public static DbParameter AddNullable(DbCommand cmd, string name, System.Data.DbType type, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
        return p;
    }

    public static async Task ExecuteAsync(DbConnection conn, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, sql);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
