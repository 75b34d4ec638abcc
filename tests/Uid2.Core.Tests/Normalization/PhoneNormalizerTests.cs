using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

public class PhoneNormalizerTests
{
    // uid2-operator InputNormalizationTest.testPhoneNumberIsNormalizedNegative (literal list).
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("asdaksjdakfj")]
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("QFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("06a418f467a14e1631a317b107548a1039d26f12ea45301ab14e7684b36ede58")]
    [InlineData("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData("+")]
    [InlineData("12345678")]
    [InlineData("123456789")]
    [InlineData("1234567890")]
    [InlineData("+12345678")]
    [InlineData("+123456789")]
    [InlineData("+ 12345678")]
    [InlineData("+ 123456789")]
    [InlineData("+ 1234 5678")]
    [InlineData("+ 1234 56789")]
    [InlineData("+1234567890123456")]
    [InlineData("+1234567890A")]
    [InlineData("+1234567890 ")]
    [InlineData("+1234567890+")]
    [InlineData("+12345+67890")]
    [InlineData("555-555-5555")]
    [InlineData("(555) 555-5555")]
    // extra: non-ASCII digits, leading space, double plus
    [InlineData("+١٢٣٤٥٦٧٨٩٠")]
    [InlineData(" +1234567890")]
    [InlineData("++1234567890")]
    public void Invalid_phones(string? phone)
    {
        Assert.False(PhoneNormalizer.IsValid(phone));
        Assert.False(PhoneNormalizer.TryNormalize(phone, out _));
        Assert.False(IdentityInputParser.TryParse(DiiKind.Phone, phone, out _));
    }

    // uid2-operator InputNormalizationTest.testPhoneNumberIsNormalizedPositive (literal list).
    [Theory]
    [InlineData("+1234567890")]
    [InlineData("+12345678901")]
    [InlineData("+123456789012")]
    [InlineData("+1234567890123")]
    [InlineData("+12345678901234")]
    [InlineData("+123456789012345")]
    public void Valid_phones(string phone)
    {
        Assert.True(PhoneNormalizer.IsValid(phone));
        Assert.True(PhoneNormalizer.TryNormalize(phone, out var normalized));
        Assert.Same(phone, normalized);
    }

    // uid2docs docs/getting-started/gs-normalization-encoding.md
    [Fact]
    public void Uid2docs_phone_vector()
    {
        Assert.True(IdentityInputParser.TryParse(DiiKind.Phone, "+12345678901", out var parsed));
        Assert.Equal(IdentityType.Phone, parsed.Type);
        Assert.Equal("EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=", parsed.DiiHashBase64);
    }
}
