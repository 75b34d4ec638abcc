using Uid2.Client;

namespace Uid2.PublisherSample;

/// <summary>
/// The demo SSP/bidder (guide step 4-1, the receiving side): decrypts the advertising tokens publishers send in bid requests
/// with <see cref="BidstreamClient"/>. Keys come from the operator's <c>/v2/key/bidstream</c> (ID_READER role), on a timer and
/// again whenever a token names a key the SSP does not have yet.
/// </summary>
public sealed class DemoSsp(BidstreamClient client, SampleOptions options, ILogger<DemoSsp> logger) : BackgroundService
{
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private DateTimeOffset _lastRefresh = DateTimeOffset.MinValue;

    /// <summary>What a bidder learns from a token.</summary>
    public sealed record BidView(string Status, string? RawUid2, int? SiteId, DateTimeOffset? Established, string? IdentityType,
        int? TokenVersion, DateTimeOffset? TokenExpires, DateTimeOffset KeysRefreshedAt);

    public async Task<BidView> DecryptAsync(string advertisingToken, CancellationToken ct)
    {
        var result = client.Decrypt(advertisingToken, DateTimeOffset.UtcNow, null);
        if (result.Status is DecryptionStatus.NotAuthorizedForKey or DecryptionStatus.NotAuthorizedForMasterKey
            or DecryptionStatus.NotInitialized or DecryptionStatus.KeysNotSynced)
        {
            // A key newer than ours (or none yet): fetch the keys once, then try again.
            await RefreshKeysAsync(minimumAge: TimeSpan.FromSeconds(2), ct);
            result = client.Decrypt(advertisingToken, DateTimeOffset.UtcNow, null);
        }
        return new BidView(result.Status.ToString(), result.Uid, result.SiteId, result.Established, result.IdentityType?.ToString(),
            result.AdvertisingTokenVersion, result.Expiry, _lastRefresh);
    }

    private async Task RefreshKeysAsync(TimeSpan minimumAge, CancellationToken ct)
    {
        await _refreshLock.WaitAsync(ct);
        try
        {
            if (DateTimeOffset.UtcNow - _lastRefresh < minimumAge) return;
            var refreshed = await client.RefreshAsync(ct);
            if (refreshed.Success) _lastRefresh = DateTimeOffset.UtcNow;
            else logger.LogWarning("Bidstream key refresh failed: {Reason}", refreshed.Reason);
        }
        catch (HttpRequestException ex)
        {
            logger.LogWarning("Bidstream key refresh failed: {Error}", ex.Message);
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.KeyRefreshSeconds)));
        try
        {
            do await RefreshKeysAsync(TimeSpan.Zero, stoppingToken);
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
