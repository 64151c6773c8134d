using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Block-parallel .xz decoding for files like the factory's (<c>xz -0 -T0</c>: one stream of independent ~1 MiB
/// blocks whose sizes the index records). The stream header, footer and index are read from the file and
/// checked (magic, flags, CRC32, block offsets that add up to the index); then N workers each take the next block,
/// wrap it as a one-block .xz stream (the file's own stream header, the block, a one-record index, a footer) and
/// decode it with lzma_stream_buffer_decode, which verifies the block header, the block's check (CRC32/CRC64/
/// SHA-256) and its sizes against the index record. Results are handed on in file order.
/// A block whose compressed bytes are identical to a block already decoded to all zeros is known to decode to
/// the same zeros (the decoder is deterministic and that block's check was verified): it is not decoded again.
/// Disk images are mostly zeros, which LZMA decodes at only about 0.5 GB/s.
/// Anything else (several streams, stream padding, blocks over 4 MiB, a damaged footer or index) is left to the
/// streaming decoder, which reads it as xz does and reports the damage.
/// </summary>
internal sealed unsafe class LzmaBlockDecoder : IDecoder
{
    public const int MaxBlockSize = 4 << 20;

    /// <summary>More workers than this only cost memory (each holds a 4 MiB chunk and a block buffer).</summary>
    public const int MaxWorkers = 16;
    private const int MaxIndexSize = 16 << 20;

    private readonly LzmaLibrary _library;
    private readonly string _path;
    private readonly int _threads;
    private readonly byte[] _streamHeader;
    private readonly List<Block> _blocks;
    private readonly int _maxTotal;
    private volatile byte[][] _zeroBlocks = Array.Empty<byte[]>();
    private int _deduplicated;

    private LzmaBlockDecoder(LzmaLibrary library, string path, int threads, byte[] streamHeader, List<Block> blocks)
    {
        _library = library;
        _path = path;
        _threads = threads;
        _streamHeader = streamHeader;
        _blocks = blocks;
        foreach (var b in blocks)
        {
            _maxTotal = Math.Max(_maxTotal, b.Total);
        }
    }

    public string Description => $"liblzma {_library.Version} ({_library.Name}), block-parallel decoder, {_threads} threads, {_blocks.Count} blocks";

    /// <summary>How many blocks were recognised as repeats of an all-zero block (after Decode).</summary>
    public int DeduplicatedBlocks => _deduplicated;

    /// <summary>Pipeline buffers this decoder needs: one per worker, plus room to queue.</summary>
    public int BufferCount => 2 * _threads + 2;

