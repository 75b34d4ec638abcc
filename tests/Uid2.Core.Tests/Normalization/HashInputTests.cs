using System.Security.Cryptography;
using System.Text;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

public class HashInputTests
{
    // uid2-operator InputNormalizationTest.testValidHashNormalization: SHA-256 of foo@bar.com.
    private const string MasterHash = "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs=";

    [Fact]
    public void Master_hash_is_sha256_of_foo_at_bar()
        => Assert.Equal(MasterHash, Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("foo@bar.com"))));

    [Theory]
    [InlineData(MasterHash)]
    [InlineData("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b")]
    [InlineData("0c7E6a405862E402eb76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    public void Valid_hashes_decode_to_the_master_hash(string text)
    {
        Span<byte> dest = stackalloc byte[32];
        Assert.True(HashInput.TryParse(text, dest));
        Assert.Equal(MasterHash, Convert.ToBase64String(dest));

        Assert.True(IdentityInputParser.TryParse(DiiKind.EmailHash, text, out var email));
        Assert.Equal(IdentityType.Email, email.Type);
        Assert.Equal(MasterHash, email.DiiHashBase64);
        Assert.True(IdentityInputParser.TryParse(DiiKind.PhoneHash, text, out var phone));
        Assert.Equal(IdentityType.Phone, phone.Type);
        Assert.Equal(MasterHash, phone.DiiHashBase64);
    }

    // uid2-operator InputNormalizationTest.testInvalidHashNormalization (literal list) plus extra cases.
    [Theory]
    [InlineData("")]
    [InlineData("asdaksjdakfj")]
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")] // 43 chars
    [InlineData("QFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("0Z7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B00")]
    [InlineData("000C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData(null)]
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uij==")] // 44 chars but 31 bytes
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijsA")] // 44 chars, no padding: 33 bytes
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uij!=")] // not base64
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0u_js=")] // base64url alphabet
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0u js=")] // whitespace
    [InlineData(" DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("=DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3g")]
    [InlineData("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3 ")]
    public void Invalid_hashes_are_rejected(string? text)
    {
        Span<byte> dest = stackalloc byte[32];
        Assert.False(HashInput.TryParse(text, dest));
        Assert.False(IdentityInputParser.TryParse(DiiKind.EmailHash, text, out _));
        Assert.False(IdentityInputParser.TryParse(DiiKind.PhoneHash, text, out _));
    }

    [Fact]
    public void Thirty_one_byte_value_is_rejected_in_both_encodings()
    {
        var bytes = RandomNumberGenerator.GetBytes(31);
        Span<byte> dest = stackalloc byte[32];
        var b64 = Convert.ToBase64String(bytes); // 44 chars, "==" padding
        Assert.Equal(44, b64.Length);
        Assert.False(HashInput.TryParse(b64, dest));
        Assert.False(HashInput.TryParse(Convert.ToHexString(bytes), dest)); // 62 chars
    }

    [Fact]
    public void Destination_shorter_than_32_bytes_is_rejected()
    {
        Span<byte> dest = stackalloc byte[31];
        Assert.False(HashInput.TryParse(MasterHash, dest));
    }

    [Fact]
    public void Unused_trailing_bits_are_ignored_like_the_reference()
    {
        // The 43rd char carries 6 bits of which only the top 4 are used: 'g' = 0b100000 and 'j' = 0b100011 decode alike.
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        Assert.True(HashInput.TryParse("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijg=", a));
        Assert.True(HashInput.TryParse("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijj=", b));
        Assert.True(a.SequenceEqual(b));
    }
}
