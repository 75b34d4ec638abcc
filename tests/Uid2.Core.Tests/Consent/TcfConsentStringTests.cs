using Uid2.Core.Consent;

namespace Uid2.Core.Tests.Consent;

/// <summary>
/// The TCF v2 decoder and EUID's consent rule. Cases named after a reference test are ported from IABTechLab/uid2-operator
/// (src/test/java/com/uid2/operator/TransparentConsentTest.java and EUIDOperatorVerticleTest.java).
/// </summary>
public sealed class TcfConsentStringTests
{
    private static readonly int[] Vendor21 = [21];
    private static readonly int[] Vendor17 = [17];

    [Fact]
    public void Decodes_the_core_fields_of_the_reference_test_string()
    {
        Assert.True(TcfConsentString.TryDecode(TcfTestStrings.Sufficient, out var tc));
        Assert.Equal(2, tc!.Version);
        Assert.Equal("FR", tc.ConsentLanguage);   // as the reference test encoder writes it
        Assert.True(tc.HasVendorConsent(21));
        Assert.True(tc.HasVendorLegitimateInterest(21));
        Assert.False(tc.HasVendorConsent(20));
        foreach (var p in new[] { TcfPurpose.StoreInfoOnDevice, TcfPurpose.CreatePersonalizedAdsProfile, TcfPurpose.SelectPersonalizedAds })
            Assert.True(tc.HasPurposeConsent(p));
        Assert.Equal(2022, tc.Created.Year);
    }

    [Fact]
    public void Reads_every_field_the_test_encoder_wrote()
    {
        var created = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var text = TcfTestStrings.Create([3, 21, 700], [21], [1, 3, 4], [2, 7, 10], [1], created: created);
        Assert.True(TcfConsentString.TryDecode(text, out var tc));
        Assert.Equal(created, tc!.Created);
        Assert.Equal(created, tc.LastUpdated);
        Assert.Equal((1, 12, 1, "FR", 2, 1), (tc.CmpId, tc.CmpVersion, tc.ConsentScreen, tc.ConsentLanguage, tc.VendorListVersion, tc.TcfPolicyVersion));
        Assert.True(tc.IsServiceSpecific);
        Assert.False(tc.UseNonStandardTexts);
        Assert.True(tc.PurposeOneTreatment);
        Assert.Equal("DE", tc.PublisherCountryCode);
        Assert.Equal(1, tc.SpecialFeatureOptIns);
        Assert.Equal(0b1101, tc.PurposesConsent);
        Assert.Equal((1 << 1) | (1 << 6) | (1 << 9), tc.PurposesLegitimateInterest);
        Assert.Equal([3, 21, 700], Enumerable.Range(0, 800).Where(tc.HasVendorConsent));
        Assert.Equal([21], Enumerable.Range(0, 800).Where(tc.HasVendorLegitimateInterest));
    }

