using System.Buffers.Binary;
using System.Data.Common;
using static Uid2.Storage.CommonSql;
using System.Text;
using Uid2.Core.Identity;
using Uid2.Storage.Secrets;

namespace Uid2.Storage;

/// <summary>
/// Salt buckets at rest, written once for both providers: blocks of <see cref="Size"/> consecutive buckets, each block
/// one row of <c>salt_blocks (first_bucket, sealed)</c> sealed as a whole under the key-encryption key. A million buckets
/// are 4,096 rows and 4,096 AES-GCM calls to read or write, instead of a million of each (one row and one or two seals a
/// bucket cost ~3 µs a bucket: seconds at the reference's size).
/// <para>
/// Sealing is deterministic (synthetic IV), so an unchanged block seals to the bytes already stored: saving a whole set
/// rewrites only the blocks that changed, and a rotation (<see cref="UpdateAsync"/>) reads, changes and rewrites only
/// the blocks holding rotated buckets. (The scheduler rotates the oldest buckets with ties broken at random, so a day's
/// 1/365 of a million buckets lands in about half of the blocks: ~40 MB written instead of ~0.6 MB of single rows, for
/// a load and a save a hundred times faster.) The SQL is common to SQLite and PostgreSQL (named <c>@</c> parameters); callers hold the write
/// transaction (and PostgreSQL's salts lock).
/// </para>
/// <para>
/// A block in clear, little-endian, bucket after bucket: id (int32), last updated (int64 ms), refresh from (int64 ms),
/// current salt (uint16 length + UTF-8), previous salt (int32 length, −1 for none, + UTF-8).
/// </para>
/// </summary>
internal static class SaltBlocks
{
    /// <summary>Buckets a block holds (the last block may hold fewer).</summary>
    public const int Size = 256;

    /// <summary>What a block is sealed for: its place, so blocks cannot be swapped.</summary>
    public static string Purpose(int firstBucket) => "salt_blocks.sealed:" + firstBucket;

    public const string CreateSqlite = "CREATE TABLE IF NOT EXISTS salt_blocks (first_bucket INTEGER PRIMARY KEY, sealed BLOB NOT NULL);";
    public const string CreatePostgres = "CREATE TABLE IF NOT EXISTS salt_blocks (first_bucket integer PRIMARY KEY, sealed bytea NOT NULL);";

    // ---------------------------------------------------------------- codec

    public static byte[] Encode(IReadOnlyList<SaltBucket> buckets, int start, int count)
    {
        var length = 0;
        for (var i = start; i < start + count; i++)
            length += 4 + 8 + 8 + 2 + Encoding.UTF8.GetByteCount(buckets[i].CurrentSalt) + 4 + (buckets[i].PreviousSalt is { } p ? Encoding.UTF8.GetByteCount(p) : 0);
        var clear = new byte[length];
        var w = clear.AsSpan();
        for (var i = start; i < start + count; i++)
        {
            var b = buckets[i];
            BinaryPrimitives.WriteInt32LittleEndian(w, b.Id);
            BinaryPrimitives.WriteInt64LittleEndian(w[4..], b.LastUpdatedMs);
            BinaryPrimitives.WriteInt64LittleEndian(w[12..], b.RefreshFromMs);
            var n = Encoding.UTF8.GetBytes(b.CurrentSalt, w[22..]);
            if (n > ushort.MaxValue) throw new ArgumentException($"Salt bucket {b.Id}'s salt is too long.");
            BinaryPrimitives.WriteUInt16LittleEndian(w[20..], (ushort)n);
            w = w[(22 + n)..];
            if (b.PreviousSalt is { } previous)
            {
                var m = Encoding.UTF8.GetBytes(previous, w[4..]);
                BinaryPrimitives.WriteInt32LittleEndian(w, m);
                w = w[(4 + m)..];
            }
            else
            {
                BinaryPrimitives.WriteInt32LittleEndian(w, -1);
                w = w[4..];
            }
        }
        return clear;
    }

