using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;

namespace TalosImage.Core.Expansion;

/// <summary>One block of an .xz stream as its index records it: where it starts, its padded size (header, data,
/// padding, check), its unpadded size and its uncompressed size.</summary>
internal readonly struct XzBlock
{
    public XzBlock(long offset, int total, long unpadded, int uncompressed)
    {
        Offset = offset;
        Total = total;
        Unpadded = unpadded;
        Uncompressed = uncompressed;
    }

    public long Offset { get; }
    public int Total { get; }
    public long Unpadded { get; }
    public int Uncompressed { get; }
}

/// <summary>
/// The layout of a single-stream .xz file read from its end: stream header, footer and index are checked (magic,
/// flags, CRC32, block offsets that add up to the index). Null when the file is anything else (several streams,
/// stream padding, a block over <see cref="XzLayout.MaxBlockSize"/>, a damaged footer or index): those are left to
/// a streaming decoder, which reads them as xz does and reports the damage.
/// </summary>
internal sealed class XzLayout
{
    public const int MaxBlockSize = 4 << 20;
    private const int MaxIndexSize = 16 << 20;

    private XzLayout(byte[] streamHeader, List<XzBlock> blocks)
    {
        StreamHeader = streamHeader;
        Blocks = blocks;
        foreach (var b in blocks)
        {
            MaxTotal = Math.Max(MaxTotal, b.Total);
        }
    }

    /// <summary>The file's 12-byte stream header.</summary>
    public byte[] StreamHeader { get; }

    public List<XzBlock> Blocks { get; }

    /// <summary>The largest block's padded size.</summary>
    public int MaxTotal { get; }

    /// <summary>The check type of the stream (0 none, 1 CRC32, 4 CRC64, 10 SHA-256 ...).</summary>
    public int CheckType => StreamHeader[7] & 0x0F;

    /// <summary>
    /// Reads the layout of <paramref name="path"/>, or null when it is not one stream of at least
    /// <paramref name="minBlocks"/> indexed blocks of at most <see cref="MaxBlockSize"/> bytes each.
    /// <paramref name="crc32"/> computes the CRC32 of a byte range (liblzma's, or <see cref="XzCrc32"/>).
    /// </summary>
    public static XzLayout? TryRead(string path, Func<byte[], int, int, uint> crc32, int minBlocks)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            var length = file.Length;
            if (length < 32)
            {
                return null;
            }
            var header = ReadAt(file, 0, 12);
            var footer = ReadAt(file, length - 12, 12);
            if (header[0] != 0xFD || header[1] != '7' || header[2] != 'z' || header[3] != 'X' || header[4] != 'Z' || header[5] != 0
                || footer[10] != 'Y' || footer[11] != 'Z' || header[6] != footer[8] || header[7] != footer[9] || header[6] != 0 || header[7] > 0x0F)
            {
                return null;
            }
            if (crc32(header, 6, 2) != U32(header, 8) || crc32(footer, 4, 6) != U32(footer, 0))
            {
                return null;
            }
            var indexSize = ((long)U32(footer, 4) + 1) * 4;
            var indexStart = length - 12 - indexSize;
            if (indexSize > MaxIndexSize || indexStart < 12)
            {
                return null;
            }
            var index = ReadAt(file, indexStart, (int)indexSize);
            if (index[0] != 0 || crc32(index, 0, index.Length - 4) != U32(index, index.Length - 4))
            {
                return null;
            }
            var pos = 1;
            var count = Vli(index, ref pos);
            if (count < Math.Max(1, minBlocks) || count > 1 << 24)
            {
                return null;
            }
            var blocks = new List<XzBlock>((int)count);
            long offset = 12;
            for (long i = 0; i < count; i++)
            {
                var unpadded = Vli(index, ref pos);
                var uncompressed = Vli(index, ref pos);
                var total = (unpadded + 3) & ~3L;
                if (unpadded < 5 || uncompressed > MaxBlockSize || total > 2 * MaxBlockSize)
                {
                    return null;
                }
                blocks.Add(new XzBlock(offset, (int)total, unpadded, (int)uncompressed));
                offset += total;
            }
            // index padding is zeros up to the CRC
            for (; pos < index.Length - 4; pos++)
            {
                if (index[pos] != 0)
                {
                    return null;
                }
            }
            return offset == indexStart ? new XzLayout(header, blocks) : null;
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    internal static byte[] ReadAt(FileStream file, long offset, int count)
    {
        var data = new byte[count];
        file.Seek(offset, SeekOrigin.Begin);
        if (!ReadExactly(file, data, 0, count))
        {
            throw new IOException("short read");
        }
        return data;
    }

