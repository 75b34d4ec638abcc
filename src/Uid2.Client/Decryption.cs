using Uid2.Core;

namespace Uid2.Client;

/// <summary>Outcome of decrypting an advertising token (same members and meaning as the reference SDKs).</summary>
public enum DecryptionStatus
{
    /// <summary>Decrypted; <see cref="DecryptionResponse.Uid"/> holds the raw UID.</summary>
    Success,
    /// <summary>The token's master key id is not among the keys this client may use.</summary>
    NotAuthorizedForMasterKey,
    /// <summary>The token's site key id is not among the keys this client may use.</summary>
    NotAuthorizedForKey,
    /// <summary>No keys were ever loaded.</summary>
    NotInitialized,
    /// <summary>Not base64, wrong length, authentication failure or a malformed field.</summary>
    InvalidPayload,
    /// <summary>The token expired before <c>now</c>.</summary>
    ExpiredToken,
    /// <summary>Every loaded key has expired: refresh the keys.</summary>
    KeysNotSynced,
    /// <summary>The header names no known token version.</summary>
    VersionNotSupported,
    /// <summary>Kept for parity with the reference enum (encrypted-data payloads); not returned for tokens.</summary>
    InvalidPayloadType,
    /// <summary>The token's scope (UID2/EUID) differs from the key response's <c>identity_scope</c>, or its header disagrees with its raw UID.</summary>
    InvalidIdentityScope,
    /// <summary>The token carries the opted-out privacy bit. DSPs must still honour their own opt-out records otherwise.</summary>
    UserOptedOut,
    /// <summary>A client-side generated token presented for a domain or app name its site did not register (bidstream only).</summary>
    DomainOrAppNameCheckFailed,
    /// <summary>Lifetime longer than the published maximum, or generated further in the future than the allowed clock skew.</summary>
    InvalidTokenLifetime,
}

/// <summary>
/// Result of <see cref="BidstreamClient.Decrypt(string, DateTimeOffset, string?)"/> / <see cref="SharingClient.Decrypt(string, DateTimeOffset)"/>.
/// A value type, so failures and the success path allocate nothing beyond <see cref="Uid"/>.
/// </summary>
public readonly struct DecryptionResponse
{
    internal DecryptionResponse(DecryptionStatus status, string? uid = null, DateTimeOffset? established = null, int? siteId = null,
        int? siteKeySiteId = null, IdentityType? identityType = null, int? advertisingTokenVersion = null, bool? isClientSideGenerated = null,
        DateTimeOffset? expiry = null)
    {
        Status = status;
        Uid = uid;
        Established = established;
        SiteId = siteId;
        SiteKeySiteId = siteKeySiteId;
        IdentityType = identityType;
        AdvertisingTokenVersion = advertisingTokenVersion;
        IsClientSideGenerated = isClientSideGenerated;
        Expiry = expiry;
    }

    /// <summary>The outcome.</summary>
    public DecryptionStatus Status { get; }
    /// <summary>True when <see cref="Status"/> is <see cref="DecryptionStatus.Success"/>.</summary>
    public bool Success => Status == DecryptionStatus.Success;
    /// <summary>The raw UID (standard base64, 44 chars) on success; null otherwise.</summary>
    public string? Uid { get; }
    /// <summary>When the identity was first established (set once the token decrypted, also for expired/opted-out tokens).</summary>
    public DateTimeOffset? Established { get; }
    /// <summary>The site id of the publisher the token was issued to.</summary>
    public int? SiteId { get; }
    /// <summary>The keyset id of the key that encrypted the inner layer, when the key response disclosed it (null otherwise).</summary>
    public int? SiteKeySiteId { get; }
    /// <summary>Email or phone (v3/v4 tokens); null for v2 tokens, which do not carry it.</summary>
    public IdentityType? IdentityType { get; }
    /// <summary>2, 3 or 4.</summary>
    public int? AdvertisingTokenVersion { get; }
    /// <summary>True when the token was generated client-side (CSTG, privacy bit 1).</summary>
    public bool? IsClientSideGenerated { get; }
    /// <summary>When the token expires.</summary>
    public DateTimeOffset? Expiry { get; }

    /// <inheritdoc />
    public override string ToString() => Success ? $"Success(uid={Uid}, site={SiteId}, v{AdvertisingTokenVersion})" : Status.ToString();
}

/// <summary>Outcome of <see cref="SharingClient.Encrypt(string, DateTimeOffset)"/> (same members as the reference enum).</summary>
public enum EncryptionStatus
{
    /// <summary>Encrypted.</summary>
    Success,
    /// <summary>No default keyset, or no active key in it.</summary>
    NotAuthorizedForKey,
    /// <summary>No active master key.</summary>
    NotAuthorizedForMasterKey,
    /// <summary>No keys were ever loaded.</summary>
    NotInitialized,
    /// <summary>Every loaded key has expired.</summary>
    KeysNotSynced,
    /// <summary>Kept for parity with the reference enum (encrypted data); not returned by token encryption.</summary>
    TokenDecryptFailure,
    /// <summary>Kept for parity with the reference enum (encrypted data); not returned by token encryption.</summary>
    KeyInactive,
    /// <summary>The raw UID is not base64 of 32/33 bytes, or its scope prefix differs from the client's scope.</summary>
    EncryptionFailure,
}

/// <summary>Result of <see cref="SharingClient.Encrypt(string, DateTimeOffset)"/>.</summary>
public readonly struct EncryptionResponse
{
    internal EncryptionResponse(EncryptionStatus status, string? token = null)
    {
        Status = status;
        EncryptedData = token;
    }

    /// <summary>The outcome.</summary>
    public EncryptionStatus Status { get; }
    /// <summary>True when <see cref="Status"/> is <see cref="EncryptionStatus.Success"/>.</summary>
    public bool Success => Status == EncryptionStatus.Success;
    /// <summary>The v4 advertising token (base64url, unpadded) on success; null otherwise.</summary>
    public string? EncryptedData { get; }

    /// <inheritdoc />
    public override string ToString() => Status.ToString();
}

/// <summary>Outcome of a key refresh. On failure the previously loaded keys stay in use.</summary>
public sealed class RefreshResult
{
    private RefreshResult(bool success, string reason, int attempts)
    {
        Success = success;
        Reason = reason;
        Attempts = attempts;
    }

    /// <summary>True when new keys were loaded.</summary>
    public bool Success { get; }
    /// <summary>Why the refresh failed; empty on success.</summary>
    public string Reason { get; }
    /// <summary>How many HTTP attempts were made (0 for <c>RefreshJson</c>).</summary>
    public int Attempts { get; }

    internal static RefreshResult Ok(int attempts) => new(true, string.Empty, attempts);
    internal static RefreshResult Fail(string reason, int attempts) => new(false, reason, attempts);

    /// <inheritdoc />
    public override string ToString() => Success ? "Success" : "Failed: " + Reason;
}
