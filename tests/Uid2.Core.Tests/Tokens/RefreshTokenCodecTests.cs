using FsCheck;
using FsCheck.Xunit;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using static Uid2.Core.Tests.Tokens.TokenTestData;

namespace Uid2.Core.Tests.Tokens;

public class RefreshTokenCodecTests
{
    [Theory]
    [InlineData(IdentityScope.Uid2, IdentityType.Email, "A3")]
    [InlineData(IdentityScope.Uid2, IdentityType.Phone, "B3")]
    [InlineData(IdentityScope.Euid, IdentityType.Email, "E3")]
    [InlineData(IdentityScope.Euid, IdentityType.Phone, "F3")]
    public void V3_round_trip_is_124_bytes_168_chars(IdentityScope scope, IdentityType type, string prefix)
    {
        var original = SampleRefresh(scope, type);
        var text = RefreshTokenCodec.EncodeV3(original, RefreshKey);

        Assert.Equal(168, text.Length);
        Assert.Equal(RefreshTokenCodec.EncodedLength, text.Length);
        Assert.StartsWith(prefix, text);
        var bytes = Convert.FromBase64String(text);
        Assert.Equal(124, bytes.Length);
        Assert.Equal(IdentityByte.ForToken(scope, type), bytes[0]);
        Assert.Equal(112, bytes[1]);

        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(text, Ring, out var d));
        Assert.NotNull(d);
        Assert.Equal(3, d.Version);
        Assert.Equal(scope, d.Scope);
        Assert.Equal(type, d.Type);
        Assert.Equal(original.FirstLevelHash, d.FirstLevelHash);
        Assert.Equal(original.SiteId, d.SiteId);
        Assert.Equal(original.PublisherId, d.PublisherId);
        Assert.Equal(original.ClientKeyId, d.ClientKeyId);
        Assert.Equal(original.PrivacyBits, d.PrivacyBits);
        Assert.Equal(original.Created, d.Created);
        Assert.Equal(original.Expires, d.Expires);
        Assert.Equal(original.Established, d.Established);
        Assert.Equal(original.Operator, d.Operator);
        Assert.Equal(RefreshKeyId, d.KeyId);
    }

    [Fact]
    public void V3_keeps_operator_identity()
    {
        var t = SampleRefresh();
        var withOp = new RefreshToken
        {
            Scope = t.Scope, Type = t.Type, FirstLevelHash = t.FirstLevelHash, Created = t.Created, Expires = t.Expires,
            Established = t.Established, Operator = new OperatorIdentity(101, 1, 102, 103),
        };
        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(RefreshTokenCodec.EncodeV3(withOp, RefreshKey), Ring, out var d));
        Assert.Equal(new OperatorIdentity(101, 1, 102, 103), d!.Operator);
    }

    [Fact]
    public void V2_round_trip_expires_is_valid_till()
    {
        var original = SampleRefresh(IdentityScope.Uid2, IdentityType.Email);
        var text = RefreshTokenCodec.EncodeV2(original, RefreshKey);
        Assert.Equal(168, text.Length);
        Assert.StartsWith("Ag", text);
        var bytes = Convert.FromBase64String(text);
        Assert.Equal(125, bytes.Length);
        Assert.Equal(original.Expires.ToUnixTimeMilliseconds(), System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(9)));
        Assert.Equal(RefreshKeyId, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(25)));

        Assert.Equal(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(text, Ring, out var d));
        Assert.NotNull(d);
        Assert.Equal(2, d.Version);
        Assert.Equal(IdentityScope.Uid2, d.Scope);
        Assert.Equal(IdentityType.Email, d.Type);
        Assert.Equal(original.FirstLevelHash, d.FirstLevelHash);
        Assert.Equal(original.SiteId, d.SiteId);
        Assert.Equal(original.PrivacyBits, d.PrivacyBits);
        Assert.Equal(original.Created, d.Created);
        Assert.Equal(original.Expires.AddSeconds(60), d.Expires);   // as the operator: valid-till is used as expiry
        Assert.Equal(original.Established, d.Established);
        Assert.Equal(RefreshKeyId, d.KeyId);
    }

    [Fact]
    public void Two_encodes_differ()
    {
        var t = SampleRefresh();
        Assert.NotEqual(RefreshTokenCodec.EncodeV3(t, RefreshKey), RefreshTokenCodec.EncodeV3(t, RefreshKey));
        Assert.NotEqual(RefreshTokenCodec.EncodeV2(t, RefreshKey), RefreshTokenCodec.EncodeV2(t, RefreshKey));
    }

    [Fact]
    public void Unknown_key()
    {
        Assert.Equal(TokenDecodeStatus.UnknownRefreshKey, RefreshTokenCodec.TryDecode(RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey), KeyRing.Empty, out var d));
        Assert.Null(d);
        Assert.Equal(TokenDecodeStatus.UnknownRefreshKey, RefreshTokenCodec.TryDecode(RefreshTokenCodec.EncodeV2(SampleRefresh(), RefreshKey), KeyRing.Empty, out _));
        var wrong = new EncryptionKey(RefreshKeyId, -2, KeyActivates, KeyActivates, KeyExpires, MasterSecret);
        Assert.Equal(TokenDecodeStatus.InvalidPayload, RefreshTokenCodec.TryDecode(RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey), new KeyRing([wrong]), out _));
    }

    [Fact]
    public void Header_identity_byte_must_match_inner()
    {
        var bytes = Convert.FromBase64String(RefreshTokenCodec.EncodeV3(SampleRefresh(IdentityScope.Uid2, IdentityType.Phone), RefreshKey));
        Assert.Equal(0x07, bytes[0]);
        bytes[0] = 0x03;
        Assert.Equal(TokenDecodeStatus.InvalidIdentityScope, RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var d));
        Assert.Null(d);
    }

    [Fact]
    public void Encoder_rejects_bad_hash() =>
        Assert.Throws<ArgumentException>(() => RefreshTokenCodec.EncodeV3(new RefreshToken { FirstLevelHash = new byte[31] }, RefreshKey));

    [Fact]
    public void Flipping_any_byte_of_a_v3_token_fails()
    {
        var original = Convert.FromBase64String(RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey));
        foreach (var mask in new byte[] { 0x01, 0x10, 0x80, 0xFF })
        {
            for (var i = 0; i < original.Length; i++)
            {
                var bytes = (byte[])original.Clone();
                bytes[i] ^= mask;
                var status = RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var d);
                Assert.True(status != TokenDecodeStatus.Success, $"byte {i} mask {mask:x2} decoded");
                Assert.Null(d);
            }
        }
    }

    [Fact]
    public void Flipping_bytes_of_a_v2_token_never_throws()
    {
        var original = Convert.FromBase64String(RefreshTokenCodec.EncodeV2(SampleRefresh(), RefreshKey));
        for (var i = 0; i < original.Length; i++)
        {
            var bytes = (byte[])original.Clone();
            bytes[i] ^= 0xA5;
            var status = RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var d);
            Assert.Equal(status == TokenDecodeStatus.Success, d is not null);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Truncation_at_every_length_fails(int version)
    {
        var text = version == 3 ? RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey) : RefreshTokenCodec.EncodeV2(SampleRefresh(), RefreshKey);
        var original = Convert.FromBase64String(text);
        for (var len = 0; len < original.Length; len++)
            Assert.NotEqual(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(Convert.ToBase64String(original, 0, len), Ring, out _));
        for (var len = 0; len < text.Length; len++)
            Assert.NotEqual(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(text.AsSpan(0, len), Ring, out _));
        Assert.NotEqual(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(Convert.ToBase64String([.. original, 0]), Ring, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("AAAA")]
    [InlineData(OperatorWrappedRefreshToken)]   // a wrapper is not an inner token
    public void Garbage_fails(string text) =>
        Assert.NotEqual(TokenDecodeStatus.Success, RefreshTokenCodec.TryDecode(text, Ring, out _));

    [Property(MaxTest = 300)]
    public bool Random_mutation_never_succeeds(NonNegativeInt index, byte mask)
    {
        if (mask == 0) return true;
        var bytes = Convert.FromBase64String(MutationBase);
        bytes[index.Get % bytes.Length] ^= mask;
        return RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out var d) != TokenDecodeStatus.Success && d is null;
    }

    private static readonly string MutationBase = RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey);

    [Property(MaxTest = 300)]
    public bool Random_input_never_throws(byte[] payload, bool v3)
    {
        byte[] header = v3 ? [0x03, 112, 0, 0, 0, RefreshKeyId] : [0x02];
        var bytes = header.Concat(payload ?? []).ToArray();
        return RefreshTokenCodec.TryDecode(Convert.ToBase64String(bytes), Ring, out _) != TokenDecodeStatus.Success;
    }
}
