using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;

namespace Uid2.Storage;

/// <summary>A participant (publisher, advertiser, DSP…) identified by its site id.</summary>
/// <param name="Types">What kind of business it is (keysets can be shared by type).</param>
public sealed record Participant(int SiteId, string Name, Role Roles, bool Enabled, DateTimeOffset Created, ClientTypes Types = ClientTypes.None);

/// <summary>
/// An API key as stored: only its hash and salt, never the key. <see cref="ClientSecret"/> (base64 of 32 bytes)
/// is the v2 envelope key that belongs to this API key. After a rotation, <see cref="PreviousClientSecret"/> is still
/// accepted until <see cref="PreviousSecretExpires"/> (the overlap), so a publisher rolls its secret without downtime.
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
    DateTimeOffset Created,
    string? PreviousClientSecret = null,
    DateTimeOffset? PreviousSecretExpires = null)
{
    /// <summary>The secret accepted besides <see cref="ClientSecret"/> at <paramref name="now"/>, if the overlap still runs.</summary>
    public string? PreviousSecretAt(DateTimeOffset now) =>
        PreviousClientSecret is not null && PreviousSecretExpires is { } until && now < until ? PreviousClientSecret : null;

    /// <summary>Keeps the secret and the key hash out of logs, test output and exception messages.</summary>
    public override string ToString() =>
        $"ApiKeyRecord {{ KeyId = {KeyId}, SiteId = {SiteId}, Name = {Name}, Roles = {Roles}, Disabled = {Disabled}, Created = {Created:O}, PreviousSecretExpires = {PreviousSecretExpires:O} }}";
}

/// <summary>
/// One opt-out: the first-level hash of the identity (what the operator checks), the raw UID at the time of the
/// opt-out (for /v2/optout/status) and when it happened. <see cref="Id"/> is the store's monotonically increasing row id.
/// </summary>
public sealed record OptOutRecord(long Id, byte[] FirstLevelHash, byte[] AdvertisingId, DateTimeOffset Timestamp);

/// <summary>
/// A client-side token generation (CSTG) key pair of a site. <see cref="SubscriptionId"/> and <see cref="PublicKey"/>
/// (<c>UID2-X-…</c>) are public: the publisher puts them in its pages. <see cref="PrivateKey"/> (<c>UID2-Y-…</c>) stays
/// with the operator; never log or print it.
/// </summary>
public sealed record ClientSideKeypair(
    string SubscriptionId,
    int SiteId,
    string PublicKey,
    string PrivateKey,
    DateTimeOffset Created,
    bool Disabled)
{
    /// <summary>Keeps the private key out of logs, test output and exception messages.</summary>
    public override string ToString() =>
        $"ClientSideKeypair {{ SubscriptionId = {SubscriptionId}, SiteId = {SiteId}, PublicKey = {PublicKey}, Created = {Created:O}, Disabled = {Disabled} }}";
}

/// <summary>Everything an operator instance serves from, read in one consistent pass.</summary>
/// <param name="ClientSideKeypairs">CSTG key pairs (null only from callers that predate them: read as none).</param>
/// <param name="DomainNames">Per site: the domain names allowed to call CSTG (lower-case, sorted; sites without any are absent).</param>
/// <param name="AppNames">Per site: the mobile app names allowed to call CSTG (sorted; sites without any are absent).</param>
/// <param name="Keysets">The sharing settings of the sites that have any (by site id; the others share as <see cref="KeysetSharing.Default"/>).</param>
public sealed record StoreSnapshot(
    long Version,
    IReadOnlyList<Participant> Participants,
    IReadOnlyList<ApiKeyRecord> ApiKeys,
    IReadOnlyList<EncryptionKey> Keys,
    SaltSet? Salts,
    IReadOnlyList<OptOutRecord> OptOuts,
    IReadOnlyList<ClientSideKeypair>? ClientSideKeypairs = null,
    IReadOnlyDictionary<int, IReadOnlyList<string>>? DomainNames = null,
    IReadOnlyDictionary<int, IReadOnlyList<string>>? AppNames = null,
    IReadOnlyList<KeysetSharing>? Keysets = null);
