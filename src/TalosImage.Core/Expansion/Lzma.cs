using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Expansion;

/// <summary>
/// The system's liblzma (xz-utils): liblzma.so.5 on Linux, liblzma.5.dylib on macOS (system or Homebrew),
/// liblzma.dll on Windows (found through PATH). Null when none loads.
/// </summary>
internal sealed unsafe class LzmaLibrary
{
    private static readonly Lazy<LzmaLibrary?> Shared = new(Load);

    private readonly delegate* unmanaged[Cdecl]<LzmaStream*, ulong, uint, int> _streamDecoder;
    private readonly delegate* unmanaged[Cdecl]<LzmaStream*, LzmaMt*, int> _streamDecoderMt;
    private readonly delegate* unmanaged[Cdecl]<LzmaStream*, int, int> _code;
    private readonly delegate* unmanaged[Cdecl]<LzmaStream*, void> _end;
    private readonly delegate* unmanaged[Cdecl]<ulong*, uint, IntPtr, byte*, UIntPtr*, UIntPtr, byte*, UIntPtr*, UIntPtr, int> _streamBufferDecode;
    private readonly delegate* unmanaged[Cdecl]<byte*, UIntPtr, uint, uint> _crc32;

    private LzmaLibrary(string name, IntPtr handle)
    {
        Name = name;
        _streamDecoder = (delegate* unmanaged[Cdecl]<LzmaStream*, ulong, uint, int>)NativeLoader.Symbol(handle, "lzma_stream_decoder");
        _streamDecoderMt = (delegate* unmanaged[Cdecl]<LzmaStream*, LzmaMt*, int>)NativeLoader.Symbol(handle, "lzma_stream_decoder_mt");
        _code = (delegate* unmanaged[Cdecl]<LzmaStream*, int, int>)NativeLoader.Symbol(handle, "lzma_code");
        _end = (delegate* unmanaged[Cdecl]<LzmaStream*, void>)NativeLoader.Symbol(handle, "lzma_end");
        _streamBufferDecode = (delegate* unmanaged[Cdecl]<ulong*, uint, IntPtr, byte*, UIntPtr*, UIntPtr, byte*, UIntPtr*, UIntPtr, int>)NativeLoader.Symbol(handle, "lzma_stream_buffer_decode");
        _crc32 = (delegate* unmanaged[Cdecl]<byte*, UIntPtr, uint, uint>)NativeLoader.Symbol(handle, "lzma_crc32");
        var version = (delegate* unmanaged[Cdecl]<uint>)NativeLoader.Symbol(handle, "lzma_version_number");
        if (version != null)
        {
            // LZMA_VERSION = major * 10000000 + minor * 10000 + patch * 10 + stability
            var v = version();
            Version = $"{v / 10000000}.{v / 10000 % 1000}.{v / 10 % 1000}";
        }
    }

    /// <summary>The names tried, in order, on this platform.</summary>
    public static string[] Candidates =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? new[] { "liblzma.dll", "lzma.dll" }
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? new[] { "liblzma.5.dylib", "/opt/homebrew/lib/liblzma.5.dylib", "/usr/local/lib/liblzma.5.dylib", "/usr/lib/liblzma.5.dylib" }
        : new[] { "liblzma.so.5", "liblzma.so" };

    public static LzmaLibrary? Instance => Shared.Value;

    public string Name { get; }

    public string Version { get; } = "?";

    /// <summary>True when lzma_stream_decoder_mt exists (liblzma 5.4 and later).</summary>
    public bool HasMultiThreadedDecoder => _streamDecoderMt != null;

    /// <summary>True when the one-call buffer decoder and lzma_crc32 exist (every liblzma 5.x).</summary>
    public bool HasBufferDecoder => _streamBufferDecode != null && _crc32 != null;

    private bool Usable => _streamDecoder != null && _code != null && _end != null;

    private static LzmaLibrary? Load()
    {
        var (handle, name) = NativeLoader.TryLoad(Candidates);
        if (handle == IntPtr.Zero)
        {
            return null;
        }
        var library = new LzmaLibrary(name!, handle);
        return library.Usable ? library : null;
    }

