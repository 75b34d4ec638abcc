using Uid2.Core.Keys;

namespace Uid2.Core.Tokens;

/// <summary>
/// Encodes and decodes the inner refresh token (§3.3). v3 is what the operator issues (124 bytes, 168 base64 chars);
/// v2 is legacy (AES-CBC) and supported for decoding and tests. Decoding never throws for bad input.
/// </summary>
public static class RefreshTokenCodec
{
    public const byte V3VersionByte = 112;
    public const byte V2VersionByte = 2;
    /// <summary>Bytes of a v3 refresh token.</summary>
    public const int V3Length = 124;
    /// <summary>Bytes of a v2 refresh token (with a 32-byte first-level hash).</summary>
    public const int V2Length = 125;
    /// <summary>Base64 characters of a v3 (and v2) refresh token.</summary>
    public const int EncodedLength = 168;

    private const int V3PayloadLength = 90;
    private const int V2HeaderLength = 29;
    private const int HashTextLength = 44;
    private const int V2PlainLength = 4 + 4 + HashTextLength + 4 + 8; // 64
    private const int MaxTokenChars = 200;

    /// <summary>Encodes a v3 refresh token with the refresh key; returns 168 base64 chars.</summary>
    public static string EncodeV3(RefreshToken token, EncryptionKey refreshKey)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(refreshKey);
        if (token.FirstLevelHash is not { Length: 32 }) throw new ArgumentException("FirstLevelHash must be 32 bytes.", nameof(token));
        if (!Normalization.IdentityKinds.TryGet(token.Type, out _)) throw new ArgumentException($"Unknown identity type {token.Type}.", nameof(token));
        var identity = IdentityByte.ForToken(token.Scope, token.Type);

        Span<byte> payload = stackalloc byte[V3PayloadLength];
        Wire.I64(payload, 0, Wire.Ms(token.Expires));
        Wire.I64(payload, 8, Wire.Ms(token.Created));
        AdvertisingTokenCodec.WriteOperator(payload, 16, token.Operator);
        Wire.I32(payload, 29, token.SiteId);
        Wire.I64(payload, 33, token.PublisherId);
        Wire.I32(payload, 41, token.ClientKeyId);
        Wire.I32(payload, 45, token.PrivacyBits);
        Wire.I64(payload, 49, Wire.Ms(token.Established));
        payload[57] = identity;
        token.FirstLevelHash.CopyTo(payload[58..]);

