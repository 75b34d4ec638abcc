using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;

namespace Uid2.Operator.State;

/// <summary>Polls the store so changes made elsewhere (admin CLI, other instances) reach this operator within one interval.</summary>
public sealed class StoreSyncService(OperatorStateProvider state, IOptions<OperatorOptions> options, ILogger<StoreSyncService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromMilliseconds(options.Value.StorePollIntervalMilliseconds);
        using var timer = new PeriodicTimer(interval);
        var failing = false;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await state.SyncAsync(stoppingToken);
                if (failing) logger.LogInformation("Store reachable again; operator state is in sync.");
                failing = false;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (!failing) logger.LogWarning("Store sync failed ({Error}); serving from the last loaded state.", ex.GetType().Name + ": " + ex.Message);
                failing = true;
            }
        }
    }
}
