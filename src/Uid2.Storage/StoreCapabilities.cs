using System.Globalization;

namespace Uid2.Storage;

/// <summary>
/// Optional capability of a store: pushes change notifications, so an operator can pick up a write within
/// milliseconds instead of waiting for its next poll. Test for it with <c>store is IStoreChangeNotifier</c>;
/// <see cref="PostgresUid2Store"/> implements it (PostgreSQL <c>LISTEN/NOTIFY</c>), <see cref="SqliteUid2Store"/> does not.
/// Notifications are a latency optimization only: keep polling (less often) as the safety net.
/// </summary>
public interface IStoreChangeNotifier
{
    /// <summary>
    /// Listens on one dedicated connection until <paramref name="ct"/> is cancelled (then throws
    /// <see cref="OperationCanceledException"/>) or the connection fails (then throws the provider's exception,
    /// e.g. <c>NpgsqlException</c>). It never returns normally while listening; to keep listening after a failure,
    /// call it again (ideally after a short back-off).
    /// <para>
    /// <paramref name="onChange"/> is awaited once per notification, one at a time, in commit order. Its argument is:
    /// <see cref="StoreChanges.Resync"/> (<c>"*"</c>) once, as soon as the subscription is active — anything may have
    /// changed while not listening, so sync everything (this is also how a caller knows it is now listening);
    /// a table name (<c>participants</c>, <c>api_keys</c>, <c>encryption_keys</c>, <c>salt_meta</c>, <c>salt_buckets</c>,
    /// or <c>optouts</c> for an opt-out update/delete) after a committed write to that table;
    /// or, for each inserted opt-out, its row id in decimal (see <see cref="StoreChanges.TryParseOptOutId"/>).
    /// Several writes may be coalesced into one notification; an exception from <paramref name="onChange"/> ends the call.
    /// </para>
    /// </summary>
    Task ListenAsync(Func<string, Task> onChange, CancellationToken ct);
}

/// <summary>
/// Optional capability of a store: a named lock held by at most one process at a time among all that share the store,
/// so only one operator runs a periodic job (key rotation…). Test for it with <c>store is IStoreLeaderLock</c>.
/// The lock avoids duplicate work; it is not what keeps writes correct (the store's transactional writes, such as
/// <see cref="IUid2Store.AddKeysAtomicallyAsync"/>, do that), so losing it mid-job is harmless.
/// </summary>
public interface IStoreLeaderLock
{
    /// <summary>
    /// Tries once, without waiting: returns a handle that holds the lock until disposed, or null if another holder has it.
    /// PostgreSQL: a session-level advisory lock on a dedicated connection (released by dispose, or by the server
    /// if the connection or process dies). SQLite: an exclusive OS lock on a file next to the database (released by
    /// dispose or process exit), so it is exclusive among the processes on the host that shares the file.
    /// </summary>
    Task<IAsyncDisposable?> TryAcquireAsync(string name, CancellationToken ct);
}

/// <summary>
/// Optional capability of a store (both providers): records many opt-outs in one write transaction — group commit: one
/// commit, one fsync, for a batch of logouts (PostgreSQL: one statement). Each opt-out follows
/// <see cref="IUid2Store.AddOptOutAsync"/>'s rules (one row per identity, the latest time wins, a later one takes a new
/// id); every one is durable when the call returns, none if it throws. Test for it with <c>store is IStoreOptOutBatches</c>.
/// </summary>
public interface IStoreOptOutBatches
{
    /// <summary>For each input, in input order, its identity's stored row once the batch is committed.</summary>
    Task<IReadOnlyList<OptOutRecord>> AddOptOutsAsync(IReadOnlyList<OptOutWrite> optOuts, CancellationToken ct = default);
}

/// <summary>
/// Capability of a store (both providers): opt-outs read a page at a time, so a reader of a hundred million rows (an
/// operator starting, a backup) holds one page of objects at a time instead of all of them. Test for it with
/// <c>store is IStoreOptOutPages</c>; <see cref="ReadAllAsync"/> falls back to one read for stores without it.
/// </summary>
public interface IStoreOptOutPages
{
    /// <summary>Up to <paramref name="limit"/> opt-outs with an id greater than <paramref name="afterId"/>, in id order.</summary>
    async Task<IReadOnlyList<OptOutRecord>> LoadOptOutsPageAsync(long afterId, int limit, CancellationToken ct = default)
    {
        await using var conn = await ((IStoreConnections)this).OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var cmd = conn.CreateCommand();
        cmd.CommandText = "SELECT id, first_level_hash, advertising_id, timestamp_ms FROM optouts WHERE id > @after ORDER BY id LIMIT @limit";
        var after = cmd.CreateParameter();
        after.ParameterName = "after";
        after.Value = afterId;
        cmd.Parameters.Add(after);
        var max = cmd.CreateParameter();
        max.ParameterName = "limit";
        max.Value = Math.Max(1, limit);
        cmd.Parameters.Add(max);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var rows = new List<OptOutRecord>(Math.Min(limit, 1 << 20));
        // Synchronous reads inside the page: hundreds of thousands of small rows, where a task per row would dominate.
        while (r.Read())
        {
            if ((rows.Count & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            rows.Add(StoreRows.OptOut(r));
        }
        return rows;
    }

    /// <summary>
    /// Hands every opt-out after <paramref name="afterId"/> to <paramref name="page"/>, in id order, a page at a time
    /// (one read for a store without pages). Rows committed while it reads may or may not be included.
    /// </summary>
    static async Task ReadAllAsync(IUid2Store store, long afterId, int pageSize, Func<IReadOnlyList<OptOutRecord>, Task> page, CancellationToken ct)
    {
        if (store is not IStoreOptOutPages pages)
        {
            await page(await store.LoadOptOutsAfterAsync(afterId, ct).ConfigureAwait(false)).ConfigureAwait(false);
            return;
        }
        while (true)
        {
            var rows = await pages.LoadOptOutsPageAsync(afterId, pageSize, ct).ConfigureAwait(false);
            if (rows.Count > 0)
            {
                await page(rows).ConfigureAwait(false);
                afterId = rows[^1].Id;
            }
            if (rows.Count < pageSize) return;
        }
    }
}

/// <summary>One opt-out to record: the identity's first-level hash, its raw UID at the time, and when.</summary>
public readonly record struct OptOutWrite(byte[] FirstLevelHash, byte[] AdvertisingId, DateTimeOffset Timestamp);

/// <summary>Payloads of <see cref="IStoreChangeNotifier"/>.</summary>
public static class StoreChanges
{
    /// <summary>The PostgreSQL notification channel the triggers notify.</summary>
    public const string Channel = "uid2_changes";

    /// <summary>Sent once when a subscription becomes active: sync everything.</summary>
    public const string Resync = "*";

    /// <summary>True if <paramref name="payload"/> announces an inserted opt-out; <paramref name="id"/> is its row id.</summary>
    public static bool TryParseOptOutId(string payload, out long id) =>
        long.TryParse(payload, NumberStyles.None, CultureInfo.InvariantCulture, out id);

    /// <summary>True if the payload concerns opt-outs only (an inserted opt-out's id, or <c>optouts</c>).</summary>
    public static bool IsOptOutChange(string payload) => payload == "optouts" || TryParseOptOutId(payload, out _);
}
