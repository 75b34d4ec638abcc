using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

/// <summary>The identity-kind table: every kind and type described once; anything outside it is an error, never email.</summary>
public class IdentityKindsTests
{
    [Theory]
    [InlineData(DiiKind.Email, "email", "--email", IdentityType.Email, false)]
    [InlineData(DiiKind.EmailHash, "email_hash", "--email-hash", IdentityType.Email, true)]
    [InlineData(DiiKind.Phone, "phone", "--phone", IdentityType.Phone, false)]
    [InlineData(DiiKind.PhoneHash, "phone_hash", "--phone-hash", IdentityType.Phone, true)]
    public void Each_kind_is_described_once(DiiKind kind, string parameter, string cliOption, IdentityType type, bool isHash)
    {
        var descriptor = IdentityKinds.Of(kind);
        Assert.Equal(kind, descriptor.Kind);
        Assert.Equal(parameter, descriptor.ParameterName);
        Assert.Equal(cliOption, descriptor.CliOption);
        Assert.Equal(type, descriptor.Type);
        Assert.Equal(isHash, descriptor.IsHash);
        Assert.True(IdentityKinds.TryParseParameterName(parameter, out var parsed));
        Assert.Equal(kind, parsed);
        Assert.Equal(kind, isHash ? IdentityKinds.Of(type).HashKind : IdentityKinds.Of(type).RawKind);
    }

    [Fact]
    public void Every_enum_value_is_in_the_table_in_api_order()
    {
        Assert.Equal(Enum.GetValues<DiiKind>().Order(), IdentityKinds.All.ToArray().Order());
        Assert.Equal(["email", "email_hash", "phone", "phone_hash"], IdentityKinds.All.ToArray().Select(k => IdentityKinds.Of(k).ParameterName));
        Assert.Equal(Enum.GetValues<IdentityType>(), IdentityKinds.IdentityTypes.Select(t => t.Type));
    }

    [Fact]
    public void Test_identities_of_each_type()
    {
        Assert.Equal(new TestIdentityValues("validate@example.com", "optout@example.com", "refresh-optout@example.com"),
            IdentityKinds.Of(IdentityType.Email).TestIdentities);
        Assert.Equal(new TestIdentityValues("+12345678901", "+00000000000", "+00000000002"),
            IdentityKinds.Of(IdentityType.Phone).TestIdentities);
        // They are valid input of their type's raw kind, already normalized.
        foreach (var type in IdentityKinds.IdentityTypes)
        {
            foreach (var value in new[] { type.TestIdentities.Validate, type.TestIdentities.OptOut, type.TestIdentities.RefreshOptOut })
            {
                Assert.True(IdentityInputParser.TryParse(type.RawKind, value, out var input));
                Assert.Equal(type.Type, input.Type);
                Assert.Equal(IdentityHasher.HashDii(value), input.DiiHash);
            }
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(-1)]
    [InlineData(99)]
    public void An_unknown_kind_is_an_error_not_email(int value)
    {
        var kind = (DiiKind)value;
        Assert.False(IdentityKinds.TryGet(kind, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => IdentityKinds.Of(kind));
        Assert.Throws<ArgumentOutOfRangeException>(() => kind.ToIdentityType());
        Assert.Throws<ArgumentOutOfRangeException>(() => kind.ParameterName());
        Assert.False(IdentityInputParser.TryParse(kind, "user@example.com", out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Email")]
    [InlineData("email ")]
    [InlineData("raw_uid")]
    public void Unknown_parameter_names_are_not_a_kind(string name) => Assert.False(IdentityKinds.TryParseParameterName(name, out _));

    [Theory]
    [InlineData(0x03, true, IdentityType.Email)]
    [InlineData(0x07, true, IdentityType.Phone)]
    [InlineData(0x13, true, IdentityType.Email)]
    [InlineData(0x17, true, IdentityType.Phone)]
    [InlineData(0x04, true, IdentityType.Phone)]
    [InlineData(0x0B, false, default(IdentityType))]
    [InlineData(0x0F, false, default(IdentityType))]
    [InlineData(0x1B, false, default(IdentityType))]
    [InlineData(0x08, false, default(IdentityType))]
    public void The_identity_type_is_two_bits_and_undefined_types_do_not_decode(byte identityByte, bool defined, IdentityType expected)
    {
        Assert.Equal(defined, IdentityByte.TryTypeOf(identityByte, out var type));
        if (defined)
        {
            Assert.Equal(expected, type);
            Assert.Equal(expected, IdentityByte.TypeOf(identityByte));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => IdentityByte.TypeOf(identityByte));
        }
    }
}