    /// <summary>A decoder for <paramref name="path"/>, or null when the file is not a single stream of small indexed blocks.</summary>
    public static LzmaBlockDecoder? TryCreate(LzmaLibrary library, string path, int threads)
    {
        if (!library.HasBufferDecoder || threads < 2)
        {
            return null;
        }
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
            if (Crc(library, header, 6, 2) != U32(header, 8) || Crc(library, footer, 4, 6) != U32(footer, 0))
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
            if (index[0] != 0 || Crc(library, index, 0, index.Length - 4) != U32(index, index.Length - 4))
            {
                return null;
            }
            var pos = 1;
            var count = Vli(index, ref pos);
            if (count < 2 || count > 1 << 24)
            {
                return null;
            }
            var blocks = new List<Block>((int)count);
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
                blocks.Add(new Block(offset, (int)total, unpadded, (int)uncompressed));
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
            return offset == indexStart ? new LzmaBlockDecoder(library, path, Math.Min(threads, MaxWorkers), header, blocks) : null;
        }
        catch (Exception e) when (e is IOException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    public void Decode(Stream input, ChunkPipeline output)
    {
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
                var stream = new byte[12 + _maxTotal + 32 + 12];
                Buffer.BlockCopy(_streamHeader, 0, stream, 0, 12);
                while (true)
                {
                    var i = Interlocked.Increment(ref next);
                    if (i >= _blocks.Count || output.Token.IsCancellationRequested)
                    {
                        return;
                    }
                    var block = _blocks[i];
                    file.Seek(block.Offset, SeekOrigin.Begin);
                    if (!ReadExactly(file, stream, 12, block.Total))
                    {
                        throw new CorruptDataException("unexpected end of input: the file is shorter than its index says");
                    }
                    var buffer = output.Rent();
                    DecodeBlock(block, stream, buffer, i);
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

        var workers = new Thread[_threads];
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

    private void DecodeBlock(Block block, byte[] stream, byte[] buffer, int number)
    {
        if (IsKnownZeroBlock(block, stream))
        {
            Array.Clear(buffer, 0, block.Uncompressed);
            Interlocked.Increment(ref _deduplicated);
            return;
        }
        // one-record index: indicator, count, unpadded size, uncompressed size, padding, CRC32; then the footer
        var p = 12 + block.Total;
        var indexStart = p;
        stream[p++] = 0;
        p = PutVli(stream, p, 1);
        p = PutVli(stream, p, block.Unpadded);
        p = PutVli(stream, p, block.Uncompressed);
        while ((p - indexStart) % 4 != 0)
        {
            stream[p++] = 0;
        }
        int inPos, outPos, ret;
        fixed (byte* s = stream)
        fixed (byte* o = buffer)
        {
            PutU32(stream, p, _library.Crc32(s + indexStart, p - indexStart));
            p += 4;
            var footer = p;
            PutU32(stream, footer + 4, (uint)((p - indexStart) / 4 - 1));
            stream[footer + 8] = _streamHeader[6];
            stream[footer + 9] = _streamHeader[7];
            stream[footer + 10] = (byte)'Y';
            stream[footer + 11] = (byte)'Z';
            PutU32(stream, footer, _library.Crc32(s + footer + 4, 6));
            p += 12;
            ret = _library.StreamBufferDecode(s, p, o, buffer.Length, out inPos, out outPos);
        }
        if (ret != 0 || inPos != p || outPos != block.Uncompressed)
        {
            var what = ret != 0 ? LzmaDecoder.Describe(ret == 10 ? 9 : ret) : "the block's size does not match the index";
            if (ret is 5 or 6 or 8 or 11)
            {
                throw new DecoderFailedException("liblzma: " + what);
            }
            throw new CorruptDataException($"{what} (block {number + 1} of {_blocks.Count}, at byte {block.Offset})");
        }
        if (SparseWriterZero(buffer, block.Uncompressed))
        {
            RememberZeroBlock(stream, block.Total);
        }
    }

    private bool IsKnownZeroBlock(Block block, byte[] stream)
    {
        foreach (var known in _zeroBlocks)
        {
            if (known.Length == block.Total && new ReadOnlySpan<byte>(stream, 12, block.Total).SequenceEqual(known))
            {
                return true;
            }
        }
        return false;
    }

    private void RememberZeroBlock(byte[] stream, int total)
    {
        var known = _zeroBlocks;
        if (known.Length >= 8 || IsKnownZeroBlock(new Block(0, total, 0, 0), stream))
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

    private static bool SparseWriterZero(byte[] buffer, int count)
    {
        fixed (byte* p = buffer)
        {
            return SparseWriter.IsZero(p, count);
        }
    }

    private static byte[] ReadAt(FileStream file, long offset, int count)
    {
        var data = new byte[count];
        file.Seek(offset, SeekOrigin.Begin);
        if (!ReadExactly(file, data, 0, count))
        {
            throw new IOException("short read");
        }
        return data;
    }

    private static bool ReadExactly(Stream s, byte[] data, int offset, int count)
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

    private static uint Crc(LzmaLibrary library, byte[] data, int offset, int count)
    {
        fixed (byte* p = data)
        {
            return library.Crc32(p + offset, count);
        }
    }

    private static uint U32(byte[] b, int at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

    private static void PutU32(byte[] b, int at, uint v)
    {
        b[at] = (byte)v;
        b[at + 1] = (byte)(v >> 8);
        b[at + 2] = (byte)(v >> 16);
        b[at + 3] = (byte)(v >> 24);
    }

    /// <summary>An xz variable-length integer (7 bits per byte, at most 9 bytes, no superfluous zero byte).</summary>
    private static long Vli(byte[] b, ref int pos)
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

    private static int PutVli(byte[] b, int pos, long value)
    {
        while (value >= 0x80)
        {
            b[pos++] = (byte)(value | 0x80);
            value >>= 7;
        }
        b[pos++] = (byte)value;
        return pos;
    }

    private readonly struct Block
    {
        public Block(long offset, int total, long unpadded, int uncompressed)
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
}
