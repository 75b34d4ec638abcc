using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Uid2.Core.Auth;
using Uid2.Core.Identity;
using Uid2.Core.Keys;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>What a backup holds, counted while writing, verifying or restoring it.</summary>
public sealed record BackupSummary(
    DateTimeOffset Created, int Participants, int ApiKeys, int Keys, int SaltBuckets, int ClientSideKeypairs, int SiteNameLists, long OptOuts);

/// <summary>A backup file that cannot be read: not a backup, truncated, altered, or sealed by a key-encryption key we do not have.</summary>
public sealed class BackupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Backup and restore of an operator's whole state — participants, API keys (hashed) and client secrets, encryption
/// keys, salts, CSTG key pairs, domain and app names, opt-outs — for either provider, into either provider.
/// <para>
/// Consistent: everything but the opt-outs is read in one store transaction; the opt-outs, which only grow, are read
/// after it, so every opt-out acknowledged before the backup started is in it. Sealed: the content is JSON lines cut
/// into chunks of about 1 MiB, each sealed with the store's key-encryption key (AES-256-GCM, the file's random id and
/// the chunk's index bound as additional data), so a backup holds no secret in clear,
/// and a reordered, altered or truncated file (its last record counts everything before it) is refused. Restoring needs the same key-encryption key.
/// </para>
/// <para>
/// File layout: <c>UID2BAK1</c>, 16 random bytes (file id), then per chunk a 4-byte big-endian length and the sealed
/// chunk. Restore writes through the store port into an empty store (it refuses one that has participants, keys or salts).
/// </para>
/// </summary>
public static class StoreBackup
{
    private static readonly byte[] Magic = "UID2BAK1"u8.ToArray();
    private const int ChunkSize = 1 << 20;
    private const int MaxSealedChunk = ChunkSize * 4 + 4096;
    private const int OptOutBatch = 10_000;

    /// <summary>Writes a backup of <paramref name="store"/> to <paramref name="output"/>.</summary>
    public static async Task<BackupSummary> WriteAsync(IUid2Store store, KeyEncryptionKeyRing kek, Stream output, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(kek);
        ArgumentNullException.ThrowIfNull(output);
        var snapshot = await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false);
        var created = time.GetUtcNow();

        var fileId = RandomNumberGenerator.GetBytes(16);
        await output.WriteAsync(Magic, ct).ConfigureAwait(false);
        await output.WriteAsync(fileId, ct).ConfigureAwait(false);
        await using var chunks = new ChunkWriter(output, kek, fileId);
        var w = chunks.Json;

        void Line(Action body)
        {
            w.WriteStartObject();
            body();
            w.WriteEndObject();
            chunks.EndLine();
        }

