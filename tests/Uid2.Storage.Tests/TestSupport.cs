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
