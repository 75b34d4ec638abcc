namespace Uid2.Core.Tokens;

/// <summary>Advertising token versions (the numeric value is the SDK/operator version number, not the wire byte).</summary>
public enum TokenVersion
{
    /// <summary>Legacy AES-CBC token, byte 0 = 2, standard base64 (decode-only in the current operator).</summary>
    V2 = 2,
    /// <summary>AES-GCM token, byte 1 = 112, standard base64.</summary>
    V3 = 3,
    /// <summary>Same bytes as v3 with byte 1 = 128, base64url without padding. What the current operator issues.</summary>
    V4 = 4,
}

/// <summary>The 13-byte operator identity inside v3/v4 tokens: site id (4) · operator type (1) · version (4) · key id (4).</summary>
public readonly record struct OperatorIdentity(int SiteId, byte OperatorType, int OperatorVersion, int OperatorKeyId)
{
    /// <summary>What the reference operator writes: site 0, type Service (1), version 0, key 0.</summary>
    public static OperatorIdentity Default => new(0, 1, 0, 0);

    /// <summary>Size on the wire.</summary>
    public const int Size = 13;
}

/// <summary>Outcome of decoding an advertising or refresh token.</summary>
public enum TokenDecodeStatus
{
    Success,
    /// <summary>Not base64, wrong length, authentication/padding failure, or a malformed field.</summary>
    InvalidPayload,
    /// <summary>The header decodes but names no known version.</summary>
    VersionNotSupported,
    /// <summary>The outer (master) key id of an advertising token is not in the key lookup.</summary>
    UnknownMasterKey,
    /// <summary>The inner (site) key id of an advertising token is not in the key lookup.</summary>
    UnknownSiteKey,
    /// <summary>The unauthenticated header identity byte disagrees with the encrypted identity (raw UID prefix,
    /// or the refresh token's inner identity byte).</summary>
    InvalidIdentityScope,
    /// <summary>The key id of a refresh token is not in the key lookup.</summary>
    UnknownRefreshKey,
}

/// <summary>A decoded (or to-be-encoded) advertising token.</summary>
public sealed class AdvertisingToken
{
    public TokenVersion Version { get; init; } = TokenVersion.V4;
    public IdentityScope Scope { get; init; }
    public IdentityType Type { get; init; }
    /// <summary>Raw UID: 32 bytes (v2 raw UID) or 33 bytes (v3/v4 raw UID whose first byte carries scope/type).</summary>
    public byte[] RawUid { get; init; } = [];
    /// <summary>The publisher's site id.</summary>
    public int SiteId { get; init; }
    public long PublisherId { get; init; }
    public int ClientKeyId { get; init; }
    public int PrivacyBits { get; init; }
    public DateTimeOffset Expires { get; init; }
    /// <summary>When the token was generated (v3/v4 master payload). v2 tokens carry none; decoded as <see cref="Established"/>.</summary>
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Established { get; init; }
    /// <summary>When the identity was last refreshed (v3/v4). v2: decoded as <see cref="Established"/>.</summary>
    public DateTimeOffset Refreshed { get; init; }
    public OperatorIdentity Operator { get; init; } = OperatorIdentity.Default;
    /// <summary>Id of the master key of the outer layer (set by decode; encoders use the key passed in).</summary>
    public int MasterKeyId { get; init; }
    /// <summary>Id of the site key of the inner layer (set by decode; encoders use the key passed in).</summary>
    public int SiteKeyId { get; init; }

    /// <summary>Standard base64 of <see cref="RawUid"/> (the "advertising id" form).</summary>
    public string RawUidBase64 => Convert.ToBase64String(RawUid);
}

/// <summary>A decoded (or to-be-encoded) refresh token.</summary>
public sealed class RefreshToken
{
    /// <summary>2 (legacy CBC, decode-only in the operator) or 3 (current).</summary>
    public int Version { get; init; } = 3;
    public IdentityScope Scope { get; init; }
    public IdentityType Type { get; init; }
    /// <summary>The 32-byte first-level hash of the identity.</summary>
    public byte[] FirstLevelHash { get; init; } = [];
    public int SiteId { get; init; }
    public long PublisherId { get; init; }
    public int ClientKeyId { get; init; }
    public int PrivacyBits { get; init; }
    public DateTimeOffset Created { get; init; }
    /// <summary>Refresh expiry. For v2 tokens the decoder returns the "valid till" field (written as expires + 60 s), as the operator does.</summary>
    public DateTimeOffset Expires { get; init; }
    public DateTimeOffset Established { get; init; }
    public OperatorIdentity Operator { get; init; } = OperatorIdentity.Default;
    /// <summary>Id of the refresh key (set by decode; the encoder uses the key passed in).</summary>
    public int KeyId { get; init; }
}
