using Uid2.Core;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Operator.State;

/// <summary>
/// The protocol's test identities, matched on first-level hash so raw and hashed input behave the same:
/// <c>validate@example.com</c>/<c>+12345678901</c> are never opted out, <c>optout@example.com</c>/<c>+00000000000</c>
/// are always opted out, <c>refresh-optout@example.com</c>/<c>+00000000002</c> generate normally but every refresh answers optout.
/// </summary>
public sealed class TestIdentities
{
    private readonly Hash32[] _validate;
    private readonly Hash32[] _optout;
    private readonly Hash32[] _refreshOptout;

    public TestIdentities(IdentityDeriver deriver)
    {
        Hash32 Flh(IdentityType type, string dii) => Hash32.From(deriver.FirstLevelHash(IdentityInputParser.FromNormalized(type, dii)));
        _validate = [Flh(IdentityType.Email, "validate@example.com"), Flh(IdentityType.Phone, "+12345678901")];
        _optout = [Flh(IdentityType.Email, "optout@example.com"), Flh(IdentityType.Phone, "+00000000000")];
        _refreshOptout = [Flh(IdentityType.Email, "refresh-optout@example.com"), Flh(IdentityType.Phone, "+00000000002")];
    }

    public bool IsValidateIdentity(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_validate, Hash32.From(firstLevelHash)) >= 0;

    /// <summary>Is this the validate test identity of its kind (<c>validate@example.com</c> as an email, <c>+12345678901</c> as a phone)?</summary>
    public bool IsValidateIdentity(IdentityType type, ReadOnlySpan<byte> firstLevelHash) =>
        _validate[type == IdentityType.Phone ? 1 : 0] == Hash32.From(firstLevelHash);

    public bool IsAlwaysOptedOut(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_optout, Hash32.From(firstLevelHash)) >= 0;

    public bool IsRefreshOptOut(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_refreshOptout, Hash32.From(firstLevelHash)) >= 0;
}