    /// <summary>
    /// Decodes a block into <paramref name="into"/>, bucket <c>id</c> at <c>into[id - offset]</c>; returns how many buckets
    /// it holds. Throws <see cref="InvalidDataException"/> if malformed or out of place.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> clear, int firstBucket, SaltBucket?[] into, int offset = 0)
    {
        var expected = firstBucket;
        while (!clear.IsEmpty)
        {
            if (clear.Length < 22) throw Malformed(firstBucket);
            var id = BinaryPrimitives.ReadInt32LittleEndian(clear);
            var updated = BinaryPrimitives.ReadInt64LittleEndian(clear[4..]);
            var refresh = BinaryPrimitives.ReadInt64LittleEndian(clear[12..]);
            int n = BinaryPrimitives.ReadUInt16LittleEndian(clear[20..]);
            if (id != expected || id - offset >= into.Length || clear.Length < 22 + n + 4) throw Malformed(firstBucket);
            var current = Encoding.UTF8.GetString(clear.Slice(22, n));
            clear = clear[(22 + n)..];
            var m = BinaryPrimitives.ReadInt32LittleEndian(clear);
            string? previous = null;
            if (m >= 0)
            {
                if (clear.Length < 4 + m) throw Malformed(firstBucket);
                previous = Encoding.UTF8.GetString(clear.Slice(4, m));
                clear = clear[(4 + m)..];
            }
            else
            {
                if (m != -1) throw Malformed(firstBucket);
                clear = clear[4..];
            }
            into[id - offset] = new SaltBucket(id, updated, current, refresh, previous);
            expected++;
        }
        if (expected == firstBucket) throw Malformed(firstBucket);
        return expected - firstBucket;
    }

    private static InvalidDataException Malformed(int firstBucket) => new($"The salt block starting at bucket {firstBucket} is malformed.");

    /// <summary>Every block of <paramref name="buckets"/> sealed, in parallel: (first bucket, sealed bytes).</summary>
    public static (int First, byte[] Sealed)[] SealAll(KeyEncryptionKeyRing kek, IReadOnlyList<SaltBucket> buckets)
    {
        for (var i = 0; i < buckets.Count; i++)
            if (buckets[i].Id != i) throw new ArgumentException("Salt buckets must be indexed 0..count-1 in order.", nameof(buckets));
        var blocks = new (int, byte[])[(buckets.Count + Size - 1) / Size];
        Parallel.For(0, blocks.Length, i =>
        {
            var first = i * Size;
            blocks[i] = (first, kek.SealBytes(Encode(buckets, first, Math.Min(Size, buckets.Count - first)), Purpose(first)));
        });
        return blocks;
    }

    // ---------------------------------------------------------------- reads and writes

