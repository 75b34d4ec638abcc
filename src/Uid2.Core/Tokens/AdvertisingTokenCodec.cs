using Uid2.Core.Keys;

namespace Uid2.Core.Tokens;

/// <summary>
/// Encodes and decodes advertising tokens (protocol §3.1, §3.2). Decoding never throws for bad input:
/// every malformed, truncated or tampered token yields a failure status.
/// </summary>
public static class AdvertisingTokenCodec
{
    /// <summary>Wire byte 1 of a v3 token.</summary>
    public const byte V3VersionByte = 112;
    /// <summary>Wire byte 1 of a v4 token.</summary>
    public const byte V4VersionByte = 128;
    /// <summary>Wire byte 0 of a v2 token.</summary>
    public const byte V2VersionByte = 2;
    /// <summary>Length of a v2 token in bytes.</summary>
    public const int V2Length = 133;
    /// <summary>Length of a v3/v4 token with a 33-byte raw UID (163 with a 32-byte one).</summary>
    public const int V3Length = 164;
    public const int V3MinLength = 163;

    // v3/v4 layout
    private const int HeaderSize = 6;                       // identity byte, version, master key id
    private const int MasterFixedSize = 8 + 8 + OperatorIdentity.Size + 4; // 33: expires, created, operator, site key id
    private const int SiteFixedSize = 4 + 8 + 4 + 4 + 8 + 8;            // 36: site, publisher, client key, privacy, established, refreshed
    // v2 layout
    private const int V2UidTextLength = 44;
    private const int V2SitePlainLength = 4 + 4 + V2UidTextLength + 4 + 8;  // 64

    private const int MaxTokenChars = 240; // v3: 220, v4: 219, v2: 180

    /// <summary>Encodes a v4 token (base64url, no padding). Writes the given key ids.</summary>
    public static string EncodeV4(AdvertisingToken token, EncryptionKey masterKey, EncryptionKey siteKey)
    {
        Span<byte> bytes = stackalloc byte[V3Length];
        var n = EncodeGcm(token, masterKey, siteKey, V4VersionByte, bytes);
        return System.Buffers.Text.Base64Url.EncodeToString(bytes[..n]);
    }

    /// <summary>Encodes a v3 token (standard base64). Writes the given key ids.</summary>
    public static string EncodeV3(AdvertisingToken token, EncryptionKey masterKey, EncryptionKey siteKey)
    {
        Span<byte> bytes = stackalloc byte[V3Length];
        var n = EncodeGcm(token, masterKey, siteKey, V3VersionByte, bytes);
        return Convert.ToBase64String(bytes[..n]);
    }

    /// <summary>
    /// Encodes a legacy v2 token (AES-CBC, standard base64, 133 bytes). The raw UID is carried as its 44-char base64 text,
    /// so 32-byte (and, for completeness, 33-byte) raw UIDs are accepted. Scope/type are implied (UID2/email) and not written.
    /// </summary>
    public static string EncodeV2(AdvertisingToken token, EncryptionKey masterKey, EncryptionKey siteKey)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(masterKey);
        ArgumentNullException.ThrowIfNull(siteKey);
        var raw = token.RawUid ?? throw new ArgumentException("RawUid is required.", nameof(token));
        if (raw.Length is not (32 or 33)) throw new ArgumentException("RawUid must be 32 or 33 bytes.", nameof(token));

        Span<byte> site = stackalloc byte[V2SitePlainLength];
        Wire.I32(site, 0, token.SiteId);
        Wire.I32(site, 4, V2UidTextLength);
        Wire.EncodeBase64Utf8(raw, site.Slice(8, V2UidTextLength));
        Wire.I32(site, 8 + V2UidTextLength, token.PrivacyBits);
        Wire.I64(site, 12 + V2UidTextLength, Wire.Ms(token.Established));

        var siteEncLength = Aes256.CbcOutputLength(V2SitePlainLength);   // 96
        Span<byte> master = stackalloc byte[12 + siteEncLength];            // 108
        Wire.I64(master, 0, Wire.Ms(token.Expires));
        Wire.I32(master, 8, siteKey.Id);
        Aes256.CbcEncrypt(siteKey.Secret, site, master[12..]);

