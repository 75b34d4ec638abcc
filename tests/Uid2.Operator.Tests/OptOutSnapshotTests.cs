using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Uid2.Operator.State;
using Uid2.Operator.Tests.Infrastructure;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Operator.Tests;

/// <summary>
/// Issue "Internet scale", start-up at 10 million opt-outs: the opt-out index written to a sealed snapshot file and read
/// back whole; a file that is altered, truncated, extended or sealed by another store's key is refused; an operator
/// starts from the file plus the rows the store gained since, and falls back to reading the store when the file does not
/// match it (a renewed anchor row, a restored store, another store's file).
/// </summary>
public sealed class OptOutSnapshotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uid2-snapshot-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static OptOutRecord Row(long id, Random random, DateTimeOffset? at = null)
    {
        var hash = new byte[32];
        var uid = new byte[33];
        random.NextBytes(hash);
        random.NextBytes(uid);
        return new OptOutRecord(id, hash, uid, at ?? DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + id));
    }

    private static (OptOutIndex Index, List<OptOutRecord> Rows) Filled(int count, int seed)
    {
        var random = new Random(seed);
        var rows = Enumerable.Range(1, count).Select(i => Row(i, random)).ToList();
        var index = new OptOutIndex();
        index.Apply(rows.Take(count - 50).ToList()); // a batch, merged into the partitions
        foreach (var r in rows.Skip(count - 50)) index.Apply([r]); // a few single rows, still in the delta
        return (index, rows);
    }

    [Fact]
    public void A_snapshot_loads_back_every_opt_out_with_its_time_and_the_anchor()
    {
        var (index, rows) = Filled(70_000, 1);
        var kek = KeyEncryptionKeyRing.Ephemeral();
        var path = Path.Combine(_dir, "a.optouts");
        var written = OptOutSnapshot.Write(index, kek, path, TimeProvider.System);
        Assert.Equal(70_000, written.FirstLevelHashes);
        Assert.Equal(70_000, written.AdvertisingIds);
        Assert.Equal(70_000, written.AnchorId);

        var loaded = new OptOutIndex();
        var header = OptOutSnapshot.Load(loaded, kek, path);
        Assert.Equal(70_000, header.AnchorId);
        Assert.Equal(rows[^1].FirstLevelHash, header.AnchorHash);
        Assert.Equal(70_000, loaded.LastId);
        Assert.Equal(70_000 - OptOutIndex.ReReadWindow, loaded.SyncFromId);
        Assert.Equal(70_000, loaded.Count);
        foreach (var r in rows)
        {
            Assert.True(loaded.IsOptedOut(r.FirstLevelHash, out var since));
            Assert.Equal(r.Timestamp, since);
            Assert.True(loaded.IsAdvertisingIdOptedOut(r.AdvertisingId, out since));
            Assert.Equal(r.Timestamp, since);
        }
        var other = Row(0, new Random(99));
        Assert.False(loaded.IsOptedOut(other.FirstLevelHash, out _));
        Assert.False(loaded.IsAdvertisingIdOptedOut(other.AdvertisingId, out _));

        // It goes on taking rows after the load.
        var next = Row(70_001, new Random(5));
        loaded.Apply([next]);
        Assert.True(loaded.IsOptedOut(next.FirstLevelHash, out _));
        Assert.Equal(70_001, loaded.LastId);
    }

    [Fact]
    public void The_file_is_owner_only_and_holds_no_hash_in_clear()
    {
        var (index, rows) = Filled(5_000, 2);
        var path = Path.Combine(_dir, "b.optouts");
        OptOutSnapshot.Write(index, KeyEncryptionKeyRing.Ephemeral(), path, TimeProvider.System);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var bytes = File.ReadAllBytes(path);
        foreach (var r in rows.Take(200))
        {
            Assert.Equal(-1, bytes.AsSpan().IndexOf(r.FirstLevelHash.AsSpan(0, 16)));
            Assert.Equal(-1, bytes.AsSpan().IndexOf(r.AdvertisingId.AsSpan(1, 16)));
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_dir, ".*")));
    }

    [Fact]
    public void An_altered_truncated_extended_or_foreign_file_is_refused()
    {
        // 150,000 opt-outs: about 10 MiB, so more than one chunk.
        var (index, _) = Filled(150_000, 3);
        var kek = KeyEncryptionKeyRing.Ephemeral();
        var path = Path.Combine(_dir, "c.optouts");
        OptOutSnapshot.Write(index, kek, path, TimeProvider.System);
        var good = File.ReadAllBytes(path);
        Assert.True(good.Length > 2 * SealedChunkStream.ChunkSize);
        OptOutSnapshot.Load(new OptOutIndex(), kek, path);

        void Refused(byte[] bytes, KeyEncryptionKeyRing? with = null)
        {
            File.WriteAllBytes(path, bytes);
            var target = new OptOutIndex();
            Assert.Throws<InvalidDataException>(() => OptOutSnapshot.Load(target, with ?? kek, path));
            target.Clear();
            Assert.Equal(0, target.Count);
            Assert.Equal(0, target.LastId);
        }

        foreach (var position in new[] { 0, 9, 30, 40, 1000, good.Length / 2, good.Length - 1 })
        {
            var altered = (byte[])good.Clone();
            altered[position] ^= 0x20;
            Refused(altered);
        }
        foreach (var length in new[] { 0, 10, 24, 29, 100, SealedChunkStream.ChunkSize, good.Length / 2, good.Length - 1 })
            Refused(good[..length]);
        Refused([.. good, 0]);
        Refused(good, KeyEncryptionKeyRing.Ephemeral()); // another store's key
    }

    /// <summary>
    /// Records <paramref name="count"/> opt-outs through the running operator's store, lets it read them, and writes the
    /// snapshot (now, or just before by the service's own first check, which may run late on a busy machine).
    /// </summary>
    private static async Task<List<OptOutRecord>> RecordAndSnapshotAsync(OperatorHost host, Random random, int count)
    {
        var store = host.Services.GetRequiredService<IUid2Store>();
        var rows = new List<OptOutRecord>();
        for (var i = 0; i < count; i++)
        {
            var r = Row(0, random, DateTimeOffset.UtcNow.AddMinutes(-5));
            rows.Add(await store.AddOptOutAsync(r.FirstLevelHash, r.AdvertisingId, r.Timestamp));
        }
        await host.Services.GetRequiredService<OperatorStateProvider>().SyncAsync(default);
        var snapshots = host.Services.GetRequiredService<OptOutSnapshotService>();
        snapshots.WriteIfDue(force: true);
        Assert.True(File.Exists(snapshots.FilePath));
        return rows;
    }

    [Fact]
    public async Task An_operator_starts_from_the_snapshot_then_reads_only_the_rows_after_it()
    {
        await using var host = await OperatorHost.StartAsync(settings: new() { ["Uid2:OptOutSnapshot:MinOptOuts"] = "1" });
        var random = new Random(4);
        var before = await RecordAndSnapshotAsync(host, random, 20);
        var snapshots = host.Services.GetRequiredService<OptOutSnapshotService>();
        var file = snapshots.FilePath!;
        Assert.False(snapshots.WriteIfDue(force: true)); // nothing new since
        Assert.Equal(host.ConnectionString["Data Source=".Length..] + ".optouts", file);

        OptOutRecord after = null!;
        await host.RestartAsync(whileStopped: async () =>
        {
            await using var direct = Uid2StoreFactory.Create(host.ConnectionString);
            var r = Row(0, random);
            after = await direct.AddOptOutAsync(r.FirstLevelHash, r.AdvertisingId, r.Timestamp);
        });
        Assert.Contains(host.Logs.Lines, l => l.Contains("Loaded 20 opt-outs up to row", StringComparison.Ordinal));
        var state = host.Services.GetRequiredService<OperatorStateProvider>();
        foreach (var r in before.Append(after))
        {
            Assert.True(state.OptOuts.IsOptedOut(r.FirstLevelHash, out var since));
            Assert.Equal(r.Timestamp.ToUnixTimeSeconds(), since.ToUnixTimeSeconds());
        }
        Assert.Equal(21, state.OptOuts.Count);
        Assert.Equal(after.Id, state.OptOuts.LastId);
    }

    [Fact]
    public async Task A_snapshot_whose_anchor_row_is_gone_or_that_another_store_sealed_is_not_trusted()
    {
        await using var host = await OperatorHost.StartAsync(settings: new() { ["Uid2:OptOutSnapshot:MinOptOuts"] = "1" });
        var random = new Random(6);
        var rows = await RecordAndSnapshotAsync(host, random, 10);

        // The anchor identity opts out again: its row takes a new id, so the snapshot's anchor row is gone.
        await host.RestartAsync(whileStopped: async () =>
        {
            await using var direct = Uid2StoreFactory.Create(host.ConnectionString);
            rows[^1] = await direct.AddOptOutAsync(rows[^1].FirstLevelHash, rows[^1].AdvertisingId, DateTimeOffset.UtcNow);
        });
        Assert.Contains(host.Logs.Lines, l => l.Contains("does not match the store", StringComparison.Ordinal));
        var state = host.Services.GetRequiredService<OperatorStateProvider>();
        Assert.Equal(10, state.OptOuts.Count);
        foreach (var r in rows) Assert.True(state.OptOuts.IsOptedOut(r.FirstLevelHash, out _));

        // Another store's file (another key) in its place: not used either.
        var foreign = new OptOutIndex();
        foreign.Apply([Row(1, random)]);
        var file = host.Services.GetRequiredService<OptOutSnapshotService>().FilePath!;
        await host.RestartAsync(whileStopped: () =>
        {
            OptOutSnapshot.Write(foreign, KeyEncryptionKeyRing.Ephemeral(), file, TimeProvider.System);
            return Task.CompletedTask;
        });
        Assert.Contains(host.Logs.Lines, l => l.Contains("was not used", StringComparison.Ordinal));
        state = host.Services.GetRequiredService<OperatorStateProvider>();
        Assert.Equal(10, state.OptOuts.Count);
    }

    [Fact]
    public async Task Without_a_configured_path_a_postgres_operator_writes_no_snapshot()
    {
        await using var host = await OperatorHost.StartAsync(settings: new() { ["Uid2:OptOutSnapshot:MinOptOuts"] = "1" }, store: StoreKind.Postgres);
        Assert.Null(host.Services.GetRequiredService<OptOutSnapshotService>().FilePath);
    }

    [Fact]
    public async Task A_postgres_operator_starts_from_a_configured_snapshot()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Uid2:OptOutSnapshot:MinOptOuts"] = "1",
            ["Uid2:OptOutSnapshot:Path"] = Path.Combine(_dir, "pg.optouts"),
        };
        await using var host = await OperatorHost.StartAsync(settings: settings, store: StoreKind.Postgres);
        var rows = await RecordAndSnapshotAsync(host, new Random(7), 5);
        Assert.True(File.Exists(settings["Uid2:OptOutSnapshot:Path"]));
        await host.RestartAsync(settings);
        Assert.Contains(host.Logs.Lines, l => l.Contains("Loaded 5 opt-outs up to row", StringComparison.Ordinal));
        var state = host.Services.GetRequiredService<OperatorStateProvider>();
        foreach (var r in rows) Assert.True(state.OptOuts.IsOptedOut(r.FirstLevelHash, out _));
    }
}
