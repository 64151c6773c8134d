using System;
using System.Collections.Generic;
using System.IO;
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
/// blocks whose sizes the index records; <see cref="XzLayout"/>). N workers each take the next block, read its bytes
/// and decode it (<see cref="DecodeBlock"/>: liblzma or SharpCompress, each verifying the block header, the block's
/// check and its sizes against the index record); results are handed on in file order.
/// A block whose compressed bytes are identical to a block already decoded to all zeros is known to decode to
/// the same zeros (the decoder is deterministic and that block's check was verified): it is not decoded again.
/// Disk images are mostly zeros, which LZMA decodes slowly (liblzma at about 0.5 GB/s, managed code slower).
/// </summary>
internal abstract unsafe class XzBlockParallelDecoder : IDecoder
{
    /// <summary>More workers than this only cost memory (each holds a 4 MiB chunk and a block buffer).</summary>
    public const int MaxWorkers = 16;

    private readonly string _path;
    private volatile byte[][] _zeroBlocks = Array.Empty<byte[]>();
    private int _deduplicated;

    protected XzBlockParallelDecoder(string path, int threads, XzLayout layout)
    {
        _path = path;
        Threads = Math.Max(1, Math.Min(threads, MaxWorkers));
        Layout = layout;
    }

    protected XzLayout Layout { get; }

    protected int Threads { get; }

    public abstract string Description { get; }

    /// <summary>How many blocks were recognised as repeats of an all-zero block (after Decode).</summary>
    public int DeduplicatedBlocks => _deduplicated;

    /// <summary>Pipeline buffers this decoder needs: one per worker, plus room to queue.</summary>
    public int BufferCount => 2 * Threads + 2;

    /// <summary>
    /// Decodes block <paramref name="number"/> (its bytes at <c>stream[12 .. 12 + block.Total)</c>, the first 12 bytes
    /// hold the file's stream header, and there is room for a one-record index and a footer after the block) into
    /// <paramref name="buffer"/>; throws <see cref="CorruptDataException"/> when it does not decode to exactly the
    /// index's size with a good check.
    /// </summary>
    protected abstract void DecodeBlock(XzBlock block, byte[] stream, byte[] buffer, int number);

    public void Decode(Stream input, ChunkPipeline output)
    {
        var blocks = Layout.Blocks;
        var next = -1;
        var turn = 0;
        var gate = new object();
        Exception? failure = null;
        var counter = input as InputStream;

        void Work()
        {
            try
            {
                using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
                // the one-block stream: header, block, index (at most 27 bytes), footer
                var stream = new byte[12 + Layout.MaxTotal + 32 + 12];
                Buffer.BlockCopy(Layout.StreamHeader, 0, stream, 0, 12);
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= blocks.Count || output.Token.IsCancellationRequested)
                    {
                        return;
                    }
                    var block = blocks[i];
                    file.Seek(block.Offset, SeekOrigin.Begin);
                    if (!XzLayout.ReadExactly(file, stream, 12, block.Total))
                    {
                        throw new CorruptDataException("unexpected end of input: the file is shorter than its index says");
                    }
                    var buffer = output.Rent();
                    if (IsKnownZeroBlock(block.Total, stream))
                    {
                        Array.Clear(buffer, 0, block.Uncompressed);
                        Interlocked.Increment(ref _deduplicated);
                    }
                    else
                    {
                        DecodeBlock(block, stream, buffer, i);
                        if (IsZero(buffer, block.Uncompressed))
                        {
                            RememberZeroBlock(stream, block.Total);
                        }
                    }
                    lock (gate)
                    {
                        while (turn != i)
                        {
                            output.Token.ThrowIfCancellationRequested();
                            Monitor.Wait(gate, 100);
                        }
                        output.Submit(buffer, block.Uncompressed);
                        turn++;
                        Monitor.PulseAll(gate);
                    }
                    counter?.Advance(block.Total);
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
                    Monitor.PulseAll(gate);
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
        stream[footer + 8] = Layout.StreamHeader[6];
        stream[footer + 9] = Layout.StreamHeader[7];
        stream[footer + 10] = (byte)'Y';
        stream[footer + 11] = (byte)'Z';
        XzLayout.PutU32(stream, footer, crc32(stream, footer + 4, 6));
        return p + 12;
    }

    private bool IsKnownZeroBlock(int total, byte[] stream)
    {
        foreach (var known in _zeroBlocks)
        {
            if (known.Length == total && new ReadOnlySpan<byte>(stream, 12, total).SequenceEqual(known))
            {
                return true;
            }
        }
        return false;
    }

    private void RememberZeroBlock(byte[] stream, int total)
    {
        var known = _zeroBlocks;
        if (known.Length >= 8 || IsKnownZeroBlock(total, stream))
        {
            return;
        }
        var copy = new byte[total];
        Buffer.BlockCopy(stream, 12, copy, 0, total);
        var updated = new byte[known.Length + 1][];
        Array.Copy(known, updated, known.Length);
        updated[known.Length] = copy;
        _zeroBlocks = updated; // a race may drop one entry: harmless, it is only a shortcut
    }

    private static bool IsZero(byte[] buffer, int count)
    {
        fixed (byte* p = buffer)
        {
            return SparseWriter.IsZero(p, count);
        }
    }
}