    /// <summary>The stored salt set (salts opened), or null when there is none.</summary>
    public static async Task<SaltSet?> ReadAsync(DbConnection conn, DbTransaction? tx, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        string? firstLevel;
        await using (var meta = Command(conn, tx, "SELECT first_level_salt FROM salt_meta WHERE id = 1"))
            firstLevel = await meta.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        if (firstLevel is null) return null;
        var rows = await ReadBlocksAsync(conn, tx, ct).ConfigureAwait(false);
        if (rows.Count == 0) return null;
        var capacity = (rows[^1].First + Size);
        var buckets = new SaltBucket?[capacity];
        var counts = new int[rows.Count];
        try
        {
            Parallel.For(0, rows.Count, i =>
            {
                var (first, sealedBlock) = rows[i];
                if (first != i * Size) throw new InvalidDataException($"Salt block {i} is missing (found one starting at bucket {first}).");
                var clear = kek.OpenBytes(sealedBlock, Purpose(first));
                counts[i] = Decode(clear, first, buckets);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        for (var i = 0; i < counts.Length - 1; i++)
            if (counts[i] != Size) throw new InvalidDataException($"Salt block {i} holds {counts[i]} buckets instead of {Size}.");
        var total = (rows.Count - 1) * Size + counts[^1];
        return new SaltSet(kek.OpenText(firstLevel, SecretColumns.FirstLevelSalt), buckets.AsSpan(0, total).ToArray()!);
    }

    /// <summary>Writes a whole salt set: the first-level salt, the blocks that changed, and no block past its end.</summary>
    public static async Task WriteAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, SaltSet salts, CancellationToken ct)
    {
        await using (var meta = Command(conn, tx,
            "INSERT INTO salt_meta (id, first_level_salt) VALUES (1, @salt) ON CONFLICT (id) DO UPDATE SET first_level_salt = excluded.first_level_salt"))
        {
            Add(meta, "salt", kek.SealText(salts.FirstLevelSalt, SecretColumns.FirstLevelSalt));
            await meta.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        var blocks = SealAll(kek, salts.Buckets);
        var stored = (await ReadBlocksAsync(conn, tx, ct).ConfigureAwait(false)).ToDictionary(b => b.First, b => b.Sealed);
        await using (var trim = Command(conn, tx, "DELETE FROM salt_blocks WHERE first_bucket >= @count"))
        {
            Add(trim, "count", salts.Buckets.Count);
            await trim.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await WriteBlocksAsync(conn, tx, blocks.Where(b => !stored.TryGetValue(b.First, out var old) || !old.AsSpan().SequenceEqual(b.Sealed)), ct)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the given buckets (a rotation) in the blocks that hold them, leaving every other block as stored.
    /// Returns how many blocks it rewrote. Throws <see cref="InvalidOperationException"/> for a bucket that does not exist.
    /// </summary>
    public static async Task<int> UpdateAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, IReadOnlyList<SaltBucket> changed, CancellationToken ct)
    {
        var written = 0;
        foreach (var group in changed.GroupBy(b => b.Id < 0 ? -1 : b.Id / Size * Size).OrderBy(g => g.Key))
        {
            var first = group.Key;
            byte[]? sealedBlock = null;
            if (first >= 0)
            {
                await using var read = Command(conn, tx, "SELECT sealed FROM salt_blocks WHERE first_bucket = @first");
                Add(read, "first", first);
                sealedBlock = await read.ExecuteScalarAsync(ct).ConfigureAwait(false) as byte[];
            }
            if (sealedBlock is null) throw new InvalidOperationException($"Salt bucket {group.First().Id} does not exist.");
            var buckets = new SaltBucket?[Size];
            var count = Decode(kek.OpenBytes(sealedBlock, Purpose(first)), first, buckets, offset: first);
            foreach (var b in group)
            {
                if (b.Id >= first + count) throw new InvalidOperationException($"Salt bucket {b.Id} does not exist.");
                buckets[b.Id - first] = b;
            }
            var block = buckets.AsSpan(0, count).ToArray()!;
            await WriteBlocksAsync(conn, tx, [(first, kek.SealBytes(Encode(block!, 0, count), Purpose(first)))], ct).ConfigureAwait(false);
            written++;
        }
        return written;
    }

    /// <summary>
    /// Copies salt buckets stored a row each (the layout before blocks) into blocks, once: only while there is no block
    /// yet, in the caller's transaction. The rows stay (sealed, and resealed with every other secret) so that operators of
    /// the previous version, still running during a rolling upgrade, keep reading the salts they know; nothing here
    /// reads or writes them afterwards. Returns how many buckets it copied (0 when there was nothing to do).
    /// </summary>
    public static async Task<int> MoveRowsIntoBlocksAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        await using (var any = Command(conn, tx, "SELECT count(*) FROM salt_blocks"))
        {
            if (Convert.ToInt64(await any.ExecuteScalarAsync(ct).ConfigureAwait(false)) > 0) return 0;
        }
        var rows = new List<SecretColumns.SealedBucket>();
        await using (var read = Command(conn, tx, "SELECT id, last_updated_ms, current_salt, refresh_from_ms, previous_salt FROM salt_buckets ORDER BY id"))
        await using (var r = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
                rows.Add(new SecretColumns.SealedBucket(Convert.ToInt32(r.GetValue(0)), r.GetInt64(1), r.GetString(2), r.GetInt64(3), r.IsDBNull(4) ? null : r.GetString(4)));
        }
        if (rows.Count == 0) return 0;
        // Opened as they were stored (sealed or, from before sealing, clear), then sealed again as blocks.
        var buckets = SecretColumns.OpenBuckets(kek, rows);
        await WriteBlocksAsync(conn, tx, SealAll(kek, buckets), ct).ConfigureAwait(false);
        return rows.Count;
    }

    /// <summary>Seals again, under the primary key, every block sealed by another key. Returns how many it rewrote.</summary>
    public static async Task<int> ResealAsync(DbConnection conn, DbTransaction tx, KeyEncryptionKeyRing kek, CancellationToken ct)
    {
        var stale = (await ReadBlocksAsync(conn, tx, ct).ConfigureAwait(false)).Where(b => kek.NeedsReseal(b.Sealed)).ToList();
        await WriteBlocksAsync(conn, tx, stale.Select(b => (b.First, kek.SealBytes(kek.OpenBytes(b.Sealed, Purpose(b.First)), Purpose(b.First)))), ct)
            .ConfigureAwait(false);
        return stale.Count;
    }

    private static async Task<List<(int First, byte[] Sealed)>> ReadBlocksAsync(DbConnection conn, DbTransaction? tx, CancellationToken ct)
    {
        var rows = new List<(int, byte[])>();
        await using var cmd = Command(conn, tx, "SELECT first_bucket, sealed FROM salt_blocks ORDER BY first_bucket");
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) rows.Add((Convert.ToInt32(r.GetValue(0)), r.GetFieldValue<byte[]>(1)));
        return rows;
    }

    private static async Task WriteBlocksAsync(DbConnection conn, DbTransaction tx, IEnumerable<(int First, byte[] Sealed)> blocks, CancellationToken ct)
    {
        await using var cmd = Command(conn, tx,
            "INSERT INTO salt_blocks (first_bucket, sealed) VALUES (@first, @sealed) ON CONFLICT (first_bucket) DO UPDATE SET sealed = excluded.sealed");
        var first = Add(cmd, "first", 0);
        var sealedValue = Add(cmd, "sealed", Array.Empty<byte>());
        foreach (var (f, s) in blocks)
        {
            first.Value = f;
            sealedValue.Value = s;
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }
}
