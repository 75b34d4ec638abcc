namespace Uid2.Core.Keys;

/// <summary>
/// A 32-byte AES key with its lifetime. <see cref="SiteId"/> is the owner: a participant's site id,
/// or one of <see cref="ReservedSites"/> for master, refresh and fallback publisher keys.
/// </summary>
public sealed class EncryptionKey
{
    public EncryptionKey(int id, int siteId, DateTimeOffset created, DateTimeOffset activates, DateTimeOffset expires, byte[] secret)
    {
        if (secret is null || secret.Length != 32) throw new ArgumentException("An encryption key secret must be 32 bytes.", nameof(secret));
        if (expires <= activates) throw new ArgumentException("A key must expire after it activates.", nameof(expires));
        Id = id;
        SiteId = siteId;
        Created = created;
        Activates = activates;
        Expires = expires;
        Secret = secret;
    }

    public int Id { get; }
    public int SiteId { get; }
    public DateTimeOffset Created { get; }
    public DateTimeOffset Activates { get; }
    public DateTimeOffset Expires { get; }

    /// <summary>The raw 32-byte AES-256 key. Never log it.</summary>
    public byte[] Secret { get; }

    public bool IsActiveAt(DateTimeOffset now) => Activates <= now && now < Expires;

    /// <summary>This key's AES-GCM state (created on first use, reused by every token it seals or opens).</summary>
    public GcmKey Cipher => _cipher ?? CreateCipher();

    private GcmKey? _cipher;

    private GcmKey CreateCipher()
    {
        Interlocked.CompareExchange(ref _cipher, new GcmKey(Secret), null);
        return _cipher;
    }

    public override string ToString() => $"EncryptionKey(id={Id}, site={SiteId}, activates={Activates:O}, expires={Expires:O})";
}

/// <summary>Site ids reserved by the protocol.</summary>
public static class ReservedSites
{
    /// <summary>Master keys (keyset -1): the outer layer of every advertising token.</summary>
    public const int Master = -1;
    /// <summary>Refresh keys (keyset -2): refresh tokens and their v2 wrapper. Never shared.</summary>
    public const int Refresh = -2;
    /// <summary>Fallback publisher keys (site 2), used for sites without keys of their own.</summary>
    public const int FallbackPublisher = 2;
}

/// <summary>Looks up a key by id. Decryption uses keys by id only, without re-checking activation.</summary>
public interface IKeyLookup
{
    EncryptionKey? GetById(int keyId);
}

#if UID2_SODIUM
/// <summary>Whether libsodium's AES-256-GCM can run here (it needs AES-NI and PCLMUL on x64, or ARMv8 crypto).</summary>
internal static class Aes256GcmSupport
{
    public static readonly bool IsSupported = Probe();

    private static bool Probe()
    {
        try
        {
            return NSec.Cryptography.Aes256Gcm.IsSupported;
        }
        catch (Exception) // native library missing or not loadable on this platform: fall back to the BCL
        {
            return false;
        }
    }
}
#endif
