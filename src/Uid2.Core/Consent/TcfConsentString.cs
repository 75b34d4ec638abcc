using System.Buffers.Text;
using System.Collections;

namespace Uid2.Core.Consent;

/// <summary>The IAB TCF purposes (policy v2) EUID checks; the value is the purpose id.</summary>
public enum TcfPurpose
{
    StoreInfoOnDevice = 1,
    SelectBasicAds = 2,
    CreatePersonalizedAdsProfile = 3,
    SelectPersonalizedAds = 4,
    CreatePersonalizedContentProfile = 5,
    SelectPersonalizedContent = 6,
    MeasureAdPerformance = 7,
    MeasureContentPerformance = 8,
    ApplyMarketResearchToGenerateAudienceInsights = 9,
    DevelopAndImproveProducts = 10,
}

/// <summary>
/// A decoded IAB TCF v2 consent string ("TC string"), as defined by IAB Europe's public specification
/// "Transparency and Consent String with Global Vendor List Format" (v2.x): dot-separated segments, each
/// base64url without padding; the first is the core segment (version 2), the others optional segments
/// (disclosed vendors, allowed vendors, publisher purposes) identified by a 3-bit segment type.
/// </summary>
/// <remarks>
/// The whole string is read when it is decoded, every section of every segment the specification defines, so that a
/// string is either valid or refused at once — as the reference operator's decoder (com.iabtcf, eager mode) does. A
/// string is refused if it is not base64url, has a version other than 2, ends before a field does, or has a vendor
/// range that ends before it starts or (core and vendor segments) after <c>MaxVendorId</c>. TCF v1 strings are refused.
/// </remarks>
public sealed class TcfConsentString
{
    private const int SegmentDisclosedVendors = 1;
    private const int SegmentAllowedVendors = 2;
    private const int SegmentPublisherPurposes = 3;

    private TcfConsentString() { }

    public int Version { get; private init; }
    public DateTimeOffset Created { get; private init; }
    public DateTimeOffset LastUpdated { get; private init; }
    public int CmpId { get; private init; }
    public int CmpVersion { get; private init; }
    public int ConsentScreen { get; private init; }
    public string ConsentLanguage { get; private init; } = "";
    public int VendorListVersion { get; private init; }
    public int TcfPolicyVersion { get; private init; }
    public bool IsServiceSpecific { get; private init; }
    public bool UseNonStandardTexts { get; private init; }
    /// <summary>Special feature opt-ins: bit <c>i-1</c> set = special feature <c>i</c> (1–12).</summary>
    public int SpecialFeatureOptIns { get; private init; }
    /// <summary>Purposes with consent: bit <c>i-1</c> set = purpose <c>i</c> (1–24).</summary>
    public int PurposesConsent { get; private init; }
    /// <summary>Purposes under legitimate interest (transparency established): bit <c>i-1</c> = purpose <c>i</c>.</summary>
    public int PurposesLegitimateInterest { get; private init; }
    public bool PurposeOneTreatment { get; private init; }
    public string PublisherCountryCode { get; private init; } = "";
    public int PublisherRestrictionCount { get; private init; }

    private VendorSet VendorConsents { get; init; } = VendorSet.Empty;
    private VendorSet VendorLegitimateInterests { get; init; } = VendorSet.Empty;

    public bool HasVendorConsent(int vendorId) => VendorConsents.Contains(vendorId);

    public bool HasVendorLegitimateInterest(int vendorId) => VendorLegitimateInterests.Contains(vendorId);

    public bool HasPurposeConsent(TcfPurpose purpose) => IsSet(PurposesConsent, (int)purpose);

    public bool HasPurposeLegitimateInterest(TcfPurpose purpose) => IsSet(PurposesLegitimateInterest, (int)purpose);

    /// <summary>
    /// True if every purpose is allowed for the vendor, each either by consent (the vendor has consent and the purpose
    /// has consent) or by legitimate interest (the vendor is under legitimate interest and the purpose's transparency is
    /// established) — the rule of the reference operator's <c>TransparentConsent.hasConsent</c>.
    /// </summary>
    public bool HasConsent(int vendorId, ReadOnlySpan<TcfPurpose> purposes)
    {
        var allowed = (HasVendorConsent(vendorId) ? PurposesConsent : 0)
                      | (HasVendorLegitimateInterest(vendorId) ? PurposesLegitimateInterest : 0);
        foreach (var purpose in purposes)
            if (!IsSet(allowed, (int)purpose)) return false;
        return true;
    }