    internal static bool ReadExactly(Stream s, byte[] data, int offset, int count)
    {
        while (count > 0)
        {
            var n = s.Read(data, offset, count);
            if (n == 0)
            {
                return false;
            }
            offset += n;
            count -= n;
        }
        return true;
    }

    internal static uint U32(byte[] b, int at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

    internal static void PutU32(byte[] b, int at, uint v)
    {
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
        b[at + 2] = (byte)(v >> 16);
        b[at + 3] = (byte)(v >> 24);
    }

    /// <summary>An xz variable-length integer (7 bits per byte, at most 9 bytes, no superfluous zero byte).</summary>
    internal static long Vli(byte[] b, ref int pos)
    {
        long value = 0;
        for (var i = 0; i < 9; i++)
        {
            if (pos >= b.Length - 4)
            {
                throw new FormatException("index ends inside a number");
            }
            var c = b[pos++];
            value |= (long)(c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0)
            {
                if (c == 0 && i > 0)
                {
                    throw new FormatException("superfluous zero byte in a number");
                }
                return value;
            }
        }
        throw new FormatException("number too long");
    }

    internal static int PutVli(byte[] b, int pos, long value)
    {
        while (value >= 0x80)
        {
            b[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }
        b[pos++] = (byte)value;
        return pos;
    }
}

/// <summary>The CRC32 of xz (and gzip, zip): polynomial 0xEDB88320, table-driven, in managed code.</summary>
internal static class XzCrc32
{
    private static readonly uint[] Table = MakeTable();

    public static uint Compute(byte[] data, int offset, int count) => Update(0, data, offset, count);

    public static uint Update(uint crc, byte[] data, int offset, int count)
    {
        crc = ~crc;
        for (var i = offset; i < offset + count; i++)
        {
            crc = Table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
        }
        return ~crc;
    }

    private static uint[] MakeTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }
}

/// <summary>
/// Block-parallel .xz decoding for files like the factory's (<c>xz -0 -T0</c>: one stream of independent small
/// blocks whose sizes the index, and each block header, record). N workers each take the next block's bytes (from
/// the file by its index, <see cref="XzLayout"/>; or, for a body still arriving, read in order from a stream by the
/// block headers, <see cref="DecodeStreaming"/>) and decode it (<see cref="DecodeBlock"/>: liblzma or SharpCompress,
/// each verifying the block header, the block's check and its sizes against the index record). A worker that
/// finishes early does not wait for the blocks before it: its output waits (in the pipeline's bounded buffers) and
/// is handed on in file order.
/// A block whose compressed bytes are identical to a block already decoded is known to decode to the same bytes
/// (the decoder is deterministic and that block's check was verified): it is not decoded again. All-zero output is
/// passed on as a zero chunk (nothing to copy, scan or write; hashed from a shared zero buffer); other repeated
/// blocks (seen twice) are kept, at most <see cref="MaxRemembered"/> of them, and copied. Disk images are mostly
/// zeros, which LZMA decodes slowly (liblzma at about 0.5 GB/s, managed code slower).
/// </summary>
internal abstract unsafe class XzBlockParallelDecoder : IDecoder
{
    /// <summary>More workers than this only cost memory (each holds a 4 MiB chunk and a block buffer).</summary>
    public const int MaxWorkers = 16;

