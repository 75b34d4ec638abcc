using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Uid2.Storage.Tests;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;

    public void Set(DateTimeOffset now) => _now = now;
}

/// <summary>A temporary directory with a database path in it, deleted afterwards.</summary>
public sealed class TempDb : IDisposable
{
    public TempDb()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "uid2-storage-tests-" + Guid.NewGuid().ToString("N"));
        Path = System.IO.Path.Combine(Directory, "sub", "uid2.db");
    }

    public string Directory { get; }
    public string Path { get; }
    public string ConnectionString => $"Data Source={Path}";

    public SqliteUid2Store Open() => new(ConnectionString);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One fresh, empty database of one provider; every <see cref="Open"/> is another store instance on it.</summary>
public abstract class StoreTarget : IAsyncDisposable
{
    public abstract string Provider { get; }

    /// <summary>Creates the empty database (not the schema).</summary>
    public abstract Task CreateAsync();

    /// <summary>A new, uninitialized store instance on this database (as another process would have).</summary>
    public abstract IUid2Store Open();

    /// <summary>Another store instance on this database that seals with <paramref name="kek"/>.</summary>
    public abstract IUid2Store Open(Uid2.Storage.Secrets.KeyEncryptionKeyRing kek);

    /// <summary>Runs SQL directly, bypassing the store class; returns the rows affected.</summary>
    public abstract Task<int> ExecuteSqlAsync(string sql);

    /// <summary>Runs a query directly; every value of every row, as stored (text, or bytes for blobs).</summary>
    public abstract Task<IReadOnlyList<object>> QueryValuesAsync(string sql);

    public abstract ValueTask DisposeAsync();

    protected static async Task<IReadOnlyList<object>> ReadValuesAsync(System.Data.Common.DbConnection conn, string sql)
    {
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        await using var r = await cmd.ExecuteReaderAsync();
        var values = new List<object>();
        while (await r.ReadAsync())
            for (var i = 0; i < r.FieldCount; i++)
                if (!r.IsDBNull(i)) values.Add(r.GetValue(i));
        return values;
    }

    public async Task<IUid2Store> OpenInitializedAsync()
    {
        var store = Open();
        await store.InitializeAsync();
        return store;
    }
}

public sealed class SqliteTarget : StoreTarget
{
    public TempDb Db { get; } = new();

    public override string Provider => "sqlite";

    public override Task CreateAsync() => Task.CompletedTask;

    public override IUid2Store Open() => Db.Open();

    public override IUid2Store Open(Uid2.Storage.Secrets.KeyEncryptionKeyRing kek) => new SqliteUid2Store(Db.ConnectionString, kek);

    public override async Task<IReadOnlyList<object>> QueryValuesAsync(string sql)
    {
        await using var conn = new SqliteConnection($"Data Source={Db.Path};Pooling=False");
        await conn.OpenAsync();
        return await ReadValuesAsync(conn, sql);
    }

    public override async Task<int> ExecuteSqlAsync(string sql)
    {
        await using var conn = new SqliteConnection($"Data Source={Db.Path};Pooling=False");
        await conn.OpenAsync();
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteNonQueryAsync();
    }

