using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Operator.Observability;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Whether this instance can write durably (what an opt-out needs before it is acknowledged): the outcome of the last
/// opt-out write or write probe. The health check answers 503 with the reason while it fails.
/// </summary>
public sealed class WriteHealth
{
    private volatile string? _failure;

    /// <summary>Null while writes succeed; else why the last one failed (an exception type, never data).</summary>
    public string? Failure => _failure;

    public void Succeeded() => _failure = null;

    public void Failed(Exception ex) => _failure = ex.GetType().Name;
}

/// <summary>
/// Proves every <see cref="OperatorOptions.WriteProbeIntervalSeconds"/> (every second while failing) that the store
/// still takes a durable write, so <see cref="WriteHealth"/> notices a full disk, a read-only file or a lost database
/// server without waiting for the next opt-out, and notices recovery by itself. A failure counts once confirmed by an
/// immediate second attempt, so a one-off hiccup does not flap the health check.
/// </summary>
public sealed class WriteProbeService(IUid2Store store, WriteHealth health, OperatorMetrics metrics, IOptions<OperatorOptions> options,
    ILogger<WriteProbeService> logger)
    : BackgroundService
{
    /// <summary>One probe: records the outcome in <see cref="WriteHealth"/>; true when the write committed.</summary>
    public async Task<bool> ProbeOnceAsync(CancellationToken ct)
    {
        if (store is not IStoreWriteProbe probe) return true;
        Exception? error = null;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var write = metrics.TimeStoreWrite("probe");
            try
            {
                await probe.ProbeWriteAsync(ct);
                write.Succeeded();
                if (health.Failure is not null) logger.LogInformation("Durable writes succeed again.");
                health.Succeeded();
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                write.Failed();
                error = ex;
            }
        }
        if (health.Failure is null) logger.LogError("Durable writes fail ({Error}); health check answers 503.", error!.GetType().Name + ": " + error.Message);
        health.Failed(error!);
        return false;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.WriteProbeIntervalSeconds;
        if (interval == 0 || store is not IStoreWriteProbe) return;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var ok = await ProbeOnceAsync(stoppingToken);
                await Task.Delay(TimeSpan.FromSeconds(ok ? interval : 1), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
