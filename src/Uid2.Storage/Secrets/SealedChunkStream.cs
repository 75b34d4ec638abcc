using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Uid2.Storage.Secrets;

/// <summary>
/// A file of bytes sealed under the key-encryption key in chunks, so a large file (an opt-out snapshot of hundreds of
/// millions of entries) is written and read with one chunk in memory and every byte authenticated.
/// <para>
/// Layout: an 8-byte magic, a random 16-byte file id, then frames <c>[length: int32 BE][last: 1 byte][sealed chunk]</c>.
/// Each chunk is sealed (<see cref="KeyEncryptionKeyRing.SealBytes"/>) for <c>"{purpose}:{file id}:{index}:{last}"</c>,
/// so chunks cannot be reordered, moved between files or dropped from the end: a file that ends before a chunk
/// marked last, or goes on after it, is refused. A wrong key, an altered byte or a truncation throws
/// <see cref="InvalidDataException"/>.
/// </para>
/// </summary>
public static class SealedChunkStream
{
    /// <summary>Clear bytes per chunk.</summary>
    public const int ChunkSize = 4 << 20;

    private const int MaxFrame = ChunkSize + 4096;

    /// <summary>A write-only stream that seals what is written to <paramref name="output"/>; <see cref="Stream.Dispose()"/> does not close it, <c>Complete</c> must be called.</summary>
    public static Writer Create(Stream output, KeyEncryptionKeyRing kek, ReadOnlySpan<byte> magic, string purpose) => new(output, kek, magic, purpose);

    /// <summary>A read-only stream of the clear bytes; throws <see cref="InvalidDataException"/> for a file that is not one, or not whole.</summary>
    public static Reader Open(Stream input, KeyEncryptionKeyRing kek, ReadOnlySpan<byte> magic, string purpose) => new(input, kek, magic.ToArray(), purpose);

    private static string PurposeOf(string purpose, byte[] fileId, long index, bool last) =>
        $"{purpose}:{Convert.ToHexString(fileId)}:{index}:{(last ? 1 : 0)}";

    public sealed class Writer : Stream
    {
        private readonly Stream _output;
        private readonly KeyEncryptionKeyRing _kek;
        private readonly string _purpose;
        private readonly byte[] _fileId = RandomNumberGenerator.GetBytes(16);
        private readonly byte[] _buffer = new byte[ChunkSize];
        private int _filled;
        private long _index;
        private bool _completed;

        internal Writer(Stream output, KeyEncryptionKeyRing kek, ReadOnlySpan<byte> magic, string purpose)
        {
            _output = output;
            _kek = kek;
            _purpose = purpose;
            output.Write(magic);
            output.Write(_fileId);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            while (!buffer.IsEmpty)
            {
                if (_filled == ChunkSize) Cut(last: false);
                var n = Math.Min(buffer.Length, ChunkSize - _filled);
                buffer[..n].CopyTo(_buffer.AsSpan(_filled));
                _filled += n;
                buffer = buffer[n..];
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        /// <summary>Seals what is buffered as the last chunk. Without it the file is refused as truncated.</summary>
        public void Complete()
        {
            if (_completed) return;
            Cut(last: true);
            _completed = true;
            _output.Flush();
        }

        private void Cut(bool last)
        {
            var sealedChunk = _kek.SealBytes(_buffer.AsSpan(0, _filled), PurposeOf(_purpose, _fileId, _index++, last));
            Span<byte> head = stackalloc byte[5];
            BinaryPrimitives.WriteInt32BigEndian(head, sealedChunk.Length);
            head[4] = last ? (byte)1 : (byte)0;
            _output.Write(head);
            _output.Write(sealedChunk);
            _filled = 0;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => !_completed;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    public sealed class Reader : Stream
    {
        private readonly Stream _input;
        private readonly KeyEncryptionKeyRing _kek;
        private readonly string _purpose;
        private readonly byte[] _fileId = new byte[16];
        private readonly byte[] _frame = new byte[MaxFrame];
        private readonly byte[] _chunk = new byte[MaxFrame];
        private int _chunkLength;
        private int _position;
        private long _index;
        private bool _sawLast;

        internal Reader(Stream input, KeyEncryptionKeyRing kek, byte[] magic, string purpose)
        {
            _input = input;
            _kek = kek;
            _purpose = purpose;
            var head = new byte[magic.Length];
            if (!TryFill(head) || !head.AsSpan().SequenceEqual(magic)) throw new InvalidDataException("Not a file of this kind.");
            if (!TryFill(_fileId)) throw new InvalidDataException("The file is truncated.");
        }

        /// <summary>True once every chunk up to the last has been read and nothing follows it.</summary>
        public bool AtEnd => _sawLast && _position == _chunkLength;

        public override int Read(Span<byte> buffer)
        {
            var total = 0;
            while (!buffer.IsEmpty)
            {
                if (_position == _chunkLength && !NextChunk()) break;
                var n = Math.Min(buffer.Length, _chunkLength - _position);
                _chunk.AsSpan(_position, n).CopyTo(buffer);
                _position += n;
                total += n;
                buffer = buffer[n..];
            }
            return total;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        /// <summary>Fills <paramref name="buffer"/> completely or throws <see cref="InvalidDataException"/> (the file ends early).</summary>
        public void ReadAll(Span<byte> buffer)
        {
            if (Read(buffer) != buffer.Length) throw new InvalidDataException("The file ends early.");
        }

        /// <summary>Checks that the file ends exactly at the end of its last chunk.</summary>
        public void VerifyEnd()
        {
            if (_position != _chunkLength || (!_sawLast && NextChunk())) throw new InvalidDataException("The file has more data than it declares.");
            if (!_sawLast) throw new InvalidDataException("The file is truncated.");
            if (_input.ReadByte() != -1) throw new InvalidDataException("The file goes on after its last chunk.");
        }

        private bool NextChunk()
        {
            if (_sawLast) return false;
            Span<byte> head = stackalloc byte[5];
            if (!TryFill(head)) throw new InvalidDataException("The file is truncated.");
            var length = BinaryPrimitives.ReadInt32BigEndian(head);
            if (length <= 0 || length > MaxFrame || head[4] > 1) throw new InvalidDataException("A chunk of the file is malformed.");
            var last = head[4] == 1;
            var frame = _frame.AsSpan(0, length);
            if (!TryFill(frame)) throw new InvalidDataException("The file is truncated.");
            if (!KeyEncryptionKeyRing.IsSealed(frame)) throw new InvalidDataException("A chunk of the file is not sealed.");
            try
            {
                _chunkLength = _kek.OpenBytes(frame, _chunk, PurposeOf(_purpose, _fileId, _index++, last));
            }
            catch (KeyEncryptionKeyException e)
            {
                throw new InvalidDataException("A chunk of the file does not open: another store's key, or the file was altered.", e);
            }
            _position = 0;
            _sawLast = last;
            return _chunkLength > 0 || !last;
        }

        private bool TryFill(Span<byte> buffer)
        {
            var read = 0;
            while (read < buffer.Length)
            {
                var n = _input.Read(buffer[read..]);
                if (n == 0) return false;
                read += n;
            }
            return true;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
