using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Writes the decompressed chunks to the output file sparsely: each 4 KiB block that is all zeros is skipped by moving the file position instead of
/// writing, runs of non-zero blocks go out in one write. <see cref="Finish"/> sets the exact length, so a
/// trailing zero run becomes a hole of the right size. On Windows the file is first marked sparse
/// (FSCTL_SET_SPARSE); without that NTFS would fill the skipped ranges with zeros.
/// </summary>
internal sealed unsafe class SparseWriter
{
    public const int BlockSize = 4096;

    private readonly FileStream _file;
    private long _length;     // logical bytes so far
    private long _position;   // where the FileStream is

    public SparseWriter(FileStream file)
    {
        _file = file;
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            TryMarkSparse(file);
        }
    }

    public long Length => _length;

    /// <summary>Bytes actually written (non-zero blocks).</summary>
    public long WrittenBytes { get; private set; }

    /// <summary>Writes a chunk: a <see cref="Chunk.Zero"/> one is a hole (nothing scanned or written).</summary>
    public void Write(Chunk chunk)
    {
        if (chunk.Zero)
        {
            _length += chunk.Count;
            return;
        }
        Write(chunk.Buffer!, chunk.Count); // a chunk without a buffer is always Zero
    }

    public void Write(byte[] buffer, int count)
    {
        fixed (byte* p = buffer)
        {
            var offset = 0;
            while (offset < count)
            {
                // a run of non-zero blocks, then a run of zero blocks
                var start = offset;
                while (offset < count && !IsZero(p + offset, Math.Min(BlockSize, count - offset)))
                {
                    offset += Math.Min(BlockSize, count - offset);
                }
                if (offset > start)
                {
                    var at = _length + start;
                    if (_position != at)
                    {
                        _file.Seek(at, SeekOrigin.Begin);
                    }
                    _file.Write(buffer, start, offset - start);
                    _position = at + (offset - start);
                    WrittenBytes += offset - start;
                    StartWriteback();
                }
                while (offset < count && IsZero(p + offset, Math.Min(BlockSize, count - offset)))
                {
                    offset += Math.Min(BlockSize, count - offset);
                }
            }
        }
        _length += count;
    }

    private const long WritebackChunk = 32L << 20;
    private long _writebackFrom;

    /// <summary>
    /// After each 32 MiB written, starts the kernel's writeback of what was written since (Linux: sync_file_range), so
    /// that the fsync in <see cref="Finish"/> has little left to wait for.
    /// </summary>
    private void StartWriteback()
    {
        if (WrittenBytes - _writtenAtWriteback < WritebackChunk)
        {
            return;
        }
        _file.Flush(flushToDisk: false);
        TalosImage.Core.Artifacts.Writeback.Start(_file, _writebackFrom, _position - _writebackFrom);
        _writebackFrom = _position;
        _writtenAtWriteback = WrittenBytes;
    }

    private long _writtenAtWriteback;

    /// <summary>Sets the exact length and flushes to disk.</summary>
    public void Finish()
    {
        _file.SetLength(_length);
        _file.Flush(flushToDisk: true);
    }

    /// <summary>True when all <paramref name="length"/> bytes at <paramref name="p"/> are zero (8 bytes at a time, 32 per step).</summary>
    internal static bool IsZero(byte* p, int length)
    {
        var q = (ulong*)p;
        var words = length >> 3;
        var i = 0;
        for (; i + 4 <= words; i += 4)
        {
            if ((q[i] | q[i + 1] | q[i + 2] | q[i + 3]) != 0)
            {
                return false;
            }
        }
        for (; i < words; i++)
        {
            if (q[i] != 0)
            {
                return false;
            }
        }
        for (var j = words << 3; j < length; j++)
        {
            if (p[j] != 0)
            {
                return false;
            }
        }
        return true;
    }

    private static void TryMarkSparse(FileStream file)
    {
        try
        {
            const uint FsctlSetSparse = 0x000900C4;
            DeviceIoControl(file.SafeFileHandle, FsctlSetSparse, IntPtr.Zero, 0, IntPtr.Zero, 0, out _, IntPtr.Zero);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not sparse then: still correct, just not sparse
        }
    }

    [DllImport("kernel32", SetLastError = true)]
    private static extern bool DeviceIoControl(Microsoft.Win32.SafeHandles.SafeFileHandle handle, uint code, IntPtr inBuffer, uint inSize, IntPtr outBuffer, uint outSize, out uint returned, IntPtr overlapped);
}

/// <summary>
/// The compressed input as the decoders read it: counts bytes for progress, and hashes them (SHA-256) when the
/// source's hash was not known beforehand, so the expanded image's metadata can name its source.
/// </summary>
internal sealed class InputStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash? _sha;
    private readonly Action<long> _progress;
    private long _read;

    public InputStream(Stream inner, bool hash, Action<long> progress)
    {
        _inner = inner;
        _sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        _progress = progress;
    }

    public long BytesRead => _read;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _inner.Length;
    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = _inner.Read(buffer, offset, count);
        if (n > 0)
        {
            _sha?.AppendData(buffer, offset, n);
            _read += n;
            _progress(_read);
        }
        return n;
    }

    /// <summary>For decoders that read the file themselves: counts <paramref name="bytes"/> as read, for progress.</summary>
    public void Advance(long bytes)
    {
        lock (_progress)
        {
            _read += bytes;
            _progress(_read);
        }
    }

    /// <summary>The SHA-256 (lowercase hex) of everything read, or null when not hashing.</summary>
    public string? Sha256() => _sha is null ? null : Hex(_sha.GetHashAndReset());

    /// <summary>Lowercase hex.</summary>
    public static string Hex(byte[] hash) => BitConverter.ToString(hash).Replace("-", "").ToLowerInvariant();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sha?.Dispose();
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
