using System.Security.Cryptography;
using System.Text;
using Uid2.Core.ClientSide;
using Uid2.Core.Identity;
using Uid2.Storage.Secrets;
using Xunit.Abstractions;

namespace Uid2.Storage.Tests;

/// <summary>
/// Issue "Trust": client secrets, encryption keys, CSTG private keys and salts are sealed at rest under a
/// key-encryption key that is not in the database; a clear store is sealed in place; the KEK can be rotated.
/// </summary>
public abstract class SecretsAtRestTests(ITestOutputHelper output) : StoreTestBase
{
    protected static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_717_171_717_123);

    private static KeyEncryptionKeyRing Ring(params string[] ids) =>
        new(ids.Select(id => (id, SHA256.HashData(Encoding.ASCII.GetBytes("test kek " + id)))).ToArray());

    /// <summary>Writes one of every secret through the store; returns the clear values.</summary>
    private protected static async Task<Secrets> WriteSecretsAsync(IUid2Store store)
    {
        var apiKey = StoreContractTests.SampleApiKey(42);
        await store.CreateParticipantAsync(StoreContractTests.SampleParticipant(42), apiKey);
        var key = StoreContractTests.SampleKey(7, 42);
        await store.AddKeysAsync([key]);
        var salts = SaltSetFactory.CreateRandom(1000, T0.ToUnixTimeMilliseconds()); // four blocks of salt buckets
        salts = SaltSetFactory.Rotate(salts, 0.5, T0.ToUnixTimeMilliseconds() + 1); // some previous salts too
        await store.SaveSaltsAsync(salts);
        var pair = ClientSideKeys.Generate();
        await store.AddClientSideKeypairAsync(new ClientSideKeypair("secretTest", 42, pair.PublicKey, pair.PrivateKey, T0, false));
        return new Secrets(apiKey.ClientSecret, key.Secret, pair.PrivateKey, salts);
    }

    private protected sealed record Secrets(string ClientSecret, byte[] KeySecret, string PrivateKey, SaltSet Salts)
    {
        /// <summary>Every secret as the bytes that would be in the file if it were stored in clear.</summary>
        public IEnumerable<(string What, byte[] Bytes)> Needles()
        {
            yield return ("client secret", Encoding.UTF8.GetBytes(ClientSecret));
            yield return ("client secret bytes", Convert.FromBase64String(ClientSecret));
            yield return ("encryption key", KeySecret);
            yield return ("CSTG private key", Encoding.UTF8.GetBytes(PrivateKey[9..])); // without the UID2-Y-L- prefix
            yield return ("first-level salt", Encoding.UTF8.GetBytes(Salts.FirstLevelSalt));
            foreach (var b in Salts.Buckets.Take(16))
            {
                yield return ($"bucket {b.Id} salt", Encoding.UTF8.GetBytes(b.CurrentSalt));
                if (b.PreviousSalt is not null) yield return ($"bucket {b.Id} previous salt", Encoding.UTF8.GetBytes(b.PreviousSalt));
            }
        }
    }

    private static async Task AssertReadsBackAsync(IUid2Store store, Secrets expected)
    {
        var snapshot = await store.LoadSnapshotAsync();
        Assert.Equal(expected.ClientSecret, snapshot.ApiKeys.Single(k => k.SiteId == 42).ClientSecret);
        Assert.Equal(expected.KeySecret, snapshot.Keys.Single(k => k.Id == 7).Secret);
        Assert.Equal(expected.PrivateKey, snapshot.ClientSideKeypairs!.Single().PrivateKey);
        Assert.Equal(expected.Salts.FirstLevelSalt, snapshot.Salts!.FirstLevelSalt);
        Assert.Equal(expected.Salts.Buckets, snapshot.Salts.Buckets);
    }

    /// <summary>The stored form of every secret column, straight from the database, in a stable order.</summary>
    private async Task<IReadOnlyList<object>> RawSecretColumnsAsync()
    {
        var all = new List<object>();
        foreach (var sql in new[]
                 {
                     "SELECT client_secret FROM api_keys ORDER BY key_id", "SELECT secret FROM encryption_keys ORDER BY id",
                     "SELECT private_key FROM client_side_keypairs ORDER BY subscription_id", "SELECT first_level_salt FROM salt_meta",
                     "SELECT sealed FROM salt_blocks ORDER BY first_bucket", // salt buckets, sealed 256 at a time
                 })
            all.AddRange(await Target.QueryValuesAsync(sql));
        return all;
    }

    private static void AssertNoClearSecret(IReadOnlyList<object> stored, Secrets secrets)
    {
        foreach (var value in stored)
        {
            var bytes = value is byte[] b ? b : Encoding.UTF8.GetBytes((string)value);
            foreach (var (what, needle) in secrets.Needles())
                Assert.False(bytes.AsSpan().IndexOf(needle) >= 0, $"{what} stored in clear");
        }
    }

    [StoreFact]
    public async Task Every_secret_is_sealed_in_the_database_and_reads_back_clear()
    {
        var kek = Ring("k1");
        Secrets secrets;
        await using (var store = Target.Open(kek))
        {
            await store.InitializeAsync();
            secrets = await WriteSecretsAsync(store);
            await AssertReadsBackAsync(store, secrets);
        }
        var raw = await RawSecretColumnsAsync();
        Assert.Equal(4, (await Target.QueryValuesAsync("SELECT first_bucket FROM salt_blocks")).Count);
        Assert.True(raw.Count >= 8);
        AssertNoClearSecret(raw, secrets);
        Assert.All(raw, v => Assert.Equal("k1", v is byte[] b ? KeyEncryptionKeyRing.SealedBy(b) : KeyEncryptionKeyRing.SealedBy((string)v)));

        // Another instance with the same key reads them; with another key it fails, naming ids only.
        await using (var again = Target.Open(Ring("k1")))
            await AssertReadsBackAsync(again, secrets);
        await using var wrong = Target.Open(Ring("other"));
        var error = await Assert.ThrowsAsync<KeyEncryptionKeyException>(() => wrong.LoadSnapshotAsync());
        Assert.Contains("'k1'", error.Message);
        Assert.Contains("other", error.Message);
        output.WriteLine(error.Message);
    }

    [StoreFact]
    public async Task A_store_written_in_clear_is_sealed_in_place_on_initialization()
    {
        // What today's main wrote: clear values (written here with SQL, as the previous version did).
        await using (var store = Target.Open(Ring("k1"))) await store.InitializeAsync();
        var clearKey = RandomNumberGenerator.GetBytes(32);
        var pair = ClientSideKeys.Generate();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var hex = Convert.ToHexString(clearKey);
        var blob = Target.Provider == "sqlite" ? $"X'{hex}'" : $"'\\x{hex}'";
        await Target.ExecuteSqlAsync($"""
            INSERT INTO participants (site_id, name, roles, enabled, created) VALUES (42, 'p', 'GENERATOR', {(Target.Provider == "sqlite" ? "1" : "true")}, 0);
            INSERT INTO api_keys (key_id, key_hash, key_salt, site_id, name, roles, client_secret, disabled, created)
                VALUES ('UID2-C-L-42-abcde', 'h', 's', 42, 'k', 'GENERATOR', '{secret}', {(Target.Provider == "sqlite" ? "0" : "false")}, 0);
            INSERT INTO encryption_keys (id, site_id, created, activates, expires, secret) VALUES (7, 42, 0, 0, 9999999999999, {blob});
            INSERT INTO client_side_keypairs (subscription_id, site_id, public_key, private_key, created, disabled)
                VALUES ('clear00001', 42, '{pair.PublicKey}', '{pair.PrivateKey}', 0, {(Target.Provider == "sqlite" ? "0" : "false")});
            INSERT INTO salt_meta (id, first_level_salt) VALUES (1, 'clear-first-level-salt');
            INSERT INTO salt_buckets (id, last_updated_ms, current_salt, refresh_from_ms, previous_salt) VALUES (0, 1, 'clear-salt-0', 2, 'clear-previous-0');
            """);
        var clear = new Secrets(secret, clearKey, pair.PrivateKey,
            new SaltSet("clear-first-level-salt", [new SaltBucket(0, 1, "clear-salt-0", 2, "clear-previous-0")]));

        await using var upgraded = Target.Open(Ring("k1"));
        await upgraded.InitializeAsync();
        AssertNoClearSecret(await RawSecretColumnsAsync(), clear);
        await AssertReadsBackAsync(upgraded, clear);
        // Client secret, key, private key, first-level salt, the bucket's block, and the bucket's old row (sealed in
        // place: kept for operators of the previous version during a rolling upgrade).
        Assert.Equal(new Dictionary<string, int> { ["k1"] = 7 }, await ((IStoreSecretSealing)upgraded).CountSecretsBySealingKeyAsync());
        AssertNoClearSecret(await Target.QueryValuesAsync("SELECT current_salt FROM salt_buckets UNION ALL SELECT previous_salt FROM salt_buckets"), clear);
    }

    /// <summary>
    /// Issue "Internet scale", salts in blocks: a store written before blocks (a row per bucket, each salt sealed on its
    /// own, as the previous version wrote them) has its buckets moved into sealed blocks of 256 on initialization, and
    /// reads back the same salt set.
    /// </summary>
    [StoreFact]
    public async Task Salt_buckets_stored_a_row_each_move_into_sealed_blocks_on_initialization()
    {
        var kek = Ring("k1");
        await using (var store = Target.Open(kek)) await store.InitializeAsync();
        var salts = SaltSetFactory.Rotate(SaltSetFactory.CreateRandom(600, T0.ToUnixTimeMilliseconds()), 0.5, T0.ToUnixTimeMilliseconds() + 1);
        var rows = new StringBuilder();
        rows.Append($"INSERT INTO salt_meta (id, first_level_salt) VALUES (1, '{kek.SealText(salts.FirstLevelSalt, "salt_meta.first_level_salt")}');\n");
        foreach (var b in salts.Buckets)
        {
            var previous = b.PreviousSalt is null ? "NULL" : $"'{kek.SealText(b.PreviousSalt, "salt_buckets.previous_salt:" + b.Id)}'";
            rows.Append("INSERT INTO salt_buckets (id, last_updated_ms, current_salt, refresh_from_ms, previous_salt) VALUES ")
                .Append($"({b.Id}, {b.LastUpdatedMs}, '{kek.SealText(b.CurrentSalt, "salt_buckets.current_salt:" + b.Id)}', {b.RefreshFromMs}, {previous});\n");
        }
        await Target.ExecuteSqlAsync(rows.ToString());

        await using var upgraded = Target.Open(kek);
        await upgraded.InitializeAsync();
        Assert.Equal([0, 256, 512], (await Target.QueryValuesAsync("SELECT first_bucket FROM salt_blocks ORDER BY first_bucket")).Select(Convert.ToInt32));
        var loaded = (await upgraded.LoadSnapshotAsync()).Salts!;
        Assert.Equal(salts.FirstLevelSalt, loaded.FirstLevelSalt);
        Assert.Equal(salts.Buckets, loaded.Buckets);

        // Copied once: the old rows stay for operators of the previous version (a rolling upgrade), and a later rotation
        // in the blocks is not undone by the next start.
        Assert.Equal(600, (await Target.QueryValuesAsync("SELECT id FROM salt_buckets")).Count);
        var rotated = SaltSetFactory.Rotate(loaded, 0.1, T0.ToUnixTimeMilliseconds() + 2);
        await upgraded.SaveSaltsAsync(rotated);
        await using var restarted = Target.Open(kek);
        await restarted.InitializeAsync();
        Assert.Equal(rotated.Buckets, (await restarted.LoadSnapshotAsync()).Salts!.Buckets);
    }

    /// <summary>A block moved to another place, or a block missing, is refused rather than served as other buckets' salts.</summary>
    [StoreFact]
    public async Task A_salt_block_moved_or_missing_is_refused()
    {
        await using var store = Target.Open(Ring("k1"));
        await store.InitializeAsync();
        await store.SaveSaltsAsync(SaltSetFactory.CreateRandom(700, T0.ToUnixTimeMilliseconds()));
        // Block 2 (buckets 512…699) written over block 1's place: sealed for another position, it does not open.
        await Target.ExecuteSqlAsync("UPDATE salt_blocks SET sealed = (SELECT sealed FROM salt_blocks WHERE first_bucket = 512) WHERE first_bucket = 256;");
        await Assert.ThrowsAsync<KeyEncryptionKeyException>(() => store.LoadSnapshotAsync());
        await Target.ExecuteSqlAsync("DELETE FROM salt_blocks WHERE first_bucket = 256;");
        await Assert.ThrowsAsync<InvalidDataException>(() => store.LoadSnapshotAsync());
    }

    [StoreFact]
    public async Task Rotating_the_key_encryption_key_reseals_everything_under_the_new_key()
    {
        Secrets secrets;
        await using (var store = Target.Open(Ring("old1")))
        {
            await store.InitializeAsync();
            secrets = await WriteSecretsAsync(store);
        }

        // Rotation: the new key first, the old one kept for instances still running with it.
        await using (var rotating = Target.Open(Ring("new1", "old1")))
        {
            await rotating.InitializeAsync();
            Assert.Equal(0, await ((IStoreSecretSealing)rotating).ResealAsync()); // initialization already resealed everything
            var counts = await ((IStoreSecretSealing)rotating).CountSecretsBySealingKeyAsync();
            Assert.Equal(["new1"], counts.Keys);
        }

        // The old key can go: a store with the new key alone reads every secret.
        await using var pruned = Target.Open(Ring("new1"));
        await pruned.InitializeAsync();
        await AssertReadsBackAsync(pruned, secrets);
        AssertNoClearSecret(await RawSecretColumnsAsync(), secrets);

        // And a salt rotation still rewrites only the blocks holding rotated buckets: sealing is deterministic.
        const string blocks = "SELECT sealed FROM salt_blocks ORDER BY first_bucket";
        var before = await Target.QueryValuesAsync(blocks);
        var buckets = secrets.Salts.Buckets.ToArray();
        buckets[300] = buckets[300] with { PreviousSalt = buckets[300].CurrentSalt, CurrentSalt = "rotated-300", LastUpdatedMs = T0.ToUnixTimeMilliseconds() + 10 };
        buckets[301] = buckets[301] with { PreviousSalt = buckets[301].CurrentSalt, CurrentSalt = "rotated-301", LastUpdatedMs = T0.ToUnixTimeMilliseconds() + 10 };
        await pruned.SaveSaltsAsync(new SaltSet(secrets.Salts.FirstLevelSalt, buckets));
        var after = await Target.QueryValuesAsync(blocks);
        Assert.Equal(4, after.Count);
        var rewritten = before.Zip(after).Select((p, i) => (i, same: ((byte[])p.First).AsSpan().SequenceEqual((byte[])p.Second))).Where(x => !x.same).Select(x => x.i);
        Assert.Equal([1], rewritten); // buckets 256…511: the only block holding a rotated bucket
        Assert.Equal(buckets, (await pruned.LoadSnapshotAsync()).Salts!.Buckets);
    }
}

