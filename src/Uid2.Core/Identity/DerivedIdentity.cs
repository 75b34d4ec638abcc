namespace Uid2.Core.Identity;

/// <summary>
/// The result of deriving an identity against a salt set.
/// </summary>
/// <param name="Scope">UID2 or EUID.</param>
/// <param name="Type">Email or phone.</param>
/// <param name="FirstLevelHash">32-byte first-level hash (what refresh tokens and the opt-out store carry).</param>
/// <param name="RawUid">33-byte v3 raw UID (prefix byte ‖ v2 raw UID).</param>
/// <param name="Bucket">The salt bucket the first-level hash selected.</param>
/// <param name="PreviousRawUid">33-byte v3 raw UID under the bucket's previous salt, when it has one that rotated out
/// less than 90 days ago; otherwise null.</param>
public sealed record DerivedIdentity(
    IdentityScope Scope,
    IdentityType Type,
    byte[] FirstLevelHash,
    byte[] RawUid,
    SaltBucket Bucket,
    byte[]? PreviousRawUid)
{
    /// <summary>The bucket id as reported by <c>/v2/identity/map</c> (see <see cref="BucketIds.Format"/>).</summary>
    public string BucketId => BucketIds.Format(Bucket.Id);

    /// <summary>The 32-byte v2 raw UID (the v3 raw UID without its prefix byte).</summary>
    public ReadOnlySpan<byte> RawUidV2 => RawUid.AsSpan(1);

    /// <summary>Identity-map <c>refresh_from</c> in epoch ms; see <see cref="IdentityDeriver.RefreshFromMs"/>.</summary>
    public long GetRefreshFromMs(DateTimeOffset now) => IdentityDeriver.RefreshFromMs(Bucket, now.ToUnixTimeMilliseconds());
}
