using System.Security.Cryptography;

namespace Uid2.Core.Identity;

/// <summary>Creates and rotates salt sets (for local/test deployments and benchmarks; production salts come from core).</summary>
public static class SaltSetFactory
{
    /// <summary>Days between a bucket's (re)salting and its <c>refreshFrom</c>.</summary>
    public const int RefreshFromDays = 30;

    private const int SaltBytes = 32;

    /// <summary>
    /// A new salt set with <paramref name="bucketCount"/> buckets (ids 0..count-1). Every salt (first-level and buckets) is the
    /// base64 text of 32 cryptographically random bytes; lastUpdated = now, refreshFrom = now + 30 days, no previous salt.
    /// </summary>
    public static SaltSet CreateRandom(int bucketCount, long nowMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketCount);
        var refreshFrom = nowMs + RefreshFromDays * IdentityDeriver.DayMs;
        var buckets = new SaltBucket[bucketCount];
        var generator = new SaltGenerator();
        for (var i = 0; i < buckets.Length; i++)
            buckets[i] = new SaltBucket(i, nowMs, generator.Next(), refreshFrom, null);
        return new SaltSet(generator.Next(), buckets);
    }

    /// <summary>
    /// A copy of <paramref name="current"/> in which <c>round(fraction × count)</c> buckets, chosen uniformly at random,
    /// get a new random current salt; their old salt becomes <c>PreviousSalt</c>, lastUpdated = now and refreshFrom =
    /// now + 30 days. Other buckets and the first-level salt are unchanged. <paramref name="fraction"/> is clamped to [0, 1].
    /// </summary>
    public static SaltSet Rotate(SaltSet current, double fraction, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (double.IsNaN(fraction)) throw new ArgumentOutOfRangeException(nameof(fraction), "Fraction must be a number.");
        fraction = Math.Clamp(fraction, 0.0, 1.0);

        var count = current.Buckets.Count;
        var toRotate = (int)Math.Round(fraction * count, MidpointRounding.AwayFromZero);
        var buckets = new SaltBucket[count];
        for (var i = 0; i < count; i++) buckets[i] = current.Buckets[i];
        if (toRotate == 0) return new SaltSet(current.FirstLevelSalt, buckets);

        // Partial Fisher–Yates: the first toRotate entries of the permutation are a uniform random subset.
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        for (var i = 0; i < toRotate; i++)
        {
            var j = Random.Shared.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return Resalt(current.FirstLevelSalt, buckets, order.AsSpan(0, toRotate), nowMs);
    }

    /// <summary>
    /// A copy of <paramref name="current"/> in which the <paramref name="count"/> buckets salted longest ago (smallest
    /// lastUpdated; ties in random order) get new salts, like <see cref="Rotate"/>. Run on a schedule with a fixed count,
    /// it re-salts every bucket once per <c>buckets / count</c> runs: the reference's "every bucket about once a year".
    /// </summary>
    public static SaltSet RotateOldest(SaltSet current, int count, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(current);
        var total = current.Buckets.Count;
        count = Math.Clamp(count, 0, total);
        var buckets = new SaltBucket[total];
        for (var i = 0; i < total; i++) buckets[i] = current.Buckets[i];
        if (count == 0) return new SaltSet(current.FirstLevelSalt, buckets);
        var tieBreak = new int[total];
        for (var i = 0; i < total; i++) tieBreak[i] = Random.Shared.Next();
        var order = Enumerable.Range(0, total).OrderBy(i => buckets[i].LastUpdatedMs).ThenBy(i => tieBreak[i]).Take(count).ToArray();
        return Resalt(current.FirstLevelSalt, buckets, order, nowMs);
    }

    private static SaltSet Resalt(string firstLevelSalt, SaltBucket[] buckets, ReadOnlySpan<int> which, long nowMs)
    {
        var refreshFrom = nowMs + RefreshFromDays * IdentityDeriver.DayMs;
        var generator = new SaltGenerator();
        foreach (var i in which)
        {
            var old = buckets[i];
            buckets[i] = old with
            {
                LastUpdatedMs = nowMs,
                CurrentSalt = generator.Next(),
                RefreshFromMs = refreshFrom,
                PreviousSalt = old.CurrentSalt,
            };
        }
        return new SaltSet(firstLevelSalt, buckets);
    }

    /// <summary>Hands out base64 salts, filling random bytes in blocks to keep large sets cheap.</summary>
    private sealed class SaltGenerator
    {
        private readonly byte[] _block = new byte[SaltBytes * 1024];
        private int _offset = SaltBytes * 1024; // empty: first call fills the block

        public string Next()
        {
            if (_offset + SaltBytes > _block.Length)
            {
                RandomNumberGenerator.Fill(_block);
                _offset = 0;
            }
            var salt = Convert.ToBase64String(_block, _offset, SaltBytes);
            _offset += SaltBytes;
            return salt;
        }
    }
}
