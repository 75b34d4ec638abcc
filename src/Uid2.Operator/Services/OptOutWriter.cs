using System.Threading.Channels;
using Uid2.Storage;

namespace Uid2.Operator.Services;

/// <summary>
/// Group commit for opt-outs: one writer task per process takes every opt-out waiting (up to <see cref="MaxBatch"/>),
/// records them in one store transaction (<see cref="IStoreOptOutBatches"/>: one commit, one fsync), and acknowledges
/// each only after that commit. Under load a batch forms by itself while the previous one commits, so a busy operator
/// pays one commit for many logouts instead of one each — and two operators on one SQLite file contend for the write
/// lock once a batch, not once a logout. If the commit fails, every opt-out of the batch fails (the callers answer 503
/// and the clients retry); nothing is acknowledged that is not durable.
/// </summary>
public sealed class OptOutWriter(IUid2Store store, ILogger<OptOutWriter> logger) : BackgroundService
{
    /// <summary>The most opt-outs one transaction takes.</summary>
    public const int MaxBatch = 1000;

    /// <summary>Opt-outs that may wait; beyond it a logout fails at once (503) rather than queueing without bound.</summary>
    public const int MaxWaiting = 100_000;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(MaxWaiting) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private sealed record Pending(OptOutWrite Write, TaskCompletionSource<OptOutRecord> Done);

    /// <summary>Whether this store can take batches; if not, callers write one at a time.</summary>
    public bool IsAvailable => store is IStoreOptOutBatches;

    /// <summary>Queues an opt-out and completes once it is committed (or throws what the commit threw).</summary>
    public Task<OptOutRecord> WriteAsync(OptOutWrite write, CancellationToken ct)
    {
        var pending = new Pending(write, new TaskCompletionSource<OptOutRecord>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
            return Task.FromException<OptOutRecord>(new InvalidOperationException("Too many opt-outs waiting to be written."));
        return pending.Done.Task.WaitAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batches = store as IStoreOptOutBatches;
        var batch = new List<Pending>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var next)) batch.Add(next);
                await WriteBatchAsync(batches, batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Stopping: what is still queued was never written; its callers must not wait forever.
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
                left.Done.TrySetException(new InvalidOperationException("The operator is stopping."));
        }
    }

    private async Task WriteBatchAsync(IStoreOptOutBatches? batches, List<Pending> batch)
    {
        try
        {
            if (batches is null)
            {
                foreach (var p in batch)
                    p.Done.TrySetResult(await store.AddOptOutAsync(p.Write.FirstLevelHash, p.Write.AdvertisingId, p.Write.Timestamp, CancellationToken.None));
                return;
            }
            // Not cancellable: a batch that started is finished, so what it commits is acknowledged.
            var records = await batches.AddOptOutsAsync(batch.Select(p => p.Write).ToList(), CancellationToken.None);
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(records[i]);
        }
        catch (Exception ex)
        {
            logger.LogDebug("An opt-out batch of {Count} failed: {Error}", batch.Count, ex.GetType().Name);
            foreach (var p in batch) p.Done.TrySetException(ex);
        }
    }
}
