using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Uid2.Core.Tokens;

/// <summary>
/// Random bytes from the OS's CSPRNG, drawn 4 KiB at a time per thread and handed out once each (cleared as they are
/// handed out): the CSPRNG call and its per-call overhead (OpenSSL's <c>RAND_bytes</c> checks the process id with a system
/// call) are paid once per ~300 draws instead of on each — four IVs per token request, and a v2 reply's new
/// <c>refresh_response_key</c>. Bytes not yet drawn sit in this process's memory until they are, as the CSPRNG's own
/// state does; whoever can read them can read the keys in use as well. Requests longer than the pool go to the CSPRNG.
/// </summary>
public static class PooledRandom
{
    private const int PoolSize = 4096;

    [ThreadStatic] private static byte[]? t_pool;
    [ThreadStatic] private static int t_next;

    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > PoolSize / 4)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }
        var pool = t_pool;
        if (pool is null || t_next + destination.Length > PoolSize)
        {
            pool ??= t_pool = new byte[PoolSize];
            RandomNumberGenerator.Fill(pool);
            t_next = 0;
        }
        var source = pool.AsSpan(t_next, destination.Length);
        source.CopyTo(destination);
        source.Clear(); // each byte is used once
        t_next += destination.Length;
    }
}

/// <summary>AES-256 helpers shared by the token codecs and the v2 envelope. Never throw for bad ciphertext.</summary>
internal static class Aes256
{
    public const int KeySize = 32;
    public const int GcmIvSize = 12;
    public const int GcmTagSize = 16;
    /// <summary>IV + tag bytes added by <c>GcmEncrypt</c>.</summary>
    public const int GcmOverhead = GcmIvSize + GcmTagSize;
    public const int CbcIvSize = 16;
    public const int BlockSize = 16;

    /// <summary>Encrypts with a fresh random IV; writes IV(12) ‖ ciphertext ‖ tag(16) to <paramref name="destination"/>,
    /// which must be exactly <c>plaintext.Length + 28</c> bytes and must not overlap the plaintext.</summary>
    public static void GcmEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (key.Length != KeySize) throw new ArgumentException("An AES-256 key must be 32 bytes.", nameof(key));
        if (destination.Length != plaintext.Length + GcmOverhead) throw new ArgumentException("Destination has the wrong length.", nameof(destination));
        var iv = destination[..GcmIvSize];
        PooledRandom.Fill(iv);
        using var gcm = new AesGcm(key, GcmTagSize);
        gcm.Encrypt(iv, plaintext, destination.Slice(GcmIvSize, plaintext.Length), destination[(GcmIvSize + plaintext.Length)..]);
    }

    /// <summary>As <see cref="GcmEncrypt(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with the key's cached cipher.</summary>
    public static void GcmEncrypt(Keys.EncryptionKey key, ReadOnlySpan<byte> plaintext, Span<byte> destination) =>
        GcmEncrypt(key.Cipher, plaintext, destination);

    /// <summary>As <see cref="GcmEncrypt(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with the key's cached cipher.</summary>
    public static void GcmEncrypt(Keys.GcmKey key, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (destination.Length != plaintext.Length + GcmOverhead) throw new ArgumentException("Destination has the wrong length.", nameof(destination));
        var iv = destination[..GcmIvSize];
        PooledRandom.Fill(iv);
#if UID2_SODIUM
        if (key.SodiumKey is { } sodium)
        {
            NSec.Cryptography.AeadAlgorithm.Aes256Gcm.Encrypt(sodium, iv, default, plaintext, destination[GcmIvSize..]);
            return;
        }
#endif
        key.Gcm.Encrypt(iv, plaintext, destination.Slice(GcmIvSize, plaintext.Length), destination[(GcmIvSize + plaintext.Length)..]);
    }

    /// <summary>As <see cref="TryGcmDecrypt(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with the key's cached cipher.</summary>
    public static bool TryGcmDecrypt(Keys.EncryptionKey key, ReadOnlySpan<byte> ivCiphertextTag, Span<byte> plaintext) =>
        TryGcmDecrypt(key.Cipher, ivCiphertextTag, plaintext);

    /// <summary>As <see cref="TryGcmDecrypt(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> with the key's cached cipher.</summary>
    public static bool TryGcmDecrypt(Keys.GcmKey key, ReadOnlySpan<byte> ivCiphertextTag, Span<byte> plaintext)
    {
        if (ivCiphertextTag.Length < GcmOverhead || plaintext.Length != ivCiphertextTag.Length - GcmOverhead) return false;
#if UID2_SODIUM
        if (key.SodiumKey is { } sodium)
        {
            if (NSec.Cryptography.AeadAlgorithm.Aes256Gcm.Decrypt(sodium, ivCiphertextTag[..GcmIvSize], default, ivCiphertextTag[GcmIvSize..], plaintext))
                return true;
            plaintext.Clear();
            return false;
        }
#endif
        try
        {
            key.Gcm.Decrypt(
                ivCiphertextTag[..GcmIvSize],
                ivCiphertextTag.Slice(GcmIvSize, plaintext.Length),
                ivCiphertextTag[^GcmTagSize..],
                plaintext);
            return true;
        }
        catch (CryptographicException)
        {
            plaintext.Clear();
            return false;
        }
    }

    /// <summary>Decrypts IV(12) ‖ ciphertext ‖ tag(16) into <paramref name="plaintext"/> (exactly <c>input.Length - 28</c> bytes).
    /// False on any failure (wrong key size, wrong lengths, authentication failure).</summary>
    public static bool TryGcmDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> ivCiphertextTag, Span<byte> plaintext)
    {
        if (key.Length != KeySize || ivCiphertextTag.Length < GcmOverhead || plaintext.Length != ivCiphertextTag.Length - GcmOverhead)
            return false;
        try
        {
            using var gcm = new AesGcm(key, GcmTagSize);
            gcm.Decrypt(
                ivCiphertextTag[..GcmIvSize],
                ivCiphertextTag.Slice(GcmIvSize, plaintext.Length),
                ivCiphertextTag[^GcmTagSize..],
                plaintext);
            return true;
        }
        catch (CryptographicException)
        {
            plaintext.Clear();
            return false;
        }
    }

    /// <summary>Length of IV(16) ‖ CBC/PKCS7 ciphertext for a plaintext length.</summary>
    public static int CbcOutputLength(int plaintextLength) => CbcIvSize + (plaintextLength / BlockSize + 1) * BlockSize;

    /// <summary>AES-256-CBC/PKCS7 with a fresh random IV; writes IV(16) ‖ ciphertext; returns bytes written.</summary>
    public static int CbcEncrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (key.Length != KeySize) throw new ArgumentException("An AES-256 key must be 32 bytes.", nameof(key));
        var iv = destination[..CbcIvSize];
        PooledRandom.Fill(iv);
        using var aes = CreateAes(key);
        return CbcIvSize + aes.EncryptCbc(plaintext, iv, destination[CbcIvSize..], PaddingMode.PKCS7);
    }

    private static Aes CreateAes(ReadOnlySpan<byte> key)
    {
        var aes = Aes.Create();
#if NET9_0_OR_GREATER
        aes.SetKey(key);
#else
        aes.Key = key.ToArray(); // net8.0 has no span overload; CBC is the legacy v2 token path only
#endif
        return aes;
    }

    /// <summary>Decrypts IV(16) ‖ CBC/PKCS7 ciphertext. False on bad lengths or padding.</summary>
    public static bool TryCbcDecrypt(ReadOnlySpan<byte> key, ReadOnlySpan<byte> ivCiphertext, Span<byte> plaintext, out int written)
    {
        written = 0;
        var ctLength = ivCiphertext.Length - CbcIvSize;
        if (key.Length != KeySize || ctLength < BlockSize || ctLength % BlockSize != 0 || plaintext.Length < ctLength)
            return false;
        try
        {
            using var aes = CreateAes(key);
            return aes.TryDecryptCbc(ivCiphertext[CbcIvSize..], ivCiphertext[..CbcIvSize], plaintext, out written, PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            written = 0;
            return false;
        }
    }
}

