using Uid2.Core;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Operator.State;

/// <summary>
/// The protocol's test identities of every identity type (<see cref="IdentityKinds"/>: <c>validate@example.com</c>/<c>+12345678901</c>
/// are never opted out, <c>optout@example.com</c>/<c>+00000000000</c> are always opted out,
/// <c>refresh-optout@example.com</c>/<c>+00000000002</c> generate normally but every refresh answers optout), matched on
/// first-level hash so raw and hashed input behave the same.
/// </summary>
public sealed class TestIdentities
{
    /// <summary>Indexed by identity type.</summary>
    private readonly Hash32[] _validate;
    private readonly Hash32[] _optout;
    private readonly Hash32[] _refreshOptout;

    public TestIdentities(IdentityDeriver deriver)
    {
        var types = IdentityKinds.IdentityTypes;
        _validate = new Hash32[types.Count];
        _optout = new Hash32[types.Count];
        _refreshOptout = new Hash32[types.Count];
        for (var i = 0; i < types.Count; i++)
        {
            var type = types[i];
            _validate[(int)type.Type] = Flh(type.Type, type.TestIdentities.Validate);
            _optout[(int)type.Type] = Flh(type.Type, type.TestIdentities.OptOut);
            _refreshOptout[(int)type.Type] = Flh(type.Type, type.TestIdentities.RefreshOptOut);
        }

        Hash32 Flh(IdentityType type, string dii) => Hash32.From(deriver.FirstLevelHash(IdentityInputParser.FromNormalized(type, dii)));
    }

    public bool IsValidateIdentity(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_validate, Hash32.From(firstLevelHash)) >= 0;

    /// <summary>Is this the validate test identity of its type (<c>validate@example.com</c> as an email, <c>+12345678901</c> as a phone)?</summary>
    public bool IsValidateIdentity(IdentityType type, ReadOnlySpan<byte> firstLevelHash) =>
        (uint)type < (uint)_validate.Length && _validate[(int)type] == Hash32.From(firstLevelHash);

    public bool IsAlwaysOptedOut(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_optout, Hash32.From(firstLevelHash)) >= 0;

    public bool IsRefreshOptOut(ReadOnlySpan<byte> firstLevelHash) => Array.IndexOf(_refreshOptout, Hash32.From(firstLevelHash)) >= 0;
}
