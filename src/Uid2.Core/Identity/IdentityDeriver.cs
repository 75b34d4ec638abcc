using Uid2.Core.Normalization;

namespace Uid2.Core.Identity;

/// <summary>
/// Derives first-level hashes and raw UIDs from DII hashes with one <see cref="SaltSet"/>. Thread-safe (immutable).
/// Raw UIDs are always v3 (33 bytes: identity prefix byte ‖ v2 raw UID).
/// </summary>
public sealed class IdentityDeriver
{
    public const long DayMs = 24L * 60 * 60 * 1000;

    /// <summary>The previous salt is used while the bucket's rotation is less than this many whole days old.</summary>
    public const int PreviousSaltDays = 90;

    public IdentityDeriver(SaltSet salts, IdentityScope scope = IdentityScope.Uid2)
    {
        ArgumentNullException.ThrowIfNull(salts);
        Salts = salts;
        Scope = scope;
    }

    public SaltSet Salts { get; }
    public IdentityScope Scope { get; }

    /// <summary>First-level hash (32 bytes) of the input's DII hash.</summary>
    public byte[] FirstLevelHash(in IdentityInput input)
    {
        var result = new byte[IdentityHasher.HashLength];
        FirstLevelHash(input, result);
        return result;
    }

    /// <summary>Allocation-free first-level hash into <paramref name="dest32"/>.</summary>
    public void FirstLevelHash(in IdentityInput input, Span<byte> dest32)
    {
        if (input.DiiHash is null) throw new ArgumentException("The identity input has no DII hash.", nameof(input));
        FirstLevelHash(input.DiiHash, dest32);
    }

    /// <summary>Allocation-free first-level hash of a DII hash (32 bytes) into <paramref name="dest32"/>.</summary>
    public void FirstLevelHash(ReadOnlySpan<byte> diiHash, Span<byte> dest32)
        => IdentityHasher.FirstLevelHash(diiHash, Salts.FirstLevelSalt, dest32);

    /// <summary>Full derivation: first-level hash, bucket, current and (if applicable) previous raw UID.</summary>
    public DerivedIdentity Derive(in IdentityInput input, DateTimeOffset now)
        => DeriveCore(input.Type, FirstLevelHash(input), now.ToUnixTimeMilliseconds());

    /// <summary>Derivation from a first-level hash (e.g. from a refresh token) with the current salts.</summary>
    public DerivedIdentity DeriveFromFirstLevelHash(IdentityType type, ReadOnlySpan<byte> firstLevelHash, DateTimeOffset now)
        => DeriveCore(type, firstLevelHash.ToArray(), now.ToUnixTimeMilliseconds());

    /// <summary>The salt bucket a first-level hash maps to.</summary>
    public SaltBucket BucketFor(ReadOnlySpan<byte> firstLevelHash)
        => Salts.Buckets[IdentityHasher.BucketIndex(firstLevelHash, Salts.Buckets.Count)];

    /// <summary>Allocation-free current v3 raw UID into <paramref name="rawUid33"/>; returns the bucket used.</summary>
    public SaltBucket ComputeRawUid(IdentityType type, ReadOnlySpan<byte> firstLevelHash, Span<byte> rawUid33)
    {
        var bucket = BucketFor(firstLevelHash);
        IdentityHasher.RawUidV3(Scope, type, firstLevelHash, bucket.CurrentSalt, rawUid33);
        return bucket;
    }

    /// <summary>
    /// Allocation-free previous v3 raw UID (the bucket's previous salt) into <paramref name="rawUid33"/>, when that salt is
    /// still usable at <paramref name="nowMs"/> (<see cref="HasUsablePreviousSalt"/>); false, writing nothing, otherwise.
    /// </summary>
    public bool TryComputePreviousRawUid(IdentityType type, ReadOnlySpan<byte> firstLevelHash, SaltBucket bucket, long nowMs, Span<byte> rawUid33)
    {
        if (!HasUsablePreviousSalt(bucket, nowMs)) return false;
        IdentityHasher.RawUidV3(Scope, type, firstLevelHash, bucket.PreviousSalt!, rawUid33);
        return true;
    }

    /// <summary>
    /// Whether the bucket's previous salt still yields a previous raw UID at <paramref name="nowMs"/>: it must be present and
    /// <c>(now − lastUpdated) / 1 day &lt; 90</c> in integer (truncating) arithmetic, as in the reference operator.
    /// </summary>
    public static bool HasUsablePreviousSalt(SaltBucket bucket, long nowMs)
        => !string.IsNullOrEmpty(bucket.PreviousSalt) && (nowMs - bucket.LastUpdatedMs) / DayMs < PreviousSaltDays;

    /// <summary>
    /// Identity-map <c>refresh_from</c> (epoch ms): the bucket's refreshFrom, or the next UTC midnight after
    /// <paramref name="nowMs"/> when that is already in the past.
    /// </summary>
    public static long RefreshFromMs(SaltBucket bucket, long nowMs)
    {
        if (bucket.RefreshFromMs >= nowMs) return bucket.RefreshFromMs;
        var days = nowMs / DayMs;
        if (nowMs % DayMs < 0) days--;
        return (days + 1) * DayMs;
    }

    private DerivedIdentity DeriveCore(IdentityType type, byte[] firstLevelHash, long nowMs)
    {
        var bucket = BucketFor(firstLevelHash);
        var rawUid = new byte[IdentityHasher.RawUidV3Length];
        IdentityHasher.RawUidV3(Scope, type, firstLevelHash, bucket.CurrentSalt, rawUid);
        byte[]? previous = null;
        if (HasUsablePreviousSalt(bucket, nowMs))
        {
            previous = new byte[IdentityHasher.RawUidV3Length];
            IdentityHasher.RawUidV3(Scope, type, firstLevelHash, bucket.PreviousSalt!, previous);
        }
        return new DerivedIdentity(Scope, type, firstLevelHash, rawUid, bucket, previous);
    }
}