    /// <summary>How many distinct non-zero repeated blocks are kept (each up to <see cref="XzLayout.MaxBlockSize"/>).</summary>
    public const int MaxRemembered = 8;

    private readonly string _path;
    private volatile Known[] _known = Array.Empty<Known>();
    private readonly Dictionary<ulong, int> _seen = new();
    private int _deduplicated;
    private int _reused;

    protected XzBlockParallelDecoder(string path, int threads, XzLayout? layout)
    {
        _path = path;
        Threads = Math.Max(1, Math.Min(threads, MaxWorkers));
        Layout = layout;
        if (layout is not null)
        {
            StreamHeader = layout.StreamHeader;
        }
    }

    /// <summary>The file's layout (from its index); null when decoding a stream by its block headers.</summary>
    protected XzLayout? Layout { get; }

    /// <summary>The 12-byte stream header (from the file, or read first from the stream).</summary>
    protected byte[] StreamHeader { get; private set; } = Array.Empty<byte>();

    /// <summary>The check type of the stream (0 none, 1 CRC32, 4 CRC64, 10 SHA-256 ...).</summary>
    protected int CheckType => StreamHeader[7] & 0x0F;

    /// <summary>" of N" when the number of blocks is known, for messages.</summary>
    protected string OfBlocks => Layout is null ? "" : $" of {Layout.Blocks.Count}";

    protected int Threads { get; }

    public abstract string Description { get; }

    /// <summary>How many blocks were recognised as repeats of an all-zero block (after Decode).</summary>
    public int DeduplicatedBlocks => _deduplicated;

    /// <summary>How many blocks were recognised as repeats of another (non-zero) block and copied (after Decode).</summary>
    public int ReusedBlocks => _reused;

    /// <summary>
    /// Pipeline buffers this decoder needs: one per worker, plus room to queue, to reorder and to decode ahead. A
    /// repeated all-zero block takes no buffer, so while the hash thread works through a run of them, the workers go on
    /// to the data blocks after it; each extra buffer lets them get one block further ahead. In the bench's Talos-like
    /// image the hash spends 0.25-0.35 s on the 240 MiB of zeros and random blocks between the two data regions (it
    /// shares the two cores with the workers), while each worker decodes a data block in about 27 ms: with 16 buffers
    /// ahead each worker waited about 0.3 s for a buffer there, with 32 about 1 ms. Buffers are touched only as far as
    /// a block fills them; the buffers ahead are at most 32 (128 MiB of address space), however many workers there are.
    /// </summary>
    public int BufferCount => 2 * Threads + 2 + Math.Min(16 * Threads, 32);

    /// <summary>
    /// Decodes block <paramref name="number"/> (its bytes at <c>stream[12 .. 12 + block.Total)</c>, the first 12 bytes
    /// hold the file's stream header, and there is room for a one-record index and a footer after the block) into
    /// <paramref name="buffer"/>; throws <see cref="CorruptDataException"/> when it does not decode to exactly the
    /// index's size with a good check.
    /// </summary>
    protected abstract void DecodeBlock(XzBlock block, byte[] stream, byte[] buffer, int number);

    /// <summary>The file's blocks by its index (the input stream only counts them, for progress); without a layout, <see cref="DecodeStreaming"/>.</summary>
    public void Decode(Stream input, ChunkPipeline output)
    {
        if (Layout is null)
        {
            DecodeStreaming(input, output);
            return;
        }
        var blocks = Layout!.Blocks;
        using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var next = 0;
        Run(output, input as InputStream, (ref byte[] stream, out XzBlock block) =>
        {
            // under the source lock: blocks are read in file order
            if (next >= blocks.Count)
            {
                block = default;
                return -1;
            }
            block = blocks[next];
            Grow(ref stream, block.Total);
            file.Seek(block.Offset, SeekOrigin.Begin);
            if (!XzLayout.ReadExactly(file, stream, 12, block.Total))
            {
                throw new CorruptDataException("unexpected end of input: the file is shorter than its index says");
            }
            return next++;
        }, finish: null);
    }

