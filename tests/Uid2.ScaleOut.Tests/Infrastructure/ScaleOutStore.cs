using System.Text.Json;
using Npgsql;

namespace Uid2.ScaleOut.Infrastructure;

/// <summary>A fresh PostgreSQL database on a server, dropped (WITH FORCE) on dispose. No test framework inside.</summary>
public sealed class FreshPostgresDatabase : IAsyncDisposable
{
    private readonly string _server;

    private FreshPostgresDatabase(string server, string name, string connectionString)
    {
        _server = server;
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }
    public string ConnectionString { get; }
    public NpgsqlConnectionStringBuilder Builder => new(ConnectionString);

    /// <summary>Creates <c>uid2_scaleout_&lt;guid&gt;</c> on <paramref name="server"/> (a connection string to any database there).</summary>
    public static async Task<FreshPostgresDatabase> CreateAsync(string server)
    {
        var name = "uid2_scaleout_" + Guid.NewGuid().ToString("N");
        await using (var conn = new NpgsqlConnection(server))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        return new FreshPostgresDatabase(server, name, new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString);
    }

    /// <summary>This database's connection string, but to another host/port (e.g. a proxy in front of the server).</summary>
    public string ConnectionStringVia(string host, int port) =>
        new NpgsqlConnectionStringBuilder(ConnectionString) { Host = host, Port = port }.ConnectionString;

    /// <summary>How many sessions of this database are LISTENing (the operators' change listeners), from pg_stat_activity.</summary>
    public async Task<int> CountListenersAsync()
    {
        await using var conn = new NpgsqlConnection(_server);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN %'", conn);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Name });
        return (int)(long)(await cmd.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(_server);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>Creates participants the way an administrator does: with the admin CLI (in-process), against the store.</summary>
public static class AdminCli
{
    public static async Task<Credentials> CreateParticipantAsync(string connectionString, int siteId, string roles, int saltBuckets = 4096)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Uid2.Admin.Program.RunAsync(
        [
            "participant", "create", "--name", $"site {siteId}", "--site-id", siteId.ToString(), "--roles", roles,
            "--connection-string", connectionString, "--salt-buckets", saltBuckets.ToString(), "--json",
        ], output, error);
        if (code != 0) throw new InvalidOperationException($"uid2-admin participant create failed ({code}): {error}");
        var json = JsonDocument.Parse(output.ToString()).RootElement;
        return new Credentials(json.GetProperty("siteId").GetInt32(), json.GetProperty("apiKey").GetString()!, json.GetProperty("secret").GetString()!);
    }

    /// <summary>Runs any uid2-admin command on the store; throws with its error line unless it exits 0.</summary>
    public static async Task<string> RunAsync(string connectionString, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await Uid2.Admin.Program.RunAsync([.. args, "--connection-string", connectionString], output, error);
        if (code != 0) throw new InvalidOperationException($"uid2-admin {string.Join(' ', args)} failed ({code}): {error}");
        return output.ToString();
    }
}
