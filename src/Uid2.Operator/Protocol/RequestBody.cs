using System.Buffers;

namespace Uid2.Operator.Protocol;

/// <summary>Reads request bodies within the protocol's 1 MiB limit.</summary>
public static class RequestBody
{
    public const int MaxBytes = 1 << 20;

    /// <summary>Reads the whole body into an array of its own. Returns null when it exceeds <see cref="MaxBytes"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        using var body = await ReadPooledAsync(request, ct);
        return body?.ToArray();
    }

    /// <summary>
    /// Reads the whole body into a pooled buffer (a large identity map is not a fresh large array per request). Returns
    /// null when it exceeds <see cref="MaxBytes"/>. The caller disposes the result.
    /// </summary>
    public static async Task<PooledBody?> ReadPooledAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBytes) return null;
        var announced = request.ContentLength is > 0 and var length ? (int)length : -1;
        var body = new PooledBody(announced > 0 ? announced : 4096);
        try
        {
            // With Content-Length framing the server never hands over more than announced: stop there.
            while (body.Length != announced)
            {
                if (body.Length == body.Buffer.Length)
                {
                    if (body.Length > MaxBytes) return null;
                    body.Grow();
                }
                var read = await request.Body.ReadAsync(body.Buffer.AsMemory(body.Length), ct);
                if (read == 0) break;
                body.Length += read;
                if (body.Length > MaxBytes) return null;
            }
            var result = body;
            body = null;
            return result;
        }
        finally
        {
            body?.Dispose();
        }
    }

    public static bool IsOctetStream(HttpRequest request) =>
        request.ContentType is { } ct && ct.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Decodes a base64 text body over itself, with the rules of <see cref="Convert.FromBase64String"/> (whitespace
    /// anywhere ignored, padding required). False, with the buffer's content unspecified, when it is not base64.
    /// </summary>
    public static bool TryDecodeBase64InPlace(Span<byte> body, out int written) =>
        System.Buffers.Text.Base64.DecodeFromUtf8InPlace(body, out written) == OperationStatus.Done;
}

/// <summary>
/// A request body in a buffer rented from the pool: <see cref="Buffer"/>[0..<see cref="Length"/>]. Disposing clears it (it
/// may hold identifiers once decrypted in place) and returns it.
/// </summary>
public sealed class PooledBody : IDisposable
{
    private byte[]? _buffer;

    internal PooledBody(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 16));

    public byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(PooledBody));
    public int Length { get; internal set; }
    public Span<byte> Span => Buffer.AsSpan(0, Length);

    /// <summary>A copy in a new array (for code that keeps the body).</summary>
    public byte[] ToArray() => Span.ToArray();

    internal void Grow()
    {
        var larger = ArrayPool<byte>.Shared.Rent(Buffer.Length * 2);
        Span.CopyTo(larger);
        ArrayPool<byte>.Shared.Return(Interlocked.Exchange(ref _buffer, larger)!, clearArray: true);
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null) ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
    }
}
