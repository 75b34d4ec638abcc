using System.Security.Cryptography;
using System.Text;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

public class IdentityInputParserTests
{
    [Theory]
    [InlineData(DiiKind.Email, "email", IdentityType.Email, false)]
    [InlineData(DiiKind.EmailHash, "email_hash", IdentityType.Email, true)]
    [InlineData(DiiKind.Phone, "phone", IdentityType.Phone, false)]
    [InlineData(DiiKind.PhoneHash, "phone_hash", IdentityType.Phone, true)]
    public void Dii_kind_metadata(DiiKind kind, string name, IdentityType type, bool isHash)
    {
        Assert.Equal(name, kind.ParameterName());
        Assert.True(DiiKindExtensions.TryParseParameterName(name, out var parsed));
        Assert.Equal(kind, parsed);
        Assert.Equal(type, kind.ToIdentityType());
        Assert.Equal(isHash, kind.IsHash());
    }

    [Fact]
    public void All_kinds_in_api_order()
        => Assert.Equal(new[] { "email", "email_hash", "phone", "phone_hash" },
            DiiKindExtensions.All.ToArray().Select(k => k.ParameterName()));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Email")]
    [InlineData("emailhash")]
    public void Unknown_parameter_names(string? name) => Assert.False(DiiKindExtensions.TryParseParameterName(name, out _));

    [Fact]
    public void Unknown_kind_value_is_rejected_without_throwing()
        => Assert.False(IdentityInputParser.TryParse((DiiKind)42, "user@example.com", out _));

    [Fact]
    public void Email_hash_input_equals_hash_of_normalized_email()
    {
        Assert.True(IdentityInputParser.TryParse(DiiKind.Email, " User@Example.com", out var fromEmail));
        var hash = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("user@example.com")));
        Assert.True(IdentityInputParser.TryParse(DiiKind.EmailHash, hash, out var fromHash));
        Assert.Equal(fromEmail.DiiHash, fromHash.DiiHash);
        Assert.Equal(fromEmail.Type, fromHash.Type);
    }

    [Fact]
    public void FromNormalized_hashes_without_normalizing()
    {
        var input = IdentityInputParser.FromNormalized(IdentityType.Email, "validate@example.com");
        Assert.Equal(IdentityType.Email, input.Type);
        Assert.Equal("ntI244ZRTXwAwpki6/M5cyBYW7h/Wq576lnN3l9+W/c=", input.DiiHashBase64);

        var phone = IdentityInputParser.FromNormalized(IdentityType.Phone, "+12345678901");
        Assert.Equal("EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=", phone.DiiHashBase64);

        // No normalization is applied.
        var raw = IdentityInputParser.FromNormalized(IdentityType.Email, "Validate@example.com");
        Assert.NotEqual(input.DiiHash, raw.DiiHash);
    }

    [Fact]
    public void Long_email_is_parsed()
    {
        var email = new string('x', 5000) + "@example.com";
        Assert.True(IdentityInputParser.TryParse(DiiKind.Email, email, out var parsed));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(email)), parsed.DiiHash);
    }
}
