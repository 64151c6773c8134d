using System;
using System.Collections.Generic;
using System.IO;
using SharpCompress.Compressors.Xz;

namespace TalosImage.Core.Expansion;

/// <summary>SharpCompress's xz block decoder (<see cref="XZBlock"/>) with the checks SharpCompress's XZStream leaves
/// out: exact block sizes, the index against the blocks, the footer, stream padding and concatenated streams.</summary>
internal static class ManagedXz
{
    public static string Version { get; } = typeof(XZBlock).Assembly.GetName().Version?.ToString(3) ?? "?";

    /// <summary>The check's size for an xz check type (0 none, 1-3 4 bytes, 4-6 8, 7-9 16, 10-12 32, 13-15 64).</summary>
    public static int CheckSize(int checkType) => checkType == 0 ? 0 : 4 << ((checkType - 1) / 3);

    /// <summary>SharpCompress's decoder for the block whose header <paramref name="source"/> is positioned at; reading it to its end
    /// makes it read the block's padding and verify its check (CRC32, CRC64 or SHA-256).</summary>
    public static XZBlock OpenBlock(Stream source, int checkType) =>
        new(source, (CheckType)checkType, CheckSize(checkType));

    /// <summary>Runs <paramref name="action"/>, turning SharpCompress's complaints about the data into <see cref="CorruptDataException"/>.</summary>
    public static T Guard<T>(Func<T> action, string where)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (IsDataError(e))
        {
            throw new CorruptDataException($"compressed data is corrupt or truncated: {e.Message} ({where})", e);
        }
    }

    /// <summary>What a decoder throws when the data is bad: anything but cancellation, our own verdicts and running out of memory.</summary>
    public static bool IsDataError(Exception e) =>
        e is not (OperationCanceledException or OutOfMemoryException or CorruptDataException or DecoderFailedException or ObjectDisposedException);

    /// <summary>Reads until <paramref name="count"/> bytes are in or the stream ends; returns how many came.</summary>
    public static int ReadFull(Stream s, byte[] buffer, int offset, int count)
    {
        var total = 0;
        while (total < count)
        {
            var n = s.Read(buffer, offset + total, count - total);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }
}

/// <summary>Block-parallel .xz decoding with SharpCompress (<see cref="XzBlockParallelDecoder"/>): each block is decoded
/// by <see cref="XZBlock"/> from its own bytes, which must be consumed exactly (header, data, padding, check) and
/// give exactly the index's uncompressed size.</summary>
internal sealed class ManagedXzBlockDecoder : XzBlockParallelDecoder
{
    private ManagedXzBlockDecoder(string path, int threads, XzLayout? layout)
        : base(path, threads, layout)
    {
    }

    public override string Description => $"SharpCompress {ManagedXz.Version} (managed), block-parallel decoder, {Threads} threads" + (Layout is null ? ", streaming" : $", {Layout.Blocks.Count} blocks");

    /// <summary>A decoder for an .xz stream read in order (<see cref="XzBlockParallelDecoder.DecodeStreaming"/>).</summary>
    public static ManagedXzBlockDecoder ForStream(int threads) => new("", threads, null);

    /// <summary>A decoder for <paramref name="path"/>, or null when the file is not a single stream of small indexed blocks.</summary>
    public static ManagedXzBlockDecoder? TryCreate(string path, int threads) =>
        XzLayout.TryRead(path, XzCrc32.Compute, minBlocks: 1) is { } layout && layout.CheckType is 0 or 1 or 4 or 10
            ? new ManagedXzBlockDecoder(path, threads, layout)
            : null;

    protected override void DecodeBlock(XzBlock block, byte[] stream, byte[] buffer, int number)
    {
        var where = $"block {number + 1}{OfBlocks}, at byte {block.Offset}";
        if (CheckType is not (0 or 1 or 4 or 10))
        {
            throw new NotStreamableException($"check type {CheckType} (SharpCompress verifies none, CRC32, CRC64 and SHA-256)");
        }
        using var bytes = new MemoryStream(stream, 12, block.Total, writable: false);
        var decoded = ManagedXz.Guard(() =>
        {
            var xz = ManagedXz.OpenBlock(bytes, CheckType);
            var n = ManagedXz.ReadFull(xz, buffer, 0, block.Uncompressed);
            // one more read finds the block's end: SharpCompress then reads the padding and verifies the check
            var extra = n == block.Uncompressed ? xz.Read(new byte[1], 0, 1) : 0;
            return n + extra;
        }, where);
        if (decoded != block.Uncompressed || bytes.Position != block.Total)
        {
            throw new CorruptDataException($"compressed data is corrupt: the block's size does not match the index ({where})");
        }
    }
}

