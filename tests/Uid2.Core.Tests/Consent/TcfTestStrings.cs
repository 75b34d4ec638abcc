using System.Buffers.Text;

namespace Uid2.Core.Tests.Consent;

/// <summary>
/// Writes TCF v2 core strings for tests, field by field as IAB's public format specification lays them out, with the
/// field values the reference operator's tests give to com.iabtcf's encoder (TransparentConsentTest.createConsentStringV2:
/// CMP 1 version 12, screen 1, language FR, vendor list 2, policy 1, service-specific, publisher DE, purpose one treatment).
/// </summary>
public static class TcfTestStrings
{
    /// <summary>Test strings of the reference's EUIDOperatorVerticleTest: one with every purpose vendor 21 needs…</summary>
    public const string Sufficient = "CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA";
    /// <summary>…and one missing consent for purpose 1 (noContentOnInsufficientTcfConsent).</summary>
    public const string MissingPurposeOne = "CPehXK9PehXK9ABAMBFRACBoADAAAEJAAIYgAKwAQAKgArABAAqAAA";

    public static string Create(int[] vendorConsent, int[] vendorLegitimateInterest, int[] purposesConsent, int[] purposesLegitimateInterest,
        int[] specialFeatureOptIns, bool rangeEncoding = false, int version = 2, DateTimeOffset? created = null, string[]? extraSegments = null)
    {
        var w = new BitWriter();
        var deciseconds = (created ?? new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero)).ToUnixTimeMilliseconds() / 100;
        w.Write(version, 6);
        w.Write(deciseconds, 36);
        w.Write(deciseconds, 36);
        w.Write(1, 12);                 // CmpId
        w.Write(12, 12);                // CmpVersion
        w.Write(1, 6);                  // ConsentScreen
        w.Letters("FR");
        w.Write(2, 12);                 // VendorListVersion
        w.Write(1, 6);                  // TcfPolicyVersion
        w.Write(1, 1);                  // IsServiceSpecific
        w.Write(0, 1);                  // UseNonStandardTexts
        w.Ids(specialFeatureOptIns, 12);
        w.Ids(purposesConsent, 24);
        w.Ids(purposesLegitimateInterest, 24);
        w.Write(1, 1);                  // PurposeOneTreatment
        w.Letters("DE");
        Vendors(w, vendorConsent, rangeEncoding);
        Vendors(w, vendorLegitimateInterest, rangeEncoding);
        w.Write(0, 12);                 // NumPubRestrictions
        var core = w.ToBase64Url();
        return extraSegments is null ? core : string.Join('.', [core, .. extraSegments]);
    }

    /// <summary>A vendor section: MaxVendorId, IsRangeEncoding, then a bitfield or one entry per id.</summary>
    public static void Vendors(BitWriter w, int[] vendors, bool rangeEncoding)
    {
        var max = vendors.Length == 0 ? 0 : vendors.Max();
        w.Write(max, 16);
        w.Write(rangeEncoding ? 1 : 0, 1);
        if (rangeEncoding)
        {
            w.Write(vendors.Length, 12);
            foreach (var v in vendors) { w.Write(0, 1); w.Write(v, 16); }
        }
        else
        {
            for (var id = 1; id <= max; id++) w.Write(vendors.Contains(id) ? 1 : 0, 1);
        }
    }

    public sealed class BitWriter
    {
        private readonly List<bool> _bits = [];

        public int Length => _bits.Count;

        public void Write(long value, int count)
        {
            for (var i = count - 1; i >= 0; i--) _bits.Add(((value >> i) & 1) == 1);
        }

        public void Letters(string two)
        {
            Write(two[0] - 'A', 6);
            Write(two[1] - 'A', 6);
        }

        /// <summary>A fixed bitfield: bit i-1 set for each id i.</summary>
        public void Ids(int[] ids, int count)
        {
            for (var id = 1; id <= count; id++) Write(ids.Contains(id) ? 1 : 0, 1);
        }

        public byte[] ToBytes()
        {
            var bytes = new byte[(_bits.Count + 7) / 8];
            for (var i = 0; i < _bits.Count; i++)
                if (_bits[i]) bytes[i >> 3] |= (byte)(0x80 >> (i & 7));
            return bytes;
        }

        public string ToBase64Url() => Base64Url.EncodeToString(ToBytes());
    }
}