public sealed class SqliteSecretsAtRestTests(ITestOutputHelper output) : SecretsAtRestTests(output)
{
    protected override StoreTarget NewTarget() => new SqliteTarget();

    [Fact]
    public async Task The_raw_database_file_holds_no_secret()
    {
        using var db = new TempDb();
        var kek = new KeyEncryptionKeyRing([("k1", RandomNumberGenerator.GetBytes(32))]);
        var apiKey = StoreContractTests.SampleApiKey(42);
        var key = StoreContractTests.SampleKey(7, 42);
        var salts = SaltSetFactory.CreateRandom(256, T0.ToUnixTimeMilliseconds());
        var pair = ClientSideKeys.Generate();
        await using (var store = new SqliteUid2Store(db.ConnectionString, kek))
        {
            await store.InitializeAsync();
            await store.CreateParticipantAsync(StoreContractTests.SampleParticipant(42), apiKey);
            await store.AddKeysAsync([key]);
            await store.SaveSaltsAsync(salts);
            await store.AddClientSideKeypairAsync(new ClientSideKeypair("rawFile001", 42, pair.PublicKey, pair.PrivateKey, T0, false));
            // While open, the WAL holds the newest pages: read it too.
            var wal = await File.ReadAllBytesAsync(db.Path + "-wal");
            AssertAbsent(wal);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        AssertAbsent(await File.ReadAllBytesAsync(db.Path));

        void AssertAbsent(byte[] file)
        {
            Assert.True(file.Length > 4096);
            var secrets = new Secrets(apiKey.ClientSecret, key.Secret, pair.PrivateKey, salts);
            foreach (var (what, needle) in secrets.Needles())
                Assert.False(file.AsSpan().IndexOf(needle) >= 0, $"{what} found in the database file");
        }
    }
}

public sealed class PostgresSecretsAtRestTests(ITestOutputHelper output) : SecretsAtRestTests(output), IPostgresTests
{
    protected override StoreTarget NewTarget() => new PostgresTarget();
}

/// <summary>Where the key-encryption key comes from (no database needed).</summary>
public sealed class KeyEncryptionKeyResolutionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("uid2-kek-").FullName;
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Sqlite_creates_an_owner_only_key_file_beside_the_database_only_when_allowed()
    {
        var db = Path.Combine(_dir, "uid2.db");
        var cs = $"Data Source={db}";
        var refused = Assert.Throws<KeyEncryptionKeyException>(() => KeyEncryptionKeys.Resolve(cs, null, null, createIfMissing: false, NoEnvironment));
        Assert.Contains("UID2_KEK_FILE", refused.Message);
        Assert.False(File.Exists(db + ".kek"));

        var created = KeyEncryptionKeys.Resolve(cs, null, null, createIfMissing: true, NoEnvironment);
        Assert.True(File.Exists(db + ".kek"));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(db + ".kek"));
        // Once there, it is used even where it may not be created (Production on a store first used in Development).
        var again = KeyEncryptionKeys.Resolve(cs, null, null, createIfMissing: false, NoEnvironment);
        Assert.Equal(created.PrimaryId, again.PrimaryId);
        Assert.Equal(db + ".kek", again.SourceFile);
    }

    [Fact]
    public void Postgresql_needs_a_configured_key()
    {
        var error = Assert.Throws<KeyEncryptionKeyException>(() =>
            KeyEncryptionKeys.Resolve("Host=db;Database=uid2", null, null, createIfMissing: true, NoEnvironment));
        Assert.Contains("UID2_KEK_FILE", error.Message);
        var inline = KeyEncryptionKeys.Resolve("Host=db;Database=uid2", null, null, createIfMissing: false,
            name => name == KeyEncryptionKeys.InlineVariable ? "prod-1:" + Convert.ToBase64String(new byte[32]) : null);
        Assert.Equal("prod-1", inline.PrimaryId);
    }

    [Theory]
    [InlineData("nocolon")]
    [InlineData("id:notbase64!!")]
    [InlineData("id:AAAA")] // 3 bytes
    [InlineData("bad id:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void Malformed_inline_keys_are_refused_without_echoing_them(string inline)
    {
        var error = Assert.Throws<KeyEncryptionKeyException>(() =>
            KeyEncryptionKeys.Resolve("Host=db", inline, null, createIfMissing: false, NoEnvironment));
        Assert.DoesNotContain(inline, error.Message);
    }

    [Fact]
    public void A_running_ring_picks_up_a_rotated_key_file()
    {
        var file = Path.Combine(_dir, "keys.kek");
        var first = RandomNumberGenerator.GetBytes(32);
        KeyEncryptionKeys.WriteKeyFile(file, [("one", first)]);
        var running = KeyEncryptionKeys.Resolve("Host=db", null, file, createIfMissing: false, NoEnvironment);

        KeyEncryptionKeys.WriteKeyFile(file, [("two", RandomNumberGenerator.GetBytes(32)), ("one", first)]);
        var rotated = KeyEncryptionKeys.Resolve("Host=db", null, file, createIfMissing: false, NoEnvironment);
        var sealedByNew = rotated.SealText("a secret", "purpose:1");
        Assert.Equal("a secret", running.OpenText(sealedByNew, "purpose:1")); // re-read the file once
        Assert.Throws<KeyEncryptionKeyException>(() => running.OpenText(sealedByNew, "purpose:2")); // bound to its purpose
    }
}
