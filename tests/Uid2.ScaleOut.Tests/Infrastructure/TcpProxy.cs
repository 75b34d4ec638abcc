using System.Net;
using System.Net.Sockets;

namespace Uid2.ScaleOut.Infrastructure;

/// <summary>
/// A loopback TCP forwarder to stand between operators and PostgreSQL. <see cref="Cut"/> closes the listener and every
/// live connection (both sides), so the database looks down: new connections are refused, open ones break.
/// <see cref="Restore"/> listens again on the same port.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly object _gate = new();
    private readonly HashSet<TcpClient> _live = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _cts;
    private Task? _accepting;

    public TcpProxy(string targetHost, int targetPort)
    {
        var address = IPAddress.TryParse(targetHost, out var ip) ? ip : Dns.GetHostAddresses(targetHost).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        _target = new IPEndPoint(address, targetPort);
        Port = OperatorProcess.FreePort();
        Restore();
    }

    public int Port { get; }
    public bool IsOpen { get { lock (_gate) return _listener is not null; } }

    /// <summary>Connections currently forwarded (client side).</summary>
    public int LiveConnections { get { lock (_gate) return _live.Count; } }

    public void Restore()
    {
        lock (_gate)
        {
            if (_listener is not null) return;
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _cts = new CancellationTokenSource();
            _accepting = AcceptLoopAsync(listener, _cts.Token);
        }
    }

    public void Cut()
    {
        TcpClient[] live;
        lock (_gate)
        {
            if (_listener is null) return;
            _cts!.Cancel();
            _listener.Stop();
            _listener = null;
            live = [.. _live];
            _live.Clear();
        }
        foreach (var c in live) Close(c);
    }

    private async Task AcceptLoopAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(ct); }
            catch (Exception) { return; } // stopped
            _ = HandleAsync(client, ct);
        }
    }

    private async Task HandleAsync(TcpClient client, CancellationToken ct)
    {
        var upstream = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        lock (_gate)
        {
            if (ct.IsCancellationRequested) { Close(client); Close(upstream); return; }
            _live.Add(client);
            _live.Add(upstream);
        }
        try
        {
            await upstream.ConnectAsync(_target, ct);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var a = PumpAsync(client.GetStream(), upstream.GetStream(), linked.Token);
            var b = PumpAsync(upstream.GetStream(), client.GetStream(), linked.Token);
            await Task.WhenAny(a, b);
            linked.Cancel();
        }
        catch (Exception) { }
        finally
        {
            lock (_gate) { _live.Remove(client); _live.Remove(upstream); }
            Close(client);
            Close(upstream);
        }
    }

    private static async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken ct)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, ct)) > 0)
                await to.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        catch (Exception) { }
    }

    private static void Close(TcpClient c)
    {
        try { c.Client.LingerState = new LingerOption(true, 0); } catch (Exception) { } // RST: the peer sees the break at once
        try { c.Close(); } catch (Exception) { }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }
}
