using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Uid2.Core.Tests.Tokens;

/// <summary>
/// Test-side byte assembly for the reference token layouts, written independently of <c>Uid2.Core.Tokens</c>: big-endian
/// fields appended in the order (and so at the offsets) the reference encoders write them, and the BCL's AES-GCM / AES-CBC
/// with caller-chosen IVs. Nothing here calls the production codecs, so a field moved in both our encoder and our decoder
/// still disagrees with these bytes.
/// </summary>
internal sealed class ByteLayout
{
    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public ByteLayout U8(byte value) { _bytes.Add(value); return this; }

    public ByteLayout I32(int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public ByteLayout I64(long value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value);
        _bytes.AddRange(b.ToArray());
        return this;
    }

    public ByteLayout Ms(DateTimeOffset time) => I64(time.ToUnixTimeMilliseconds());

    public ByteLayout Bytes(ReadOnlySpan<byte> value) { _bytes.AddRange(value.ToArray()); return this; }

    public byte[] ToArray() => [.. _bytes];
}

internal static class ReferenceCrypto
{
    /// <summary>IV(12) ‖ AES-256-GCM ciphertext ‖ tag(16), as uid2-shared's AesGcm.encrypt lays it out.</summary>
    public static byte[] GcmSeal(byte[] key, byte[] iv, byte[] plaintext, byte[]? aad = null)
    {
        Assert.Equal(12, iv.Length);
        var ct = new byte[plaintext.Length];
        var tag = new byte[16];
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(iv, plaintext, ct, tag, aad);
        return [.. iv, .. ct, .. tag];
    }

    /// <summary>Opens IV(12) ‖ ciphertext ‖ tag(16); throws if it does not authenticate.</summary>
    public static byte[] GcmOpen(byte[] key, ReadOnlySpan<byte> ivCtTag, byte[]? aad = null)
    {
        var plain = new byte[ivCtTag.Length - 28];
        using var gcm = new AesGcm(key, 16);
        gcm.Decrypt(ivCtTag[..12], ivCtTag[12..^16], ivCtTag[^16..], plain, aad);
        return plain;
    }

    /// <summary>IV(16) ‖ AES-256-CBC/PKCS7 ciphertext, as uid2-shared's AesCbc.encrypt lays it out.</summary>
    public static byte[] CbcSeal(byte[] key, byte[] iv, byte[] plaintext)
    {
        Assert.Equal(16, iv.Length);
        using var aes = Aes.Create();
        aes.Key = key;
        return [.. iv, .. aes.EncryptCbc(plaintext, iv, PaddingMode.PKCS7)];
    }

    /// <summary>Opens IV(16) ‖ CBC/PKCS7 ciphertext; throws on bad padding.</summary>
    public static byte[] CbcOpen(byte[] key, ReadOnlySpan<byte> ivCt)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        return aes.DecryptCbc(ivCt[16..], ivCt[..16], PaddingMode.PKCS7);
    }

    /// <summary>A fixed, recognisable IV: start, start+1, ….</summary>
    public static byte[] FixedIv(int length, byte start) => Enumerable.Range(0, length).Select(i => (byte)(start + i)).ToArray();

    public static int I32(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadInt32BigEndian(b[offset..]);
    public static long I64(ReadOnlySpan<byte> b, int offset) => BinaryPrimitives.ReadInt64BigEndian(b[offset..]);
}
