using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Uid2.Core.Keys;
using Uid2.Core.Tokens;
using static Uid2.Core.Tests.Tokens.TokenTestData;

namespace Uid2.Core.Tests.Tokens;

public class RefreshTokenWrapperTests
{
    private static readonly byte[] ResponseKey = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
    private static string Inner => RefreshTokenCodec.EncodeV3(SampleRefresh(), RefreshKey);

    [Theory]
    [InlineData(IdentityScope.Uid2, 'A')]
    [InlineData(IdentityScope.Euid, 'E')]
    public void Wrap_is_388_chars_and_unwraps(IdentityScope scope, char first)
    {
        var inner = Inner;
        var wrapped = RefreshTokenWrapper.Wrap(inner, ResponseKey, RefreshKey, scope);

        Assert.Equal(388, wrapped.Length);
        Assert.Equal(RefreshTokenWrapper.WrappedLength, wrapped.Length);
        Assert.Equal(first, wrapped[0]);
        var bytes = Convert.FromBase64String(wrapped);
        Assert.Equal(291, bytes.Length);
        Assert.Equal((byte)((int)scope << 4), bytes[0]);
        Assert.Equal(RefreshKeyId, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1)));

        Assert.True(RefreshTokenWrapper.TryUnwrap(wrapped, Ring, out var gotInner, out var gotKey, out var gotScope));
        Assert.Equal(inner, gotInner);
        Assert.Equal(ResponseKey, gotKey);
        Assert.Equal(scope, gotScope);
        Assert.True(RefreshTokenWrapper.TryUnwrap(wrapped, Ring, out gotInner, out gotKey));
        Assert.Equal(inner, gotInner);
        Assert.Equal(ResponseKey, gotKey);
    }

    [Fact]
    public void Plaintext_is_the_exact_compact_json()
    {
        var inner = Inner;
        var wrapped = Convert.FromBase64String(RefreshTokenWrapper.Wrap(inner, ResponseKey, RefreshKey, IdentityScope.Uid2));
        var plain = new byte[wrapped.Length - 5 - 28];
        Assert.True(Aes256.TryGcmDecrypt(RefreshSecret, wrapped.AsSpan(5), plain));
        Assert.Equal($"{{\"refresh_response_key\":\"{Convert.ToBase64String(ResponseKey)}\",\"refresh_token\":\"{inner}\"}}", Encoding.UTF8.GetString(plain));
        Assert.Equal(258, plain.Length);
    }

    [Fact]
    public void Two_wraps_differ() =>
        Assert.NotEqual(RefreshTokenWrapper.Wrap(Inner, ResponseKey, RefreshKey, IdentityScope.Uid2), RefreshTokenWrapper.Wrap(Inner, ResponseKey, RefreshKey, IdentityScope.Uid2));

    [Theory]
    [InlineData(167)]
    [InlineData(169)]
    [InlineData(0)]
    public void Wrap_of_wrong_length_inner_throws_InvalidOperation(int length) =>
        Assert.Throws<InvalidOperationException>(() => RefreshTokenWrapper.Wrap(new string('A', length), ResponseKey, RefreshKey, IdentityScope.Uid2));

    [Fact]
    public void Wrap_rejects_bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => RefreshTokenWrapper.Wrap(Inner, new byte[16], RefreshKey, IdentityScope.Uid2));
        Assert.Throws<InvalidOperationException>(() => RefreshTokenWrapper.Wrap(new string('"', 168), ResponseKey, RefreshKey, IdentityScope.Uid2));
    }

    [Fact]
    public void Operator_vector_is_well_formed_but_its_key_is_unknown()
    {
        Assert.Equal(388, OperatorWrappedRefreshToken.Length);
        Assert.False(RefreshTokenWrapper.TryUnwrap(OperatorWrappedRefreshToken, Ring, out var inner, out var key));
        Assert.Null(inner);
        Assert.Null(key);
        var fake5698 = new EncryptionKey(5698, -2, KeyActivates, KeyActivates, KeyExpires, RefreshSecret);
        Assert.False(RefreshTokenWrapper.TryUnwrap(OperatorWrappedRefreshToken, new KeyRing([fake5698]), out _, out _));
    }

    [Fact]
    public void Unknown_key_fails() =>
        Assert.False(RefreshTokenWrapper.TryUnwrap(RefreshTokenWrapper.Wrap(Inner, ResponseKey, RefreshKey, IdentityScope.Uid2), KeyRing.Empty, out _, out _));

    [Fact]
    public void Flipping_any_byte_fails()
    {
        var original = Convert.FromBase64String(RefreshTokenWrapper.Wrap(Inner, ResponseKey, RefreshKey, IdentityScope.Uid2));
        foreach (var mask in new byte[] { 0x01, 0x80, 0xFF, 0x11 })
        {
            for (var i = 0; i < original.Length; i++)
            {
                var bytes = (byte[])original.Clone();
                bytes[i] ^= mask;
                Assert.False(RefreshTokenWrapper.TryUnwrap(Convert.ToBase64String(bytes), Ring, out var inner, out var key), $"byte {i} mask {mask:x2}");
                Assert.Null(inner);
                Assert.Null(key);
            }
        }
        // The scope byte is an unauthenticated hint: 0x00 ↔ 0x10 is accepted (only the reported scope changes).
        var euid = (byte[])original.Clone();
        euid[0] = 0x10;
        Assert.True(RefreshTokenWrapper.TryUnwrap(Convert.ToBase64String(euid), Ring, out _, out _, out var scope));
        Assert.Equal(IdentityScope.Euid, scope);
    }

    [Fact]
    public void Truncation_at_every_length_fails()
    {
        var wrapped = RefreshTokenWrapper.Wrap(Inner, ResponseKey, RefreshKey, IdentityScope.Uid2);
        var bytes = Convert.FromBase64String(wrapped);
        for (var len = 0; len < wrapped.Length; len++)
            Assert.False(RefreshTokenWrapper.TryUnwrap(wrapped.AsSpan(0, len), Ring, out _, out _));
        for (var len = 0; len < bytes.Length; len++)
            Assert.False(RefreshTokenWrapper.TryUnwrap(Convert.ToBase64String(bytes, 0, len), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(wrapped + "AAAA", Ring, out _, out _));
    }

    private static string WrapRaw(string json, byte scopeByte = 0)
    {
        var plain = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[5 + plain.Length + 28];
        bytes[0] = scopeByte;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), RefreshKeyId);
        Aes256.GcmEncrypt(RefreshSecret, plain, bytes.AsSpan(5));
        return Convert.ToBase64String(bytes);
    }

    [Fact]
    public void Unwrap_accepts_any_key_order_and_rejects_malformed_json()
    {
        var inner = Inner;
        var k = Convert.ToBase64String(ResponseKey);
        var reversed = WrapRaw($"{{\"refresh_token\":\"{inner}\",\"refresh_response_key\":\"{k}\"}}");
        Assert.Equal(388, reversed.Length);
        Assert.True(RefreshTokenWrapper.TryUnwrap(reversed, Ring, out var got, out var key));
        Assert.Equal(inner, got);
        Assert.Equal(ResponseKey, key);

        // Same plaintext length (258) so the wrapper stays 388 chars, but malformed contents.
        string[] bad =
        [
            $"{{\"refresh_response_key\":\"{k}\",\"refresh_tokem\":\"{inner}\"}}",            // missing refresh_token
            $"{{\"refresh_response_kez\":\"{k}\",\"refresh_token\":\"{inner}\"}}",            // missing key
            $"{{\"refresh_response_key\":\"{k[..^4]}AAA=\",\"refresh_token\":\"{inner}\"}}", // key still 32 bytes → valid, checked below
            $"{{\"refresh_response_key\":\"{k[..^4]}****\",\"refresh_token\":\"{inner}\"}}",  // key not base64
            $"[\"refresh_response_key\":\"{k}\",\"refresh_token\":\"{inner}\"]",              // not an object
            $"{{\"refresh_response_key\":\"{k}\",\"refresh_token\":\"{inner[..167]}\"}}}}",                // trailing garbage
            $"{{\"refresh_response_key\":\"{k}\",\"refresh_token\":{new string('1', 168)}  }}".PadRight(258)[..258],
        ];
        foreach (var json in bad) Assert.Equal(258, Encoding.UTF8.GetByteCount(json));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[0]), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[1]), Ring, out _, out _));
        Assert.True(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[2]), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[3]), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[4]), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[5]), Ring, out _, out _));
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw(bad[6]), Ring, out _, out _));
        // a bad scope byte
        Assert.False(RefreshTokenWrapper.TryUnwrap(WrapRaw($"{{\"refresh_response_key\":\"{k}\",\"refresh_token\":\"{inner}\"}}", 0x01), Ring, out _, out _));
    }

    [Property(MaxTest = 300)]
    public bool Random_input_never_throws(string? s, byte[] payload)
    {
        var a = RefreshTokenWrapper.TryUnwrap(s ?? "", Ring, out _, out _);
        var bytes = new byte[291];
        (payload ?? []).AsSpan(0, Math.Min(291, payload?.Length ?? 0)).CopyTo(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(1), RefreshKeyId);
        var b = RefreshTokenWrapper.TryUnwrap(Convert.ToBase64String(bytes), Ring, out _, out _);
        return !a && !b;
    }
}
