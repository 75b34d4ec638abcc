using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Uid2.Storage.Secrets;

namespace Uid2.Operator.State;

/// <summary>
/// The opt-out index written to a file, so an operator with tens of millions of opt-outs starts by reading one file
/// (its entries are already sorted, in the index's own fixed-width layout) and then only the rows the store has gained
/// since, instead of reading and sorting every row.
/// <para>
/// The file is sealed under the store's key-encryption key in chunks (<see cref="SealedChunkStream"/>): first-level
/// hashes and raw UID2s are personal data and never sit in clear at rest, and a snapshot of another store (another key),
/// an altered or a truncated file does not load. Contents, after a header: the first-level-hash index then the raw-UID2
/// index, each as its 4,096 partitions of 36-byte entries (32-byte key, 4-byte Unix seconds, this machine's byte order).
/// </para>
/// <para>
/// A snapshot holds every opt-out up to its <see cref="Header.AnchorId"/> (the highest store row applied when it was
/// taken). Before trusting it, the operator checks that the store's row with that id is still the same opt-out
/// (<see cref="Header.AnchorHash"/>): a store restored from a backup renumbers its rows, and the snapshot is then
/// ignored rather than trusted. After a load the operator reads the store from a little before the anchor on.
/// </para>
/// </summary>
public static class OptOutSnapshot
{
    private static readonly byte[] Magic = "UID2OPS1"u8.ToArray();
    private const string Purpose = "uid2-optout-snapshot";
    private const int FormatVersion = 1;
    private const uint ByteOrderMark = 0x01020304;
    private const int MaxPartitionEntries = 1 << 26;
    private const int HeaderLength = 4 + 4 + 8 + 8 + 32 + 8 + 8;

    /// <summary>What a snapshot file says of itself.</summary>
    public sealed record Header(DateTimeOffset Created, long AnchorId, byte[] AnchorHash, long FirstLevelHashes, long AdvertisingIds);

    /// <summary>
    /// Writes <paramref name="index"/> to <paramref name="path"/>: to a temporary file beside it (mode 0600), flushed to
    /// disk, then renamed over it, so a reader sees the old file or the new one, never half of one.
    /// </summary>
    public static Header Write(OptOutIndex index, KeyEncryptionKeyRing kek, string path, TimeProvider time)
    {
        // The anchor first: every row up to it was applied before the export below merges and reads the partitions.
        var (anchorId, anchorHash) = index.Anchor;
        var byHash = index.ByFirstLevelHash.ExportPartitions();
        var byId = index.ByAdvertisingId.ExportPartitions();
        var header = new Header(time.GetUtcNow(), anchorId, anchorHash, byHash.Sum(p => (long)p.Length), byId.Sum(p => (long)p.Length));
        Write(path, kek, header, [byHash.Select(p => p.Length).ToArray(), byId.Select(p => p.Length).ToArray()], (which, p) => (which == 0 ? byHash : byId)[p]);
        return header;
    }

