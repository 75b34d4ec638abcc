using System.Buffers;
using System.Text;

namespace Uid2.Operator.Protocol;

/// <summary>Reads request bodies within the protocol's 1 MiB limit.</summary>
public static class RequestBody
{
    public const int MaxBytes = 1 << 20;

    /// <summary>Reads the whole body. Returns null when it exceeds <see cref="MaxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes) return null;
        if (request.ContentLength is > 0 and var length)
        {
            // The usual case: the length is known, so the body goes straight into an array of that size (no second copy).
            var exact = new byte[(int)length];
            var filled = 0;
            while (filled < exact.Length)
            {
                var n = await request.Body.ReadAsync(exact.AsMemory(filled), ct);
                if (n == 0) return exact[..filled]; // shorter than announced: what came
                filled += n;
            }
            return exact; // with Content-Length framing the server never hands over more than announced
        }
        var writer = new ArrayBufferWriter<byte>(512);
        while (true)
        {
            var memory = writer.GetMemory(4096);
            var read = await request.Body.ReadAsync(memory, ct);
            if (read == 0) break;
            writer.Advance(read);
            if (writer.WrittenCount > MaxBytes) return null;
        }
        return writer.WrittenSpan.ToArray();
    }

    public static bool IsOctetStream(HttpRequest request) =>
        request.ContentType is { } ct && ct.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>Decodes a base64 text body (surrounding whitespace ignored).</summary>
    public static bool TryDecodeBase64(ReadOnlySpan<byte> body, out byte[] bytes)
    {
        // The rules of Convert.FromBase64String (whitespace anywhere ignored, padding required) on the ASCII text, in
        // pooled buffers: a large body (an identity map of thousands) is not copied into a string first.
        var chars = ArrayPool<char>.Shared.Rent(Math.Max(1, body.Length));
        var decoded = ArrayPool<byte>.Shared.Rent(body.Length / 4 * 3 + 3);
        try
        {
            var count = Encoding.ASCII.GetChars(body, chars);
            var text = chars.AsSpan(0, count).Trim();
            if (Convert.TryFromBase64Chars(text, decoded, out var written))
            {
                bytes = decoded.AsSpan(0, written).ToArray();
                return true;
            }
            bytes = [];
            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
            ArrayPool<byte>.Shared.Return(decoded, clearArray: true); // it held the sealed envelope, not secret, but cheap
        }
    }
}
