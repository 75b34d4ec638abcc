using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Holds the current <see cref="OperatorState"/> and the opt-out index, and reloads them from the store.
/// Requests read <see cref="Current"/> without waiting on the database.
/// </summary>
public sealed class OperatorStateProvider
{
    private readonly IUid2Store _store;
    private readonly OperatorOptions _options;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private volatile OperatorState? _current;
    private long _lastSuccessfulSyncTicks;

    private readonly bool _allowDemoCredentials;

    public OperatorStateProvider(IUid2Store store, IOptions<OperatorOptions> options, IHostEnvironment environment)
    {
        _store = store;
        _options = options.Value;
        _allowDemoCredentials = environment.IsDevelopment();
    }

    /// <summary>
    /// Outside Development: the public demo credentials found in the last snapshot loaded (and left out of it), as
    /// "what" strings for one log line; empty when there were none.
    /// </summary>
    public IReadOnlyList<string> DisabledDemoCredentials { get; private set; } = [];

    public OptOutIndex OptOuts { get; } = new();

    /// <summary>The state requests are served from. Throws if the operator has not loaded yet (startup bug).</summary>
    public OperatorState Current => _current ?? throw new InvalidOperationException("Operator state is not loaded yet.");

    public bool IsLoaded => _current is not null;

    /// <summary>Null when the last sync with the store succeeded; else why it failed.</summary>
    public string? LastSyncError { get; private set; }

    public DateTimeOffset LastSuccessfulSync => new(Interlocked.Read(ref _lastSuccessfulSyncTicks), TimeSpan.Zero);

    /// <summary>How many opt-out rows one read takes.</summary>
    public const int OptOutPageSize = 500_000;

    /// <summary>Loads everything (keys, salts, participants, API keys) and the opt-outs not yet applied.</summary>
    public async Task ReloadAsync(CancellationToken ct)
    {
        await _reloadLock.WaitAsync(ct);
        try
        {
            var snapshot = await _store.LoadSnapshotAsync(includeOptOuts: false, ct);
            // A page at a time: at start-up, millions of rows never sit in memory as objects all at once.
            await IStoreOptOutPages.ReadAllAsync(_store, OptOuts.SyncFromId, OptOutPageSize, page =>
            {
                OptOuts.Apply(page);
                return Task.CompletedTask;
            }, ct);
            if (!_allowDemoCredentials)
            {
                snapshot = DemoCredentials.Remove(snapshot, _options.Demo, out var removed);
                DisabledDemoCredentials = removed;
            }
            _current = new OperatorState(snapshot, _options.IdentityScope);
            MarkSynced();
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    /// <summary>One poll: applies new opt-outs, and reloads the rest if the store's version moved.</summary>
    public async Task SyncAsync(CancellationToken ct)
    {
        try
        {
            var optOuts = await _store.LoadOptOutsAfterAsync(OptOuts.SyncFromId, ct);
            OptOuts.Apply(optOuts);
            var version = await _store.GetVersionAsync(ct);
            if (_current is null || version != _current.Version)
                await ReloadAsync(ct);
            else
                MarkSynced();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LastSyncError = ex.GetType().Name;
            throw;
        }
    }

    /// <summary>
    /// Whether an identity (by first-level hash) is opted out: recorded in the store or one of the always-opted-out
    /// test identities; the validate test identities never are.
    /// </summary>
    public bool IsOptedOut(OperatorState state, ReadOnlySpan<byte> firstLevelHash)
    {
        var tests = state.TestIdentities;
        if (tests is not null)
        {
            if (tests.IsValidateIdentity(firstLevelHash)) return false;
            if (tests.IsAlwaysOptedOut(firstLevelHash)) return true;
        }
        return OptOuts.IsOptedOut(firstLevelHash, out _);
    }

    /// <summary>Applies an opt-out this instance has just written, so it is honoured here at once.</summary>
    public void ApplyLocalOptOut(OptOutRecord record) => OptOuts.ApplyLocal(record);

    private void MarkSynced()
    {
        LastSyncError = null;
        Interlocked.Exchange(ref _lastSuccessfulSyncTicks, DateTimeOffset.UtcNow.UtcTicks);
    }
}
