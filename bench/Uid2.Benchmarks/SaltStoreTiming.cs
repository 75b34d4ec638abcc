using System.Diagnostics;
using Uid2.Core.Identity;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Benchmarks;

/// <summary>
/// Issue "Internet scale": how long a store takes to save, load and rotate the reference's 1,048,576 salt buckets —
/// <c>dotnet run -c Release -- salts-timing [buckets]</c>, on SQLite, and on PostgreSQL when UID2_TEST_POSTGRES is set.
/// </summary>
public static class SaltStoreTiming
{
    public static async Task RunAsync(int buckets)
    {
        var kek = new KeyEncryptionKeyRing([("bench", System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))], null);
        var dir = Directory.CreateTempSubdirectory("uid2-salts-");
        try
        {
            await MeasureAsync("sqlite", new SqliteUid2Store($"Data Source={Path.Combine(dir.FullName, "uid2.db")}", kek), buckets);
            var pg = Environment.GetEnvironmentVariable("UID2_TEST_POSTGRES");
            if (!string.IsNullOrEmpty(pg))
            {
                var db = "uid2_salts_" + Environment.ProcessId;
                await using (var conn = new Npgsql.NpgsqlConnection(pg))
                {
                    await conn.OpenAsync();
                    await new Npgsql.NpgsqlCommand($"CREATE DATABASE {db}", conn).ExecuteNonQueryAsync();
                }
                try
                {
                    var cs = new Npgsql.NpgsqlConnectionStringBuilder(pg) { Database = db }.ConnectionString;
                    await MeasureAsync("postgres", new PostgresUid2Store(cs, kek), buckets);
                }
                finally
                {
                    Npgsql.NpgsqlConnection.ClearAllPools();
                    await using var conn = new Npgsql.NpgsqlConnection(pg);
                    await conn.OpenAsync();
                    await new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS {db} WITH (FORCE)", conn).ExecuteNonQueryAsync();
                }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            dir.Delete(recursive: true);
        }
    }

    private static async Task MeasureAsync(string name, IUid2Store store, int buckets)
    {
        await using var _ = store;
        await store.InitializeAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var salts = SaltSetFactory.CreateRandom(buckets, now);
        var watch = Stopwatch.StartNew();
        await store.SaveSaltsAsync(salts);
        var save = watch.Elapsed;
        watch.Restart();
        var loaded = (await store.LoadSnapshotAsync(includeOptOuts: false)).Salts!;
        var load = watch.Elapsed;
        if (loaded.Buckets.Count != buckets) throw new InvalidOperationException("lost buckets");
        var rotated = SaltSetFactory.Rotate(loaded, 0.01, now + 1000);
        watch.Restart();
        await store.SaveSaltsAsync(rotated);
        var rotate = watch.Elapsed;
        watch.Restart();
        var admin = new AdminService(store, TimeProvider.System);
        var changed = await admin.RotateSaltsAsync("bench", 0.01, CancellationToken.None);
        var rotateInPlace = watch.Elapsed;
        Console.WriteLine($"| {name} | {buckets:N0} | {save.TotalSeconds:F1} s | {load.TotalSeconds:F1} s | {rotate.TotalSeconds:F1} s | " +
                          $"{rotateInPlace.TotalSeconds:F1} s ({changed:N0} buckets) |");
    }
}
