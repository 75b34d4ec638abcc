using System.Text.Json;
using Uid2.Core.Keys;

namespace Uid2.Core.Tokens;

/// <summary>
/// The v2 refresh-token wrapper (§2.1): base64 of scope byte · refresh key id (4) · AES-GCM(IV ‖ JSON ‖ tag), exactly 388 chars,
/// where JSON = <c>{"refresh_response_key":"&lt;b64 32 bytes&gt;","refresh_token":"&lt;inner 168-char token&gt;"}</c>.
/// </summary>
public static class RefreshTokenWrapper
{
    /// <summary>Base64 length of every wrapper.</summary>
    public const int WrappedLength = 388;
    /// <summary>Decoded byte length of every wrapper.</summary>
    public const int WrappedBytes = 291;
    /// <summary>Size of the refresh response key.</summary>
    public const int ResponseKeyLength = 32;

    private const int HeaderLength = 5;
    private static ReadOnlySpan<byte> JsonPrefix => "{\"refresh_response_key\":\""u8;
    private static ReadOnlySpan<byte> JsonMiddle => "\",\"refresh_token\":\""u8;
    private static ReadOnlySpan<byte> JsonSuffix => "\"}"u8;
    private const int KeyTextLength = 44;
    private static int FixedJsonLength => JsonPrefix.Length + KeyTextLength + JsonMiddle.Length + JsonSuffix.Length; // 90

    /// <summary>
    /// Wraps an inner refresh token. Throws <see cref="InvalidOperationException"/> if the result would not be exactly
    /// <see cref="WrappedLength"/> chars (i.e. the inner token is not 168 chars) — a bug, not bad input.
    /// </summary>
    public static string Wrap(string innerRefreshToken, ReadOnlySpan<byte> refreshResponseKey, EncryptionKey refreshKey, IdentityScope scope)
    {
        ArgumentNullException.ThrowIfNull(innerRefreshToken);
        ArgumentNullException.ThrowIfNull(refreshKey);
        if (refreshResponseKey.Length != ResponseKeyLength)
            throw new ArgumentException("The refresh response key must be 32 bytes.", nameof(refreshResponseKey));

        var jsonLength = FixedJsonLength + innerRefreshToken.Length;
        var wrappedBytes = HeaderLength + jsonLength + Aes256.GcmOverhead;
        if (wrappedBytes != WrappedBytes)
        {
            // (a 167-char inner token would also give 388 chars, with padding; only the exact 291-byte layout is produced)
            var wrappedChars = (wrappedBytes + 2) / 3 * 4;
            throw new InvalidOperationException(
                $"Generated refresh token's length={wrappedChars} ({wrappedBytes} bytes) is not equal to={WrappedLength} ({WrappedBytes} bytes); the inner refresh token must be 168 chars.");
        }
        foreach (var c in innerRefreshToken)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=' or '-' or '_'))
                throw new InvalidOperationException("The inner refresh token is not base64 text.");
        }

        Span<byte> json = stackalloc byte[jsonLength];
        var pos = 0;
        JsonPrefix.CopyTo(json); pos += JsonPrefix.Length;
        pos += Wire.EncodeBase64Utf8(refreshResponseKey, json[pos..]);
        JsonMiddle.CopyTo(json[pos..]); pos += JsonMiddle.Length;
        foreach (var c in innerRefreshToken) json[pos++] = (byte)c;
        JsonSuffix.CopyTo(json[pos..]);

        Span<byte> bytes = stackalloc byte[WrappedBytes];
        bytes[0] = (byte)((int)scope << 4);
        Wire.I32(bytes, 1, refreshKey.Id);
        Aes256.GcmEncrypt(refreshKey, json, bytes[HeaderLength..]);
        json.Clear();
        var text = Convert.ToBase64String(bytes);
        if (text.Length != WrappedLength)
            throw new InvalidOperationException($"Generated refresh token's length={text.Length} is not equal to={WrappedLength}");
        return text;
    }

    /// <summary>Unwraps a 388-char wrapper. False for anything malformed (length, base64, scope byte, unknown key, GCM, JSON).</summary>
    public static bool TryUnwrap(ReadOnlySpan<char> wrapped, IKeyLookup keys, out string? innerRefreshToken, out byte[]? refreshResponseKey) =>
        TryUnwrap(wrapped, keys, out innerRefreshToken, out refreshResponseKey, out _);

    /// <summary>As the four-argument overload, also returning the scope byte's scope.</summary>
    public static bool TryUnwrap(ReadOnlySpan<char> wrapped, IKeyLookup keys, out string? innerRefreshToken, out byte[]? refreshResponseKey, out IdentityScope scope)
    {
        innerRefreshToken = null;
        refreshResponseKey = null;
        scope = default;
        if (keys is null || wrapped.Length != WrappedLength) return false;

        Span<byte> bytes = stackalloc byte[WrappedBytes];
        if (!Wire.TryDecodeBase64(wrapped, bytes, out var n) || n != WrappedBytes) return false;
        if (bytes[0] is not (0x00 or 0x10)) return false;
        var key = keys.GetById(Wire.I32(bytes, 1));
        if (key is null) return false;

        Span<byte> json = stackalloc byte[WrappedBytes - HeaderLength - Aes256.GcmOverhead];
        if (!Aes256.TryGcmDecrypt(key, bytes[HeaderLength..], json)) return false;
        try
        {
            if (!TryParse(json, out var inner, out var responseKey)) return false;
            innerRefreshToken = inner;
            refreshResponseKey = responseKey;
            scope = IdentityByte.ScopeOf(bytes[0]);
            return true;
        }
        finally
        {
            json.Clear();
        }
    }

    private static bool TryParse(ReadOnlySpan<byte> json, out string? inner, out byte[]? responseKey)
    {
        inner = null;
        responseKey = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject) break;
                if (reader.TokenType != JsonTokenType.PropertyName) return false;
                if (reader.ValueTextEquals("refresh_response_key"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String || !reader.TryGetBytesFromBase64(out var k)) return false;
                    responseKey = k;
                }
                else if (reader.ValueTextEquals("refresh_token"u8))
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String) return false;
                    inner = reader.GetString();
                }
                else
                {
                    if (!reader.Read()) return false;
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        if (inner is null || responseKey is not { Length: ResponseKeyLength }) { inner = null; responseKey = null; return false; }
        return true;
    }
}
