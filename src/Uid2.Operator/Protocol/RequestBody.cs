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
        var writer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and var len ? (int)len : 512);
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
        var text = Encoding.ASCII.GetString(body).Trim();
        bytes = new byte[text.Length / 4 * 3 + 3];
        if (Convert.TryFromBase64String(text, bytes, out var written))
        {
            bytes = bytes.AsSpan(0, written).ToArray();
            return true;
        }
        bytes = [];
        return false;
    }
}
