using System.Data.Common;
using System.Globalization;
using static Uid2.Storage.CommonSql;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// A DSP's opt-out webhook as configured: the URL template (with <c>%%identity%%</c> and <c>%%timestamp%%</c>, sealed at
/// rest since it may carry the DSP's token) and the HTTP method.
/// </summary>
public sealed record OptOutWebhook(int SiteId, string UrlTemplate, string Method, bool Enabled)
{
    /// <summary>Keeps the URL (it may hold a credential) out of logs and exception messages.</summary>
    public override string ToString() => $"OptOutWebhook {{ SiteId = {SiteId}, Method = {Method}, Enabled = {Enabled} }}";
}

/// <summary>A webhook and its delivery state: the backlog, the counters, the last error, the lease.</summary>
public sealed record OptOutWebhookStatus(
    OptOutWebhook Webhook,
    long Backlog,
    DateTimeOffset? OldestPendingEnqueued,
    long Delivered,
    long FailedAttempts,
    int ConsecutiveFailures,
    DateTimeOffset? LastDelivered,
    long? LastDelayMs,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset NextAttempt,
    string? LeaseOwner,
    DateTimeOffset LeaseUntil);

/// <summary>One opt-out waiting for a DSP: the raw UID2 at the time, when the person opted out, when it was queued.</summary>
public sealed record PendingOptOut(long Id, byte[] AdvertisingId, DateTimeOffset Timestamp, DateTimeOffset Enqueued);

