using Uid2.Storage;

namespace Uid2.Admin.Tests;

/// <summary>Runs the CLI in-process against a store of its own, at a fixed time.</summary>
public abstract class CliTestBase : IDisposable
{
    protected static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    protected CliTestBase()
    {
        Dir = Path.Combine(Path.GetTempPath(), "uid2-admin-tests-" + Guid.NewGuid().ToString("N"));
        DatabasePath = Path.Combine(Dir, "store", "uid2.db");
        ConnectionString = $"Data Source={DatabasePath}";
    }

    protected string Dir { get; }
    protected string DatabasePath { get; }
    protected string ConnectionString { get; }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    protected sealed record Result(int ExitCode, string Out, string Err);

    protected async Task<Result> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var all = new[] { "--connection-string", ConnectionString, "--salt-buckets", "1024" }.Concat(args).ToArray();
        var code = await Program.RunAsync(all, output, error, new FixedTime(Now));
        return new Result(code, output.ToString(), error.ToString());
    }

    protected async Task<StoreSnapshot> SnapshotAsync()
    {
        await using var store = Uid2StoreFactory.Create(ConnectionString);
        await store.InitializeAsync();
        return await store.LoadSnapshotAsync();
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