        Span<byte> bytes = stackalloc byte[5 + Aes256.CbcOutputLength(master.Length)]; // 133
        bytes[0] = V2VersionByte;
        Wire.I32(bytes, 1, masterKey.Id);
        Aes256.CbcEncrypt(masterKey.Secret, master, bytes[5..]);
        site.Clear();
        master.Clear();
        return Convert.ToBase64String(bytes);
    }

    private static int EncodeGcm(AdvertisingToken token, EncryptionKey masterKey, EncryptionKey siteKey, byte versionByte, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(masterKey);
        ArgumentNullException.ThrowIfNull(siteKey);
        var raw = token.RawUid ?? throw new ArgumentException("RawUid is required.", nameof(token));
        if (raw.Length is not (32 or 33)) throw new ArgumentException("RawUid must be 32 or 33 bytes.", nameof(token));
        if (!Normalization.IdentityKinds.TryGet(token.Type, out _))
            throw new ArgumentException($"Unknown identity type {token.Type}.", nameof(token));
        if (raw.Length == 33 && (IdentityByte.ScopeOf(raw[0]) != token.Scope || !IdentityByte.TryTypeOf(raw[0], out var rawType) || rawType != token.Type))
            throw new ArgumentException("The raw UID prefix does not match the token's scope/type.", nameof(token));

        var siteLength = SiteFixedSize + raw.Length;                      // 68/69
        Span<byte> site = stackalloc byte[SiteFixedSize + 33];
        site = site[..siteLength];
        Wire.I32(site, 0, token.SiteId);
        Wire.I64(site, 4, token.PublisherId);
        Wire.I32(site, 12, token.ClientKeyId);
        Wire.I32(site, 16, token.PrivacyBits);
        Wire.I64(site, 20, Wire.Ms(token.Established));
        Wire.I64(site, 28, Wire.Ms(token.Refreshed));
        raw.CopyTo(site[SiteFixedSize..]);

        var masterLength = MasterFixedSize + siteLength + Aes256.GcmOverhead; // 129/130
        Span<byte> master = stackalloc byte[MasterFixedSize + SiteFixedSize + 33 + Aes256.GcmOverhead];
        master = master[..masterLength];
        Wire.I64(master, 0, Wire.Ms(token.Expires));
        Wire.I64(master, 8, Wire.Ms(token.Created));
        WriteOperator(master, 16, token.Operator);
        Wire.I32(master, 29, siteKey.Id);
        Aes256.GcmEncrypt(siteKey, site, master[MasterFixedSize..]);

        var total = HeaderSize + masterLength + Aes256.GcmOverhead;        // 163/164
        destination[0] = IdentityByte.ForToken(token.Scope, token.Type);
        destination[1] = versionByte;
        Wire.I32(destination, 2, masterKey.Id);
        Aes256.GcmEncrypt(masterKey, master, destination[HeaderSize..total]);
        site.Clear();
        master.Clear();
        return total;
    }

    internal static void WriteOperator(Span<byte> s, int offset, OperatorIdentity op)
    {
        Wire.I32(s, offset, op.SiteId);
        s[offset + 4] = op.OperatorType;
        Wire.I32(s, offset + 5, op.OperatorVersion);
        Wire.I32(s, offset + 9, op.OperatorKeyId);
    }

    internal static OperatorIdentity ReadOperator(ReadOnlySpan<byte> s, int offset) =>
        new(Wire.I32(s, offset), s[offset + 4], Wire.I32(s, offset + 5), Wire.I32(s, offset + 9));

    /// <summary>
    /// Detects the version from the first 4 characters (§3.2): base64url if they contain '-' or '_', else base64;
    /// byte 0 == 2 → v2, byte 1 == 112 → v3, byte 1 == 128 → v4. Null when undecidable.
    /// </summary>
    public static TokenVersion? DetectVersion(ReadOnlySpan<char> token) =>
        Detect(token, out var version) == TokenDecodeStatus.Success ? version : null;

    private static TokenDecodeStatus Detect(ReadOnlySpan<char> token, out TokenVersion version) =>
        TryReadHeader(token, out version, out _);

    /// <summary>
    /// Reads a token's header from its first 4 characters: the version (§3.2) and byte 0 (for v3/v4 the identity byte,
    /// whose scope an SDK checks before any key lookup). <see cref="TokenDecodeStatus.VersionNotSupported"/> for an
    /// unknown version, <see cref="TokenDecodeStatus.InvalidPayload"/> for text that is not a token header.
    /// </summary>
    public static TokenDecodeStatus TryReadHeader(ReadOnlySpan<char> token, out TokenVersion version, out byte firstByte)
    {
        version = default;
        firstByte = 0;
        if (token.Length < 4) return TokenDecodeStatus.InvalidPayload;
        var head = token[..4];
        Span<byte> h = stackalloc byte[3];
        var ok = head.IndexOfAny('-', '_') >= 0
            ? Wire.TryDecodeBase64Url(head, h, out var n)
            : Wire.TryDecodeBase64(head, h, out n);
        if (!ok || n < 1) return TokenDecodeStatus.InvalidPayload;
        firstByte = h[0];
        if (h[0] == V2VersionByte) { version = TokenVersion.V2; return TokenDecodeStatus.Success; }
        if (n < 2) return TokenDecodeStatus.InvalidPayload;
        if (h[1] == V3VersionByte) { version = TokenVersion.V3; return TokenDecodeStatus.Success; }
        if (h[1] == V4VersionByte) { version = TokenVersion.V4; return TokenDecodeStatus.Success; }
        return TokenDecodeStatus.VersionNotSupported;
    }

    /// <summary>
    /// Decodes a v2, v3 or v4 advertising token, decrypting both layers with keys looked up by id.
    /// Unknown master key → <see cref="TokenDecodeStatus.UnknownMasterKey"/>; unknown site key → <see cref="TokenDecodeStatus.UnknownSiteKey"/>;
    /// a header identity byte that disagrees with a 33-byte raw UID's prefix → <see cref="TokenDecodeStatus.InvalidIdentityScope"/>.
    /// Expiry is not checked here.
    /// </summary>
    public static TokenDecodeStatus TryDecode(ReadOnlySpan<char> token, IKeyLookup keys, out AdvertisingToken? result)
    {
        var status = TryDecodeFields(token, keys, out var fields);
        result = status == TokenDecodeStatus.Success ? fields.ToAdvertisingToken() : null;
        return status;
    }

    /// <summary>As <see cref="TryDecode(ReadOnlySpan{char}, IKeyLookup, out AdvertisingToken?)"/>, without allocating: the fields come back by value.</summary>
    public static TokenDecodeStatus TryDecodeFields(ReadOnlySpan<char> token, IKeyLookup keys, out DecodedAdvertisingToken result)
    {
        result = default;
        if (keys is null) return TokenDecodeStatus.UnknownMasterKey;
        var status = Detect(token, out var version);
        if (status != TokenDecodeStatus.Success) return status;
        if (token.Length > MaxTokenChars) return TokenDecodeStatus.InvalidPayload;
        return version == TokenVersion.V2
            ? DecodeV2(token, keys, out result)
            : DecodeGcm(token, version, keys, out result);
    }

    private static TokenDecodeStatus DecodeGcm(ReadOnlySpan<char> token, TokenVersion version, IKeyLookup keys, out DecodedAdvertisingToken result)
    {
        result = default;
        Span<byte> bytes = stackalloc byte[MaxTokenChars];
        var ok = version == TokenVersion.V4
            ? Wire.TryDecodeBase64Url(token, bytes, out var n)
            : Wire.TryDecodeBase64(token, bytes, out n);
        if (!ok || n is not (V3MinLength or V3Length)) return TokenDecodeStatus.InvalidPayload;
        bytes = bytes[..n];

        var masterKey = keys.GetById(Wire.I32(bytes, 2));
        if (masterKey is null) return TokenDecodeStatus.UnknownMasterKey;

        var masterLength = n - HeaderSize - Aes256.GcmOverhead;            // 129/130
        Span<byte> master = stackalloc byte[V3Length - HeaderSize - Aes256.GcmOverhead];
        master = master[..masterLength];
        if (!Aes256.TryGcmDecrypt(masterKey, bytes[HeaderSize..], master)) return TokenDecodeStatus.InvalidPayload;

        var expiresMs = Wire.I64(master, 0);
        var createdMs = Wire.I64(master, 8);
        var op = ReadOperator(master, 16);
        var siteKeyId = Wire.I32(master, 29);
        var siteKey = keys.GetById(siteKeyId);
        if (siteKey is null) { master.Clear(); return TokenDecodeStatus.UnknownSiteKey; }

        var siteLength = masterLength - MasterFixedSize - Aes256.GcmOverhead; // 68/69
        Span<byte> site = stackalloc byte[SiteFixedSize + 33];
        site = site[..siteLength];
        var decrypted = Aes256.TryGcmDecrypt(siteKey, master[MasterFixedSize..], site);
        master.Clear();
        if (!decrypted) return TokenDecodeStatus.InvalidPayload;

        var raw = site[SiteFixedSize..];
        var header = bytes[0];
        if (raw.Length == 33)
        {
            // The raw UID's prefix is authenticated: a type the protocol does not define there is a malformed token.
            if (!IdentityByte.TryTypeOf(raw[0], out var rawType))
            {
                site.Clear();
                return TokenDecodeStatus.InvalidPayload;
            }
            if (header != IdentityByte.ForToken(IdentityByte.ScopeOf(raw[0]), rawType))
            {
                site.Clear();
                return TokenDecodeStatus.InvalidIdentityScope;
            }
        }
        // A 32-byte raw UID carries no scope/type; the (unauthenticated) header byte is then the only source, as in the
        // SDKs, and a type it does not define is a malformed token (never read as email).
        if (!IdentityByte.TryTypeOf(header, out var type))
        {
            site.Clear();
            return TokenDecodeStatus.InvalidPayload;
        }

        if (!Wire.TryFromMs(expiresMs, out var expires) || !Wire.TryFromMs(createdMs, out var created)
            || !Wire.TryFromMs(Wire.I64(site, 20), out var established) || !Wire.TryFromMs(Wire.I64(site, 28), out var refreshed))
        {
            site.Clear();
            return TokenDecodeStatus.InvalidPayload;
        }

        result.Version = version;
        result.Scope = IdentityByte.ScopeOf(header);
        result.Type = type;
        raw.CopyTo(result.RawUidBytes);
        result.RawUidLength = raw.Length;
        result.SiteId = Wire.I32(site, 0);
        result.PublisherId = Wire.I64(site, 4);
        result.ClientKeyId = Wire.I32(site, 12);
        result.PrivacyBits = Wire.I32(site, 16);
        result.Expires = expires;
        result.Created = created;
        result.Established = established;
        result.Refreshed = refreshed;
        result.Operator = op;
        result.MasterKeyId = masterKey.Id;
        result.SiteKeyId = siteKeyId;
        site.Clear();
        return TokenDecodeStatus.Success;
    }

    private static TokenDecodeStatus DecodeV2(ReadOnlySpan<char> token, IKeyLookup keys, out DecodedAdvertisingToken result)
    {
        result = default;
        Span<byte> bytes = stackalloc byte[MaxTokenChars];
        if (!Wire.TryDecodeBase64(token, bytes, out var n) || n != V2Length) return TokenDecodeStatus.InvalidPayload;
        bytes = bytes[..n];

        var masterKeyId = Wire.I32(bytes, 1);
        var masterKey = keys.GetById(masterKeyId);
        if (masterKey is null) return TokenDecodeStatus.UnknownMasterKey;

        Span<byte> master = stackalloc byte[V2Length];
        if (!Aes256.TryCbcDecrypt(masterKey.Secret, bytes[5..], master, out var masterLength) || masterLength < 12)
            return TokenDecodeStatus.InvalidPayload;
        master = master[..masterLength];

        var expiresMs = Wire.I64(master, 0);
        var siteKeyId = Wire.I32(master, 8);
        var siteKey = keys.GetById(siteKeyId);
        if (siteKey is null) { master.Clear(); return TokenDecodeStatus.UnknownSiteKey; }

        Span<byte> site = stackalloc byte[V2Length];
        var decrypted = Aes256.TryCbcDecrypt(siteKey.Secret, master[12..], site, out var siteLength);
        master.Clear();
        if (!decrypted || siteLength != V2SitePlainLength || Wire.I32(site, 4) != V2UidTextLength)
        {
            site.Clear();
            return TokenDecodeStatus.InvalidPayload;
        }
        site = site[..siteLength];

        Span<byte> raw = stackalloc byte[34];
        if (!Wire.TryDecodeBase64Utf8(site.Slice(8, V2UidTextLength), raw, out var rawLength) || rawLength is not (32 or 33)
            || !Wire.TryFromMs(expiresMs, out var expires) || !Wire.TryFromMs(Wire.I64(site, 12 + V2UidTextLength), out var established))
        {
            site.Clear();
            return TokenDecodeStatus.InvalidPayload;
        }
        raw = raw[..rawLength];
        // A v2 token's 32-byte raw UID is UID2/email by definition; a 33-byte one states its type, which must be one the protocol defines.
        var type = IdentityType.Email;
        if (rawLength == 33 && !IdentityByte.TryTypeOf(raw[0], out type))
        {
            site.Clear();
            return TokenDecodeStatus.InvalidPayload;
        }

        result.Version = TokenVersion.V2;
        result.Scope = rawLength == 33 ? IdentityByte.ScopeOf(raw[0]) : IdentityScope.Uid2;
        result.Type = type;
        raw.CopyTo(result.RawUidBytes);
        result.RawUidLength = rawLength;
        result.SiteId = Wire.I32(site, 0);
        result.PrivacyBits = Wire.I32(site, 8 + V2UidTextLength);
        result.Expires = expires;
        result.Created = established;
        result.Established = established;
        result.Refreshed = established;
        result.Operator = OperatorIdentity.Default;
        result.MasterKeyId = masterKeyId;
        result.SiteKeyId = siteKeyId;
        site.Clear();
        return TokenDecodeStatus.Success;
    }
}
