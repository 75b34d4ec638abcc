using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// Capability of a store whose secrets are sealed at rest (both providers): client secrets, encryption keys, CSTG
/// private keys and salts, under <see cref="Kek"/>. Test for it with <c>store is IStoreSecretSealing</c>.
/// </summary>
public interface IStoreSecretSealing
{
    /// <summary>The key-encryption keys in use; the first seals.</summary>
    KeyEncryptionKeyRing Kek { get; }

    /// <summary>
    /// Seals under the primary key, in one write transaction, every secret that is clear or sealed by another key
    /// (what initialization does for a store written before sealing existed, and what a KEK rotation does).
    /// Returns how many values it rewrote.
    /// </summary>
    Task<int> ResealAsync(CancellationToken ct = default);

    /// <summary>How many stored secrets each key-encryption key id sealed (<c>clear</c>: not sealed). Never a value.</summary>
    async Task<IReadOnlyDictionary<string, int>> CountSecretsBySealingKeyAsync(CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        return await SecretColumns.CountBySealingKeyAsync(conn, null, ct).ConfigureAwait(false);
    }
}