    internal int StreamDecoder(LzmaStream* strm, ulong memlimit, uint flags) => _streamDecoder(strm, memlimit, flags);

    internal int StreamDecoderMt(LzmaStream* strm, LzmaMt* options) => _streamDecoderMt(strm, options);

    internal int Code(LzmaStream* strm, int action) => _code(strm, action);

    internal void End(LzmaStream* strm) => _end(strm);

    /// <summary>lzma_stream_buffer_decode: a whole .xz stream from memory into memory.</summary>
    internal int StreamBufferDecode(byte* input, int inSize, byte* output, int outSize, out int inPos, out int outPos)
    {
        var memlimit = ulong.MaxValue;
        UIntPtr ip = UIntPtr.Zero, op = UIntPtr.Zero;
        var ret = _streamBufferDecode(&memlimit, 0, IntPtr.Zero, input, &ip, (UIntPtr)inSize, output, &op, (UIntPtr)outSize);
        inPos = (int)ip;
        outPos = (int)op;
        return ret;
    }

    internal uint Crc32(byte* data, int size, uint crc = 0) => _crc32(data, (UIntPtr)size, crc);
}

/// <summary>lzma_stream (lzma/base.h); LZMA_STREAM_INIT is all zeros.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LzmaStream
{
    public byte* NextIn;
    public UIntPtr AvailIn;
    public ulong TotalIn;
    public byte* NextOut;
    public UIntPtr AvailOut;
    public ulong TotalOut;
    public IntPtr Allocator;
    public IntPtr Internal;
    public IntPtr ReservedPtr1;
    public IntPtr ReservedPtr2;
    public IntPtr ReservedPtr3;
    public IntPtr ReservedPtr4;
    public ulong SeekPos;
    public ulong ReservedInt2;
    public UIntPtr ReservedInt3;
    public UIntPtr ReservedInt4;
    public int ReservedEnum1;
    public int ReservedEnum2;
}

/// <summary>lzma_mt (lzma/container.h, liblzma 5.4 layout: memlimit_threading and memlimit_stop).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LzmaMt
{
    public uint Flags;
    public uint Threads;
    public ulong BlockSize;
    public uint Timeout;
    public uint Preset;
    public IntPtr Filters;
    public int Check;
    public int ReservedEnum1;
    public int ReservedEnum2;
    public int ReservedEnum3;
    public uint ReservedInt1;
    public uint ReservedInt2;
    public uint ReservedInt3;
    public uint ReservedInt4;
    public ulong MemlimitThreading;
    public ulong MemlimitStop;
    public ulong ReservedInt7;
    public ulong ReservedInt8;
    public IntPtr ReservedPtr1;
    public IntPtr ReservedPtr2;
    public IntPtr ReservedPtr3;
    public IntPtr ReservedPtr4;
}

/// <summary>
/// Decodes .xz with liblzma: the multi-threaded decoder when there are several threads and the library has it
/// (it decodes the independent blocks that <c>xz -T0</c> writes in parallel), else the single-threaded one.
/// LZMA_CONCATENATED: concatenated streams and stream padding are read as xz does; the end of input is signalled
/// with LZMA_FINISH and anything but LZMA_STREAM_END (a bad CRC32/CRC64/SHA-256, a bad index, truncation) fails.
/// </summary>
internal sealed unsafe class LzmaDecoder : IDecoder
{
    /// <summary>Above this the multi-threaded decoder uses fewer threads (or one) rather than more memory.</summary>
    public const ulong MemlimitThreading = 256UL << 20;

    private const uint LzmaConcatenated = 0x08;
    private const int LzmaRun = 0;
    private const int LzmaFinish = 3;
    private const int InputBufferSize = 1 << 20;

    private readonly LzmaLibrary _library;
    private readonly int _threads;

    public LzmaDecoder(LzmaLibrary library, int threads)
    {
        _library = library;
        _threads = threads > 1 && library.HasMultiThreadedDecoder ? threads : 1;
    }

