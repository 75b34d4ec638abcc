using Uid2.Core.Normalization;

namespace Uid2.Client;

/// <summary>
/// The DII for <c>/v2/token/generate</c>. Validated and normalized locally with the protocol's rules; by default only the
/// SHA-256 of the normalized value is sent (<c>email_hash</c> / <c>phone_hash</c>), so raw DII never leaves the caller's server —
/// the same default as UID2's server-side publisher SDKs.
/// </summary>
public sealed class TokenGenerateInput
{
    private TokenGenerateInput(DiiKind kind, string value, IdentityInput identity)
    {
        Kind = kind;
        OriginalValue = value;
        Identity = identity;
    }

    /// <summary>What the caller supplied.</summary>
    public DiiKind Kind { get; }

    /// <summary>The caller's original value.</summary>
    public string OriginalValue { get; }

    internal IdentityInput Identity { get; }

    /// <summary>The request parameter actually sent: <c>email_hash</c> or <c>phone_hash</c>.</summary>
    public string ParameterName => IdentityKinds.Of(IdentityKinds.Of(Identity.Type).HashKind).ParameterName;

    /// <summary>The base64 SHA-256 of the normalized DII, the value sent.</summary>
    public string HashBase64 => Identity.DiiHashBase64;

    /// <summary>The IAB TCF consent string sent as <c>tcf_consent_string</c>, or null (the default: not sent).</summary>
    public string? TransparencyAndConsentString { get; private set; }

    /// <summary>
    /// Sends the user's IAB TCF v2 consent string (<c>tcf_consent_string</c>) with the request — what an EUID operator checks
    /// (it answers <see cref="ResponseStatus.InsufficientUserConsent"/> if the string does not allow EUID's vendor, and a
    /// client error if the string is invalid); UID2 operators ignore it. Returns this input, like the reference Java SDK's
    /// <c>withTransparencyAndConsentString</c>.
    /// </summary>
    public TokenGenerateInput WithTransparencyAndConsentString(string tcString)
    {
        ArgumentException.ThrowIfNullOrEmpty(tcString);
        TransparencyAndConsentString = tcString;
        return this;
    }

    /// <summary>An email address; normalized (lower case, gmail rules) then hashed.</summary>
    /// <exception cref="ArgumentException">The email is invalid.</exception>
    public static TokenGenerateInput FromEmail(string email) => Create(DiiKind.Email, email);

    /// <summary>A SHA-256 of a normalized email: 44-char base64 or 64 hex digits.</summary>
    /// <exception cref="ArgumentException">The value is not a SHA-256.</exception>
    public static TokenGenerateInput FromEmailHash(string emailHash) => Create(DiiKind.EmailHash, emailHash);

    /// <summary>An E.164 phone number (<c>+</c> and 10–15 digits).</summary>
    /// <exception cref="ArgumentException">The phone number is not E.164.</exception>
    public static TokenGenerateInput FromPhone(string phone) => Create(DiiKind.Phone, phone);

    /// <summary>A SHA-256 of an E.164 phone number: 44-char base64 or 64 hex digits.</summary>
    /// <exception cref="ArgumentException">The value is not a SHA-256.</exception>
    public static TokenGenerateInput FromPhoneHash(string phoneHash) => Create(DiiKind.PhoneHash, phoneHash);

    /// <summary>Non-throwing variant of the <c>From*</c> factories.</summary>
    public static bool TryCreate(DiiKind kind, string? value, out TokenGenerateInput? input)
    {
        input = null;
        if (value is null || !IdentityInputParser.TryParse(kind, value, out var identity)) return false;
        input = new TokenGenerateInput(kind, value, identity);
        return true;
    }

    private static TokenGenerateInput Create(DiiKind kind, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return TryCreate(kind, value, out var input)
            ? input!
            : throw new ArgumentException($"Invalid {IdentityKinds.Of(kind).ParameterName} value.", nameof(value));
    }
}
