using Microsoft.Data.Sqlite;
using Uid2.ScaleOut.Infrastructure;
using Uid2.Storage;
using Xunit;

namespace Uid2.ScaleOut.Tests;

/// <summary>
/// Issue "Trust": a store the operator cannot use at start (read-only, missing, unreachable) gives one clear log line
/// and a non-zero exit, not a stack trace. Real operator processes, as a deployment runs them.
/// </summary>
public sealed class StartupFailureTests
{
    private static async Task AssertCleanFailureAsync(string connectionString, string expected,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using var op = OperatorProcess.Start("failing", connectionString, environment: environment);
        var code = await op.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var output = op.Output;
        Assert.True(code == 2, $"exit code {code}:\n{output}");
        Assert.Contains("Cannot start: the store is not usable", output);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("   at ", output); // no stack frame
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Fact]
    public async Task A_read_only_database_stops_the_operator_with_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("uid2-readonly-").FullName;
        try
        {
            var path = Path.Combine(dir, "uid2.db");
            await using (var store = new SqliteUid2Store($"Data Source={path}"))
                await store.InitializeAsync();
            SqliteConnection.ClearAllPools();
            // Tests run as root, which ignores file modes: SQLite's read-only open is what a read-only mount gives.
            await AssertCleanFailureAsync($"Data Source={path};Mode=ReadOnly", "readonly database");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_database_path_that_cannot_exist_stops_the_operator_with_one_line() =>
        // /proc refuses new files even to root.
        await AssertCleanFailureAsync("Data Source=/proc/uid2-missing/uid2.db", "uid2-missing");

    [Fact]
    public async Task Production_without_a_key_encryption_key_stops_the_operator_with_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("uid2-nokek-").FullName;
        try
        {
            await AssertCleanFailureAsync($"Data Source={Path.Combine(dir, "uid2.db")}", "UID2_KEK_FILE",
                new Dictionary<string, string?> { ["UID2_KEK_FILE"] = null, ["UID2_KEK"] = null });
            Assert.False(File.Exists(Path.Combine(dir, "uid2.db.kek"))); // only Development creates one
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_unreachable_postgresql_server_stops_the_operator_with_one_line() =>
        await AssertCleanFailureAsync($"Host=127.0.0.1;Port={OperatorProcess.FreePort()};Database=uid2;Username=uid2;Password=x;Timeout=2",
            "127.0.0.1");
}
