using Uid2.Core.Identity;

namespace Uid2.Storage;

/// <summary>Prepares an empty store for service: schema, a random salt set and the reserved keysets' keys.</summary>
public static class StoreBootstrapper
{
    /// <summary>
    /// Creates the schema if needed, then — only if missing — a random salt set (first-level salt plus
    /// <paramref name="saltBucketCount"/> bucket salts) and active master, refresh and fallback publisher keys.
    /// Each check-and-insert runs in one write transaction, so concurrent callers (two processes starting at once)
    /// create one set between them. Returns true if this call created anything.
    /// </summary>
    public static async Task<bool> EnsureInitializedAsync(IUid2Store store, TimeProvider time, int saltBucketCount, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(saltBucketCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(saltBucketCount, 1 << 24);

        await store.InitializeAsync(ct).ConfigureAwait(false);
        var createdSalts = await store.SaveSaltsIfAbsentAsync(
            () => SaltSetFactory.CreateRandom(saltBucketCount, time.GetUtcNow().ToUnixTimeMilliseconds()), ct).ConfigureAwait(false);
        var keys = await KeyMaintenance.EnsureActiveKeysAsync(store, [], time, new KeyPolicy(), ct).ConfigureAwait(false);
        return createdSalts || keys.Count > 0;
    }
}
