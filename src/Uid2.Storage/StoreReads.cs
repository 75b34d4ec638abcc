using System.Data.Common;
using static Uid2.Storage.CommonSql;
using Uid2.Core.ClientSide;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// The store's reads, written once for both providers (named <c>@</c> parameters; rows mapped by <see cref="StoreRows"/>).
/// A provider only opens the connection and the transaction that pins one consistent view (SQLite: a deferred
/// transaction; PostgreSQL: REPEATABLE READ, read only) and says how it sorts text by bytes.
/// </summary>
internal static class StoreReads
{
    /// <summary>
    /// Everything an operator serves from, read in <paramref name="tx"/>. <paramref name="ordinal"/> makes an
    /// <c>ORDER BY</c> on text sort by bytes (PostgreSQL: <c>COLLATE "C"</c>; SQLite's default already does), so both
    /// providers list ties in the same order.
    /// </summary>
    public static async Task<StoreSnapshot> SnapshotAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, string ordinal,
        bool includeOptOuts, CancellationToken ct)
    {
        long version;
        await using (var cmd = Command(conn, tx, "SELECT version FROM store_version WHERE id = 1"))
            version = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) ?? 0L);
        var participants = await ParticipantsAsync(conn, tx, null, ct).ConfigureAwait(false);

        IReadOnlyList<ApiKeyRecord> apiKeys;
        await using (var cmd = Command(conn, tx, $"SELECT {StoreRows.ApiKeyColumns} FROM api_keys ORDER BY created, key_id{ordinal}"))
            apiKeys = await StoreRows.ReadAllAsync(cmd, r => StoreRows.ApiKey(r, kek), ct).ConfigureAwait(false);
        var keys = await KeysAsync(conn, tx, kek, ct).ConfigureAwait(false);
        var salts = await SaltBlocks.ReadAsync(conn, tx, kek, ct).ConfigureAwait(false);
        IReadOnlyList<OptOutRecord> optOuts = includeOptOuts ? await OptOutsAfterAsync(conn, tx, 0, ct).ConfigureAwait(false) : [];

        IReadOnlyList<ClientSideKeypair> keypairs;
        await using (var cmd = Command(conn, tx,
            $"SELECT subscription_id, site_id, public_key, private_key, created, disabled FROM client_side_keypairs ORDER BY site_id, created, subscription_id{ordinal}"))
            keypairs = await StoreRows.ReadAllAsync(cmd, r => StoreRows.ClientSideKeypair(r, kek), ct).ConfigureAwait(false);
        var domainNames = await SiteNamesAsync(conn, tx, "site_domain_names", ordinal, ct).ConfigureAwait(false);
        var appNames = await SiteNamesAsync(conn, tx, "site_app_names", ordinal, ct).ConfigureAwait(false);
        IReadOnlyList<KeysetSharing> keysets;
        await using (var cmd = Command(conn, tx, "SELECT site_id, allowed_sites, allowed_types, enabled FROM keysets ORDER BY site_id"))
            keysets = await StoreRows.ReadAllAsync(cmd, StoreRows.Keyset, ct).ConfigureAwait(false);
        return new StoreSnapshot(version, participants, apiKeys, keys, salts, optOuts, keypairs, domainNames, appNames, keysets);
    }

    /// <summary>Every participant by site id, or the one of <paramref name="siteId"/>.</summary>
    public static async Task<IReadOnlyList<Participant>> ParticipantsAsync(DbConnection conn, DbTransaction? tx, int? siteId, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, $"SELECT {StoreRows.ParticipantColumns} FROM participants" +
            (siteId is null ? " ORDER BY site_id" : " WHERE site_id = @site"));
        if (siteId is not null) Add(cmd, "site", siteId.Value);
        return await StoreRows.ReadAllAsync(cmd, StoreRows.Participant, ct).ConfigureAwait(false);
    }

    /// <summary>Every encryption key by id (secrets opened).</summary>
    public static async Task<IReadOnlyList<EncryptionKey>> KeysAsync(DbConnection conn, DbTransaction? tx, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT id, site_id, created, activates, expires, secret FROM encryption_keys ORDER BY id");
        return await StoreRows.ReadAllAsync(cmd, r => StoreRows.EncryptionKey(r, kek), ct).ConfigureAwait(false);
    }

    /// <summary>Opt-outs with an id above <paramref name="afterId"/>, in id order.</summary>
    public static async Task<IReadOnlyList<OptOutRecord>> OptOutsAfterAsync(DbConnection conn, DbTransaction? tx, long afterId, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, "SELECT id, first_level_hash, advertising_id, timestamp_ms FROM optouts WHERE id > @after ORDER BY id");
        Add(cmd, "after", afterId);
        return await StoreRows.ReadAllAsync(cmd, StoreRows.OptOut, ct).ConfigureAwait(false);
    }

    /// <summary>site_domain_names or site_app_names as site id → names in byte order.</summary>
    private static async Task<IReadOnlyDictionary<int, IReadOnlyList<string>>> SiteNamesAsync(DbConnection conn, DbTransaction tx, string table,
        string ordinal, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx, $"SELECT site_id, name FROM {table} ORDER BY site_id, name{ordinal}");
        return await StoreRows.ReadSiteNamesAsync(cmd, ct).ConfigureAwait(false);
    }
}
