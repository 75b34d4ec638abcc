using Uid2.Core.Identity;
using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>
/// The store of truth: participants, API keys (hashed), client secrets, encryption keys, salts and opt-outs.
/// Implementations: SQLite (embedded default) and, later, PostgreSQL. Every write bumps <see cref="GetVersionAsync"/>.
/// </summary>
public interface IUid2Store : IAsyncDisposable
{
    /// <summary>Creates the schema if it does not exist (idempotent, safe to call on every start).</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>A counter that increases on every write to any table. Cheap: the operator polls it.</summary>
    Task<long> GetVersionAsync(CancellationToken ct = default);

    /// <summary>Reads everything in one transaction.</summary>
    Task<StoreSnapshot> LoadSnapshotAsync(CancellationToken ct = default);

    /// <summary>Opt-outs with <see cref="OptOutRecord.Id"/> greater than <paramref name="afterId"/>, in id order.</summary>
    Task<IReadOnlyList<OptOutRecord>> LoadOptOutsAfterAsync(long afterId, CancellationToken ct = default);

    Task AddParticipantAsync(Participant participant, CancellationToken ct = default);
    Task<Participant?> GetParticipantAsync(int siteId, CancellationToken ct = default);
    Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken ct = default);

    /// <summary>Adds keys; ids must be new.</summary>
    Task AddKeysAsync(IEnumerable<EncryptionKey> keys, CancellationToken ct = default);

    /// <summary>Replaces the salt set (first-level salt and all buckets) atomically.</summary>
    Task SaveSaltsAsync(SaltSet salts, CancellationToken ct = default);

    /// <summary>Records an opt-out durably (committed before it returns) and returns it with its row id.</summary>
    Task<OptOutRecord> AddOptOutAsync(byte[] firstLevelHash, byte[] advertisingId, DateTimeOffset timestamp, CancellationToken ct = default);
}
