using System.Text.Json;
using Uid2.Storage;
using Uid2.Storage.Secrets;

namespace Uid2.Admin.Tests;

/// <summary>Issue "Trust": the key-encryption key is rotated by the admin CLI, end to end on a SQLite store.</summary>
public sealed class KekCliTests : CliTestBase
{
    [Fact]
    public async Task Rotate_then_prune_leaves_every_secret_readable_with_the_new_key_alone()
    {
        var file = Path.Combine(Dir, "keys", "uid2.kek");
        var created = await RunAsync("kek", "new", "--file", file, "--json");
        Assert.Equal(0, created.ExitCode);
        var first = JsonDocument.Parse(created.Out).RootElement.GetProperty("kekId").GetString()!;
        Assert.DoesNotContain(Convert.ToBase64String(KeyEncryptionKeys.ReadKeyFile(file)[0].Key), created.Out);
        Assert.Equal(1, (await RunAsync("kek", "new", "--file", file)).ExitCode); // never overwrites

        Assert.Equal(0, (await RunAsync("--kek-file", file, "participant", "create", "--name", "P", "--site-id", "77", "--roles", "generator")).ExitCode);
        var before = await SnapshotWithAsync(new KeyEncryptionKeyRing(KeyEncryptionKeys.ReadKeyFile(file)));

        var rotated = await RunAsync("--kek-file", file, "kek", "rotate", "--json");
        Assert.Equal(0, rotated.ExitCode);
        var second = JsonDocument.Parse(rotated.Out).RootElement.GetProperty("kekId").GetString()!;
        Assert.NotEqual(first, second);
        Assert.Equal([second, first], KeyEncryptionKeys.ReadKeyFile(file).Select(k => k.Id));

        var status = await RunAsync("--kek-file", file, "kek", "status", "--json");
        using (var json = JsonDocument.Parse(status.Out))
        {
            var counts = json.RootElement.GetProperty("sealed");
            // 1,024 salt buckets in 4 sealed blocks, the first-level salt, the encryption keys, the client secret.
            Assert.True(counts.GetProperty(second).GetInt32() >= 4 + 1 + 3 + 1);
            Assert.False(counts.TryGetProperty(first, out _));
            Assert.False(counts.TryGetProperty("clear", out _));
        }

        Assert.Equal(0, (await RunAsync("--kek-file", file, "kek", "prune")).ExitCode);
        var keys = KeyEncryptionKeys.ReadKeyFile(file);
        Assert.Equal([second], keys.Select(k => k.Id));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

        var after = await SnapshotWithAsync(new KeyEncryptionKeyRing(keys));
        Assert.Equal(before.ApiKeys.Single().ClientSecret, after.ApiKeys.Single().ClientSecret);
        Assert.Equal(before.Keys.Select(k => Convert.ToBase64String(k.Secret)), after.Keys.Select(k => Convert.ToBase64String(k.Secret)));
        Assert.Equal(before.Salts!.FirstLevelSalt, after.Salts!.FirstLevelSalt);
        Assert.Equal(before.Salts.Buckets, after.Salts.Buckets);
    }

    [Fact]
    public async Task A_store_sealed_with_another_key_is_a_one_line_error()
    {
        var file = Path.Combine(Dir, "a.kek");
        var other = Path.Combine(Dir, "b.kek");
        Assert.Equal(0, (await RunAsync("kek", "new", "--file", file)).ExitCode);
        Assert.Equal(0, (await RunAsync("kek", "new", "--file", other)).ExitCode);
        Assert.Equal(0, (await RunAsync("--kek-file", file, "init")).ExitCode);
        var wrong = await RunAsync("--kek-file", other, "kek", "status");
        Assert.Equal(1, wrong.ExitCode);
        Assert.StartsWith("error: A stored secret is sealed with key-encryption key", wrong.Err);
        Assert.Single(wrong.Err.Trim().Split('\n'));
    }

    private async Task<StoreSnapshot> SnapshotWithAsync(KeyEncryptionKeyRing kek)
    {
        await using var store = Uid2StoreFactory.Create(ConnectionString, kek);
        await store.InitializeAsync();
        return await store.LoadSnapshotAsync();
    }
}
