using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using Uid2.Operator.Configuration;
using Uid2.Operator.Observability;
using Uid2.Storage;

namespace Uid2.Operator.Services;

/// <summary>
/// Tells every DSP with an opt-out webhook about every opt-out, as the DSP integration guide describes ("the UID2 service
/// sends the user's UID2 and an opt-out timestamp to a pre-determined interface"): at least once, in order per DSP.
/// The store fills a durable outbox with each opt-out in its transaction (<see cref="IStoreOptOutWebhooks"/>); this
/// service, on every instance, takes a DSP's lease (one instance at a time delivers to a DSP), sends its oldest pending
/// opt-outs one after another, and removes them from the outbox once acknowledged (200 or 204, as the reference's
/// uid2-optout accepts; any 2xx here). A failure keeps the opt-out at the head of that DSP's queue and retries with
/// exponential back-off (persisted, so a restart or another instance continues it): a DSP down for an hour receives
/// everything, in order, once it is back. Quick retries of one request (network errors, 408, 429, 5xx) come from the
/// resilience pipeline of its <see cref="HttpClient"/> (Microsoft.Extensions.Http.Resilience).
/// </summary>
public sealed class OptOutWebhookDelivery(IUid2Store store, IHttpClientFactory httpClients, IOptions<OptOutWebhookOptions> options,
    OperatorMetrics metrics, TimeProvider time, ILogger<OptOutWebhookDelivery> logger) : BackgroundService
{
    /// <summary>The named <see cref="HttpClient"/> with the webhook resilience pipeline.</summary>
    public const string HttpClientName = "uid2-optout-webhooks";

    private readonly string _owner = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>Runs a round now (e.g. right after an opt-out was recorded here) instead of at the next poll.</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try { _wake.Release(); }
            catch (SemaphoreFullException) { } // already woken
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled || store is not IStoreOptOutWebhooks webhooks) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(webhooks, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The store is unreachable or busy: the next round retries; nothing left the outbox.
                logger.LogWarning("Opt-out webhook round failed: {Error}", ex.GetType().Name + ": " + ex.Message);
            }
            try
            {
                await _wake.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(50, options.Value.PollIntervalMilliseconds)), stoppingToken)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round: every due webhook this instance can lease is drained (until its backlog is empty or it fails), in parallel across DSPs.</summary>
    public async Task RunOnceAsync(IStoreOptOutWebhooks webhooks, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var all = await webhooks.ListOptOutWebhooksAsync(ct).ConfigureAwait(false);
        metrics.WebhookBacklog(all.Select(w => (w.Webhook.SiteId, w.Backlog)));
        var due = all
            .Where(w => w.Webhook.Enabled && w.Backlog > 0 && w.NextAttempt <= now && (w.LeaseOwner is null || w.LeaseOwner == _owner || w.LeaseUntil < now))
            .ToList();
        await Task.WhenAll(due.Select(w => DrainAsync(webhooks, w.Webhook, w.ConsecutiveFailures, ct))).ConfigureAwait(false);
    }

    private async Task DrainAsync(IStoreOptOutWebhooks webhooks, OptOutWebhook webhook, int failuresSoFar, CancellationToken ct)
    {
        var o = options.Value;
        var lease = 2 * o.TotalRequestTimeout;
        var http = httpClients.CreateClient(HttpClientName);
        while (!ct.IsCancellationRequested)
        {
            // Renewed before every batch (at most a second of sends): a lease outlives any one request, retries included.
            if (!await webhooks.TryLeaseOptOutWebhookAsync(webhook.SiteId, _owner, time.GetUtcNow(), time.GetUtcNow() + lease, ct).ConfigureAwait(false))
                return;
            var pending = await webhooks.ReadPendingOptOutsAsync(webhook.SiteId, Math.Max(1, o.BatchSize), ct).ConfigureAwait(false);
            if (pending.Count == 0)
            {
                await webhooks.ReleaseOptOutWebhookAsync(webhook.SiteId, _owner, ct).ConfigureAwait(false);
                return;
            }
            var delivered = new List<long>(pending.Count);
            long lastDelay = 0;
            string? failure = null;
            var batchStarted = time.GetTimestamp();
            foreach (var p in pending)
            {
                failure = await SendAsync(http, webhook, p, ct).ConfigureAwait(false);
                if (failure is not null) break;
                delivered.Add(p.Id);
                var now = time.GetUtcNow();
                lastDelay = (long)(now - p.Enqueued).TotalMilliseconds;
                metrics.WebhookDelivered(webhook.SiteId, Math.Max(0, lastDelay) / 1000.0);
                // Acknowledged rows leave the outbox at least once a second, so a crash repeats little.
                if (time.GetElapsedTime(batchStarted) > TimeSpan.FromSeconds(1)) break;
            }
            // Delivered rows are recorded even when the request after them failed (they are not sent again).
            await webhooks.CompleteOptOutDeliveriesAsync(webhook.SiteId, delivered, time.GetUtcNow(), lastDelay, CancellationToken.None).ConfigureAwait(false);
            if (failure is not null)
            {
                // A drain ends at its first failure, so the streak is the one the round read, plus this one.
                var failures = failuresSoFar + 1;
                var backoff = Backoff(failures, o);
                metrics.WebhookFailed(webhook.SiteId);
                logger.LogWarning("Opt-out webhook of site {SiteId} failed ({Failure}); attempt {Attempt}, next in {Seconds} s", webhook.SiteId, failure,
                    failures, (int)backoff.TotalSeconds);
                await webhooks.FailOptOutDeliveryAsync(webhook.SiteId, _owner, failure, time.GetUtcNow(), time.GetUtcNow() + backoff, CancellationToken.None)
                    .ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>1 s, 2 s, 4 s … doubling per consecutive failure, at most <see cref="OptOutWebhookOptions.MaxBackoffSeconds"/>.</summary>
    public static TimeSpan Backoff(int consecutiveFailures, OptOutWebhookOptions o)
    {
        var seconds = Math.Min(o.MaxBackoffSeconds, o.InitialBackoffSeconds * Math.Pow(2, Math.Clamp(consecutiveFailures - 1, 0, 30)));
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }

    /// <summary>Sends one opt-out; null when acknowledged, else a short reason (never the URL, which may hold a credential).</summary>
    private async Task<string?> SendAsync(HttpClient http, OptOutWebhook webhook, PendingOptOut p, CancellationToken ct)
    {
        var url = OptOutWebhookUrls.Expand(webhook.UrlTemplate, p.AdvertisingId, p.Timestamp);
        using var request = new HttpRequestMessage(new HttpMethod(webhook.Method), url);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return "timed out";
        }
        catch (HttpRequestException ex)
        {
            return ex.HttpRequestError == HttpRequestError.Unknown ? "request failed" : ex.HttpRequestError.ToString();
        }
        catch (Polly.Timeout.TimeoutRejectedException)
        {
            return "timed out";
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}

/// <summary>Opt-out webhook delivery settings (<c>Uid2:OptOutWebhooks</c>).</summary>
public sealed class OptOutWebhookOptions
{
    public const string Section = "Uid2:OptOutWebhooks";

    /// <summary>Deliver from this instance (several instances share the work; each DSP is served by one at a time).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often an instance looks for pending opt-outs when nothing woke it.</summary>
    public int PollIntervalMilliseconds { get; set; } = 500;

    /// <summary>Opt-outs read per lease renewal.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Timeout of one attempt of one request (a DSP's lease lasts twice <see cref="TotalRequestTimeout"/>).</summary>
    public int RequestTimeoutSeconds { get; set; } = 10;

    /// <summary>Quick retries of one request within an attempt (network error, 408, 429, 5xx) before the durable back-off.</summary>
    public int QuickRetries { get; set; } = 2;

    public double InitialBackoffSeconds { get; set; } = 1;

    public double MaxBackoffSeconds { get; set; } = 300;

    /// <summary>The longest one request can take, its quick retries included.</summary>
    public TimeSpan TotalRequestTimeout => TimeSpan.FromSeconds(Math.Max(1, RequestTimeoutSeconds) * (Math.Max(0, QuickRetries) + 1) + 1);
}
