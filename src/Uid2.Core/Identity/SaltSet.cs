namespace Uid2.Core.Identity;

/// <summary>
/// One rotating salt bucket. Salts are used as their text (UTF-8/ASCII bytes), never decoded.
/// Times are Unix epoch milliseconds.
/// </summary>
public sealed record SaltBucket(int Id, long LastUpdatedMs, string CurrentSalt, long RefreshFromMs, string? PreviousSalt);

/// <summary>The first-level salt and the bucket salts in force at one time.</summary>
public sealed class SaltSet
{
    public SaltSet(string firstLevelSalt, IReadOnlyList<SaltBucket> buckets)
    {
        if (string.IsNullOrEmpty(firstLevelSalt)) throw new ArgumentException("First-level salt is required.", nameof(firstLevelSalt));
        if (buckets.Count == 0) throw new ArgumentException("At least one salt bucket is required.", nameof(buckets));
        for (var i = 0; i < buckets.Count; i++)
            if (buckets[i].Id != i) throw new ArgumentException("Salt buckets must be indexed 0..count-1 in order.", nameof(buckets));
        FirstLevelSalt = firstLevelSalt;
        Buckets = buckets;
    }

    public string FirstLevelSalt { get; }
    public IReadOnlyList<SaltBucket> Buckets { get; }
}