    [Fact]
    public void Range_encoded_vendor_sections_are_read()
    {
        var text = TcfTestStrings.Create([5, 21], [21], [1, 3, 4], [2, 7, 10], [], rangeEncoding: true);
        Assert.True(TcfConsentString.TryDecode(text, out var tc));
        Assert.True(tc!.HasVendorConsent(21));
        Assert.True(tc.HasVendorConsent(5));
        Assert.False(tc.HasVendorConsent(6));
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(text));
    }

    // TransparentConsentTest.smokeTest
    [Fact]
    public void SmokeTest() =>
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, Vendor21, [1, 3, 4], [2, 7, 10], [1])));

    // TransparentConsentTest.testInsufficientPurposeConsent: purpose 4 missing
    [Fact]
    public void InsufficientPurposeConsent() =>
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, Vendor21, [1, 3], [2, 7, 10], [1])));

    // TransparentConsentTest.testInsufficientPurposeLI: purpose 7 missing
    [Fact]
    public void InsufficientPurposeLI() =>
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, Vendor21, [1, 3, 4], [2, 10], [1])));

    // TransparentConsentTest.testVendorConsentNotPresent
    [Fact]
    public void VendorConsentNotPresent() =>
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor17, Vendor21, [1, 3, 4], [2, 7, 10], [1])));

    // TransparentConsentTest.testVendorLINotPresent
    [Fact]
    public void VendorLINotPresent() =>
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, Vendor17, [1, 3, 4], [2, 7, 10], [1])));

    // EUIDOperatorVerticleTest.consentPassesWhenPreciseGeolocationSpecialFeatureIsMissing
    [Fact]
    public void Consent_passes_without_the_precise_geolocation_special_feature() =>
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, Vendor21, [1, 3, 4], [2, 7, 10], [])));

    [Fact]
    public void Every_purpose_by_consent_alone_is_enough() =>
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(TcfTestStrings.Create(Vendor21, [], [1, 2, 3, 4, 7, 10], [], [])));

    [Fact]
    public void Another_vendor_id_can_be_configured()
    {
        var text = TcfTestStrings.Create(Vendor17, Vendor17, [1, 3, 4], [2, 7, 10], []);
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(text));
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(text, vendorId: 17));
    }

    // EUIDOperatorVerticleTest.addAdditionalTokenGenerateParams (every generate of the EUID suite) and noContentOnInsufficientTcfConsent
    [Fact]
    public void Reference_operator_test_strings()
    {
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(TcfTestStrings.Sufficient));
        Assert.Equal(UserConsentStatus.Insufficient, UserConsent.Evaluate(TcfTestStrings.MissingPurposeOne));
    }

    // EUIDOperatorVerticleTest.badRequestOnInvalidTcfConsent ("invalid_consent_string"); empty and null as the reference's
    // getUserConsentV2 ("empty tcf_consent_string"); the rest: not base64url, truncated, other versions.
    [Theory]
    [InlineData("invalid_consent_string")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData(".")]
    [InlineData("CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAA+")]
    [InlineData("CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAA A")]
    [InlineData("CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArAB")]
    [InlineData("CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA..IFoEUQQgAIQwgIwQ")]
    [InlineData("CPehNtWPehNtWABAMBFRACBoALAAAEJAAIYgAKwAQAKgArABAAqAAA.!")]
    [InlineData("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA")] // a TCF v1 string
    public void Invalid_strings(string? text)
    {
        Assert.False(TcfConsentString.TryDecode(text, out var tc));
        Assert.Null(tc);
        Assert.Equal(UserConsentStatus.Invalid, UserConsent.Evaluate(text));
    }

    [Fact]
    public void Every_truncation_of_a_valid_string_is_invalid()
    {
        var text = TcfTestStrings.Sufficient;
        // The last character only carries padding bits of the final byte; every shorter prefix cuts a field.
        for (var length = 1; length < text.Length - 1; length++)
            Assert.Equal(UserConsentStatus.Invalid, UserConsent.Evaluate(text[..length]));
    }

    [Fact]
    public void Vendor_ranges_that_end_before_they_start_or_after_the_maximum_are_invalid()
    {
        Assert.Equal(UserConsentStatus.Invalid, UserConsent.Evaluate(WithConsentRange(start: 30, end: 21, max: 40)));
        Assert.Equal(UserConsentStatus.Invalid, UserConsent.Evaluate(WithConsentRange(start: 10, end: 41, max: 40)));
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(WithConsentRange(start: 10, end: 40, max: 40)));
    }

    [Fact]
    public void Optional_segments_are_read_and_must_be_complete()
    {
        var disclosed = new TcfTestStrings.BitWriter();
        disclosed.Write(1, 3);   // segment type: disclosed vendors
        TcfTestStrings.Vendors(disclosed, [21, 40], rangeEncoding: false);
        var good = TcfTestStrings.Create(Vendor21, Vendor21, [1, 3, 4], [2, 7, 10], [], extraSegments: [disclosed.ToBase64Url()]);
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(good));

        var cut = new TcfTestStrings.BitWriter();
        cut.Write(2, 3);         // allowed vendors, MaxVendorId 200 but no bitfield after it
        cut.Write(200, 16);
        cut.Write(0, 1);
        var bad = TcfTestStrings.Create(Vendor21, Vendor21, [1, 3, 4], [2, 7, 10], [], extraSegments: [cut.ToBase64Url()]);
        Assert.Equal(UserConsentStatus.Invalid, UserConsent.Evaluate(bad));
    }

    [Fact]
    public void A_huge_range_list_is_cheap()
    {
        // 4,095 ranges covering every vendor id: kept as ranges, never expanded id by id.
        var w = CoreUpToVendors();
        w.Write(65535, 16);
        w.Write(1, 1);
        w.Write(4095, 12);
        for (var i = 0; i < 4095; i++) { w.Write(1, 1); w.Write(1, 16); w.Write(65535, 16); }
        TcfTestStrings.Vendors(w, Vendor21, rangeEncoding: false);
        w.Write(0, 12);
        Assert.Equal(UserConsentStatus.Sufficient, UserConsent.Evaluate(w.ToBase64Url()));
    }

    private static string WithConsentRange(int start, int end, int max)
    {
        var w = CoreUpToVendors();
        w.Write(max, 16);
        w.Write(1, 1);
        w.Write(1, 12);
        w.Write(1, 1);
        w.Write(start, 16);
        w.Write(end, 16);
        TcfTestStrings.Vendors(w, Vendor21, rangeEncoding: false);
        w.Write(0, 12);
        return w.ToBase64Url();
    }

    /// <summary>The core fields before the vendor consent section (213 bits), with purposes 1, 3, 4 consented and 2, 7, 10 under LI.</summary>
    private static TcfTestStrings.BitWriter CoreUpToVendors()
    {
        var w = new TcfTestStrings.BitWriter();
        w.Write(2, 6);
        w.Write(17_000_000_000, 36);
        w.Write(17_000_000_000, 36);
        w.Write(1, 12);
        w.Write(12, 12);
        w.Write(1, 6);
        w.Letters("FR");
        w.Write(2, 12);
        w.Write(1, 6);
        w.Write(1, 1);
        w.Write(0, 1);
        w.Ids([], 12);
        w.Ids([1, 3, 4], 24);
        w.Ids([2, 7, 10], 24);
        w.Write(1, 1);
        w.Letters("DE");
        Assert.Equal(213, w.Length);
        return w;
    }
}
