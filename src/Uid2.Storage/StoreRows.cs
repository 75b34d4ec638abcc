using System.Data.Common;
using Uid2.Core.Auth;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// Row reading and mapping shared by <see cref="SqliteUid2Store"/> and <see cref="PostgresUid2Store"/>. Each store keeps
/// its own SQL; the mappers expect its columns in the order given. Times are Unix epoch milliseconds; booleans are read
/// with <see cref="DbDataReader.GetBoolean"/> (PostgreSQL <c>boolean</c>; SQLite INTEGER 0/1, which Microsoft.Data.Sqlite
/// reads as <c>GetInt64 != 0</c>); blobs with <c>GetFieldValue&lt;byte[]&gt;</c> (a fresh array from either provider).
/// </summary>
internal static class StoreRows
{
    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>Runs <paramref name="cmd"/> and maps every row with <paramref name="map"/>.</summary>
    public static async Task<IReadOnlyList<T>> ReadAllAsync<T>(DbCommand cmd, Func<DbDataReader, T> map, CancellationToken ct)
    {
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var list = new List<T>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
            list.Add(map(r));
        return list;
    }

    /// <summary>Rows of (site_id, name), ordered by site then name, as site id → names in that order.</summary>
    public static async Task<IReadOnlyDictionary<int, IReadOnlyList<string>>> ReadSiteNamesAsync(DbCommand cmd, CancellationToken ct)
    {
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var map = new Dictionary<int, List<string>>();
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            var site = r.GetInt32(0);
            if (!map.TryGetValue(site, out var names)) map[site] = names = [];
            names.Add(r.GetString(1));
        }
        return map.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.ToArray());
    }

    /// <summary>Runs an INSERT; a duplicate key (<paramref name="isConflict"/>) becomes a <see cref="StoreConflictException"/>.</summary>
    public static async Task InsertAsync(DbCommand cmd, Func<DbException, bool> isConflict, Func<string> conflictMessage, CancellationToken ct)
    {
        try
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (DbException ex) when (isConflict(ex))
        {
            throw new StoreConflictException(conflictMessage(), ex);
        }
    }

    /// <summary>The columns <see cref="Participant"/> reads, in its order.</summary>
    public const string ParticipantColumns = "site_id, name, roles, enabled, created, client_types";

    /// <summary><see cref="ParticipantColumns"/>.</summary>
    public static Participant Participant(DbDataReader r) =>
        new(r.GetInt32(0), r.GetString(1), Roles.Parse(r.GetString(2)), r.GetBoolean(3), FromMs(r.GetInt64(4)), ClientTypeNames.ParseStored(r.GetString(5)));

    /// <summary>site_id, allowed_sites, allowed_types, enabled.</summary>
    public static KeysetSharing Keyset(DbDataReader r) =>
        new(r.GetInt32(0), KeysetSharing.ParseSites(r.IsDBNull(1) ? null : r.GetString(1)), ClientTypeNames.ParseStored(r.GetString(2)), r.GetBoolean(3));

    /// <summary>The columns <see cref="ApiKey"/> reads, in its order.</summary>
    public const string ApiKeyColumns =
        "key_id, key_hash, key_salt, site_id, name, roles, client_secret, disabled, created, previous_client_secret, previous_secret_expires_ms";

    /// <summary><see cref="ApiKeyColumns"/>: secrets sealed.</summary>
    public static ApiKeyRecord ApiKey(DbDataReader r, KeyEncryptionKeyRing kek) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4),
            Roles.Parse(r.GetString(5)), kek.OpenText(r.GetString(6), SecretColumns.ClientSecret(r.GetString(0))), r.GetBoolean(7),
            FromMs(r.GetInt64(8)),
            r.IsDBNull(9) ? null : kek.OpenText(r.GetString(9), SecretColumns.PreviousClientSecret(r.GetString(0))),
            r.IsDBNull(10) ? null : FromMs(r.GetInt64(10)));

    /// <summary>id, site_id, created, activates, expires, secret (sealed).</summary>
    public static EncryptionKey EncryptionKey(DbDataReader r, KeyEncryptionKeyRing kek) =>
        new(r.GetInt32(0), r.GetInt32(1), FromMs(r.GetInt64(2)), FromMs(r.GetInt64(3)), FromMs(r.GetInt64(4)),
            kek.OpenBytes(r.GetFieldValue<byte[]>(5), SecretColumns.KeySecret(r.GetInt32(0))));

    /// <summary>id, first_level_hash, advertising_id, timestamp_ms.</summary>
    public static OptOutRecord OptOut(DbDataReader r) =>
        new(r.GetInt64(0), r.GetFieldValue<byte[]>(1), r.GetFieldValue<byte[]>(2), FromMs(r.GetInt64(3)));

    /// <summary>subscription_id, site_id, public_key, private_key (sealed), created, disabled.</summary>
    public static ClientSideKeypair ClientSideKeypair(DbDataReader r, KeyEncryptionKeyRing kek) =>
        new(r.GetString(0), r.GetInt32(1), r.GetString(2), kek.OpenText(r.GetString(3), SecretColumns.PrivateKey(r.GetString(0))),
            FromMs(r.GetInt64(4)), r.GetBoolean(5));
}
