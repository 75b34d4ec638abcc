using Uid2.Core.Identity;
using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>
/// The store of truth: participants, API keys (hashed), client secrets, encryption keys, salts and opt-outs.
/// Implementations: <see cref="SqliteUid2Store"/> (embedded default) and <see cref="PostgresUid2Store"/>. Every write but a new opt-out bumps <see cref="GetVersionAsync"/>.
/// </summary>
public interface IUid2Store : IAsyncDisposable
{
    /// <summary>Creates the schema if it does not exist (idempotent, safe to call on every start).</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>
    /// A counter that increases on every write to any table, except inserted opt-outs: those are read incrementally
    /// with <see cref="LoadOptOutsAfterAsync"/>, so an opt-out never forces a reload of keys and salts. Cheap: polled.
    /// </summary>
    Task<long> GetVersionAsync(CancellationToken ct = default);

    /// <summary>Reads everything in one transaction.</summary>
    Task<StoreSnapshot> LoadSnapshotAsync(CancellationToken ct = default);

    /// <summary>
    /// Reads everything in one transaction; with <paramref name="includeOptOuts"/> false the snapshot's
    /// <see cref="StoreSnapshot.OptOuts"/> is empty (load them incrementally with <see cref="LoadOptOutsAfterAsync"/>).
    /// </summary>
    Task<StoreSnapshot> LoadSnapshotAsync(bool includeOptOuts, CancellationToken ct = default);

    /// <summary>Opt-outs with <see cref="OptOutRecord.Id"/> greater than <paramref name="afterId"/>, in id order.</summary>
    Task<IReadOnlyList<OptOutRecord>> LoadOptOutsAfterAsync(long afterId, CancellationToken ct = default);

    /// <summary>Adds a participant. Throws <see cref="StoreConflictException"/> if its site id is taken.</summary>
    Task AddParticipantAsync(Participant participant, CancellationToken ct = default);
    Task<Participant?> GetParticipantAsync(int siteId, CancellationToken ct = default);

    /// <summary>Adds an API key. Throws <see cref="StoreConflictException"/> if its key id is taken.</summary>
    Task AddApiKeyAsync(ApiKeyRecord apiKey, CancellationToken ct = default);

    /// <summary>
    /// Adds a participant and its first API key together, in one transaction.
    /// Throws <see cref="StoreConflictException"/> if the site id or key id is taken.
    /// </summary>
    Task CreateParticipantAsync(Participant participant, ApiKeyRecord apiKey, CancellationToken ct = default);

    /// <summary>Adds keys; ids must be new.</summary>
    Task AddKeysAsync(IEnumerable<EncryptionKey> keys, CancellationToken ct = default);

    /// <summary>
    /// Reads all keys and adds the ones <paramref name="plan"/> returns for them, in one write transaction, so that
    /// concurrent callers (several operators, the admin CLI) neither clash on ids nor add the same key twice.
    /// Returns the keys added.
    /// </summary>
    Task<IReadOnlyList<EncryptionKey>> AddKeysAtomicallyAsync(
        Func<IReadOnlyList<EncryptionKey>, IReadOnlyList<EncryptionKey>> plan, CancellationToken ct = default);

    /// <summary>Replaces the salt set (first-level salt and all buckets) atomically.</summary>
    Task SaveSaltsAsync(SaltSet salts, CancellationToken ct = default);

    /// <summary>
    /// Saves the salt set <paramref name="create"/> returns if the store has none yet, in one write transaction
    /// (check and insert together). Returns true if it saved one.
    /// </summary>
    Task<bool> SaveSaltsIfAbsentAsync(Func<SaltSet> create, CancellationToken ct = default);

    /// <summary>Adds a CSTG key pair. Throws <see cref="StoreConflictException"/> if its subscription id is taken.</summary>
    Task AddClientSideKeypairAsync(ClientSideKeypair keypair, CancellationToken ct = default);

    /// <summary>Enables or disables a CSTG key pair; false if no key pair has that subscription id.</summary>
    Task<bool> SetClientSideKeypairDisabledAsync(string subscriptionId, bool disabled, CancellationToken ct = default);

    /// <summary>
    /// Replaces the domain names of a site (one transaction; an empty list removes them all). Names are stored as given:
    /// callers validate and lower-case them. Duplicates are stored once.
    /// </summary>
    Task SetDomainNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default);

    /// <summary>Replaces the mobile app names of a site, like <see cref="SetDomainNamesAsync"/>.</summary>
    Task SetAppNamesAsync(int siteId, IReadOnlyList<string> names, CancellationToken ct = default);

    /// <summary>Records an opt-out durably (committed before it returns) and returns it with its row id.</summary>
    Task<OptOutRecord> AddOptOutAsync(byte[] firstLevelHash, byte[] advertisingId, DateTimeOffset timestamp, CancellationToken ct = default);
}

/// <summary>A write conflicts with what is stored (a duplicate site id, key id…). The message says what.</summary>
public sealed class StoreConflictException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
