using System.Globalization;

namespace Uid2.Core.Identity;

/// <summary>
/// Formatting of the <c>bucket_id</c> field of <c>/v2/identity/map</c> and <c>/v2/identity/buckets</c>.
/// </summary>
/// <remarks>
/// Deliberate deviation: the reference operator reports <c>id_prefix + Hashids(id_secret, minLength 9).encode(id)</c>.
/// Clients treat <c>bucket_id</c> as an opaque string (only compared for equality and matched between the map and
/// buckets endpoints), so this implementation reports the numeric bucket id as its invariant decimal string instead.
/// </remarks>
public static class BucketIds
{
    /// <summary>The bucket id as its invariant-culture decimal string, e.g. <c>"1234"</c>.</summary>
    public static string Format(int bucketId) => bucketId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses a string produced by <see cref="Format"/> (plain non-negative decimal digits only).</summary>
    public static bool TryParse(string? text, out int bucketId)
    {
        bucketId = 0;
        if (string.IsNullOrEmpty(text)) return false;
        foreach (var c in text)
            if (!char.IsAsciiDigit(c)) return false;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out bucketId);
    }
}