    /// <summary>
    /// Writes a snapshot whose partitions come from <paramref name="partition"/> (lookup 0: first-level hashes, 1: raw
    /// UID2s), one at a time, each sorted and of the length <paramref name="counts"/> gives — e.g. generated straight into
    /// the file by a benchmark, without an index in memory.
    /// </summary>
    public static void Write(string path, KeyEncryptionKeyRing kek, Header header, int[][] counts, Func<int, int, HashTimeIndex.Entry[]> partition)
    {
        if (!BitConverter.IsLittleEndian) throw new InvalidOperationException("Opt-out snapshots are written on little-endian machines only.");
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 1 << 20 };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var file = new FileStream(temporary, options))
            {
                var sealedStream = SealedChunkStream.Create(file, kek, Magic, Purpose);
                Span<byte> head = stackalloc byte[HeaderLength];
                BinaryPrimitives.WriteInt32LittleEndian(head, FormatVersion);
                MemoryMarshal.Write(head[4..], ByteOrderMark);
                BinaryPrimitives.WriteInt64LittleEndian(head[8..], header.Created.ToUnixTimeSeconds());
                BinaryPrimitives.WriteInt64LittleEndian(head[16..], header.AnchorId);
                header.AnchorHash.AsSpan(0, 32).CopyTo(head[24..]);
                BinaryPrimitives.WriteInt64LittleEndian(head[56..], header.FirstLevelHashes);
                BinaryPrimitives.WriteInt64LittleEndian(head[64..], header.AdvertisingIds);
                sealedStream.Write(head);
                for (var which = 0; which < 2; which++)
                {
                    var countBytes = new byte[HashTimeIndex.PartitionCount * 4];
                    for (var p = 0; p < HashTimeIndex.PartitionCount; p++) BinaryPrimitives.WriteInt32LittleEndian(countBytes.AsSpan(p * 4), counts[which][p]);
                    sealedStream.Write(countBytes);
                    for (var p = 0; p < HashTimeIndex.PartitionCount; p++)
                    {
                        var entries = partition(which, p);
                        if (entries.Length != counts[which][p]) throw new InvalidOperationException("A partition's length differs from its count.");
                        sealedStream.Write(MemoryMarshal.AsBytes(entries.AsSpan()));
                    }
                }
                sealedStream.Complete();
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>
    /// Loads a snapshot into an empty <paramref name="index"/> (its partitions, and its anchor as the last row applied).
    /// Throws <see cref="InvalidDataException"/> for a file that is not a whole snapshot sealed under this store's key
    /// (the index may then hold part of it: clear it).
    /// </summary>
    public static Header Load(OptOutIndex index, KeyEncryptionKeyRing kek, string path)
    {
        if (!BitConverter.IsLittleEndian) throw new InvalidDataException("Opt-out snapshots are written on little-endian machines only.");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var reader = SealedChunkStream.Open(file, kek, Magic, Purpose);
        Span<byte> head = stackalloc byte[HeaderLength];
        reader.ReadAll(head);
        if (BinaryPrimitives.ReadInt32LittleEndian(head) != FormatVersion || MemoryMarshal.Read<uint>(head[4..]) != ByteOrderMark)
            throw new InvalidDataException("The opt-out snapshot is of another format version or byte order.");
        var header = new Header(
            DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64LittleEndian(head[8..])),
            BinaryPrimitives.ReadInt64LittleEndian(head[16..]),
            head.Slice(24, 32).ToArray(),
            BinaryPrimitives.ReadInt64LittleEndian(head[56..]),
            BinaryPrimitives.ReadInt64LittleEndian(head[64..]));
        if (header.AnchorId < 0) throw new InvalidDataException("The opt-out snapshot's header is malformed.");
        if (ReadPartitions(reader, index.ByFirstLevelHash) != header.FirstLevelHashes
            || ReadPartitions(reader, index.ByAdvertisingId) != header.AdvertisingIds)
            throw new InvalidDataException("The opt-out snapshot's counts do not add up.");
        reader.VerifyEnd();
        index.SetAnchor(header.AnchorId, header.AnchorHash);
        return header;
    }

    private static long ReadPartitions(SealedChunkStream.Reader reader, HashTimeIndex target)
    {
        var counts = new byte[HashTimeIndex.PartitionCount * 4];
        reader.ReadAll(counts);
        long total = 0;
        for (var p = 0; p < HashTimeIndex.PartitionCount; p++)
        {
            var count = BinaryPrimitives.ReadInt32LittleEndian(counts.AsSpan(p * 4));
            if (count is < 0 or > MaxPartitionEntries) throw new InvalidDataException("The opt-out snapshot's header is malformed.");
            var entries = count == 0 ? [] : GC.AllocateUninitializedArray<HashTimeIndex.Entry>(count);
            reader.ReadAll(MemoryMarshal.AsBytes(entries.AsSpan()));
            target.LoadPartition(p, entries);
            total += count;
        }
        return total;
    }
}