    /// <summary>
    /// Decodes an .xz stream read in order (a download still arriving): the stream header, then each block by its
    /// header, which must record both sizes (as <c>xz -T</c> writes them), then the index, compared record by record
    /// with the blocks decoded (and its CRC32, and the footer: backward size, flags, CRC32). Anything else (a block
    /// header without sizes, a block over <see cref="XzLayout.MaxBlockSize"/>, data after the footer: stream padding,
    /// further streams) is <see cref="NotStreamableException"/>, before or after some output: the caller then
    /// expands the complete file instead.
    /// </summary>
    public void DecodeStreaming(Stream input, ChunkPipeline output)
    {
        var header = new byte[12];
        if (!XzLayout.ReadExactly(input, header, 0, 12))
        {
            throw new CorruptDataException("unexpected end of input: no stream header");
        }
        if (header[0] != 0xFD || header[1] != '7' || header[2] != 'z' || header[3] != 'X' || header[4] != 'Z' || header[5] != 0)
        {
            throw new CorruptDataException("file format not recognized (not an .xz stream)");
        }
        if (header[6] != 0 || header[7] > 0x0F || XzCrc32.Compute(header, 6, 2) != XzLayout.U32(header, 8))
        {
            throw new CorruptDataException("the stream header is corrupt (flags or CRC32)");
        }
        StreamHeader = header;
        var checkSize = CheckSize(header[7] & 0x0F);
        long offset = 12;
        var records = new List<(long Unpadded, long Uncompressed)>();
        var indicator = new byte[1];
        var number = 0;
        var ended = false;
        Run(output, input as InputStream, (ref byte[] stream, out XzBlock block) =>
        {
            block = default;
            if (ended)
            {
                return -1;
            }
            if (!XzLayout.ReadExactly(input, indicator, 0, 1))
            {
                throw new CorruptDataException("unexpected end of input: the stream ends before its index");
            }
            if (indicator[0] == 0)
            {
                ended = true;
                return -1; // the index: checked after the last block (finish)
            }
            var headerSize = (indicator[0] + 1) * 4;
            Grow(ref stream, headerSize);
            stream[12] = indicator[0];
            if (!XzLayout.ReadExactly(input, stream, 13, headerSize - 1))
            {
                throw new CorruptDataException("unexpected end of input: inside a block header");
            }
            if (XzCrc32.Compute(stream, 12, headerSize - 4) != XzLayout.U32(stream, 12 + headerSize - 4))
            {
                throw new CorruptDataException($"a block header is corrupt (CRC32, block {number + 1}, at byte {offset})");
            }
            var flags = stream[13];
            if ((flags & 0xC0) != 0xC0)
            {
                throw new NotStreamableException("a block header does not record the block's sizes");
            }
            long compressed, uncompressed;
            try
            {
                var pos = 14;
                compressed = VliAt(stream, ref pos, 12 + headerSize - 4);
                uncompressed = VliAt(stream, ref pos, 12 + headerSize - 4);
            }
            catch (FormatException e)
            {
                throw new CorruptDataException($"a block header is corrupt ({e.Message}, block {number + 1}, at byte {offset})");
            }
            if (uncompressed > XzLayout.MaxBlockSize || compressed > 2 * XzLayout.MaxBlockSize || compressed <= 0)
            {
                throw new NotStreamableException($"a block of {uncompressed} bytes ({compressed} compressed)");
            }
            var unpadded = headerSize + compressed + checkSize;
            var total = (int)((headerSize + compressed + 3 & ~3L) + checkSize);
            Grow(ref stream, total);
            if (!XzLayout.ReadExactly(input, stream, 12 + headerSize, total - headerSize))
            {
                throw new CorruptDataException($"unexpected end of input: inside block {number + 1}");
            }
            block = new XzBlock(offset, total, unpadded, (int)uncompressed);
            records.Add((unpadded, uncompressed));
            offset += total;
            return number++;
        }, finish: () => CheckIndex(input, records, offset, header));
    }