    public override ValueTask DisposeAsync()
    {
        Db.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A fresh database <c>uid2_test_&lt;guid&gt;</c> on the server named by <c>UID2_TEST_POSTGRES</c>, dropped afterwards.
/// Without that variable the PostgreSQL tests fail, unless <c>UID2_SKIP_POSTGRES=1</c> (then they are skipped).
/// </summary>
public sealed class PostgresTarget : StoreTarget
{
    public const string ConnectionStringVariable = "UID2_TEST_POSTGRES";
    public const string SkipVariable = "UID2_SKIP_POSTGRES";

    private static readonly Lazy<NpgsqlDataSource?> Admin = new(() =>
        ServerConnectionString is { } cs ? NpgsqlDataSource.Create(cs) : null);

    public static string? ServerConnectionString =>
        Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } cs ? cs : null;

    /// <summary>Why the PostgreSQL tests are skipped, or null if they run (or fail for want of a server).</summary>
    public static string? SkipReason =>
        ServerConnectionString is null && Environment.GetEnvironmentVariable(SkipVariable) == "1"
            ? $"{SkipVariable}=1 and {ConnectionStringVariable} is not set"
            : null;

    private bool _created;

    public string DatabaseName { get; } = "uid2_test_" + Guid.NewGuid().ToString("N");

    public string ConnectionString { get; private set; } = "";

    public override string Provider => "postgres";

    public override async Task CreateAsync()
    {
        if (Admin.Value is not { } admin)
            throw new InvalidOperationException(
                $"The PostgreSQL tests need a server: set {ConnectionStringVariable} (e.g. run " +
                "'eval \"$(bash scripts/start-test-postgres.sh)\"' from the repository root first), " +
                $"or set {SkipVariable}=1 to skip them.");
        await using (var cmd = admin.CreateCommand($"CREATE DATABASE \"{DatabaseName}\";"))
            await cmd.ExecuteNonQueryAsync();
        _created = true;
        // Timeout: a busy machine may take longer than the store's fail-fast 3 s to open a connection.
        ConnectionString = new NpgsqlConnectionStringBuilder(ServerConnectionString) { Database = DatabaseName, Timeout = 15 }.ConnectionString;
    }

    public override IUid2Store Open() => new PostgresUid2Store(ConnectionString);

    public override IUid2Store Open(Uid2.Storage.Secrets.KeyEncryptionKeyRing kek) => new PostgresUid2Store(ConnectionString, kek);

    public override async Task<IReadOnlyList<object>> QueryValuesAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await conn.OpenAsync();
        return await ReadValuesAsync(conn, sql);
    }

    public PostgresUid2Store OpenPostgres() => new(ConnectionString);

    public override async Task<int> ExecuteSqlAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteNonQueryAsync();
    }

    public async Task<object?> ScalarAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_created || Admin.Value is not { } admin) return;
        await using var cmd = admin.CreateCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE);");
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>Test classes whose tests need the PostgreSQL server.</summary>
public interface IPostgresTests;

/// <summary>
/// Base of every test class that runs against one <see cref="StoreTarget"/>: creates the database before each test
/// and removes it after.
/// </summary>
public abstract class StoreTestBase : IAsyncLifetime
{
    private StoreTarget? _target;

    protected StoreTarget Target => _target ?? throw new InvalidOperationException("Not initialized.");

    protected abstract StoreTarget NewTarget();

    /// <summary>Another fresh database of the same provider, for tests that need several; dispose it.</summary>
    protected async Task<StoreTarget> CreateExtraTargetAsync()
    {
        var target = NewTarget();
        await target.CreateAsync();
        return target;
    }

    public async Task InitializeAsync()
    {
        _target = NewTarget();
        await _target.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        if (_target is not null) await _target.DisposeAsync();
    }
}

/// <summary>
/// A fact that runs for every provider's test class, and is skipped in <see cref="IPostgresTests"/> classes when
/// <see cref="PostgresTarget.SkipReason"/> says so.
/// </summary>
[XunitTestCaseDiscoverer("Uid2.Storage.Tests.StoreFactDiscoverer", "Uid2.Storage.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var type = testMethod.TestClass.Class.ToRuntimeType();
        if (PostgresTarget.SkipReason is { } reason && typeof(IPostgresTests).IsAssignableFrom(type))
            return new SkippedTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason);
        return base.CreateTestCase(discoveryOptions, testMethod, factAttribute);
    }
}

public sealed class SkippedTestCase : XunitTestCase
{
    private string _reason = "";

    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippedTestCase() { }

    public SkippedTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod method, string reason)
        : base(sink, display, options, method)
    {
        _reason = reason;
        SkipReason = reason;
    }

    protected override string GetSkipReason(IAttributeInfo factAttribute) => _reason;

    public override void Serialize(IXunitSerializationInfo data)
    {
        base.Serialize(data);
        data.AddValue("Reason", _reason);
    }

    public override void Deserialize(IXunitSerializationInfo data)
    {
        base.Deserialize(data);
        _reason = data.GetValue<string>("Reason");
        SkipReason = _reason;
    }
}