        Line(() => { w.WriteString("type", "header"); w.WriteNumber("version", 1); w.WriteNumber("created", created.ToUnixTimeMilliseconds()); });
        foreach (var p in snapshot.Participants)
            Line(() =>
            {
                w.WriteString("type", "participant");
                w.WriteNumber("siteId", p.SiteId);
                w.WriteString("name", p.Name);
                w.WriteString("roles", Roles.Format(p.Roles));
                w.WriteBoolean("enabled", p.Enabled);
                w.WriteNumber("created", p.Created.ToUnixTimeMilliseconds());
                if (p.Types != ClientTypes.None) w.WriteString("types", ClientTypeNames.Format(p.Types));
            });
        foreach (var k in snapshot.ApiKeys)
            Line(() =>
            {
                w.WriteString("type", "apiKey");
                w.WriteString("keyId", k.KeyId);
                w.WriteString("keyHash", k.KeyHash);
                w.WriteString("keySalt", k.KeySalt);
                w.WriteNumber("siteId", k.SiteId);
                w.WriteString("name", k.Name);
                w.WriteString("roles", Roles.Format(k.Roles));
                w.WriteString("clientSecret", k.ClientSecret);
                w.WriteBoolean("disabled", k.Disabled);
                w.WriteNumber("created", k.Created.ToUnixTimeMilliseconds());
                if (k.PreviousClientSecret is not null && k.PreviousSecretExpires is { } until)
                {
                    w.WriteString("previousClientSecret", k.PreviousClientSecret);
                    w.WriteNumber("previousSecretExpires", until.ToUnixTimeMilliseconds());
                }
            });
        foreach (var k in snapshot.Keys)
            Line(() =>
            {
                w.WriteString("type", "key");
                w.WriteNumber("id", k.Id);
                w.WriteNumber("siteId", k.SiteId);
                w.WriteNumber("created", k.Created.ToUnixTimeMilliseconds());
                w.WriteNumber("activates", k.Activates.ToUnixTimeMilliseconds());
                w.WriteNumber("expires", k.Expires.ToUnixTimeMilliseconds());
                w.WriteBase64String("secret", k.Secret);
            });
        if (snapshot.Salts is { } salts)
        {
            Line(() => { w.WriteString("type", "firstLevelSalt"); w.WriteString("salt", salts.FirstLevelSalt); });
            foreach (var b in salts.Buckets)
                Line(() =>
                {
                    w.WriteString("type", "bucket");
                    w.WriteNumber("id", b.Id);
                    w.WriteNumber("lastUpdated", b.LastUpdatedMs);
                    w.WriteString("current", b.CurrentSalt);
                    w.WriteNumber("refreshFrom", b.RefreshFromMs);
                    if (b.PreviousSalt is not null) w.WriteString("previous", b.PreviousSalt);
                });
        }
        foreach (var c in snapshot.ClientSideKeypairs ?? [])
            Line(() =>
            {
                w.WriteString("type", "cstg");
                w.WriteString("subscriptionId", c.SubscriptionId);
                w.WriteNumber("siteId", c.SiteId);
                w.WriteString("publicKey", c.PublicKey);
                w.WriteString("privateKey", c.PrivateKey);
                w.WriteNumber("created", c.Created.ToUnixTimeMilliseconds());
                w.WriteBoolean("disabled", c.Disabled);
            });
        var nameLists = 0;
        foreach (var (type, lists) in new[] { ("domains", snapshot.DomainNames), ("appNames", snapshot.AppNames) })
            foreach (var (site, names) in lists ?? new Dictionary<int, IReadOnlyList<string>>())
            {
                nameLists++;
                Line(() =>
                {
                    w.WriteString("type", type);
                    w.WriteNumber("siteId", site);
                    w.WriteStartArray("names");
                    foreach (var n in names) w.WriteStringValue(n);
                    w.WriteEndArray();
                });
            }
        foreach (var k in snapshot.Keysets ?? [])
        {
            nameLists++;
            Line(() =>
            {
                w.WriteString("type", "keyset");
                w.WriteNumber("siteId", k.SiteId);
                if (k.AllowedSites is { } allowed)
                {
                    w.WriteStartArray("allowedSites");
                    foreach (var s in allowed) w.WriteNumberValue(s);
                    w.WriteEndArray();
                }
                w.WriteString("allowedTypes", ClientTypeNames.Format(k.AllowedTypes));
                w.WriteBoolean("enabled", k.Enabled);
            });
        }
        // Opt-outs only grow: read after the snapshot, a page at a time, every one recorded before the backup started is in.
        long optOutCount = 0;
        await IStoreOptOutPages.ReadAllAsync(store, 0, 100_000, page =>
        {
            foreach (var o in page)
                Line(() =>
                {
                    w.WriteString("type", "optout");
                    w.WriteBase64String("hash", o.FirstLevelHash);
                    w.WriteBase64String("id", o.AdvertisingId);
                    w.WriteNumber("at", o.Timestamp.ToUnixTimeMilliseconds());
                });
            optOutCount += page.Count;
            return Task.CompletedTask;
        }, ct).ConfigureAwait(false);
        // Webhooks after the opt-outs: a restore does not send the past again (what was waiting for a DSP is not backed up).
        if (store is IStoreOptOutWebhooks webhooks)
            foreach (var hook in await webhooks.ListOptOutWebhooksAsync(ct).ConfigureAwait(false))
            {
                nameLists++;
                Line(() =>
                {
                    w.WriteString("type", "webhook");
                    w.WriteNumber("siteId", hook.Webhook.SiteId);
                    w.WriteString("url", hook.Webhook.UrlTemplate);
                    w.WriteString("method", hook.Webhook.Method);
                    w.WriteBoolean("enabled", hook.Webhook.Enabled);
                });
            }
        var summary = new BackupSummary(created, snapshot.Participants.Count, snapshot.ApiKeys.Count, snapshot.Keys.Count,
            snapshot.Salts?.Buckets.Count ?? 0, snapshot.ClientSideKeypairs?.Count ?? 0, nameLists, optOutCount);
        Line(() =>
        {
            w.WriteString("type", "end");
            w.WriteNumber("participants", summary.Participants);
            w.WriteNumber("apiKeys", summary.ApiKeys);
            w.WriteNumber("keys", summary.Keys);
            w.WriteNumber("saltBuckets", summary.SaltBuckets);
            w.WriteNumber("clientSideKeypairs", summary.ClientSideKeypairs);
            w.WriteNumber("siteNameLists", summary.SiteNameLists);
            w.WriteNumber("optOuts", summary.OptOuts);
        });
        await chunks.CompleteAsync(ct).ConfigureAwait(false);
        await output.FlushAsync(ct).ConfigureAwait(false);
        return summary;
    }

    /// <summary>Reads a whole backup and checks it (seal, order, completeness, counts) without writing anything.</summary>
    public static Task<BackupSummary> VerifyAsync(Stream input, KeyEncryptionKeyRing kek, CancellationToken ct) =>
        ReadAsync(input, kek, null, ct);

    /// <summary>
    /// Restores a backup into <paramref name="store"/>, which must be initialized and empty (no participants, keys or
    /// salts). The whole file is verified first, so a damaged backup writes nothing.
    /// </summary>
    public static async Task<BackupSummary> RestoreAsync(IUid2Store store, Stream input, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!input.CanSeek) throw new ArgumentException("Restore needs a seekable stream (it verifies the file first).", nameof(input));
        var existing = await store.LoadSnapshotAsync(includeOptOuts: false, ct).ConfigureAwait(false);
        if (existing.Participants.Count > 0 || existing.Keys.Count > 0 || existing.Salts is not null)
            throw new BackupException("The target store is not empty: restore only into a new, empty store.");
        var start = input.Position;
        await ReadAsync(input, kek, null, ct).ConfigureAwait(false);
        input.Position = start;
        return await ReadAsync(input, kek, new Restorer(store), ct).ConfigureAwait(false);
    }

    private static async Task<BackupSummary> ReadAsync(Stream input, KeyEncryptionKeyRing kek, Restorer? restorer, CancellationToken ct)
    {
        try
        {
            return await ReadRecordsAsync(input, kek, restorer, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or FormatException or ArgumentException
                                       || (ex is InvalidOperationException and not StoreConflictException))
        {
            throw new BackupException("The backup is damaged (a record cannot be read).", ex);
        }
    }

    private static async Task<BackupSummary> ReadRecordsAsync(Stream input, KeyEncryptionKeyRing kek, Restorer? restorer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(kek);
        var header = new byte[Magic.Length + 16];
        if (await input.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false) < header.Length
            || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new BackupException("Not a UID2 backup file.");
        var fileId = header[Magic.Length..];

        DateTimeOffset? created = null;
        int participants = 0, apiKeys = 0, keys = 0, buckets = 0, cstg = 0, lists = 0;
        long optOuts = 0;
        var ended = false;
        string? firstLevelSalt = null;
        var bucketList = new List<SaltBucket>();
        var lengthBytes = new byte[4];
        for (var index = 0L; ; index++)
        {
            var n = await input.ReadAtLeastAsync(lengthBytes, 4, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (n == 0) break;
            if (n < 4) throw new BackupException("The backup is truncated.");
            var length = BinaryPrimitives.ReadInt32BigEndian(lengthBytes);
            if (length <= 0 || length > MaxSealedChunk) throw new BackupException("The backup is damaged (bad chunk length).");
            var sealedChunk = new byte[length];
            if (await input.ReadAtLeastAsync(sealedChunk, length, throwOnEndOfStream: false, ct).ConfigureAwait(false) < length)
                throw new BackupException("The backup is truncated.");
            if (ended) throw new BackupException("The backup is damaged (data after its end).");
            byte[] clear;
            try
            {
                if (!KeyEncryptionKeyRing.IsSealed(sealedChunk)) throw new BackupException("The backup is damaged (a chunk is not sealed).");
                clear = kek.OpenBytes(sealedChunk, Purpose(fileId, index));
            }
            catch (KeyEncryptionKeyException ex)
            {
                throw new BackupException("The backup cannot be opened: it was altered, or sealed with a key-encryption key that is not configured here.", ex);
            }

            foreach (var line in Lines(clear))
            {
                if (ended) throw new BackupException("The backup is damaged (records after its end).");
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                var type = r.GetProperty("type").GetString();
                if (created is null && type != "header") throw new BackupException("The backup is damaged (no header).");
                switch (type)
                {
                    case "header":
                        if (r.GetProperty("version").GetInt32() != 1) throw new BackupException("This backup's format version is not supported.");
                        created = DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty("created").GetInt64());
                        break;
                    case "participant":
                        participants++;
                        if (restorer is not null)
                            await restorer.Store.AddParticipantAsync(new Participant(r.GetProperty("siteId").GetInt32(), r.GetProperty("name").GetString()!,
                                Roles.Parse(r.GetProperty("roles").GetString()), r.GetProperty("enabled").GetBoolean(), Ms(r, "created"),
                                ClientTypeNames.ParseStored(r.TryGetProperty("types", out var types) ? types.GetString() : null)), ct).ConfigureAwait(false);
                        break;
                    case "apiKey":
                        apiKeys++;
                        if (restorer is not null)
                            await restorer.Store.AddApiKeyAsync(new ApiKeyRecord(r.GetProperty("keyId").GetString()!, r.GetProperty("keyHash").GetString()!,
                                r.GetProperty("keySalt").GetString()!, r.GetProperty("siteId").GetInt32(), r.GetProperty("name").GetString()!,
                                Roles.Parse(r.GetProperty("roles").GetString()), r.GetProperty("clientSecret").GetString()!, r.GetProperty("disabled").GetBoolean(),
                                Ms(r, "created"),
                                r.TryGetProperty("previousClientSecret", out var prev) ? prev.GetString() : null,
                                r.TryGetProperty("previousSecretExpires", out _) ? Ms(r, "previousSecretExpires") : null), ct).ConfigureAwait(false);
                        break;
                    case "key":
                        keys++;
                        var key = new EncryptionKey(r.GetProperty("id").GetInt32(), r.GetProperty("siteId").GetInt32(), Ms(r, "created"), Ms(r, "activates"),
                            Ms(r, "expires"), r.GetProperty("secret").GetBytesFromBase64());
                        if (restorer is not null) await restorer.Store.AddKeysAsync([key], ct).ConfigureAwait(false);
                        break;
                    case "firstLevelSalt":
                        firstLevelSalt = r.GetProperty("salt").GetString();
                        break;
                    case "bucket":
                        buckets++;
                        bucketList.Add(new SaltBucket(r.GetProperty("id").GetInt32(), r.GetProperty("lastUpdated").GetInt64(), r.GetProperty("current").GetString()!,
                            r.GetProperty("refreshFrom").GetInt64(), r.TryGetProperty("previous", out var p) ? p.GetString() : null));
                        break;
                    case "cstg":
                        cstg++;
                        if (restorer is not null)
                            await restorer.Store.AddClientSideKeypairAsync(new ClientSideKeypair(r.GetProperty("subscriptionId").GetString()!,
                                r.GetProperty("siteId").GetInt32(), r.GetProperty("publicKey").GetString()!, r.GetProperty("privateKey").GetString()!,
                                Ms(r, "created"), r.GetProperty("disabled").GetBoolean()), ct).ConfigureAwait(false);
                        break;
                    case "domains" or "appNames":
                        lists++;
                        var names = r.GetProperty("names").EnumerateArray().Select(e => e.GetString()!).ToArray();
                        if (restorer is not null)
                        {
                            if (type == "domains") await restorer.Store.SetDomainNamesAsync(r.GetProperty("siteId").GetInt32(), names, ct).ConfigureAwait(false);
                            else await restorer.Store.SetAppNamesAsync(r.GetProperty("siteId").GetInt32(), names, ct).ConfigureAwait(false);
                        }
                        break;
                    case "keyset":
                        lists++;
                        if (restorer is not null)
                        {
                            var sharing = new KeysetSharing(r.GetProperty("siteId").GetInt32(),
                                r.TryGetProperty("allowedSites", out var allowed) ? allowed.EnumerateArray().Select(e => e.GetInt32()).ToArray() : null,
                                ClientTypeNames.ParseStored(r.GetProperty("allowedTypes").GetString()), r.GetProperty("enabled").GetBoolean());
                            if (restorer.Store is not IStoreAdministration admin) throw new BackupException("This store cannot hold keyset sharing settings.");
                            await admin.SetKeysetSharingAsync(sharing, ct).ConfigureAwait(false);
                        }
                        break;
                    case "webhook":
                        lists++;
                        if (restorer is not null)
                        {
                            if (restorer.Store is not IStoreOptOutWebhooks target) throw new BackupException("This store cannot hold opt-out webhooks.");
                            await restorer.FlushAsync(ct).ConfigureAwait(false); // the restored opt-outs are not queued for it
                            await target.SetOptOutWebhookAsync(new OptOutWebhook(r.GetProperty("siteId").GetInt32(), r.GetProperty("url").GetString()!,
                                r.GetProperty("method").GetString()!, r.GetProperty("enabled").GetBoolean()), DateTimeOffset.UtcNow, ct).ConfigureAwait(false);
                        }
                        break;
                    case "optout":
                        optOuts++;
                        if (restorer is not null)
                            await restorer.AddOptOutAsync(r.GetProperty("hash").GetBytesFromBase64(), r.GetProperty("id").GetBytesFromBase64(), Ms(r, "at"), ct)
                                .ConfigureAwait(false);
                        break;
                    case "end":
                        ended = true;
                        if (r.GetProperty("participants").GetInt32() != participants || r.GetProperty("apiKeys").GetInt32() != apiKeys
                            || r.GetProperty("keys").GetInt32() != keys || r.GetProperty("saltBuckets").GetInt32() != buckets
                            || r.GetProperty("clientSideKeypairs").GetInt32() != cstg || r.GetProperty("siteNameLists").GetInt32() != lists
                            || r.GetProperty("optOuts").GetInt64() != optOuts)
                            throw new BackupException("The backup is damaged (its counts do not match its content).");
                        break;
                    default:
                        throw new BackupException($"The backup holds an unknown record type '{type}'.");
                }

                // Salts are saved in one piece once all buckets are read (they come before the CSTG records).
                if (restorer is not null && firstLevelSalt is not null && type != "bucket" && type != "firstLevelSalt" && bucketList.Count > 0)
                {
                    await restorer.Store.SaveSaltsAsync(new SaltSet(firstLevelSalt, bucketList.ToArray()), ct).ConfigureAwait(false);
                    bucketList.Clear();
                    firstLevelSalt = null;
                }
            }
        }
        if (!ended) throw new BackupException("The backup is truncated (no end record).");
        if (restorer is not null) await restorer.FlushAsync(ct).ConfigureAwait(false);
        return new BackupSummary(created!.Value, participants, apiKeys, keys, buckets, cstg, lists, optOuts);
    }

    private static DateTimeOffset Ms(JsonElement r, string name) => DateTimeOffset.FromUnixTimeMilliseconds(r.GetProperty(name).GetInt64());

    private static IEnumerable<byte[]> Lines(byte[] clear)
    {
        var start = 0;
        for (var i = 0; i < clear.Length; i++)
        {
            if (clear[i] != (byte)'\n') continue;
            if (i > start) yield return clear[start..i];
            start = i + 1;
        }
        if (start < clear.Length) throw new BackupException("The backup is damaged (a record is cut).");
    }

    /// <summary>What a chunk is sealed for: this file, this position (so chunks cannot be moved or swapped between files).</summary>
    private static string Purpose(byte[] fileId, long index) => $"uid2-backup:{Convert.ToHexString(fileId)}:{index}";

    /// <summary>Cuts the JSON lines into chunks at line ends, seals each and writes it at once (memory stays at one chunk).</summary>
    private sealed class ChunkWriter(Stream output, KeyEncryptionKeyRing kek, byte[] fileId) : IAsyncDisposable
    {
        private readonly MemoryStream _buffer = new();
        private Utf8JsonWriter? _json;
        private long _index;

        public Utf8JsonWriter Json => _json ??= new Utf8JsonWriter(_buffer);

        public void EndLine()
        {
            Json.Flush();
            Json.Reset(_buffer);
            _buffer.WriteByte((byte)'\n');
            if (_buffer.Length >= ChunkSize) Cut();
        }

        public Task CompleteAsync(CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (_buffer.Length > 0) Cut();
            return Task.CompletedTask;
        }

        private void Cut()
        {
            var sealedChunk = kek.SealBytes(_buffer.GetBuffer().AsSpan(0, (int)_buffer.Length), Purpose(fileId, _index++));
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, sealedChunk.Length);
            output.Write(length);
            output.Write(sealedChunk);
            _buffer.SetLength(0);
        }

        public ValueTask DisposeAsync()
        {
            _json?.Dispose();
            return _buffer.DisposeAsync();
        }
    }

    /// <summary>Writes restored opt-outs in batches (one transaction each).</summary>
    private sealed class Restorer(IUid2Store store)
    {
        private readonly List<(byte[] Hash, byte[] Id, DateTimeOffset At)> _optOuts = [];
        public IUid2Store Store => store;

        public async Task AddOptOutAsync(byte[] hash, byte[] id, DateTimeOffset at, CancellationToken ct)
        {
            _optOuts.Add((hash, id, at));
            if (_optOuts.Count >= OptOutBatch) await FlushAsync(ct).ConfigureAwait(false);
        }

        public async Task FlushAsync(CancellationToken ct)
        {
            if (_optOuts.Count == 0) return;
            var admin = store as IStoreAdministration ?? throw new BackupException("This store cannot import opt-outs.");
            await admin.ImportOptOutsAsync(_optOuts, ct).ConfigureAwait(false);
            _optOuts.Clear();
        }
    }
}