    /// <summary>The index after the last block (its indicator byte already read), the footer, and the end of the input.</summary>
    private static void CheckIndex(Stream input, List<(long Unpadded, long Uncompressed)> records, long indexStart, byte[] header)
    {
        // indicator, count, records (two numbers of at most 9 bytes each), padding, CRC32, then the 12-byte footer
        var limit = 1 + 9 + records.Count * 18L + 3 + 4 + 12;
        var rest = new MemoryStream();
        rest.WriteByte(0);
        var buffer = new byte[64 << 10];
        int n;
        while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
        {
            rest.Write(buffer, 0, n);
            if (rest.Length > limit)
            {
                throw new NotStreamableException("more data after the stream (stream padding or further streams)");
            }
        }
        var tail = rest.ToArray();
        if (tail.Length < 12 + 8)
        {
            throw new CorruptDataException("unexpected end of input: the index or footer is missing");
        }
        var footer = tail.Length - 12;
        if (tail[footer + 10] != 'Y' || tail[footer + 11] != 'Z' || XzCrc32.Compute(tail, footer + 4, 6) != XzLayout.U32(tail, footer)
            || tail[footer + 8] != header[6] || tail[footer + 9] != header[7])
        {
            throw new NotStreamableException("the footer is not at the end (stream padding, further streams, or damage)");
        }
        var indexSize = ((long)XzLayout.U32(tail, footer + 4) + 1) * 4;
        if (indexSize != footer)
        {
            throw new CorruptDataException("the footer's backward size does not match the index");
        }
        var index = new byte[footer];
        Buffer.BlockCopy(tail, 0, index, 0, footer);
        if (XzCrc32.Compute(index, 0, index.Length - 4) != XzLayout.U32(index, index.Length - 4))
        {
            throw new CorruptDataException("the index is corrupt (CRC32)");
        }
        try
        {
            var pos = 1;
            if (XzLayout.Vli(index, ref pos) != records.Count)
            {
                throw new CorruptDataException($"the index records a different number of blocks than the stream holds ({records.Count})");
            }
            foreach (var (unpadded, uncompressed) in records)
            {
                if (XzLayout.Vli(index, ref pos) != unpadded || XzLayout.Vli(index, ref pos) != uncompressed)
                {
                    throw new CorruptDataException("the index does not match the blocks' sizes");
                }
            }
            for (; pos < index.Length - 4; pos++)
            {
                if (index[pos] != 0)
                {
                    throw new CorruptDataException("the index padding is not zeros");
                }
            }
        }
        catch (FormatException e)
        {
            throw new CorruptDataException($"the index is corrupt ({e.Message})");
        }
        _ = indexStart;
    }

    private static long VliAt(byte[] b, ref int pos, int end)
    {
        long value = 0;
        for (var i = 0; i < 9; i++)
        {
            if (pos >= end)
            {
                throw new FormatException("a number runs past the header");
            }
            var c = b[pos++];
            value |= (long)(c & 0x7F) << (7 * i);
            if ((c & 0x80) == 0)
            {
                if (c == 0 && i > 0)
                {
                    throw new FormatException("superfluous zero byte in a number");
                }
                return value;
            }
        }
        throw new FormatException("number too long");
    }

    /// <summary>Bytes of the check of type <paramref name="type"/> (xz: 0, 4, 8, 16, 32, 64 by groups of three).</summary>
    private static int CheckSize(int type) => type == 0 ? 0 : 4 << ((type - 1) / 3);

    private static void Grow(ref byte[] stream, int total)
    {
        var need = 12 + total + 32 + 12;
        if (stream.Length < need)
        {
            var bigger = new byte[Math.Max(need, stream.Length * 2)];
            Buffer.BlockCopy(stream, 0, bigger, 0, stream.Length); // the stream header, and a block header already read

            stream = bigger;
        }
    }

