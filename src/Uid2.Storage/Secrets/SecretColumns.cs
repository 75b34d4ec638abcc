using System.Data.Common;
using static Uid2.Storage.CommonSql;
using Uid2.Core.Identity;

namespace Uid2.Storage.Secrets;

/// <summary>
/// The store's secret columns and the rules for them, written once for both providers: what each sealed value's
/// purpose (its additional data: table, column, row) is, how a salt bucket is opened, and how every secret is resealed
/// under the primary key-encryption key (upgrade of a clear store, KEK rotation) in the caller's write transaction.
/// </summary>
internal static class SecretColumns
{
    public static string ClientSecret(string keyId) => "api_keys.client_secret:" + keyId;
    public static string PreviousClientSecret(string keyId) => "api_keys.previous_client_secret:" + keyId;
    public static string KeySecret(int keyId) => "encryption_keys.secret:" + keyId;
    public static string PrivateKey(string subscriptionId) => "client_side_keypairs.private_key:" + subscriptionId;
    public const string FirstLevelSalt = "salt_meta.first_level_salt";
    public static string WebhookUrl(int siteId) => "optout_webhooks.url_template:" + siteId;
    public static string CurrentSalt(int bucket) => "salt_buckets.current_salt:" + bucket;
    public static string PreviousSalt(int bucket) => "salt_buckets.previous_salt:" + bucket;

    /// <summary>A salt bucket as stored: its salts sealed.</summary>
    public readonly record struct SealedBucket(int Id, long LastUpdatedMs, string CurrentSalt, long RefreshFromMs, string? PreviousSalt);

    /// <summary>
    /// Opens the salts of buckets stored a row each (the layout before <see cref="SaltBlocks"/>, moved into blocks on
    /// initialization), spread over the cores in ranges of 4,096 buckets.
    /// </summary>
    public static SaltBucket[] OpenBuckets(KeyEncryptionKeyRing kek, IReadOnlyList<SealedBucket> rows)
    {
        var buckets = new SaltBucket[rows.Count];
        ForRanges(buckets.Length, i =>
        {
            var r = rows[i];
            buckets[i] = OpenBucket(kek, r.Id, r.LastUpdatedMs, r.CurrentSalt, r.RefreshFromMs, r.PreviousSalt);
        });
        return buckets;
    }

