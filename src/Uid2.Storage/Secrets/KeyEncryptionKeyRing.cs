using System.Security.Cryptography;
using System.Text;

namespace Uid2.Storage.Secrets;

/// <summary>
/// The key-encryption keys (KEKs) that seal the store's secrets at rest: client secrets, encryption keys, CSTG private
/// keys and salts. They are never in the database: a key file (one <c>id:base64</c> line a key, the first one seals,
/// the others only open), or keys given inline by configuration. See <see cref="KeyEncryptionKeys"/> for where they come
/// from and <see cref="SealText"/> for the sealed format.
/// <para>
/// Sealing is AES-256-GCM with a synthetic IV: the IV is an HMAC of the purpose and the clear value under a key derived
/// from the KEK, so sealing the same value for the same purpose under the same KEK gives the same text. A store can
/// then compare sealed values to find what changed (salt rotation rewrites only the rotated rows), and the only thing
/// this reveals is whether two values for the same purpose are equal. The purpose (table, column and row id) is the
/// additional data, so a sealed value moved to another row or column does not open.
/// </para>
/// </summary>
public sealed class KeyEncryptionKeyRing
{
    /// <summary>Marks a sealed text value: <c>enc1:&lt;kek id&gt;:&lt;base64(iv ‖ ciphertext ‖ tag)&gt;</c>.</summary>
    public const string TextPrefix = "enc1:";

    /// <summary>Marks a sealed binary value: <c>0xE1 ‖ id length ‖ id (ASCII) ‖ iv ‖ ciphertext ‖ tag</c>.</summary>
    public const byte BinaryMarker = 0xE1;

    private const int IvLength = 12;
    private const int TagLength = 16;

    private readonly object _reloadLock = new();
    private volatile Keys _keys;

    /// <summary>A ring of <paramref name="keys"/> (id, 32-byte key); the first seals. <paramref name="sourceFile"/>, when
    /// the keys came from a file, is re-read once when a value names a key id the ring does not know (a rotation).</summary>
    public KeyEncryptionKeyRing(IReadOnlyList<(string Id, byte[] Key)> keys, string? sourceFile = null)
    {
        _keys = new Keys(keys);
        SourceFile = sourceFile;
    }

    /// <summary>The key file the keys came from, or null when they were given inline.</summary>
    public string? SourceFile { get; }

    /// <summary>The id of the key that seals.</summary>
    public string PrimaryId => _keys.Primary.Id;

    /// <summary>The ids of every key the ring can open with, the primary first.</summary>
    public IReadOnlyList<string> Ids => _keys.All.Select(k => k.Id).ToArray();

    /// <summary>A ring with one new random key, for a store that lives in memory only.</summary>
    public static KeyEncryptionKeyRing Ephemeral() => new([(NewId(), RandomNumberGenerator.GetBytes(32))]);