    /// <summary>Fills <c>stream[12 ..]</c> with the next block (called under a lock); returns its number, or -1 at the end.</summary>
    private delegate int NextBlock(ref byte[] stream, out XzBlock block);

    private void Run(ChunkPipeline output, InputStream? counter, NextBlock next, Action? finish)
    {
        var source = new object();
        var gate = new object();
        var waiting = new Dictionary<int, Chunk>();
        var turn = 0;
        Exception? failure = null;
        var counting = Layout is not null ? counter : null; // a stream in order counts itself as it is read

        void Work()
        {
            try
            {
                // the one-block stream: header, block, index (at most 27 bytes), footer
                var stream = new byte[12 + (Layout?.MaxTotal ?? (1 << 20)) + 32 + 12];
                while (true)
                {
                    // A buffer first, then a block: the lowest block not yet handed on always has its buffer, so the
                    // blocks after it that wait in buffers of their own cannot starve it.
                    var buffer = output.Rent();
                    int i;
                    XzBlock block;
                    lock (source)
                    {
                        output.Token.ThrowIfCancellationRequested();
                        Buffer.BlockCopy(StreamHeader, 0, stream, 0, 12);
                        i = next(ref stream, out block);
                    }
                    if (i < 0)
                    {
                        output.Return(buffer);
                        return;
                    }
                    Chunk chunk;
                    if (FindKnown(block.Total, stream) is { } known)
                    {
                        if (known.Output is null)
                        {
                            // all zeros, never decoded: the buffer goes back at once, so that it can take a data block
                            output.Return(buffer);
                            chunk = new Chunk(null, block.Uncompressed, zero: true);
                            Interlocked.Increment(ref _deduplicated);
                        }
                        else
                        {
                            Buffer.BlockCopy(known.Output, 0, buffer, 0, block.Uncompressed);
                            chunk = new Chunk(buffer, block.Uncompressed);
                            Interlocked.Increment(ref _reused);
                        }
                    }
                    else
                    {
                        DecodeBlock(block, stream, buffer, i);
                        var zero = IsZero(buffer, block.Uncompressed);
                        Remember(stream, block, buffer, zero);
                        chunk = new Chunk(buffer, block.Uncompressed, zero);
                    }
                    lock (gate)
                    {
                        waiting.Add(i, chunk);
                        while (waiting.TryGetValue(turn, out var ready))
                        {
                            waiting.Remove(turn);
                            output.Submit(ready);
                            turn++;
                        }
                    }
                    counting?.Advance(block.Total);
                }
            }
            catch (Exception e)
            {
                lock (gate)
                {
                    if (failure is null && e is not OperationCanceledException)
                    {
                        failure = e;
                    }
                }
                output.Abort();
            }
        }

        var workers = new Thread[Threads];
        for (var t = 0; t < workers.Length; t++)
        {
            workers[t] = new Thread(Work) { IsBackground = true, Name = "xz block decoder " + t };
            workers[t].Start();
        }
        foreach (var w in workers)
        {
            w.Join();
        }
        if (failure is not null)
        {
            throw failure;
        }
        output.Token.ThrowIfCancellationRequested();
        finish?.Invoke();
    }

    /// <summary>Writes a one-record index and a footer after the block in <paramref name="stream"/>; returns the stream's length.</summary>
    protected int CompleteOneBlockStream(XzBlock block, byte[] stream, Func<byte[], int, int, uint> crc32)
    {
        // one-record index: indicator, count, unpadded size, uncompressed size, padding, CRC32; then the footer
        var p = 12 + block.Total;
        var indexStart = p;
        stream[p++] = 0;
        p = XzLayout.PutVli(stream, p, 1);
        p = XzLayout.PutVli(stream, p, block.Unpadded);
        p = XzLayout.PutVli(stream, p, block.Uncompressed);
        while ((p - indexStart) % 4 != 0)
        {
            stream[p++] = 0;
        }
        XzLayout.PutU32(stream, p, crc32(stream, indexStart, p - indexStart));
        p += 4;
        var footer = p;
        XzLayout.PutU32(stream, footer + 4, (uint)((p - indexStart) / 4 - 1));
        stream[footer + 8] = StreamHeader[6];
        stream[footer + 9] = StreamHeader[7];
        stream[footer + 10] = (byte)'Y';
        stream[footer + 11] = (byte)'Z';
        XzLayout.PutU32(stream, footer, crc32(stream, footer + 4, 6));
        return p + 12;
    }

