using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Where the store can push changes (PostgreSQL LISTEN/NOTIFY), syncs as soon as one arrives instead of waiting for the
/// next poll; the poll in <see cref="StoreSyncService"/> still catches anything missed while the connection was down.
/// </summary>
public sealed class StoreChangeListener(IUid2Store store, OperatorStateProvider state, ILogger<StoreChangeListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store is not IStoreChangeNotifier notifier) return;
        var signal = new SemaphoreSlim(0, 1);
        var sync = SyncOnSignalAsync(signal, stoppingToken);
        var delay = TimeSpan.FromMilliseconds(250);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await notifier.ListenAsync(_ =>
                {
                    if (signal.CurrentCount == 0) try { signal.Release(); } catch (SemaphoreFullException) { }
                    return Task.CompletedTask;
                }, stoppingToken);
                delay = TimeSpan.FromMilliseconds(250);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Store notifications interrupted ({Error}); reconnecting in {Delay} ms.", ex.GetType().Name, (int)delay.TotalMilliseconds);
                try { await Task.Delay(delay, stoppingToken); } catch (OperationCanceledException) { break; }
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5_000));
            }
            // Whatever happened while (re)connecting is picked up by a sync right after.
            if (signal.CurrentCount == 0) try { signal.Release(); } catch (SemaphoreFullException) { }
        }
        await sync;
    }

    private async Task SyncOnSignalAsync(SemaphoreSlim signal, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await signal.WaitAsync(ct);
                await state.SyncAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogDebug("Sync after notification failed ({Error}); the poll will retry.", ex.GetType().Name);
            }
        }
    }
}