/// <summary>
/// Streaming .xz decoding with SharpCompress, for what the block-parallel decoder does not take (one large block,
/// several streams, stream padding, a damaged index or footer): stream header, blocks (<see cref="XZBlock"/>, which
/// verifies each block header and check), the index compared record by record with the blocks decoded, its CRC32,
/// the footer (CRC32, backward size, flags), stream padding and further streams, as xz reads them.
/// </summary>
internal sealed class ManagedXzDecoder : IDecoder
{
    public string Description => $"SharpCompress {ManagedXz.Version} (managed), streaming decoder";

    public void Decode(Stream input, ChunkPipeline output)
    {
        var source = new PeekStream(input);
        var streams = 0;
        while (true)
        {
            var header = new byte[12];
            var first = ManagedXz.ReadFull(source, header, 0, 4);
            if (streams > 0)
            {
                if (first == 0)
                {
                    return;
                }
                if (first == 4 && header[0] == 0 && header[1] == 0 && header[2] == 0 && header[3] == 0)
                {
                    continue; // stream padding
                }
            }
            if (first < 4 || ManagedXz.ReadFull(source, header, 4, 8) < 8)
            {
                throw new CorruptDataException(streams == 0 ? "unexpected end of input: the file is too short to be .xz" : "unexpected end of input inside a stream header");
            }
            if (header[0] != 0xFD || header[1] != '7' || header[2] != 'z' || header[3] != 'X' || header[4] != 'Z' || header[5] != 0)
            {
                throw new CorruptDataException(streams == 0 ? "file format not recognized: not an .xz stream" : $"garbage after stream {streams} (at byte {source.Position - 12})");
            }
            if (header[6] != 0 || (header[7] & 0xF0) != 0 || XzCrc32.Compute(header, 6, 2) != XzLayout.U32(header, 8))
            {
                throw new CorruptDataException($"the stream header is corrupt (stream {streams + 1})");
            }
            var checkType = header[7] & 0x0F;
            if (checkType is not (0 or 1 or 4 or 10))
            {
                throw new CorruptDataException($"unsupported type of integrity check ({checkType})");
            }
            DecodeStream(source, output, header, checkType, streams + 1);
            streams++;
        }
    }

    private static void DecodeStream(PeekStream source, ChunkPipeline output, byte[] header, int checkType, int number)
    {
        var records = new List<(long Consumed, long Uncompressed)>();
        while (true)
        {
            output.Token.ThrowIfCancellationRequested();
            var indicator = source.PeekByte();
            if (indicator < 0)
            {
                throw new CorruptDataException("unexpected end of input: the file is truncated (no index)");
            }
            if (indicator == 0)
            {
                break;
            }
            var start = source.Position;
            var where = $"stream {number}, block {records.Count + 1}, at byte {start}";
            var block = ManagedXz.OpenBlock(source, checkType);
            var uncompressed = ManagedXz.Guard(() => CopyBlock(block, output), where);
            records.Add((source.Position - start, uncompressed));
        }
        ReadIndexAndFooter(source, header, records, number);
    }

    /// <summary>All of one block into chunks; returns its uncompressed size.</summary>
    private static long CopyBlock(XZBlock block, ChunkPipeline output)
    {
        long total = 0;
        while (true)
        {
            var buffer = output.Rent();
            var n = ManagedXz.ReadFull(block, buffer, 0, buffer.Length);
            total += n;
            if (n < buffer.Length)
            {
                output.Submit(buffer, n);
                return total;
            }
            output.Submit(buffer, n);
            // a full buffer: the block may go on, or end exactly here (the next read returns 0 and verifies the check)
        }
    }