    /// <summary>A new key id: 'k' and 10 random lower-case letters and digits.</summary>
    public static string NewId() => "k" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 10);

    // ---------------------------------------------------------------- text

    /// <summary>Seals a clear text value for <paramref name="purpose"/> (e.g. <c>api_keys.client_secret:&lt;key id&gt;</c>).</summary>
    public string SealText(string clear, string purpose)
    {
        var key = _keys.Primary;
        var sealedBytes = Seal(key, Encoding.UTF8.GetBytes(clear), purpose);
        return TextPrefix + key.Id + ":" + Convert.ToBase64String(sealedBytes);
    }

    /// <summary>True when <paramref name="stored"/> is sealed (else it is a clear value written before sealing existed).</summary>
    public static bool IsSealed(string stored) => stored.StartsWith(TextPrefix, StringComparison.Ordinal);

    /// <summary>The clear value of a stored text: opened when sealed, as is when clear (a store not yet upgraded).</summary>
    /// <exception cref="KeyEncryptionKeyException">Sealed with a key this ring does not have, or tampered with.</exception>
    public string OpenText(string stored, string purpose)
    {
        if (!IsSealed(stored)) return stored;
        var rest = stored.AsSpan(TextPrefix.Length);
        var colon = rest.IndexOf(':');
        if (colon <= 0) throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is malformed.");
        var id = rest[..colon].ToString();
        byte[] data;
        try
        {
            data = Convert.FromBase64String(rest[(colon + 1)..].ToString());
        }
        catch (FormatException)
        {
            throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is malformed.");
        }
        return Encoding.UTF8.GetString(Open(id, data, purpose));
    }

    /// <summary>The id of the key that sealed a text value, or null when it is clear.</summary>
    public static string? SealedBy(string stored)
    {
        if (!IsSealed(stored)) return null;
        var rest = stored.AsSpan(TextPrefix.Length);
        var colon = rest.IndexOf(':');
        return colon <= 0 ? null : rest[..colon].ToString();
    }

    // ---------------------------------------------------------------- bytes

    /// <summary>Seals a clear binary value (an encryption key's 32 bytes).</summary>
    public byte[] SealBytes(ReadOnlySpan<byte> clear, string purpose)
    {
        var key = _keys.Primary;
        var sealedBytes = Seal(key, clear, purpose);
        var id = Encoding.ASCII.GetBytes(key.Id);
        return [BinaryMarker, (byte)id.Length, .. id, .. sealedBytes];
    }

    /// <summary>True when <paramref name="stored"/> is a sealed binary value (a clear key is exactly 32 bytes).</summary>
    public static bool IsSealed(ReadOnlySpan<byte> stored) =>
        stored.Length > 2 + IvLength + TagLength && stored[0] == BinaryMarker && stored.Length != 32;

    /// <summary>The clear bytes of a stored binary value: opened when sealed, as is when clear.</summary>
    public byte[] OpenBytes(byte[] stored, string purpose)
    {
        if (!IsSealed(stored)) return stored;
        var idLength = stored[1];
        if (stored.Length < 2 + idLength + IvLength + TagLength)
            throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is malformed.");
        var id = Encoding.ASCII.GetString(stored, 2, idLength);
        return Open(id, stored.AsSpan(2 + idLength).ToArray(), purpose);
    }

    /// <summary>
    /// Opens a sealed binary value into <paramref name="clear"/> without allocating (large values read in chunks);
    /// returns the clear length. Throws <see cref="KeyEncryptionKeyException"/> when it is not sealed, does not open, or
    /// <paramref name="clear"/> is too small.
    /// </summary>
    public int OpenBytes(ReadOnlySpan<byte> stored, Span<byte> clear, string purpose)
    {
        if (!IsSealed(stored) || stored.Length < 2 + stored[1] + IvLength + TagLength)
            throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is malformed.");
        return OpenInto(Encoding.ASCII.GetString(stored.Slice(2, stored[1])), stored[(2 + stored[1])..], clear, purpose);
    }

    /// <summary>The id of the key that sealed a binary value, or null when it is clear.</summary>
    public static string? SealedBy(byte[] stored) =>
        IsSealed(stored) && stored.Length >= 2 + stored[1] ? Encoding.ASCII.GetString(stored, 2, stored[1]) : null;

    /// <summary>True when a stored value must be (re)sealed: it is clear, or sealed by a key other than the primary.</summary>
    public bool NeedsReseal(string stored) => SealedBy(stored) != PrimaryId;

    /// <inheritdoc cref="NeedsReseal(string)"/>
    public bool NeedsReseal(byte[] stored) => SealedBy(stored) != PrimaryId;

    // ---------------------------------------------------------------- core

    private static byte[] Seal(Kek key, ReadOnlySpan<byte> clear, string purpose)
    {
        var aad = Encoding.UTF8.GetBytes(purpose);
        var output = new byte[IvLength + clear.Length + TagLength];
        var iv = output.AsSpan(0, IvLength);
        // Synthetic IV: HMAC-SHA256(IV key, len(aad) ‖ aad ‖ clear), truncated. With a keyed HMAC kept per thread (not
        // the one-shot HMACSHA256.HashData, which sets the key up each call and does not scale across threads).
        var hmac = key.IvMac;
        Span<byte> length = stackalloc byte[4];
        BitConverter.TryWriteBytes(length, aad.Length);
        hmac.AppendData(length);
        hmac.AppendData(aad);
        hmac.AppendData(clear);
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        mac[..IvLength].CopyTo(iv);
        key.Gcm.Encrypt(iv, clear, output.AsSpan(IvLength, clear.Length), output.AsSpan(IvLength + clear.Length), aad);
        return output;
    }

    private byte[] Open(string id, byte[] data, string purpose)
    {
        if (data.Length < IvLength + TagLength) throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is malformed.");
        var clear = new byte[data.Length - IvLength - TagLength];
        OpenInto(id, data, clear, purpose);
        return clear;
    }

    /// <summary>Opens IV ‖ ciphertext ‖ tag (at least IV + tag long) into <paramref name="clear"/>; returns the clear length.</summary>
    private int OpenInto(string id, ReadOnlySpan<byte> data, Span<byte> clear, string purpose)
    {
        var length = data.Length - IvLength - TagLength;
        if (clear.Length < length) throw new KeyEncryptionKeyException($"A sealed value for {PurposeName(purpose)} is larger than expected.");
        var key = Find(id);
        try
        {
            key.Gcm.Decrypt(data[..IvLength], data.Slice(IvLength, length), data[(IvLength + length)..], clear[..length], Encoding.UTF8.GetBytes(purpose));
        }
        catch (CryptographicException)
        {
            throw new KeyEncryptionKeyException(
                $"A sealed value for {PurposeName(purpose)} does not open with key-encryption key '{id}': wrong key, or the value was altered or moved.");
        }
        return length;
    }

    private Kek Find(string id)
    {
        if (_keys.ById.TryGetValue(id, out var key)) return key;
        if (SourceFile is not null)
        {
            // Rotated by the admin CLI while this process runs: the key file has the new key.
            lock (_reloadLock)
            {
                if (!_keys.ById.ContainsKey(id) && File.Exists(SourceFile))
                    _keys = new Keys(KeyEncryptionKeys.ReadKeyFile(SourceFile));
            }
            if (_keys.ById.TryGetValue(id, out key)) return key;
        }
        throw new KeyEncryptionKeyException(
            $"A stored secret is sealed with key-encryption key '{id}', which is not configured (configured: {string.Join(", ", Ids)}).");
    }

    private static string PurposeName(string purpose)
    {
        var colon = purpose.IndexOf(':');
        return colon < 0 ? purpose : purpose[..colon];
    }

    private sealed class Kek(string id, byte[] key)
    {
        public string Id { get; } = id;
        // AesGcm is not safe for concurrent use: one per thread, so sealing and opening run in parallel (a million salts).
        private readonly ThreadLocal<AesGcm> _gcm = new(() => new AesGcm(key, TagLength));

        public AesGcm Gcm => _gcm.Value!;

        /// <summary>The synthetic-IV key: HKDF of the KEK, so the KEK itself is used only for AES-GCM.</summary>
        public byte[] IvKey { get; } = HKDF.DeriveKey(HashAlgorithmName.SHA256, key, 32, info: "uid2 kek synthetic iv"u8.ToArray());

        // HMAC keyed with IvKey, one per thread (IncrementalHash is not thread-safe either).
        private ThreadLocal<IncrementalHash>? _ivMac;

        public IncrementalHash IvMac
        {
            get
            {
                var local = LazyInitializer.EnsureInitialized(ref _ivMac, () => new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, IvKey)));
                return local.Value!;
            }
        }
    }

    private sealed class Keys
    {
        public Keys(IReadOnlyList<(string Id, byte[] Key)> keys)
        {
            if (keys.Count == 0) throw new KeyEncryptionKeyException("No key-encryption key is configured.");
            All = keys.Select(k =>
            {
                if (k.Key.Length != 32) throw new KeyEncryptionKeyException($"Key-encryption key '{k.Id}' is not 32 bytes.");
                if (!KeyEncryptionKeys.IsValidId(k.Id)) throw new KeyEncryptionKeyException($"Key-encryption key id '{k.Id}' is not 1-32 letters, digits or '-'.");
                return new Kek(k.Id, k.Key);
            }).ToArray();
            ById = All.GroupBy(k => k.Id).ToDictionary(g => g.Key, g => g.First());
        }

        public Kek[] All { get; }
        public Kek Primary => All[0];
        public Dictionary<string, Kek> ById { get; }
    }
}

/// <summary>A key-encryption key is missing, malformed or does not open a stored secret. The message names key ids, never keys.</summary>
public sealed class KeyEncryptionKeyException(string message) : InvalidOperationException(message);