    /// <summary>A block whose compressed bytes were seen decoded: its output (null: all zeros).</summary>
    private sealed class Known
    {
        public Known(byte[] compressed, byte[]? output)
        {
            Compressed = compressed;
            Output = output;
        }

        public byte[] Compressed { get; }
        public byte[]? Output { get; }
    }

    private Known? FindKnown(int total, byte[] stream)
    {
        foreach (var known in _known)
        {
            if (known.Compressed.Length == total && new ReadOnlySpan<byte>(stream, 12, total).SequenceEqual(known.Compressed))
            {
                return known;
            }
        }
        return null;
    }

    /// <summary>
    /// Keeps a decoded block for later repeats: an all-zero one at once (no output to keep), another one when its
    /// compressed bytes are seen a second time (a fingerprint of each decoded block is kept to tell).
    /// </summary>
    private void Remember(byte[] stream, XzBlock block, byte[] buffer, bool zero)
    {
        var total = block.Total;
        if (!zero)
        {
            var fingerprint = Fingerprint(stream, total);
            lock (_seen)
            {
                if (_seen.Count > 1 << 16)
                {
                    _seen.Clear();
                }
                _seen.TryGetValue(fingerprint, out var times);
                _seen[fingerprint] = times + 1;
                if (times == 0)
                {
                    return;
                }
            }
        }
        lock (_seen)
        {
            var known = _known;
            if (known.Length >= MaxRemembered + 8 || (!zero && known.Count(k => k.Output is not null) >= MaxRemembered) || FindKnown(total, stream) is not null)
            {
                return;
            }
            var compressed = new byte[total];
            Buffer.BlockCopy(stream, 12, compressed, 0, total);
            byte[]? output = null;
            if (!zero)
            {
                output = new byte[block.Uncompressed];
                Buffer.BlockCopy(buffer, 0, output, 0, block.Uncompressed);
            }
            var updated = new Known[known.Length + 1];
            Array.Copy(known, updated, known.Length);
            updated[known.Length] = new Known(compressed, output);
            _known = updated;
        }
    }

    /// <summary>A 64-bit FNV-1a over the block's bytes, sampled (every 8th word and the whole last word): a hint only, the bytes are compared in full.</summary>
    private static ulong Fingerprint(byte[] stream, int total)
    {
        var hash = 14695981039346656037UL ^ (ulong)total;
        fixed (byte* p = &stream[12])
        {
            var words = (ulong*)p;
            var count = total / 8;
            for (var i = 0; i < count; i += 8)
            {
                hash = (hash ^ words[i]) * 1099511628211UL;
            }
            for (var j = count * 8; j < total; j++)
            {
                hash = (hash ^ p[j]) * 1099511628211UL;
            }
            if (count > 0)
            {
                hash = (hash ^ words[count - 1]) * 1099511628211UL;
            }
        }
        return hash;
    }

    private static bool IsZero(byte[] buffer, int count)
    {
        fixed (byte* p = buffer)
        {
            return SparseWriter.IsZero(p, count);
        }
    }
}

/// <summary>
/// The .xz data cannot be decoded as it arrives (a block header without sizes, a large block, data after the stream):
/// the file is expanded once complete instead.
/// </summary>
internal sealed class NotStreamableException : Exception
{
    public NotStreamableException(string message)
        : base(message)
    {
    }
}