    private static void ReadIndexAndFooter(PeekStream source, byte[] header, List<(long Consumed, long Uncompressed)> records, int number)
    {
        var index = new IndexReader(source);
        index.Byte(); // the indicator, 0
        var count = index.Vli();
        if (count != records.Count)
        {
            throw new CorruptDataException($"the index of stream {number} lists {count} blocks but {records.Count} were decoded");
        }
        for (var i = 0; i < records.Count; i++)
        {
            var unpadded = index.Vli();
            var uncompressed = index.Vli();
            if (((unpadded + 3) & ~3L) != records[i].Consumed || uncompressed != records[i].Uncompressed)
            {
                throw new CorruptDataException($"the index of stream {number} does not match block {i + 1}");
            }
        }
        while (index.Length % 4 != 0)
        {
            if (index.Byte() != 0)
            {
                throw new CorruptDataException($"the index padding of stream {number} is not zero");
            }
        }
        var indexLength = index.Length;
        var crc = index.Crc;
        var tail = new byte[16];
        if (ManagedXz.ReadFull(source, tail, 0, 16) < 16)
        {
            throw new CorruptDataException("unexpected end of input: the file is truncated (index or footer missing)");
        }
        if (XzLayout.U32(tail, 0) != crc)
        {
            throw new CorruptDataException($"the index of stream {number} is corrupt (CRC32)");
        }
        // footer: CRC32, backward size, flags, 'YZ'
        if (tail[14] != 'Y' || tail[15] != 'Z' || XzCrc32.Compute(tail, 8, 6) != XzLayout.U32(tail, 4))
        {
            throw new CorruptDataException($"the footer of stream {number} is corrupt");
        }
        if (((long)XzLayout.U32(tail, 8) + 1) * 4 != indexLength + 4 || tail[12] != header[6] || tail[13] != header[7])
        {
            throw new CorruptDataException($"the footer of stream {number} does not match its index or header");
        }
    }

    /// <summary>Reads the index byte by byte, counting and CRC-ing what it read.</summary>
    private sealed class IndexReader
    {
        private readonly Stream _source;
        private readonly byte[] _one = new byte[1];
        private uint _crc;

        public IndexReader(Stream source) => _source = source;

        public long Length { get; private set; }

        public uint Crc => _crc;

        public int Byte()
        {
            if (_source.Read(_one, 0, 1) != 1)
            {
                throw new CorruptDataException("unexpected end of input: the file is truncated inside the index");
            }
            _crc = XzCrc32.Update(_crc, _one, 0, 1);
            Length++;
            if (Length > 1L << 30)
            {
                throw new CorruptDataException("the index is implausibly long");
            }
            return _one[0];
        }

        public long Vli()
        {
            long value = 0;
            for (var i = 0; i < 9; i++)
            {
                var c = Byte();
                value |= (long)(c & 0x7F) << (7 * i);
                if ((c & 0x80) == 0)
                {
                    if (c == 0 && i > 0)
                    {
                        throw new CorruptDataException("the index is corrupt (a superfluous zero byte in a number)");
                    }
                    return value;
                }
            }
            throw new CorruptDataException("the index is corrupt (a number too long)");
        }
    }

    /// <summary>A read-only stream with a position and a one-byte look-ahead (SharpCompress reads the block header itself).</summary>
    private sealed class PeekStream : Stream
    {
        private readonly Stream _inner;
        private int _peeked = -1;
        private long _position;

        public PeekStream(Stream inner) => _inner = inner;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public int PeekByte()
        {
            if (_peeked < 0)
            {
                var one = new byte[1];
                _peeked = _inner.Read(one, 0, 1) == 1 ? one[0] : -1;
                if (_peeked < 0)
                {
                    return -1;
                }
            }
            return _peeked;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (count == 0)
            {
                return 0;
            }
            if (_peeked >= 0)
            {
                buffer[offset] = (byte)_peeked;
                _peeked = -1;
                _position++;
                return 1;
            }
            var n = _inner.Read(buffer, offset, count);
            _position += n;
            return n;
        }

        public override int ReadByte()
        {
            if (_peeked >= 0)
            {
                var b = _peeked;
                _peeked = -1;
                _position++;
                return b;
            }
            var r = _inner.ReadByte();
            if (r >= 0)
            {
                _position++;
            }
            return r;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
