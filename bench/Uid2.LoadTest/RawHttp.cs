using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

/// <summary>
/// A lean HTTP/1.1 client for the load test: one keep-alive TCP connection, requests written as bytes the caller has
/// prepared, responses parsed from one receive buffer (Content-Length or chunked bodies). It exists because the load
/// generator shares the machine's 2 cores with the server it measures: <c>HttpClient</c> spends several times the CPU
/// of this per request (request and response objects, header collections, a task per read), and every microsecond the
/// client takes is one the server does not get — which is what wrk, written in C, avoids. Not a general client: no
/// TLS, no redirects, no 1xx, no trailers beyond skipping them; a reply that closes the connection reconnects.
/// </summary>
sealed class RawConnection : IDisposable
{
    private readonly EndPoint _endPoint;
    private Socket _socket;
    private byte[] _receive = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start; // first unparsed byte in _receive
    private int _end;   // one past the last received byte
    private byte[] _body = ArrayPool<byte>.Shared.Rent(4 * 1024);

    private RawConnection(EndPoint endPoint, Socket socket)
    {
        _endPoint = endPoint;
        _socket = socket;
    }

    /// <summary>The last response's status code.</summary>
    public int Status { get; private set; }

    /// <summary>The last response's body (chunks joined); valid until the next response is read.</summary>
    public ReadOnlySpan<byte> Body => _body.AsSpan(0, BodyLength);

    /// <summary>The last response's body as a writable span (the caller may decode it in place).</summary>
    public Span<byte> BodyForWriting => _body.AsSpan(0, BodyLength);

    public int BodyLength { get; private set; }

    private bool _closeAfter;

    public static async Task<RawConnection> OpenAsync(Uri baseUrl)
    {
        var endPoint = new IPEndPoint(IPAddress.Parse(baseUrl.Host), baseUrl.Port);
        return new RawConnection(endPoint, await ConnectAsync(endPoint));
    }

