using Microsoft.Extensions.Options;
using Uid2.Core.Auth;
using Uid2.Operator.Configuration;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Keeps an active key (and a successor before expiry) for the master, refresh and fallback keysets and for every
/// generating or sharing participant, then reloads the state so new keys are served at once.
/// </summary>
public sealed class KeyMaintenanceService(
    IUid2Store store,
    OperatorStateProvider state,
    TimeProvider time,
    IOptions<OperatorOptions> options,
    ILogger<KeyMaintenanceService> logger) : BackgroundService
{
    public async Task RunOnceAsync(CancellationToken ct)
    {
        var sites = state.IsLoaded
            ? state.Current.Participants.Where(p => (p.Roles & (Role.Generator | Role.Sharer)) != 0).Select(p => p.SiteId).ToArray()
            : [];
        var added = await KeyMaintenance.EnsureActiveKeysAsync(store, sites, time, new KeyPolicy(), ct);
        if (added.Count > 0)
        {
            logger.LogInformation("Created {Count} encryption keys (ids {Ids}).", added.Count, string.Join(",", added.Select(k => k.Id)));
            await state.ReloadAsync(ct);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.KeyMaintenanceIntervalSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Key maintenance failed ({Error}); will retry.", ex.GetType().Name + ": " + ex.Message);
            }
        }
    }
}
