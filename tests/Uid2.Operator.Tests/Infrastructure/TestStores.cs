using Npgsql;

namespace Uid2.Operator.Tests.Infrastructure;

/// <summary>Which store provider an operator under test runs on: the whole integration suite runs on both.</summary>
public enum StoreKind { Sqlite, Postgres }

/// <summary>
/// A fresh database for one operator under test. PostgreSQL comes from <c>UID2_TEST_POSTGRES</c> (scripts/test.sh
/// starts a server and sets it); without it the PostgreSQL variants fail, unless <c>UID2_SKIP_POSTGRES=1</c> skips them.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public const string PostgresVariable = "UID2_TEST_POSTGRES";
    public const string SkipVariable = "UID2_SKIP_POSTGRES";

    private readonly string? _postgresServer;
    private readonly string? _postgresDatabase;
    private readonly string? _directory;

    private TestDatabase(StoreKind kind, string connectionString, string? directory, string? server, string? database)
    {
        Kind = kind;
        ConnectionString = connectionString;
        _directory = directory;
        _postgresServer = server;
        _postgresDatabase = database;
    }

    public StoreKind Kind { get; }
    public string ConnectionString { get; }

    public static async Task<TestDatabase> CreateAsync(StoreKind kind)
    {
        if (kind == StoreKind.Sqlite)
        {
            var dir = Path.Combine(Path.GetTempPath(), "uid2-op-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            return new TestDatabase(kind, $"Data Source={Path.Combine(dir, "uid2.db")}", dir, null, null);
        }

        var server = Environment.GetEnvironmentVariable(PostgresVariable);
        Skip.If(string.IsNullOrEmpty(server) && Environment.GetEnvironmentVariable(SkipVariable) == "1",
            $"{SkipVariable}=1 and {PostgresVariable} is not set");
        if (string.IsNullOrEmpty(server))
            throw new InvalidOperationException(
                $"The PostgreSQL variant needs a server: run scripts/test.sh, or set {PostgresVariable} (e.g. after " +
                $"eval \"$(bash scripts/start-test-postgres.sh)\"), or set {SkipVariable}=1 to skip these tests.");

        var database = "uid2_op_" + Guid.NewGuid().ToString("N");
        await using (var conn = new NpgsqlConnection(server))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {database}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = database };
        return new TestDatabase(kind, builder.ConnectionString, null, server, database);
    }

    /// <summary>Destroys the store as a disaster would: the SQLite files deleted, or the PostgreSQL database dropped (then created empty).</summary>
    public async Task DestroyAsync()
    {
        if (_directory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(_directory, "uid2.db*")) File.Delete(file);
        }
        if (_postgresServer is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(_postgresServer);
            await conn.OpenAsync();
            await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresDatabase} WITH (FORCE)", conn)) await drop.ExecuteNonQueryAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {_postgresDatabase}", conn);
            await create.ExecuteNonQueryAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_directory is not null)
        {
            try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        if (_postgresServer is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(_postgresServer);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresDatabase} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
    }
}