    private static async Task<Socket> ConnectAsync(EndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    /// <summary>Sends a whole request (closed loop: the caller awaits <see cref="ReadResponseAsync"/> next).</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> request)
    {
        if (_closeAfter) await ReconnectAsync();
        while (!request.IsEmpty)
        {
            var sent = await _socket.SendAsync(request, SocketFlags.None);
            request = request[sent..];
        }
    }

    /// <summary>
    /// Sends a whole request from the calling thread (open loop: the pacer sends at each due time while this
    /// connection's reader waits for replies). A request of a few hundred bytes goes straight into the kernel's buffer.
    /// </summary>
    public void Send(ReadOnlySpan<byte> request)
    {
        while (!request.IsEmpty) request = request[_socket.Send(request, SocketFlags.None)..];
    }

    private async ValueTask ReconnectAsync()
    {
        _socket.Dispose();
        _socket = await ConnectAsync(_endPoint);
        _start = _end = 0;
        _closeAfter = false;
    }

    /// <summary>Reads one whole response; false if the server closed the connection first.</summary>
    public async ValueTask<bool> ReadResponseAsync()
    {
        // Head: up to the blank line.
        int headEnd;
        while ((headEnd = _receive.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
            if (!await ReceiveMoreAsync()) return false;
        var head = _receive.AsSpan(_start, headEnd);
        if (!ParseHead(head, out var contentLength, out var chunked)) return false;
        _start += headEnd + 4;
        BodyLength = 0;
        if (chunked)
        {
            while (true)
            {
                int lineEnd;
                while ((lineEnd = _receive.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
                    if (!await ReceiveMoreAsync()) return false;
                var sizeText = _receive.AsSpan(_start, lineEnd);
                var semicolon = sizeText.IndexOf((byte)';');
                if (semicolon >= 0) sizeText = sizeText[..semicolon];
                if (!Utf8Parser.TryParse(sizeText, out int size, out var used, 'x') || used != sizeText.Length) return false;
                _start += lineEnd + 2;
                if (size == 0)
                {
                    // Trailers (none expected) end with an empty line.
                    while (true)
                    {
                        while ((lineEnd = _receive.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
                            if (!await ReceiveMoreAsync()) return false;
                        _start += lineEnd + 2;
                        if (lineEnd == 0) break;
                    }
                    break;
                }
                if (!await TakeBodyAsync(size)) return false;
                while (_end - _start < 2)
                    if (!await ReceiveMoreAsync()) return false;
                _start += 2; // the chunk's CRLF
            }
        }
        else if (!await TakeBodyAsync(contentLength)) return false;
        if (_start == _end) _start = _end = 0;
        return true;
    }

    private bool ParseHead(ReadOnlySpan<byte> head, out int contentLength, out bool chunked)
    {
        contentLength = 0;
        chunked = false;
        // "HTTP/1.1 200 OK"
        if (head.Length < 12 || !head.StartsWith("HTTP/1."u8) || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _)) return false;
        Status = status;
        var firstEnd = head.IndexOf("\r\n"u8);
        var rest = firstEnd < 0 ? [] : head[(firstEnd + 2)..];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon < 0) continue;
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out _)) return false;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8)) chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8)) _closeAfter = Ascii.EqualsIgnoreCase(value, "close"u8);
        }
        return true;
    }

    /// <summary>Appends the next <paramref name="count"/> received bytes to the body.</summary>
    private async ValueTask<bool> TakeBodyAsync(int count)
    {
        if (BodyLength + count > _body.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(BodyLength + count);
            _body.AsSpan(0, BodyLength).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_body);
            _body = larger;
        }
        while (count > 0)
        {
            if (_start == _end && !await ReceiveMoreAsync()) return false;
            var take = Math.Min(count, _end - _start);
            _receive.AsSpan(_start, take).CopyTo(_body.AsSpan(BodyLength));
            BodyLength += take;
            _start += take;
            count -= take;
        }
        return true;
    }

    private async ValueTask<bool> ReceiveMoreAsync()
    {
        if (_start > 0)
        {
            // Keep the unparsed bytes at the front.
            _receive.AsSpan(_start, _end - _start).CopyTo(_receive);
            _end -= _start;
            _start = 0;
        }
        if (_end == _receive.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_receive.Length * 2);
            _receive.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_receive);
            _receive = larger;
        }
        int read;
        try
        {
            read = await _socket.ReceiveAsync(_receive.AsMemory(_end), SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            read = 0; // reset, or disposed by the load test at the end of a run
        }
        if (read == 0)
        {
            _closeAfter = true;
            return false;
        }
        _end += read;
        return true;
    }

    /// <summary>Closes the socket: a pending <see cref="ReadResponseAsync"/> ends with false (buffers kept until Dispose).</summary>
    public void Close() => _socket.Dispose();

    private bool _disposed;

    /// <summary>Closes the socket and returns the buffers (call once no read is pending).</summary>
    public void Dispose()
    {
        _socket.Dispose();
        if (_disposed) return;
        _disposed = true;
        ArrayPool<byte>.Shared.Return(_receive);
        ArrayPool<byte>.Shared.Return(_body);
    }
}

/// <summary>HTTP/1.1 request heads written as bytes into a caller's buffer.</summary>
static class RawRequest
{
    /// <summary>
    /// Writes <c>METHOD path HTTP/1.1</c>, Host, an optional bearer token and, for a body of
    /// <paramref name="contentLength"/> bytes (≥ 0), its Content-Length; returns the bytes written.
    /// </summary>
    public static int WriteHead(Span<byte> destination, string method, string path, string host, string? bearer, int contentLength)
    {
        var length = WriteAscii(destination, method);
        destination[length++] = (byte)' ';
        length += WriteAscii(destination[length..], path);
        length += WriteAscii(destination[length..], " HTTP/1.1\r\nHost: ");
        length += WriteAscii(destination[length..], host);
        if (bearer is not null)
        {
            length += WriteAscii(destination[length..], "\r\nAuthorization: Bearer ");
            length += WriteAscii(destination[length..], bearer);
        }
        if (contentLength >= 0)
        {
            length += WriteAscii(destination[length..], "\r\nContent-Type: text/plain\r\nContent-Length: ");
            Utf8Formatter.TryFormat(contentLength, destination[length..], out var digits);
            length += digits;
        }
        length += WriteAscii(destination[length..], "\r\n\r\n");
        return length;
    }

    /// <summary>An upper bound of <see cref="WriteHead"/>'s length.</summary>
    public static int MaxHeadLength(string path, string host, string? bearer) => 128 + path.Length + host.Length + (bearer?.Length ?? 0);

    private static int WriteAscii(Span<byte> destination, string text) => Encoding.ASCII.GetBytes(text, destination);
}