/// <summary>
/// Capability of a store (both providers): opt-out webhooks for DSPs and their durable outbox. The outbox is filled by
/// the database itself (a trigger on <c>optouts</c>), in the transaction that records the opt-out, for every enabled
/// webhook — whatever wrote the opt-out (logout, the portal, the admin CLI), nothing acknowledged can miss it. Delivery
/// is per DSP, in outbox order, by whoever holds that DSP's lease (one instance at a time among all that share the
/// store); a row leaves the outbox only after its DSP acknowledged it. Test for it with <c>store is IStoreOptOutWebhooks</c>.
/// </summary>
public interface IStoreOptOutWebhooks
{
    /// <summary>Creates or replaces a site's webhook (its counters and backlog stay).</summary>
    async Task SetOptOutWebhookAsync(OptOutWebhook webhook, DateTimeOffset now, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(webhook);
        var store = (IStoreConnections)this;
        await using var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, """
            INSERT INTO optout_webhooks (site_id, url_template, method, enabled, created_ms) VALUES (@site, @url, @method, @enabled, @now)
            ON CONFLICT (site_id) DO UPDATE SET url_template = excluded.url_template, method = excluded.method, enabled = excluded.enabled,
                next_attempt_ms = 0, failures = 0
            """);
        Add(cmd, "site", webhook.SiteId);
        Add(cmd, "url", store.Kek.SealText(webhook.UrlTemplate, SecretColumns.WebhookUrl(webhook.SiteId)));
        Add(cmd, "method", webhook.Method);
        Add(cmd, "enabled", webhook.Enabled);
        Add(cmd, "now", now.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Removes a site's webhook and its backlog; false when it had none.</summary>
    async Task<bool> RemoveOptOutWebhookAsync(int siteId, CancellationToken ct = default)
    {
        var store = (IStoreConnections)this;
        await using var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await store.BeginWriteAsync(conn, StoreLocks.None, ct).ConfigureAwait(false);
        await using (var outbox = Command(conn, tx, "DELETE FROM optout_outbox WHERE site_id = @site"))
        {
            Add(outbox, "site", siteId);
            await outbox.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        int removed;
        await using (var hook = Command(conn, tx, "DELETE FROM optout_webhooks WHERE site_id = @site"))
        {
            Add(hook, "site", siteId);
            removed = await hook.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return removed > 0;
    }

    /// <summary>Every webhook with its delivery state, by site id.</summary>
    async Task<IReadOnlyList<OptOutWebhookStatus>> ListOptOutWebhooksAsync(CancellationToken ct = default)
    {
        var store = (IStoreConnections)this;
        await using var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, """
            SELECT w.site_id, w.url_template, w.method, w.enabled, w.delivered, w.failed_attempts, w.failures, w.last_delivered_ms, w.last_delay_ms,
                   w.last_error, w.last_error_ms, w.next_attempt_ms, w.lease_owner, w.lease_until_ms,
                   (SELECT count(*) FROM optout_outbox o WHERE o.site_id = w.site_id),
                   (SELECT min(o.enqueued_ms) FROM optout_outbox o WHERE o.site_id = w.site_id)
              FROM optout_webhooks w ORDER BY w.site_id
            """);
        return await StoreRows.ReadAllAsync(cmd, r =>
        {
            var site = Convert.ToInt32(r.GetValue(0));
            DateTimeOffset? Ms(int i) => r.IsDBNull(i) ? null : StoreRows.FromMs(Convert.ToInt64(r.GetValue(i)));
            return new OptOutWebhookStatus(
                new OptOutWebhook(site, store.Kek.OpenText(r.GetString(1), SecretColumns.WebhookUrl(site)), r.GetString(2), r.GetBoolean(3)),
                Convert.ToInt64(r.GetValue(14)), Ms(15), Convert.ToInt64(r.GetValue(4)), Convert.ToInt64(r.GetValue(5)), Convert.ToInt32(r.GetValue(6)),
                Ms(7), r.IsDBNull(8) ? null : Convert.ToInt64(r.GetValue(8)), r.IsDBNull(9) ? null : r.GetString(9), Ms(10),
                StoreRows.FromMs(Convert.ToInt64(r.GetValue(11))), r.IsDBNull(12) ? null : r.GetString(12), StoreRows.FromMs(Convert.ToInt64(r.GetValue(13))));
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes (or renews) the delivery lease of a site's webhook until <paramref name="until"/> if it is enabled, due
    /// (<c>next_attempt</c> passed) and not leased by another owner; false otherwise. One statement: atomic on both providers.
    /// </summary>
    async Task<bool> TryLeaseOptOutWebhookAsync(int siteId, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, """
            UPDATE optout_webhooks SET lease_owner = @owner, lease_until_ms = @until
             WHERE site_id = @site AND enabled = @enabled AND next_attempt_ms <= @now
               AND (lease_owner IS NULL OR lease_owner = @owner OR lease_until_ms < @now)
            """);
        Add(cmd, "owner", owner);
        Add(cmd, "until", until.ToUnixTimeMilliseconds());
        Add(cmd, "site", siteId);
        Add(cmd, "enabled", true);
        Add(cmd, "now", now.ToUnixTimeMilliseconds());
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    /// <summary>The oldest <paramref name="limit"/> opt-outs waiting for a site's DSP, in outbox order.</summary>
    async Task<IReadOnlyList<PendingOptOut>> ReadPendingOptOutsAsync(int siteId, int limit, CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null,
            "SELECT id, advertising_id, timestamp_ms, enqueued_ms FROM optout_outbox WHERE site_id = @site ORDER BY id LIMIT @limit");
        Add(cmd, "site", siteId);
        Add(cmd, "limit", Math.Max(1, limit));
        return await StoreRows.ReadAllAsync(cmd, r => new PendingOptOut(Convert.ToInt64(r.GetValue(0)), r.GetFieldValue<byte[]>(1),
            StoreRows.FromMs(Convert.ToInt64(r.GetValue(2))), StoreRows.FromMs(Convert.ToInt64(r.GetValue(3)))), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Records that a site's DSP acknowledged <paramref name="ids"/> (in one transaction: they leave the outbox, the
    /// counters move, the failure streak ends).
    /// </summary>
    async Task CompleteOptOutDeliveriesAsync(int siteId, IReadOnlyList<long> ids, DateTimeOffset now, long lastDelayMs, CancellationToken ct = default)
    {
        if (ids.Count == 0) return;
        var store = (IStoreConnections)this;
        await using var conn = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await store.BeginWriteAsync(conn, StoreLocks.None, ct).ConfigureAwait(false);
        await using (var delete = Command(conn, tx, "DELETE FROM optout_outbox WHERE id = @id"))
        {
            // Id by id, never a range: on PostgreSQL a row with an id inside the range may commit after the read.
            var id = Add(delete, "id", 0L);
            foreach (var one in ids)
            {
                id.Value = one;
                await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
        }
        await using (var update = Command(conn, tx, """
            UPDATE optout_webhooks SET delivered = delivered + @n, last_delivered_ms = @now, last_delay_ms = @delay, failures = 0, next_attempt_ms = 0
             WHERE site_id = @site
            """))
        {
            Add(update, "n", (long)ids.Count);
            Add(update, "now", now.ToUnixTimeMilliseconds());
            Add(update, "delay", lastDelayMs);
            Add(update, "site", siteId);
            await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Records a failed attempt: the streak grows, the next attempt waits until <paramref name="nextAttempt"/>, the lease is released.</summary>
    async Task FailOptOutDeliveryAsync(int siteId, string owner, string error, DateTimeOffset now, DateTimeOffset nextAttempt, CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, """
            UPDATE optout_webhooks SET failures = failures + 1, failed_attempts = failed_attempts + 1, last_error = @error, last_error_ms = @now,
                   next_attempt_ms = @next, lease_owner = NULL, lease_until_ms = 0
             WHERE site_id = @site AND lease_owner = @owner
            """);
        Add(cmd, "error", error.Length > 300 ? error[..300] : error);
        Add(cmd, "now", now.ToUnixTimeMilliseconds());
        Add(cmd, "next", nextAttempt.ToUnixTimeMilliseconds());
        Add(cmd, "site", siteId);
        Add(cmd, "owner", owner);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Gives up a lease (the backlog is empty, or the instance stops) so another instance may deliver at once.</summary>
    async Task ReleaseOptOutWebhookAsync(int siteId, string owner, CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = Command(conn, null, "UPDATE optout_webhooks SET lease_owner = NULL, lease_until_ms = 0 WHERE site_id = @site AND lease_owner = @owner");
        Add(cmd, "site", siteId);
        Add(cmd, "owner", owner);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}

/// <summary>Opt-out webhook URL templates: expansion, validation, and a form safe to print.</summary>
public static class OptOutWebhookUrls
{
    /// <summary>
    /// The DSP guide's template: <c>%%identity%%</c> is the raw UID2 (base64, URL-encoded), <c>%%timestamp%%</c> the opt-out
    /// time in epoch seconds. The reference's <c>${ADVERTISING_ID}</c> and <c>${OPTOUT_EPOCH}</c> are accepted too.
    /// </summary>
    public static string Expand(string template, byte[] advertisingId, DateTimeOffset timestamp)
    {
        var identity = Uri.EscapeDataString(Convert.ToBase64String(advertisingId));
        var epoch = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return template.Replace("%%identity%%", identity, StringComparison.Ordinal).Replace("${ADVERTISING_ID}", identity, StringComparison.Ordinal)
            .Replace("%%timestamp%%", epoch, StringComparison.Ordinal).Replace("${OPTOUT_EPOCH}", epoch, StringComparison.Ordinal);
    }

    /// <summary>Checks a template an administrator gives: absolute http(s), https unless loopback, with the identity placeholder.</summary>
    public static string? Validate(string template)
    {
        if (string.IsNullOrWhiteSpace(template)) return "The URL template is empty.";
        if (!template.Contains("%%identity%%", StringComparison.Ordinal) && !template.Contains("${ADVERTISING_ID}", StringComparison.Ordinal))
            return "The URL template must contain %%identity%% (the raw UID2).";
        var sample = Expand(template, new byte[32], DateTimeOffset.UnixEpoch);
        if (!Uri.TryCreate(sample, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            return "The URL template must be an absolute http(s) URL.";
        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
            return "Opt-outs carry raw UID2s: the URL must be https (http only for a loopback address, for tests).";
        return null;
    }

    /// <summary>Scheme, host, port and path only (a query may hold a credential), for listings and logs.</summary>
    public static string Mask(string template)
    {
        var cut = template.IndexOfAny(['?', '#']);
        var head = cut < 0 ? template : template[..cut];
        var at = head.IndexOf('@');
        var scheme = head.IndexOf("://", StringComparison.Ordinal);
        if (at > scheme && scheme >= 0) head = head[..(scheme + 3)] + "…@" + head[(at + 1)..]; // user:password@
        return cut < 0 ? head : head + "?…";
    }
}
