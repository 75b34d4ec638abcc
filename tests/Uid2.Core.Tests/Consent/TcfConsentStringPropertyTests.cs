using FsCheck;
using FsCheck.Xunit;
using Uid2.Core.Consent;

namespace Uid2.Core.Tests.Consent;

/// <summary>
/// The TCF decoder faces the internet (EUID's <c>tcf_consent_string</c>): whatever a caller sends, it answers true or false
/// and never throws. Arbitrary strings, and real strings cut or altered at every position.
/// </summary>
public sealed class TcfConsentStringPropertyTests
{
    [Property(MaxTest = 3000)]
    public void Any_string_decodes_or_is_refused_without_throwing(string? text)
    {
        var decoded = TcfConsentString.TryDecode(text, out var consent);
        Assert.Equal(decoded, consent is not null);
    }

    [Property(MaxTest = 3000)]
    public void A_real_string_cut_or_altered_anywhere_never_throws(PositiveInt cut, char replacement, bool truncate)
    {
        var real = TcfTestStrings.Sufficient;
        var at = cut.Get % real.Length;
        var text = truncate ? real[..at] : real[..at] + replacement + real[(at + 1)..];
        var decoded = TcfConsentString.TryDecode(text, out var consent);
        Assert.Equal(decoded, consent is not null);
        // The rule over whatever decoded must not throw either, and agrees with the decoder on validity.
        Assert.Equal(decoded, UserConsent.Evaluate(text) != UserConsentStatus.Invalid);
    }
}