        Span<byte> bytes = stackalloc byte[V3Length];
        bytes[0] = identity;
        bytes[1] = V3VersionByte;
        Wire.I32(bytes, 2, refreshKey.Id);
        Aes256.GcmEncrypt(refreshKey, payload, bytes[6..]);
        payload.Clear();
        return Convert.ToBase64String(bytes);
    }

    /// <summary>Encodes a legacy v2 refresh token (UID2/email implied). Writes expires and valid-till = expires + 60 s.</summary>
    public static string EncodeV2(RefreshToken token, EncryptionKey refreshKey)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(refreshKey);
        if (token.FirstLevelHash is not { Length: 32 }) throw new ArgumentException("FirstLevelHash must be 32 bytes.", nameof(token));

        Span<byte> plain = stackalloc byte[V2PlainLength];
        Wire.I32(plain, 0, token.SiteId);
        Wire.I32(plain, 4, HashTextLength);
        Wire.EncodeBase64Utf8(token.FirstLevelHash, plain.Slice(8, HashTextLength));
        Wire.I32(plain, 8 + HashTextLength, token.PrivacyBits);
        Wire.I64(plain, 12 + HashTextLength, Wire.Ms(token.Established));

        Span<byte> bytes = stackalloc byte[V2HeaderLength + Aes256.CbcOutputLength(V2PlainLength)]; // 125
        bytes[0] = V2VersionByte;
        Wire.I64(bytes, 1, Wire.Ms(token.Created));
        Wire.I64(bytes, 9, Wire.Ms(token.Expires));
        Wire.I64(bytes, 17, Wire.Ms(token.Expires.AddSeconds(60)));
        Wire.I32(bytes, 25, refreshKey.Id);
        Aes256.CbcEncrypt(refreshKey.Secret, plain, bytes[V2HeaderLength..]);
        plain.Clear();
        return Convert.ToBase64String(bytes);
    }

    /// <summary>
    /// Decodes a v3 (byte 1 == 112) or v2 (byte 0 == 2) refresh token. Unknown key → <see cref="TokenDecodeStatus.UnknownRefreshKey"/>;
    /// header identity byte ≠ inner identity byte → <see cref="TokenDecodeStatus.InvalidIdentityScope"/>. Expiry is not checked here.
    /// </summary>
    public static TokenDecodeStatus TryDecode(ReadOnlySpan<char> token, IKeyLookup keys, out RefreshToken? result)
    {
        result = null;
        if (keys is null) return TokenDecodeStatus.UnknownRefreshKey;
        if (token.Length > MaxTokenChars) return TokenDecodeStatus.InvalidPayload;
        Span<byte> bytes = stackalloc byte[MaxTokenChars];
        if (!Wire.TryDecodeBase64(token, bytes, out var n) || n < 2) return TokenDecodeStatus.InvalidPayload;
        bytes = bytes[..n];
        if (bytes[1] == V3VersionByte) return DecodeV3(bytes, keys, out result);
        if (bytes[0] == V2VersionByte) return DecodeV2(bytes, keys, out result);
        return TokenDecodeStatus.VersionNotSupported;
    }

    private static TokenDecodeStatus DecodeV3(ReadOnlySpan<byte> bytes, IKeyLookup keys, out RefreshToken? result)
    {
        result = null;
        if (bytes.Length != V3Length) return TokenDecodeStatus.InvalidPayload;
        var keyId = Wire.I32(bytes, 2);
        var key = keys.GetById(keyId);
        if (key is null) return TokenDecodeStatus.UnknownRefreshKey;

        Span<byte> p = stackalloc byte[V3PayloadLength];
        if (!Aes256.TryGcmDecrypt(key, bytes[6..], p)) return TokenDecodeStatus.InvalidPayload;
        try
        {
            if (p[57] != bytes[0]) return TokenDecodeStatus.InvalidIdentityScope;
            // The 2-bit type field: a type the protocol does not define is a malformed token, never email.
            if (!IdentityByte.TryTypeOf(p[57], out var type)) return TokenDecodeStatus.InvalidPayload;
            if (!Wire.TryFromMs(Wire.I64(p, 0), out var expires) || !Wire.TryFromMs(Wire.I64(p, 8), out var created)
                || !Wire.TryFromMs(Wire.I64(p, 49), out var established))
                return TokenDecodeStatus.InvalidPayload;

            result = new RefreshToken
            {
                Version = 3,
                Scope = IdentityByte.ScopeOf(p[57]),
                Type = type,
                FirstLevelHash = p[58..].ToArray(),
                SiteId = Wire.I32(p, 29),
                PublisherId = Wire.I64(p, 33),
                ClientKeyId = Wire.I32(p, 41),
                PrivacyBits = Wire.I32(p, 45),
                Created = created,
                Expires = expires,
                Established = established,
                Operator = AdvertisingTokenCodec.ReadOperator(p, 16),
                KeyId = keyId,
            };
            return TokenDecodeStatus.Success;
        }
        finally
        {
            p.Clear();
        }
    }

    private static TokenDecodeStatus DecodeV2(ReadOnlySpan<byte> bytes, IKeyLookup keys, out RefreshToken? result)
    {
        result = null;
        if (bytes.Length != V2Length) return TokenDecodeStatus.InvalidPayload;
        var keyId = Wire.I32(bytes, 25);
        var key = keys.GetById(keyId);
        if (key is null) return TokenDecodeStatus.UnknownRefreshKey;

        Span<byte> p = stackalloc byte[V2Length];
        if (!Aes256.TryCbcDecrypt(key.Secret, bytes[V2HeaderLength..], p, out var length)) return TokenDecodeStatus.InvalidPayload;
        try
        {
            Span<byte> hash = stackalloc byte[33];
            if (length != V2PlainLength || Wire.I32(p, 4) != HashTextLength
                || !Wire.TryDecodeBase64Utf8(p.Slice(8, HashTextLength), hash, out var hashLength) || hashLength != 32
                || !Wire.TryFromMs(Wire.I64(bytes, 1), out var created) || !Wire.TryFromMs(Wire.I64(bytes, 17), out var validTill)
                || !Wire.TryFromMs(Wire.I64(p, 12 + HashTextLength), out var established))
                return TokenDecodeStatus.InvalidPayload;

            result = new RefreshToken
            {
                Version = 2,
                Scope = IdentityScope.Uid2,
                Type = IdentityType.Email,
                FirstLevelHash = hash[..32].ToArray(),
                SiteId = Wire.I32(p, 0),
                PrivacyBits = Wire.I32(p, 8 + HashTextLength),
                Created = created,
                Expires = validTill,
                Established = established,
                Operator = OperatorIdentity.Default,
                KeyId = keyId,
            };
            return TokenDecodeStatus.Success;
        }
        finally
        {
            p.Clear();
        }
    }
}