    public string Description => _threads > 1
        ? $"liblzma {_library.Version} ({_library.Name}), multi-threaded decoder, {_threads} threads"
        : $"liblzma {_library.Version} ({_library.Name}), single-threaded decoder";

    public void Decode(Stream input, ChunkPipeline output)
    {
        var strm = (LzmaStream*)Marshal.AllocHGlobal(sizeof(LzmaStream));
        *strm = default;
        var inBuffer = new byte[InputBufferSize];
        var inPin = GCHandle.Alloc(inBuffer, GCHandleType.Pinned);
        try
        {
            int ret;
            if (_threads > 1)
            {
                var mt = new LzmaMt
                {
                    Flags = LzmaConcatenated,
                    Threads = (uint)_threads,
                    MemlimitThreading = MemlimitThreading,
                    MemlimitStop = ulong.MaxValue,
                };
                ret = _library.StreamDecoderMt(strm, &mt);
            }
            else
            {
                ret = _library.StreamDecoder(strm, ulong.MaxValue, LzmaConcatenated);
            }
            if (ret != 0)
            {
                throw new DecoderFailedException("liblzma could not start a decoder: " + Describe(ret));
            }
            Run(strm, input, output, (byte*)inPin.AddrOfPinnedObject(), inBuffer);
        }
        finally
        {
            _library.End(strm);
            Marshal.FreeHGlobal((IntPtr)strm);
            inPin.Free();
        }
    }

    private void Run(LzmaStream* strm, Stream input, ChunkPipeline output, byte* inBase, byte[] inBuffer)
    {
        var action = LzmaRun;
        byte[]? outBuffer = null;
        var outPos = 0;
        while (true)
        {
            if (strm->AvailIn == UIntPtr.Zero && action == LzmaRun)
            {
                var n = input.Read(inBuffer, 0, inBuffer.Length);
                if (n == 0)
                {
                    action = LzmaFinish;
                }
                strm->NextIn = inBase;
                strm->AvailIn = (UIntPtr)n;
            }
            if (outBuffer is null)
            {
                outBuffer = output.Rent();
                outPos = 0;
            }
            int ret;
            fixed (byte* outBase = outBuffer)
            {
                strm->NextOut = outBase + outPos;
                strm->AvailOut = (UIntPtr)(outBuffer.Length - outPos);
                ret = _library.Code(strm, action);
                outPos = outBuffer.Length - (int)strm->AvailOut;
            }
            if (ret == 1)
            {
                // LZMA_STREAM_END: every stream, its index and its checks are verified.
                output.Submit(outBuffer, outPos);
                return;
            }
            if (ret != 0)
            {
                output.Submit(outBuffer, 0);
                var message = Describe(ret);
                if (ret is 7 or 9 or 10)
                {
                    throw new CorruptDataException(message + $" (after {strm->TotalIn} compressed bytes, {strm->TotalOut} decompressed)");
                }
                throw new DecoderFailedException("liblzma: " + message);
            }
            if (outPos == outBuffer.Length)
            {
                output.Submit(outBuffer, outPos);
                outBuffer = null;
            }
        }
    }

    /// <summary>lzma_ret in words (the messages xz itself prints).</summary>
    internal static string Describe(int ret) => ret switch
    {
        2 => "no integrity check",
        3 => "unsupported type of integrity check",
        5 => "memory allocation failed (LZMA_MEM_ERROR)",
        6 => "memory usage limit reached (LZMA_MEMLIMIT_ERROR)",
        7 => "file format not recognized: not an .xz stream (LZMA_FORMAT_ERROR)",
        8 => "unsupported options (LZMA_OPTIONS_ERROR)",
        9 => "compressed data is corrupt: a check (CRC32/CRC64/SHA-256), block header or index does not match (LZMA_DATA_ERROR)",
        10 => "unexpected end of input: the file is truncated (LZMA_BUF_ERROR)",
        11 => "programming error (LZMA_PROG_ERROR)",
        _ => $"lzma_ret {ret}",
    };
}
