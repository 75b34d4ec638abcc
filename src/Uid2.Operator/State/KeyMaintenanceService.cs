using Microsoft.Extensions.Options;
using Uid2.Core.Auth;
using Uid2.Operator.Configuration;
using Uid2.Storage;

namespace Uid2.Operator.State;

/// <summary>
/// Keeps an active key (and a successor before expiry) for the master, refresh and fallback keysets and for every
/// generating or sharing participant, and runs the scheduled salt rotation (<c>Uid2:SaltRotation</c>) when it is due,
/// then reloads the state so new keys and salts are served at once. One instance at a time does it (the rotation lock).
/// </summary>
public sealed class KeyMaintenanceService(
    IUid2Store store,
    OperatorStateProvider state,
    TimeProvider time,
    IOptions<OperatorOptions> options,
    ILogger<KeyMaintenanceService> logger) : BackgroundService
{
    /// <summary>The lock that makes one instance at a time perform scheduled rotations.</summary>
    public const string RotationLockName = "uid2-key-rotation";

    /// <summary>Who the audit log names for scheduled actions.</summary>
    public const string SchedulerActor = "operator:scheduler";

    /// <summary>Runs one maintenance pass if this instance holds the rotation lock (always, on a store without one).</summary>
    public async Task RunOnceAsync(CancellationToken ct)
    {
        if (store is IStoreLeaderLock leaderLock)
        {
            await using var held = await leaderLock.TryAcquireAsync(RotationLockName, ct);
            if (held is null) return; // another instance is rotating; its keys reach us through the store sync
            await RotateAsync(ct);
        }
        else
        {
            await RotateAsync(ct);
        }
    }

    private async Task RotateAsync(CancellationToken ct)
    {
        // Generators, sharers and sites with CSTG key pairs (their tokens are encrypted with the site's own key, which
        // is also what puts the site into the key endpoints' site_data).
        var sites = state.IsLoaded
            ? state.Current.Participants.Where(p => (p.Roles & (Role.Generator | Role.Sharer)) != 0).Select(p => p.SiteId)
                .Concat(state.Current.ClientSide.KeypairSiteIds).Distinct().ToArray()
            : [];
        var added = await KeyMaintenance.EnsureActiveKeysAsync(store, sites, time, new KeyPolicy(), ct);
        if (added.Count > 0)
            logger.LogInformation("Created {Count} encryption keys (ids {Ids}).", added.Count, string.Join(",", added.Select(k => k.Id)));

        var resalted = 0;
        if (options.Value.SaltRotation.Enabled && store is IStoreAdministration)
        {
            resalted = await new AdminService(store, time).RunScheduledSaltRotationAsync(SchedulerActor, options.Value.SaltRotation.ToSchedule(), ct);
            if (resalted > 0) logger.LogInformation("Scheduled salt rotation gave {Count} salt buckets new salts.", resalted);
        }
        if (added.Count > 0 || resalted > 0) await state.ReloadAsync(ct);
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
