using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;

namespace Uid2.Core.Identity;

/// <summary>
/// The UID2 hashing chain (all SHA-256; salts are used as their text bytes, never decoded):
/// DII hash = SHA256(UTF-8 normalized DII); first-level hash = SHA256(ASCII base64(DII hash) ‖ first-level salt);
/// raw UID v2 = SHA256(ASCII base64(first-level hash) ‖ bucket salt); raw UID v3 = identity prefix byte ‖ raw UID v2.
/// All methods are allocation-free (stack buffers, pooled arrays for unusually long salts).
/// </summary>
public static class IdentityHasher
{
    public const int HashLength = 32;
    public const int RawUidV3Length = 33;

    /// <summary>Bucket count for which the bucket index is used without a modulo.</summary>
    public const int MillionBucketCount = 1 << 20;

    private const int StackLimit = 512;

    /// <summary>SHA-256 of the UTF-8 bytes of an already normalized DII.</summary>
    public static void HashDii(string normalized, Span<byte> dest32)
    {
        ArgumentNullException.ThrowIfNull(normalized);
        HashDii(normalized.AsSpan(), dest32);
    }

    /// <inheritdoc cref="HashDii(string, Span{byte})"/>
    public static void HashDii(ReadOnlySpan<char> normalized, Span<byte> dest32)
    {
        CheckDestination(dest32, HashLength);
        var max = JavaUtf8.Encoding.GetMaxByteCount(normalized.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = JavaUtf8.Encoding.GetBytes(normalized, buffer);
            Sha256(buffer[..n], dest32);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>SHA-256 of the UTF-8 bytes of an already normalized DII, as a new 32-byte array.</summary>
    public static byte[] HashDii(string normalized)
    {
        var result = new byte[HashLength];
        HashDii(normalized, result);
        return result;
    }

    /// <summary>Standard padded base64.</summary>
    public static string ToBase64(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes);

    /// <summary>First-level hash = SHA256(ASCII(base64(<paramref name="diiHash"/>)) ‖ UTF-8(<paramref name="firstLevelSalt"/>)).</summary>
    public static void FirstLevelHash(ReadOnlySpan<byte> diiHash, string firstLevelSalt, Span<byte> dest32)
        => HashBase64WithSalt(diiHash, firstLevelSalt, dest32);

    /// <summary>
    /// Salt bucket index: <c>(b0 &lt;&lt; 12) | (b1 &lt;&lt; 4) | (b2 &amp; 0x0F)</c> over the first-level hash (a value below 2^20),
    /// used directly with exactly 1,048,576 buckets and reduced modulo <paramref name="bucketCount"/> otherwise.
    /// </summary>
    public static int BucketIndex(ReadOnlySpan<byte> firstLevelHash, int bucketCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketCount);
        if (firstLevelHash.Length < 3) throw new ArgumentException("At least 3 bytes are required.", nameof(firstLevelHash));
        var index = (firstLevelHash[0] << 12) | (firstLevelHash[1] << 4) | (firstLevelHash[2] & 0x0F);
        return bucketCount == MillionBucketCount ? index : index % bucketCount;
    }

    /// <summary>Raw UID v2 (32 bytes) = SHA256(ASCII(base64(first-level hash)) ‖ UTF-8(bucket salt)).</summary>
    public static void RawUidV2(ReadOnlySpan<byte> firstLevelHash, string bucketSalt, Span<byte> dest32)
        => HashBase64WithSalt(firstLevelHash, bucketSalt, dest32);

    /// <summary>Raw UID v3 (33 bytes) = <c>(scope &lt;&lt; 4) | (type &lt;&lt; 2)</c> ‖ raw UID v2.</summary>
    public static void RawUidV3(IdentityScope scope, IdentityType type, ReadOnlySpan<byte> firstLevelHash, string bucketSalt, Span<byte> dest33)
    {
        CheckDestination(dest33, RawUidV3Length);
        dest33[0] = IdentityByte.ForRawUid(scope, type);
        HashBase64WithSalt(firstLevelHash, bucketSalt, dest33.Slice(1, HashLength));
    }

    private static void HashBase64WithSalt(ReadOnlySpan<byte> data, string salt, Span<byte> dest32)
    {
        ArgumentNullException.ThrowIfNull(salt);
        CheckDestination(dest32, HashLength);
        var encodedLength = Base64.GetMaxEncodedToUtf8Length(data.Length);
        var max = encodedLength + JavaUtf8.Encoding.GetMaxByteCount(salt.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            Base64.EncodeToUtf8(data, buffer, out _, out var written);
            written += JavaUtf8.Encoding.GetBytes(salt, buffer[written..]);
            Sha256(buffer[..written], dest32);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// SHA-256 through this thread's reused hash object. On Linux every one-shot <see cref="SHA256.HashData(ReadOnlySpan{byte}, Span{byte})"/>
    /// creates and frees an OpenSSL digest context around a few microseconds of hashing; an identity map hashes three
    /// times per identity, and profiling showed that setup as a fifth of the whole request. Reusing one context per
    /// thread removes it (same digest: the tests compare with the one-shot API).
    /// </summary>
    private static void Sha256(ReadOnlySpan<byte> data, Span<byte> dest32)
    {
        var hash = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        try
        {
            hash.AppendData(data);
            if (!hash.TryGetHashAndReset(dest32, out var written) || written != HashLength)
                throw new CryptographicException("SHA-256 did not produce 32 bytes.");
        }
        catch
        {
            // Never leave a half-fed context for the next call on this thread.
            t_sha256 = null;
            hash.Dispose();
            throw;
        }
    }

    [ThreadStatic] private static IncrementalHash? t_sha256;

    private static void CheckDestination(Span<byte> destination, int length)
    {
        if (destination.Length < length)
            throw new ArgumentException($"Destination must be at least {length} bytes.", nameof(destination));
    }
}
