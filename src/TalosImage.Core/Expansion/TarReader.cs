using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace TalosImage.Core.Expansion;

/// <summary>
/// A minimal forward-only tar reader (ustar, GNU and pax as written by GNU tar, Go's archive/tar and bsdtar):
/// 512-byte headers, sizes in octal or GNU base-256, GNU long names ('L'), pax 'path'/'size' records ('x') and
/// sparse members: old GNU 'S' (what the Talos imager's <c>tar --sparse</c> writes in GNU tar's default format)
/// and pax sparse 0.1 / 1.0. Enough to find one member (the factory's raw.tar.gz holds <c>disk.raw</c>) and stream
/// its bytes, holes included (as zeros).
/// </summary>
internal sealed class TarReader
{
    private const int BlockSize = 512;

    private readonly Stream _stream;
    private readonly byte[] _header = new byte[BlockSize];
    private long _remaining;   // archive bytes of the current member not yet read
    private long _padding;     // zero bytes after the current member up to the next 512-byte boundary
    private List<(long Offset, long Length)> _segments = new();  // where the stored bytes go in the real file
    private long _realSize;    // the member's size as extracted (larger than the stored bytes when sparse)
    private long _logical;     // position in the extracted member

    public TarReader(Stream stream) => _stream = stream;

    /// <summary>The next regular file member: its name and (extracted) size; null at the end of the archive.</summary>
    public (string Name, long Size)? Next()
    {
        Skip(_remaining + _padding);
        _remaining = _padding = 0;
        string? longName = null;
        long? paxSize = null;
        var pax = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            if (!ReadBlock(_header))
            {
                return null; // end of data without the two zero blocks: tolerated, as GNU tar does
            }
            if (IsZero(_header))
            {
                return null;
            }
            if (!ChecksumMatches(_header))
            {
                throw new CorruptDataException("tar header checksum does not match: not a tar archive, or a corrupt one");
            }
            var size = ParseNumber(_header, 124, 12);
            var type = (char)_header[156];
            var name = longName ?? HeaderName(_header);
            if (paxSize is { } ps)
            {
                size = ps;
            }
            longName = null;
            paxSize = null;
            switch (type)
            {
                case 'L':
                    longName = Encoding.UTF8.GetString(ReadAll(size)).TrimEnd('\0');
                    continue;
                case 'x':
                    pax.Clear();
                    foreach (var (key, value) in PaxRecords(ReadAll(size)))
                    {
                        pax[key] = value;
                        if (key == "path")
                        {
                            longName = value;
                        }
                        else if (key == "size")
                        {
                            paxSize = long.Parse(value, CultureInfo.InvariantCulture);
                        }
                    }
                    continue;
                case '0':
                case '\0':
                case '7':
                    _remaining = size;
                    _padding = Pad(size);
                    _segments = new List<(long, long)> { (0, size) };
                    _realSize = size;
                    _logical = 0;
                    if (pax.Count > 0)
                    {
                        name = PaxSparse(pax) ?? name;
                        pax.Clear();
                    }
                    return (name, _realSize);
                case 'S':
                    _remaining = size;
                    _padding = Pad(size);
                    _realSize = ParseNumber(_header, 483, 12);
                    _logical = 0;
                    _segments = new List<(long, long)>();
                    ReadOldGnuMap(_header, 386, 4);
                    var extended = _header[482] != 0;
                    var ext = new byte[BlockSize];
                    while (extended)
                    {
                        if (!ReadBlock(ext))
                        {
                            throw Truncated();
                        }
                        ReadOldGnuMap(ext, 0, 21);
                        extended = ext[504] != 0;
                    }
                    return (name, _realSize);
                default:
                    // directories, links, global pax headers ('g'), GNU 'K' ...: skip
                    pax.Clear();
                    Skip(size + Pad(size));
                    continue;
            }
        }
    }

    /// <summary>Entries of an old GNU sparse map (offset, numbytes: 12 octal bytes each), up to the first empty one.</summary>
    private void ReadOldGnuMap(byte[] block, int at, int entries)
    {
        for (var e = 0; e < entries; e++)
        {
            var o = at + e * 24;
            if (block[o] == 0)
            {
                return;
            }
            AddSegment(ParseNumber(block, o, 12), ParseNumber(block, o + 12, 12));
        }
    }

    private void AddSegment(long offset, long length)
    {
        var end = _segments.Count == 0 ? 0 : _segments[_segments.Count - 1].Offset + _segments[_segments.Count - 1].Length;
        if (offset < end || length < 0 || offset + length > _realSize)
        {
            throw new CorruptDataException("tar sparse map is out of order or outside the file");
        }
        _segments.Add((offset, length));
    }

    /// <summary>pax sparse members (GNU.sparse.*): 0.1 keeps the map in the header, 1.0 at the start of the data. Returns the real name.</summary>
    private string? PaxSparse(Dictionary<string, string> pax)
    {
        pax.TryGetValue("GNU.sparse.major", out var major);
        pax.TryGetValue("GNU.sparse.minor", out var minor);
        var hasMap = pax.TryGetValue("GNU.sparse.map", out var map);
        if (major is null && !hasMap)
        {
            return null;
        }
        var realSize = pax.TryGetValue("GNU.sparse.realsize", out var rs) ? rs : pax.TryGetValue("GNU.sparse.size", out var sz) ? sz : null;
        if (realSize is null)
        {
            throw new CorruptDataException("tar pax sparse member without GNU.sparse.realsize");
        }
        _realSize = long.Parse(realSize, CultureInfo.InvariantCulture);
        _segments = new List<(long, long)>();
        var numbers = new List<long>();
        if (major == "1" && minor == "0")
        {
            // decimal lines: count, then offset/size pairs; padded to a 512-byte boundary
            long count = -1;
            var used = 0L;
            var line = new StringBuilder();
            var one = new byte[1];
            while (count < 0 || numbers.Count < count * 2)
            {
                if (_remaining == 0 || _stream.Read(one, 0, 1) != 1)
                {
                    throw Truncated();
                }
                _remaining--;
                used++;
                if (one[0] != (byte)'\n')
                {
                    line.Append((char)one[0]);
                    continue;
                }
                var value = long.Parse(line.ToString(), CultureInfo.InvariantCulture);
                line.Clear();
                if (count < 0)
                {
                    count = value;
                }
                else
                {
                    numbers.Add(value);
                }
            }
            var pad = Pad(used);
            Skip(pad);
            _remaining -= pad;
        }
        else if (hasMap)
        {
            numbers.AddRange(map!.Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(x => long.Parse(x, CultureInfo.InvariantCulture)));
        }
        else
        {
            throw new CorruptDataException($"tar pax sparse format {major}.{minor} is not supported");
        }
        for (var i = 0; i + 1 < numbers.Count; i += 2)
        {
            AddSegment(numbers[i], numbers[i + 1]);
        }
        return pax.TryGetValue("GNU.sparse.name", out var name) ? name : null;
    }

    /// <summary>Reads the rest of the archive (so the compressed container is checked to its end).</summary>
    public void Drain()
    {
        var buffer = new byte[1 << 16];
        while (_stream.Read(buffer, 0, buffer.Length) > 0)
        {
        }
        _remaining = _padding = 0;
    }

    /// <summary>The current member's bytes (exactly its size); fails if the archive ends before.</summary>
    public Stream OpenMember() => new MemberStream(this);

    private static long Pad(long size) => (BlockSize - size % BlockSize) % BlockSize;

    private static string HeaderName(byte[] h)
    {
        var name = CString(h, 0, 100);
        var magic = Encoding.ASCII.GetString(h, 257, 5);
        if (magic == "ustar")
        {
            var prefix = CString(h, 345, 155);
            if (prefix.Length > 0 && h[263] == (byte)'0')
            {
                // POSIX ustar ("ustar\0" "00"): prefix/name. GNU ("ustar  \0") uses those bytes for times.
                name = prefix + "/" + name;
            }
        }
        return name;
    }

    private static string CString(byte[] h, int offset, int length)
    {
        var end = Array.IndexOf(h, (byte)0, offset, length);
        return Encoding.UTF8.GetString(h, offset, (end < 0 ? offset + length : end) - offset);
    }

    /// <summary>An octal field (space/NUL terminated), or GNU base-256 when the first byte has its high bit set.</summary>
    internal static long ParseNumber(byte[] h, int offset, int length)
    {
        if ((h[offset] & 0x80) != 0)
        {
            long value = h[offset] & 0x7f;
            for (var k = 1; k < length; k++)
            {
                if (value > (long.MaxValue >> 8))
                {
                    throw new CorruptDataException("tar size field is out of range");
                }
                value = (value << 8) | h[offset + k];
            }
            return value;
        }
        long result = 0;
        var i = 0;
        while (i < length && (h[offset + i] == (byte)' ' || h[offset + i] == 0))
        {
            i++; // leading spaces (old tars); an all-NUL field is 0
        }
        for (; i < length; i++)
        {
            var c = h[offset + i];
            if (c == 0 || c == (byte)' ')
            {
                break;
            }
            if (c < (byte)'0' || c > (byte)'7')
            {
                throw new CorruptDataException($"tar header has a bad number field at offset {offset}");
            }
            result = (result << 3) + (c - (byte)'0');
        }
        return result;
    }

    private static bool ChecksumMatches(byte[] h)
    {
        var recorded = ParseNumber(h, 148, 8);
        long unsigned = 0;
        long signed = 0;
        for (var i = 0; i < BlockSize; i++)
        {
            var b = i >= 148 && i < 156 ? (byte)' ' : h[i];
            unsigned += b;
            signed += (sbyte)b;
        }
        return unsigned == recorded || signed == recorded; // some old tars summed signed bytes
    }

    private static bool IsZero(byte[] h)
    {
        foreach (var b in h)
        {
            if (b != 0)
            {
                return false;
            }
        }
        return true;
    }

    private static IEnumerable<(string Key, string Value)> PaxRecords(byte[] data)
    {
        // "<length> <key>=<value>\n", length counting the whole record.
        var pos = 0;
        while (pos < data.Length)
        {
            var space = Array.IndexOf(data, (byte)' ', pos);
            if (space < 0 || !int.TryParse(Encoding.ASCII.GetString(data, pos, space - pos), NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length <= 0 || pos + length > data.Length)
            {
                yield break;
            }
            var record = Encoding.UTF8.GetString(data, space + 1, pos + length - space - 2);
            var eq = record.IndexOf('=');
            if (eq > 0)
            {
                yield return (record.Substring(0, eq), record.Substring(eq + 1));
            }
            pos += length;
        }
    }

    private byte[] ReadAll(long size)
    {
        if (size > 1 << 20)
        {
            throw new CorruptDataException($"tar extended header of {size} bytes is implausibly large");
        }
        var data = new byte[size];
        if (!ReadExactly(data, (int)size))
        {
            throw Truncated();
        }
        Skip(Pad(size));
        return data;
    }

    private bool ReadBlock(byte[] block)
    {
        var filled = 0;
        while (filled < block.Length)
        {
            var n = _stream.Read(block, filled, block.Length - filled);
            if (n == 0)
            {
                if (filled == 0)
                {
                    return false;
                }
                throw Truncated();
            }
            filled += n;
        }
        return true;
    }

    private bool ReadExactly(byte[] data, int count)
    {
        var filled = 0;
        while (filled < count)
        {
            var n = _stream.Read(data, filled, count - filled);
            if (n == 0)
            {
                return false;
            }
            filled += n;
        }
        return true;
    }

    private void Skip(long count)
    {
        var buffer = new byte[(int)Math.Min(Math.Max(count, 1), 1 << 16)];
        while (count > 0)
        {
            var n = _stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (n == 0)
            {
                throw Truncated();
            }
            count -= n;
        }
    }

    private static CorruptDataException Truncated() => new("unexpected end of input: the tar archive is truncated");

    private sealed class MemberStream : Stream
    {
        private readonly TarReader _tar;
        private int _segment;

        public MemberStream(TarReader tar) => _tar = tar;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var t = _tar;
            if (t._logical >= t._realSize || count == 0)
            {
                return 0;
            }
            while (_segment < t._segments.Count && t._segments[_segment].Offset + t._segments[_segment].Length <= t._logical)
            {
                _segment++;
            }
            if (_segment == t._segments.Count || t._logical < t._segments[_segment].Offset)
            {
                // a hole: zeros up to the next stored segment (or the end)
                var holeEnd = _segment == t._segments.Count ? t._realSize : t._segments[_segment].Offset;
                var z = (int)Math.Min(count, holeEnd - t._logical);
                Array.Clear(buffer, offset, z);
                t._logical += z;
                return z;
            }
            var segEnd = t._segments[_segment].Offset + t._segments[_segment].Length;
            var want = (int)Math.Min(Math.Min(count, segEnd - t._logical), t._remaining);
            var n = want == 0 ? 0 : t._stream.Read(buffer, offset, want);
            if (n == 0)
            {
                throw Truncated();
            }
            t._remaining -= n;
            t._logical += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