    /// <summary>Decodes a TC string; false (and null) for anything that is not a complete, valid v2 string.</summary>
    public static bool TryDecode(string? text, out TcfConsentString? consent)
    {
        consent = null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength) return false;
        try
        {
            consent = Decode(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Longest string accepted: far above any real one (every vendor as a bitfield is ~11,000 characters).</summary>
    public const int MaxLength = 65_536;

    private static TcfConsentString Decode(string text)
    {
        // Segments are separated by '.'; trailing empty ones are ignored, any other empty one is invalid.
        var parts = text.Split('.');
        var count = parts.Length;
        while (count > 0 && parts[count - 1].Length == 0) count--;
        if (count == 0) throw new FormatException("empty");

        var core = new BitReader(FromBase64Url(parts[0]));
        var version = core.Read(0, 6);
        if (version != 2) throw new FormatException("unsupported version");

        var consentLanguage = core.ReadLetters(108);
        var offset = 213;
        var vendorConsents = ReadVendors(core, ref offset, checkMax: true);
        var vendorLegitimateInterests = ReadVendors(core, ref offset, checkMax: true);
        var restrictions = core.Read(offset, 12);
        offset += 12;
        for (var i = 0; i < restrictions; i++)
        {
            offset += 6 + 2; // purpose id, restriction type
            ReadRanges(core, ref offset, maxVendorId: null, into: null);
        }

        // Optional segments: each is read completely, like the reference's decoder does for the first of each type.
        var seen = new HashSet<int>();
        for (var s = 1; s < count; s++)
        {
            var segment = new BitReader(FromBase64Url(parts[s]));
            var type = segment.Read(0, 3);
            if (!seen.Add(type)) continue;
            var at = 3;
            switch (type)
            {
                case SegmentDisclosedVendors or SegmentAllowedVendors:
                    ReadVendors(segment, ref at, checkMax: true);
                    break;
                case SegmentPublisherPurposes:
                    segment.Read(at, 24); // publisher purposes consent
                    segment.Read(at + 24, 24); // publisher purposes legitimate interest
                    var custom = segment.Read(at + 48, 6);
                    if (custom > 0)
                    {
                        segment.Read(at + 54, custom);
                        segment.Read(at + 54 + custom, custom);
                    }
                    break;
            }
        }

        return new TcfConsentString
        {
            Version = version,
            Created = FromDeciseconds(core.ReadLong(6, 36)),
            LastUpdated = FromDeciseconds(core.ReadLong(42, 36)),
            CmpId = core.Read(78, 12),
            CmpVersion = core.Read(90, 12),
            ConsentScreen = core.Read(102, 6),
            ConsentLanguage = consentLanguage,
            VendorListVersion = core.Read(120, 12),
            TcfPolicyVersion = core.Read(132, 6),
            IsServiceSpecific = core.Read(138, 1) == 1,
            UseNonStandardTexts = core.Read(139, 1) == 1,
            SpecialFeatureOptIns = core.ReadIds(140, 12),
            PurposesConsent = core.ReadIds(152, 24),
            PurposesLegitimateInterest = core.ReadIds(176, 24),
            PurposeOneTreatment = core.Read(200, 1) == 1,
            PublisherCountryCode = core.ReadLetters(201),
            VendorConsents = vendorConsents,
            VendorLegitimateInterests = vendorLegitimateInterests,
            PublisherRestrictionCount = restrictions,
        };
    }

    /// <summary>A vendor section: MaxVendorId (16), IsRangeEncoding (1), then a bitfield of MaxVendorId bits or ranges.</summary>
    private static VendorSet ReadVendors(BitReader bits, ref int offset, bool checkMax)
    {
        var maxVendorId = bits.Read(offset, 16);
        var isRange = bits.Read(offset + 16, 1) == 1;
        offset += 17;
        if (isRange)
        {
            var ranges = new List<(int Start, int End)>();
            ReadRanges(bits, ref offset, checkMax ? maxVendorId : null, ranges);
            return new VendorSet(null, ranges);
        }
        var field = new BitArray(maxVendorId + 1);
        for (var i = 0; i < maxVendorId; i++)
            if (bits.Read(offset + i, 1) == 1) field[i + 1] = true;
        offset += maxVendorId;
        return new VendorSet(field, null);
    }

    /// <summary>NumEntries (12), then entries: IsARange (1), StartOrOnlyVendorId (16), EndVendorId (16, ranges only).</summary>
    private static void ReadRanges(BitReader bits, ref int offset, int? maxVendorId, List<(int Start, int End)>? into)
    {
        var entries = bits.Read(offset, 12);
        offset += 12;
        for (var e = 0; e < entries; e++)
        {
            var isRange = bits.Read(offset, 1) == 1;
            var start = bits.Read(offset + 1, 16);
            offset += 17;
            var end = start;
            if (isRange)
            {
                end = bits.Read(offset, 16);
                offset += 16;
                if (start > end) throw new FormatException("vendor range ends before it starts");
                if (end > maxVendorId) throw new FormatException("vendor range ends after MaxVendorId");
            }
            into?.Add((start, end));
        }
    }

    private static byte[] FromBase64Url(string segment)
    {
        var padded = segment.Length;
        var length = segment.Length;
        while (length > 0 && segment[length - 1] == '=') length--;
        if (padded - length > 2 || (padded != length && padded % 4 != 0)) throw new FormatException("bad padding");
        if (length == 0) throw new FormatException("empty segment");
        for (var i = 0; i < length; i++)
        {
            var c = segment[i];
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_'))
                throw new FormatException("not base64url");
        }
        if (length % 4 == 1) throw new FormatException("truncated base64url");
        var bytes = new byte[Base64Url.GetMaxDecodedLength(length)];
        if (!Base64Url.TryDecodeFromChars(segment.AsSpan(0, length), bytes, out var written)) throw new FormatException("not base64url");
        return written == bytes.Length ? bytes : bytes[..written];
    }

    private static DateTimeOffset FromDeciseconds(long deciseconds) => DateTimeOffset.FromUnixTimeMilliseconds(deciseconds * 100);

    /// <summary>Vendor ids from a bitfield, or from ranges (kept as ranges: 4,095 ranges of 65,535 ids cost nothing).</summary>
    private sealed class VendorSet(BitArray? field, List<(int Start, int End)>? ranges)
    {
        public static readonly VendorSet Empty = new(new BitArray(0), null);

        public bool Contains(int vendorId)
        {
            if (field is not null) return vendorId >= 0 && vendorId < field.Length && field[vendorId];
            foreach (var (start, end) in ranges!)
                if (vendorId >= start && vendorId <= end) return true;
            return false;
        }
    }

    private static bool IsSet(int bits, int id) => id is >= 1 and <= 24 && (bits & (1 << (id - 1))) != 0;

    /// <summary>Big-endian bit reader: bit 0 is the most significant bit of byte 0. Reading past the end is a FormatException.</summary>
    private readonly struct BitReader(byte[] bytes)
    {
        public int Read(int offset, int count) => (int)ReadLong(offset, count);

        public long ReadLong(int offset, int count)
        {
            if (offset < 0 || count < 0 || (long)offset + count > (long)bytes.Length * 8) throw new FormatException("string ends before a field does");
            long value = 0;
            for (var i = 0; i < count; i++)
            {
                var bit = offset + i;
                value = (value << 1) | (uint)((bytes[bit >> 3] >> (7 - (bit & 7))) & 1);
            }
            return value;
        }

        /// <summary>A fixed bitfield of ids 1..count (first bit = id 1) as an int with bit <c>i-1</c> set for id <c>i</c>.</summary>
        public int ReadIds(int offset, int count)
        {
            var ids = 0;
            for (var i = 0; i < count; i++)
                if (Read(offset + i, 1) == 1) ids |= 1 << i;
            return ids;
        }

        public string ReadLetters(int offset) => string.Create(2, (this, offset), static (span, s) =>
        {
            span[0] = (char)('A' + s.Item1.Read(s.offset, 6));
            span[1] = (char)('A' + s.Item1.Read(s.offset + 6, 6));
        });
    }
}
