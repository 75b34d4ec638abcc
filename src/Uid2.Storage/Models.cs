using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>A participant (publisher, advertiser, DSP…) identified by its site id.</summary>
public sealed record Participant(int SiteId, string Name, Role Roles, bool Enabled, DateTimeOffset Created);

/// <summary>
/// An API key as stored: only its hash and salt, never the key. <see cref="ClientSecret"/> (base64 of 32 bytes)
/// is the v2 envelope key that belongs to this API key.
/// </summary>
public sealed record ApiKeyRecord(
    string KeyId,
    string KeyHash,
    string KeySalt,
    int SiteId,
    string Name,
    Role Roles,
    string ClientSecret,
    bool Disabled,
    DateTimeOffset Created);

/// <summary>
/// One opt-out: the first-level hash of the identity (what the operator checks), the raw UID at the time of the
/// opt-out (for /v2/optout/status) and when it happened. <see cref="Id"/> is the store's monotonically increasing row id.
/// </summary>
public sealed record OptOutRecord(long Id, byte[] FirstLevelHash, byte[] AdvertisingId, DateTimeOffset Timestamp);

/// <summary>Everything an operator instance serves from, read in one consistent pass.</summary>
public sealed record StoreSnapshot(
    long Version,
    IReadOnlyList<Participant> Participants,
    IReadOnlyList<ApiKeyRecord> ApiKeys,
    IReadOnlyList<EncryptionKey> Keys,
    SaltSet? Salts,
    IReadOnlyList<OptOutRecord> OptOuts);