    /// <summary>Runs <paramref name="body"/> for 0 … n−1: on this thread when small, else in parallel ranges of 4,096.</summary>
    private static void ForRanges(int n, Action<int> body)
    {
        const int range = 4096;
        if (n <= range)
        {
            for (var i = 0; i < n; i++) body(i);
            return;
        }
        try
        {
            Parallel.For(0, (n + range - 1) / range, r =>
            {
                var end = Math.Min(n, (r + 1) * range);
                for (var i = r * range; i < end; i++) body(i);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // The caller sees what one value raised (e.g. KeyEncryptionKeyException), as with one thread.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>A bucket as stored → as served (salts opened).</summary>
    public static SaltBucket OpenBucket(KeyEncryptionKeyRing kek, int id, long updatedMs, string current, long refreshFromMs, string? previous) =>
        new(id, updatedMs, kek.OpenText(current, CurrentSalt(id)), refreshFromMs, previous is null ? null : kek.OpenText(previous, PreviousSalt(id)));

    /// <summary>
    /// Seals under the primary key every secret that is clear or sealed by another key, in <paramref name="tx"/>.
    /// The SQL is common to SQLite and PostgreSQL (named <c>@</c> parameters). Returns how many values it rewrote.
    /// </summary>
    public static async Task<int> ResealAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        var count = 0;
        count += await ResealTextAsync(conn, tx, "SELECT key_id, client_secret FROM api_keys", "UPDATE api_keys SET client_secret = @v WHERE key_id = @k",
            key => ClientSecret((string)key), kek, ct).ConfigureAwait(false);
        count += await ResealTextAsync(conn, tx, "SELECT key_id, previous_client_secret FROM api_keys WHERE previous_client_secret IS NOT NULL",
            "UPDATE api_keys SET previous_client_secret = @v WHERE key_id = @k", key => PreviousClientSecret((string)key), kek, ct).ConfigureAwait(false);
        count += await ResealTextAsync(conn, tx, "SELECT subscription_id, private_key FROM client_side_keypairs",
            "UPDATE client_side_keypairs SET private_key = @v WHERE subscription_id = @k", key => PrivateKey((string)key), kek, ct).ConfigureAwait(false);
        count += await ResealTextAsync(conn, tx, "SELECT site_id, url_template FROM optout_webhooks",
            "UPDATE optout_webhooks SET url_template = @v WHERE site_id = @k", key => WebhookUrl(Convert.ToInt32(key)), kek, ct).ConfigureAwait(false);
        count += await ResealTextAsync(conn, tx, "SELECT id, first_level_salt FROM salt_meta", "UPDATE salt_meta SET first_level_salt = @v WHERE id = @k",
            _ => FirstLevelSalt, kek, ct).ConfigureAwait(false);
        // Salt buckets: a block of 256 is one sealed value.
        count += await SaltBlocks.ResealAsync(conn, tx, kek, ct).ConfigureAwait(false);
        // The rows of the layout before blocks (kept for operators of the previous version during a rolling upgrade):
        // only those that need it come back (the database checks a million rows, not this process).
        var notPrimary = KeyEncryptionKeyRing.TextPrefix + kek.PrimaryId + ":%";
        count += await ResealTextAsync(conn, tx, $"SELECT id, current_salt FROM salt_buckets WHERE current_salt NOT LIKE '{notPrimary}'",
            "UPDATE salt_buckets SET current_salt = @v WHERE id = @k", key => CurrentSalt(Convert.ToInt32(key)), kek, ct).ConfigureAwait(false);
        count += await ResealTextAsync(conn, tx,
            $"SELECT id, previous_salt FROM salt_buckets WHERE previous_salt IS NOT NULL AND previous_salt NOT LIKE '{notPrimary}'",
            "UPDATE salt_buckets SET previous_salt = @v WHERE id = @k", key => PreviousSalt(Convert.ToInt32(key)), kek, ct).ConfigureAwait(false);

        var keys = new List<(int Id, byte[] Secret)>();
        await using (var select = Command(conn, tx, "SELECT id, secret FROM encryption_keys"))
        await using (var r = await select.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var secret = r.GetFieldValue<byte[]>(1);
                if (kek.NeedsReseal(secret)) keys.Add((Convert.ToInt32(r.GetValue(0)), secret));
            }
        }
        foreach (var (id, secret) in keys)
        {
            await using var update = Command(conn, tx, "UPDATE encryption_keys SET secret = @v WHERE id = @k");
            Add(update, "v", kek.SealBytes(kek.OpenBytes(secret, KeySecret(id)), KeySecret(id)));
            Add(update, "k", id);
            await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        return count + keys.Count;
    }

    /// <summary>How many stored secrets each key-encryption key sealed ("clear" for values not sealed yet).</summary>
    public static async Task<IReadOnlyDictionary<string, int>> CountBySealingKeyAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct)
    {
        var counts = new Dictionary<string, int>();
        void Count(string? id) => counts[id ?? "clear"] = counts.GetValueOrDefault(id ?? "clear") + 1;
        foreach (var sql in new[]
                 {
                     "SELECT client_secret FROM api_keys", "SELECT previous_client_secret FROM api_keys WHERE previous_client_secret IS NOT NULL",
                     "SELECT private_key FROM client_side_keypairs", "SELECT first_level_salt FROM salt_meta", "SELECT url_template FROM optout_webhooks",
                     "SELECT current_salt FROM salt_buckets", "SELECT previous_salt FROM salt_buckets WHERE previous_salt IS NOT NULL",
                 })
        {
            await using var cmd = Command(conn, tx, sql);
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) Count(KeyEncryptionKeyRing.SealedBy(r.GetString(0)));
        }
        foreach (var sql in new[] { "SELECT secret FROM encryption_keys", "SELECT sealed FROM salt_blocks" })
        {
            await using var binary = Command(conn, tx, sql);
            await using var r = await binary.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) Count(KeyEncryptionKeyRing.SealedBy(r.GetFieldValue<byte[]>(0)));
        }
        return counts;
    }

    private static async Task<int> ResealTextAsync(DbConnection conn, DbTransaction tx, string select, string update, Func<object, string> purpose,
        KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        var rows = new List<(object Key, string Value)>();
        await using (var cmd = Command(conn, tx, select))
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var value = r.GetString(1);
                if (kek.NeedsReseal(value)) rows.Add((r.GetValue(0), value));
            }
        }
        if (rows.Count == 0) return 0;
        await using var write = Command(conn, tx, update);
        var v = Add(write, "v", "");
        var k = Add(write, "k", rows[0].Key);
        foreach (var (key, value) in rows)
        {
            var p = purpose(key);
            v.Value = kek.SealText(kek.OpenText(value, p), p);
            k.Value = key;
            await write.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        return rows.Count;
    }
}