/// <summary>Big-endian field access, epoch-millisecond times and base64 flavours used on the wire.</summary>
internal static class Wire
{
    public static int I32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadInt32BigEndian(s[offset..]);
    public static long I64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadInt64BigEndian(s[offset..]);
    public static void I32(Span<byte> s, int offset, int value) => BinaryPrimitives.WriteInt32BigEndian(s[offset..], value);
    public static void I64(Span<byte> s, int offset, long value) => BinaryPrimitives.WriteInt64BigEndian(s[offset..], value);

    private static readonly long MinMs = DateTimeOffset.MinValue.ToUnixTimeMilliseconds();
    private static readonly long MaxMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>Epoch milliseconds → UTC time; false when out of <see cref="DateTimeOffset"/> range.</summary>
    public static bool TryFromMs(long ms, out DateTimeOffset time)
    {
        if (ms < MinMs || ms > MaxMs) { time = default; return false; }
        time = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        return true;
    }

    public static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>Standard base64 (RFC 4648 §4, padding required).</summary>
    public static bool TryDecodeBase64(ReadOnlySpan<char> text, Span<byte> destination, out int written) =>
        Convert.TryFromBase64Chars(text, destination, out written);

    /// <summary>Base64url (RFC 4648 §5), padding optional.</summary>
    public static bool TryDecodeBase64Url(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        try
        {
            return Base64Url.TryDecodeFromChars(text, destination, out written);
        }
        catch (FormatException)
        {
            written = 0;
            return false;
        }
    }

    /// <summary>Decodes standard base64 held as ASCII bytes (inside v2 payloads).</summary>
    public static bool TryDecodeBase64Utf8(ReadOnlySpan<byte> utf8, Span<byte> destination, out int written)
    {
        var status = Base64.DecodeFromUtf8(utf8, destination, out var consumed, out written);
        return status == System.Buffers.OperationStatus.Done && consumed == utf8.Length;
    }

    /// <summary>Writes standard base64 of <paramref name="data"/> as ASCII bytes; returns bytes written.</summary>
    public static int EncodeBase64Utf8(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        Base64.EncodeToUtf8(data, destination, out _, out var written);
        return written;
    }
}
