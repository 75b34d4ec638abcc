using System.Buffers.Binary;

namespace Uid2.Operator.State;

/// <summary>A 32-byte hash as a value type, so dictionary lookups by first-level hash allocate nothing.</summary>
public readonly record struct Hash32(ulong A, ulong B, ulong C, ulong D)
{
    public static Hash32 From(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != 32) throw new ArgumentException("Expected 32 bytes.", nameof(bytes));
        return new Hash32(
            BinaryPrimitives.ReadUInt64BigEndian(bytes),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[16..]),
            BinaryPrimitives.ReadUInt64BigEndian(bytes[24..]));
    }
}
