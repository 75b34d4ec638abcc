using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Uid2.Tests.Shared;

/// <summary>A message as an SMTP client delivered it: envelope sender, recipients, and the raw message (RFC 5322).</summary>
public sealed record ReceivedMail(string From, IReadOnlyList<string> To, byte[] Data)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>
/// A real SMTP server on 127.0.0.1 (a free port) for tests, speaking enough of RFC 5321 for MailKit without TLS or
/// authentication: greeting, EHLO/HELO, MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP, QUIT. Every delivered
/// message is queued for <see cref="NextAsync"/>.
/// </summary>
public sealed class SmtpReceiver : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<ReceivedMail> _received = Channel.CreateUnbounded<ReceivedMail>();
    private readonly Task _accepting;
    private int _count;

    public SmtpReceiver()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Messages delivered so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The next delivered message; fails after <paramref name="timeout"/> (default 20 s).</summary>
    public async Task<ReceivedMail> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        return await _received.Reader.ReadAsync(cts.Token);
    }

    /// <summary>True if a message is waiting (delivered and not yet taken by <see cref="NextAsync"/>).</summary>
    public bool TryTake(out ReceivedMail? mail) => _received.Reader.TryRead(out mail);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1, false, 4096, leaveOpen: true);
            var writer = new StreamWriter(stream, Encoding.ASCII, 4096, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 localhost test SMTP ready");
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                var verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-localhost");
                        await writer.WriteLineAsync("250 8BITMIME");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 localhost");
                        break;
                    case "MAIL":
                        from = Address(line);
                        to.Clear();
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "RCPT":
                        to.Add(Address(line));
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "DATA":
                        if (from is null || to.Count == 0)
                        {
                            await writer.WriteLineAsync("503 need MAIL and RCPT first");
                            break;
                        }
                        await writer.WriteLineAsync("354 end with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(_stop.Token) is { } dataLine && dataLine != ".")
                            data.Append(dataLine.StartsWith('.') ? dataLine[1..] : dataLine).Append("\r\n");
                        await _received.Writer.WriteAsync(new ReceivedMail(from, to.ToArray(), Encoding.Latin1.GetBytes(data.ToString())));
                        Interlocked.Increment(ref _count);
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 OK queued");
                        break;
                    case "RSET":
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 command not implemented");
                        break;
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
    }

    private static string Address(string line)
    {
        var open = line.IndexOf('<');
        var close = line.IndexOf('>', open + 1);
        return open >= 0 && close > open ? line[(open + 1)..close] : line[(line.IndexOf(':') + 1)..].Trim();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
