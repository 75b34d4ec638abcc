namespace Uid2.Core.Consent;

/// <summary>The outcome of checking a generate request's <c>tcf_consent_string</c>.</summary>
public enum UserConsentStatus
{
    /// <summary>The vendor may process the identity: generate goes on.</summary>
    Sufficient,
    /// <summary>A valid string without the vendor's consent for every required purpose: <c>insufficient_user_consent</c>.</summary>
    Insufficient,
    /// <summary>Not a valid TCF v2 string (empty or null included): 400 "User consent is invalid".</summary>
    Invalid,
}

/// <summary>
/// EUID's consent rule for <c>POST /v2/token/generate</c>, as the reference operator applies it
/// (<c>UIDOperatorVerticle.validateUserConsent</c>): when the operator runs as EUID and the request carries
/// <c>tcf_consent_string</c>, the string must be a valid TCF v2 string in which vendor 21 (The Trade Desk, the
/// reference's default <c>tcf_vendor_id</c>) is allowed purposes 1, 2, 3, 4, 7 and 10, each by consent or by legitimate
/// interest. Special features (e.g. precise geolocation) are not required. A UID2 operator, or a request without the
/// field, is not checked.
/// </summary>
public static class UserConsent
{
    /// <summary>The reference operator's default <c>tcf_vendor_id</c>.</summary>
    public const int DefaultVendorId = 21;

    /// <summary>The purposes the reference requires: store/access information on a device, basic ads, personalized ads
    /// profile, personalized ads, measure ad performance, develop and improve products.</summary>
    public static ReadOnlySpan<TcfPurpose> RequiredPurposes =>
    [
        TcfPurpose.StoreInfoOnDevice,
        TcfPurpose.CreatePersonalizedAdsProfile,
        TcfPurpose.SelectPersonalizedAds,
        TcfPurpose.SelectBasicAds,
        TcfPurpose.MeasureAdPerformance,
        TcfPurpose.DevelopAndImproveProducts,
    ];

    /// <summary>Checks a present <c>tcf_consent_string</c> value (null when the field is JSON null or not a string).</summary>
    public static UserConsentStatus Evaluate(string? tcfConsentString, int vendorId = DefaultVendorId)
    {
        if (!TcfConsentString.TryDecode(tcfConsentString, out var consent)) return UserConsentStatus.Invalid;
        return consent!.HasConsent(vendorId, RequiredPurposes) ? UserConsentStatus.Sufficient : UserConsentStatus.Insufficient;
    }
}
