using System.Runtime.InteropServices;

namespace Uid2.Storage;

/// <summary>
/// Orders the opt-out write transactions of every process on one SQLite file, so they queue instead of colliding.
/// <para>
/// Without it, two operators' group commits meet on SQLite's write lock, and the loser's busy handler sleeps 1, 2, 5 …
/// up to 100 ms between tries (SQLite's built-in back-off; Microsoft.Data.Sqlite offers no other handler): a logout's
/// p99 becomes 100 ms while the lock was free again after a few. With it, a writer waits on an OS lock
/// (<c>flock</c> on <c>&lt;database&gt;.write-gate</c>) that wakes it the moment the other commits, then takes SQLite's
/// lock at once. In one process, writers queue on a semaphore first.
/// </para>
/// <para>
/// The gate only orders; SQLite's own locking still keeps every write correct. So a writer that waits longer than the
/// busy timeout goes ahead without the gate (and SQLite's busy handler takes over), and a platform without
/// <c>flock</c> (not Linux) or an in-memory store uses the semaphore alone.
/// </para>
/// </summary>
internal sealed class SqliteWriteGate : IDisposable
{
    private readonly SemaphoreSlim _inProcess = new(1, 1);
    private readonly TimeSpan _timeout;
    private readonly string? _path;
    private bool _opened;
    private int _fd = -1;
    private bool _disposed;

    public SqliteWriteGate(string? databasePath, TimeSpan timeout)
    {
        _timeout = timeout;
        _path = databasePath is null || !OperatingSystem.IsLinux() ? null : databasePath + ".write-gate";
    }

    /// <summary>Waits for this process's turn, then for the file's; dispose the result after the commit.</summary>
    public async ValueTask<IDisposable> EnterAsync(CancellationToken ct)
    {
        await _inProcess.WaitAsync(ct).ConfigureAwait(false);
        if (!_opened && !_disposed)
        {
            // Opened on the first write, not when the store is built (a read-only store, an admin command that only reads).
            _opened = true;
            try
            {
                // libc's open, not FileStream: .NET takes its own flock on the files it opens, which would conflict with ours.
                if (_path is not null) _fd = Open(_path, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0b110_000_000);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException)
            {
                _fd = -1;
            }
        }
        var fd = _fd;
        if (fd < 0) return new Pass(this, -1);
        if (Flock(fd, LockExclusive | LockNonBlocking) == 0) return new Pass(this, fd);
        // Another process holds it: block in flock on a thread of its own (woken when the holder commits).
        var wait = Task.Factory.StartNew(() => Flock(fd, LockExclusive), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (await Task.WhenAny(wait, Task.Delay(_timeout, ct)).ConfigureAwait(false) == wait && await wait.ConfigureAwait(false) == 0)
                return new Pass(this, fd);
        }
        catch (OperationCanceledException)
        {
            _ = wait.ContinueWith(t => { if (t.Result == 0) Flock(fd, LockUnlock); }, TaskScheduler.Default);
            _inProcess.Release();
            throw;
        }
        // Timed out (a stuck holder): go ahead ungated; SQLite's busy timeout decides. Let go of the gate when it comes.
        _ = wait.ContinueWith(t => { if (t.Result == 0) Flock(fd, LockUnlock); }, TaskScheduler.Default);
        return new Pass(this, -1);
    }

    public void Dispose()
    {
        _inProcess.Wait();
        try
        {
            _disposed = true;
            if (_fd >= 0) Close(_fd);
            _fd = -1;
        }
        finally
        {
            _inProcess.Release();
        }
    }

    private sealed class Pass(SqliteWriteGate gate, int fd) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0) return;
            if (fd >= 0) Flock(fd, LockUnlock);
            gate._inProcess.Release();
        }
    }

    private const int OpenReadWrite = 2, OpenCreate = 0x40, OpenCloseOnExec = 0x80000;
    private const int LockExclusive = 2, LockNonBlocking = 4, LockUnlock = 8;

    private static int Open(string path, int flags, int mode)
    {
        var fd = open(path, flags, mode);
        if (fd < 0) throw new IOException($"Cannot open the write gate beside the database (errno {Marshal.GetLastPInvokeError()}).");
        return fd;
    }

    private static int Flock(int fd, int operation)
    {
        int rc;
        do rc = flock(fd, operation);
        while (rc != 0 && Marshal.GetLastPInvokeError() == 4); // EINTR
        return rc;
    }

    // DllImport (runtime marshalling): LibraryImport's generated string marshalling needs unsafe code, which this repo keeps off.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, int mode);

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int flock(int fd, int operation);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
