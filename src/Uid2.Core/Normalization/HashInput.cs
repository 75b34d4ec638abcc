namespace Uid2.Core.Normalization;

/// <summary>
/// Parses a client-supplied SHA-256 (<c>email_hash</c> / <c>phone_hash</c>): either 44 characters of standard padded
/// base64 or 64 hex digits (either case), decoding to exactly 32 bytes.
/// </summary>
/// <remarks>
/// Deviation from the Java reference, which accepts any 44-char string its base64 decoder takes (so also 31- or 33-byte
/// values such as <c>"...=="</c> or unpadded 44 chars): here only an exact 32-byte SHA-256 is accepted.
/// The unused low bits of the last base64 character are ignored, as in the reference.
/// </remarks>
public static class HashInput
{
    public const int HashLength = 32;
    public const int Base64Length = 44;
    public const int HexLength = 64;

    /// <summary>Decodes into the first 32 bytes of <paramref name="destination32"/>; false (and nothing promised about the destination) when invalid.</summary>
    public static bool TryParse(string? text, Span<byte> destination32) => text is not null && TryParse(text.AsSpan(), destination32);

    /// <inheritdoc cref="TryParse(string?, Span{byte})"/>
    public static bool TryParse(ReadOnlySpan<char> text, Span<byte> destination32)
    {
        if (destination32.Length < HashLength) return false;
        return text.Length switch
        {
            Base64Length => TryDecodeBase64(text, destination32),
            HexLength => TryDecodeHex(text, destination32),
            _ => false,
        };
    }

    private static bool TryDecodeBase64(ReadOnlySpan<char> text, Span<byte> dest)
    {
        // 43 alphabet chars (258 bits, the last 2 unused) followed by exactly one '='.
        if (text[43] != '=') return false;
        int o = 0, acc = 0, bits = 0;
        for (var i = 0; i < 43; i++)
        {
            var v = Base64Value(text[i]);
            if (v < 0) return false;
            acc = (acc << 6) | v;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                dest[o++] = (byte)(acc >> bits);
                acc &= (1 << bits) - 1;
            }
        }
        return o == HashLength;
    }

    private static int Base64Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '+' => 62,
        '/' => 63,
        _ => -1,
    };

    private static bool TryDecodeHex(ReadOnlySpan<char> text, Span<byte> dest)
    {
        for (var i = 0; i < HashLength; i++)
        {
            var hi = HexValue(text[2 * i]);
            var lo = HexValue(text[2 * i + 1]);
            if ((hi | lo) < 0) return false;
            dest[i] = (byte)((hi << 4) | lo);
        }
        return true;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
