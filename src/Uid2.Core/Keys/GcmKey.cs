namespace Uid2.Core.Keys;

/// <summary>
/// A 32-byte AES-256-GCM key with its cipher state kept for reuse: imported once into libsodium's AES-GCM (precomputed key
/// schedule and GHASH table, safe for concurrent use) or, where that is unavailable, one BCL <c>AesGcm</c> per thread.
/// Encrypting with a bare byte array instead sets up and tears down an OpenSSL cipher context every time (its provider
/// lookup, allocations and error-queue clearing cost more than sealing a small message). Used by
/// <see cref="EncryptionKey"/> and for a v2 client's secret (the envelope). The secret is never logged.
/// </summary>
public sealed class GcmKey
{
    private ThreadLocal<System.Security.Cryptography.AesGcm>? _gcm;
#if UID2_SODIUM
    private NSec.Cryptography.Key? _sodiumKey;
#endif

    public GcmKey(byte[] secret)
    {
        if (secret is null || secret.Length != 32) throw new ArgumentException("An AES-256 key must be 32 bytes.", nameof(secret));
        Secret = secret;
    }

    /// <summary>The raw 32-byte key. Never log it.</summary>
    public byte[] Secret { get; }

    /// <summary>An <c>AesGcm</c> for this key, one per thread (an instance is not safe for concurrent use).</summary>
    internal System.Security.Cryptography.AesGcm Gcm => (_gcm ?? CreateGcm()).Value!;

#if UID2_SODIUM
    /// <summary>This key imported into libsodium's AES-256-GCM, or null where the CPU or platform does not support it.</summary>
    internal NSec.Cryptography.Key? SodiumKey => _sodiumKey ?? (Aes256GcmSupport.IsSupported ? CreateSodiumKey() : null);

    private NSec.Cryptography.Key CreateSodiumKey()
    {
        var key = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.Aes256Gcm, Secret, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        var winner = Interlocked.CompareExchange(ref _sodiumKey, key, null);
        if (winner is not null) key.Dispose();
        return winner ?? key;
    }
#endif

    private ThreadLocal<System.Security.Cryptography.AesGcm> CreateGcm()
    {
        Interlocked.CompareExchange(ref _gcm, new ThreadLocal<System.Security.Cryptography.AesGcm>(() => new(Secret, 16)), null);
        return _gcm;
    }

    public override string ToString() => "GcmKey(…)";
}
