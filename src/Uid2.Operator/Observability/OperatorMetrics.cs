using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.Features;
using Uid2.Core.Keys;
using Uid2.Operator.State;

namespace Uid2.Operator.Observability;

/// <summary>
/// The operator's own metrics (meter <c>Uid2.Operator</c>), next to ASP.NET Core's request metrics
/// (<c>http.server.request.duration</c> by route and status, to which authenticated requests add <c>uid2.site_id</c>).
/// Names follow OpenTelemetry conventions; the Prometheus exporter turns <c>uid2.tokens</c> into
/// <c>uid2_tokens_total</c>, seconds into <c>_seconds</c>, and so on. No label ever carries an identity or a secret.
/// </summary>
public sealed class OperatorMetrics
{
    public const string MeterName = "Uid2.Operator";

    private readonly Counter<long> _tokens;
    private readonly Counter<long> _optOuts;
    private readonly Counter<long> _mapped;
    private readonly Histogram<double> _storeWrites;
    private readonly Counter<long> _storeWriteFailures;
    private readonly Histogram<double> _webhookDelay;
    private readonly Counter<long> _webhookFailures;
    private volatile KeyValuePair<int, long>[] _webhookBacklog = [];

    public OperatorMetrics(IMeterFactory meters, OperatorStateProvider state, TimeProvider time)
    {
        var meter = meters.Create(MeterName);
        _tokens = meter.CreateCounter<long>("uid2.tokens", "{token}",
            "Token requests served, by operation (generate, client_generate, refresh) and outcome (success, optout, invalid_token, expired_token, not_ready)");
        _optOuts = meter.CreateCounter<long>("uid2.optouts.recorded", "{optout}", "Opt-outs recorded durably by this instance");
        _mapped = meter.CreateCounter<long>("uid2.identity_map.identities", "{identity}", "Identities mapped, by outcome (mapped, optout, invalid)");
        _storeWrites = meter.CreateHistogram<double>("uid2.store.write.duration", "s", "Durable store writes, by operation (optout, probe)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _storeWriteFailures = meter.CreateCounter<long>("uid2.store.write.failures", "{write}", "Durable store writes that failed, by operation");

        _webhookDelay = meter.CreateHistogram<double>("uid2.optout_webhooks.delay", "s",
            "Opt-outs delivered to a DSP's webhook by this instance, and the delay from the opt-out's commit to its acknowledgement, by site",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
        _webhookFailures = meter.CreateCounter<long>("uid2.optout_webhooks.failures", "{attempt}", "Failed deliveries to a DSP's webhook, by site");
        meter.CreateObservableGauge("uid2.optout_webhooks.backlog", () => _webhookBacklog.Select(kv =>
            new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("site", kv.Key))), "{optout}",
            "Opt-outs waiting for each DSP's webhook (as last seen by this instance)");

        DateTimeOffset Now() => time.GetUtcNow();
        meter.CreateObservableGauge("uid2.snapshot.age", () => state.IsLoaded ? (Now() - state.LastSuccessfulSync).TotalSeconds : double.NaN, "s",
            "Time since this instance last synced its in-memory state with the store");
        meter.CreateObservableGauge("uid2.optouts", () => (long)state.OptOuts.Count, "{optout}", "Opt-outs in this instance's index");
        meter.CreateObservableGauge("uid2.keys", () => state.IsLoaded ? state.Current.Keys.All.Count : 0, "{key}", "Encryption keys loaded");
        meter.CreateObservableGauge("uid2.salt.buckets", () => state.IsLoaded ? state.Current.Salts?.Buckets.Count ?? 0 : 0, "{bucket}",
            "Salt buckets loaded");
        meter.CreateObservableGauge("uid2.key.active.age", () => ActiveKeyAges(state, Now()), "s",
            "Age (since activation) of the active master, refresh and fallback publisher keys");
        meter.CreateObservableGauge("uid2.salt.rotation.age", () => SaltAges(state, Now()), "s",
            "Time since the least and the most recently rotated salt bucket changed (which=oldest|newest)");
    }

    public void Token(string operation, string outcome) =>
        _tokens.Add(1, new KeyValuePair<string, object?>("operation", operation), new KeyValuePair<string, object?>("outcome", outcome));

    public void OptOutRecorded() => _optOuts.Add(1);

    public void WebhookDelivered(int siteId, double delaySeconds) => _webhookDelay.Record(delaySeconds, new KeyValuePair<string, object?>("site", siteId));

    public void WebhookFailed(int siteId) => _webhookFailures.Add(1, new KeyValuePair<string, object?>("site", siteId));

    public void WebhookBacklog(IEnumerable<(int SiteId, long Backlog)> backlog) =>
        _webhookBacklog = backlog.Select(b => new KeyValuePair<int, long>(b.SiteId, b.Backlog)).ToArray();

    public void Mapped(string outcome, int count)
    {
        if (count > 0) _mapped.Add(count, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>Times one durable write; call <see cref="StoreWrite.Failed"/> when it throws.</summary>
    public StoreWrite TimeStoreWrite(string operation) => new(this, operation, Stopwatch.GetTimestamp());

    public readonly struct StoreWrite(OperatorMetrics metrics, string operation, long started)
    {
        public void Succeeded() => metrics._storeWrites.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("operation", operation));

        public void Failed() => metrics._storeWriteFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));
    }

    /// <summary>Tags the request's ASP.NET Core metrics with the authenticated site.</summary>
    public static void TagSite(HttpContext context, int siteId) =>
        context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new KeyValuePair<string, object?>("uid2.site_id", siteId));

    private static IEnumerable<Measurement<double>> ActiveKeyAges(OperatorStateProvider state, DateTimeOffset now)
    {
        if (!state.IsLoaded) yield break;
        var keys = state.Current.Keys;
        foreach (var (kind, key) in new[]
                 {
                     ("master", keys.ActiveMasterKey(now)), ("refresh", keys.ActiveRefreshKey(now)),
                     ("publisher_fallback", keys.GetActiveKey(ReservedSites.FallbackPublisher, now)),
                 })
        {
            if (key is not null) yield return new Measurement<double>((now - key.Activates).TotalSeconds, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    private static IEnumerable<Measurement<double>> SaltAges(OperatorStateProvider state, DateTimeOffset now)
    {
        if (!state.IsLoaded || state.Current.Salts is not { } salts) yield break;
        long oldest = long.MaxValue, newest = long.MinValue;
        foreach (var b in salts.Buckets)
        {
            oldest = Math.Min(oldest, b.LastUpdatedMs);
            newest = Math.Max(newest, b.LastUpdatedMs);
        }
        var nowMs = now.ToUnixTimeMilliseconds();
        yield return new Measurement<double>((nowMs - oldest) / 1000.0, new KeyValuePair<string, object?>("which", "oldest"));
        yield return new Measurement<double>((nowMs - newest) / 1000.0, new KeyValuePair<string, object?>("which", "newest"));
    }
}
