using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Expansion;

/// <summary>
/// The system's libzstd: libzstd.so.1 on Linux, libzstd.1.dylib on macOS (Homebrew), libzstd.dll / zstd.dll on
/// Windows (through PATH). Null when none loads.
/// </summary>
internal sealed unsafe class ZstdLibrary
{
    private static readonly Lazy<ZstdLibrary?> Shared = new(Load);

    private readonly delegate* unmanaged[Cdecl]<IntPtr> _createDStream;
    private readonly delegate* unmanaged[Cdecl]<IntPtr, UIntPtr> _initDStream;
    private readonly delegate* unmanaged[Cdecl]<IntPtr, ZstdOutBuffer*, ZstdInBuffer*, UIntPtr> _decompressStream;
    private readonly delegate* unmanaged[Cdecl]<IntPtr, UIntPtr> _freeDStream;
    private readonly delegate* unmanaged[Cdecl]<UIntPtr, uint> _isError;
    private readonly delegate* unmanaged[Cdecl]<UIntPtr, IntPtr> _getErrorName;

    private ZstdLibrary(string name, IntPtr handle)
    {
        Name = name;
        _createDStream = (delegate* unmanaged[Cdecl]<IntPtr>)NativeLoader.Symbol(handle, "ZSTD_createDStream");
        _initDStream = (delegate* unmanaged[Cdecl]<IntPtr, UIntPtr>)NativeLoader.Symbol(handle, "ZSTD_initDStream");
        _decompressStream = (delegate* unmanaged[Cdecl]<IntPtr, ZstdOutBuffer*, ZstdInBuffer*, UIntPtr>)NativeLoader.Symbol(handle, "ZSTD_decompressStream");
        _freeDStream = (delegate* unmanaged[Cdecl]<IntPtr, UIntPtr>)NativeLoader.Symbol(handle, "ZSTD_freeDStream");
        _isError = (delegate* unmanaged[Cdecl]<UIntPtr, uint>)NativeLoader.Symbol(handle, "ZSTD_isError");
        _getErrorName = (delegate* unmanaged[Cdecl]<UIntPtr, IntPtr>)NativeLoader.Symbol(handle, "ZSTD_getErrorName");
        var version = (delegate* unmanaged[Cdecl]<uint>)NativeLoader.Symbol(handle, "ZSTD_versionNumber");
        if (version != null)
        {
            // ZSTD_VERSION_NUMBER = major * 10000 + minor * 100 + release
            var v = version();
            Version = $"{v / 10000}.{v / 100 % 100}.{v % 100}";
        }
    }

    public static string[] Candidates =>
        RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? new[] { "libzstd.dll", "zstd.dll" }
        : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? new[] { "libzstd.1.dylib", "/opt/homebrew/lib/libzstd.1.dylib", "/usr/local/lib/libzstd.1.dylib" }
        : new[] { "libzstd.so.1", "libzstd.so" };

    public static ZstdLibrary? Instance => Shared.Value;

    public string Name { get; }

    public string Version { get; } = "?";

    private bool Usable => _createDStream != null && _initDStream != null && _decompressStream != null && _freeDStream != null && _isError != null && _getErrorName != null;

    private static ZstdLibrary? Load()
    {
        var (handle, name) = NativeLoader.TryLoad(Candidates);
        if (handle == IntPtr.Zero)
        {
            return null;
        }
        var library = new ZstdLibrary(name!, handle);
        return library.Usable ? library : null;
    }

    internal IntPtr CreateDStream() => _createDStream();

    internal UIntPtr InitDStream(IntPtr ds) => _initDStream(ds);

    internal UIntPtr DecompressStream(IntPtr ds, ZstdOutBuffer* output, ZstdInBuffer* input) => _decompressStream(ds, output, input);

    internal void FreeDStream(IntPtr ds) => _freeDStream(ds);

    internal bool IsError(UIntPtr code) => _isError(code) != 0;

    internal string ErrorName(UIntPtr code) => Marshal.PtrToStringAnsi(_getErrorName(code)) ?? "unknown error";
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ZstdInBuffer
{
    public byte* Src;
    public UIntPtr Size;
    public UIntPtr Pos;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ZstdOutBuffer
{
    public byte* Dst;
    public UIntPtr Size;
    public UIntPtr Pos;
}

/// <summary>
/// Decodes .zst with a zstd streaming API (libzstd's, <see cref="ZstdDecoder"/>, or SharpCompress's managed port,
/// <see cref="ManagedZstdDecoder"/>). Frames are decoded one after another (as <c>zstd -d</c> does); the library
/// verifies each frame's content checksum when the frame has one. Input that ends inside a frame
/// (ZSTD_decompressStream has not returned 0 when the input is exhausted and nothing more comes out) is truncated.
/// </summary>
internal abstract unsafe class ZstdStreamDecoder : IDecoder
{
    private const int InputBufferSize = 1 << 20;

    public abstract string Description { get; }

    /// <summary>The library's name in messages.</summary>
    protected abstract string Library { get; }

    protected abstract IntPtr Create();

    protected abstract UIntPtr Init(IntPtr ds);

    protected abstract UIntPtr Decompress(IntPtr ds, ZstdOutBuffer* output, ZstdInBuffer* input);

    protected abstract void Free(IntPtr ds);

    protected abstract bool IsError(UIntPtr code);

    protected abstract string ErrorName(UIntPtr code);

    public void Decode(Stream input, ChunkPipeline output)
    {
        var ds = Create();
        if (ds == IntPtr.Zero)
        {
            throw new DecoderFailedException(Library + " could not create a decompression stream (out of memory?)");
        }
        var inBuffer = new byte[InputBufferSize];
        var inPin = GCHandle.Alloc(inBuffer, GCHandleType.Pinned);
        try
        {
            Check(Init(ds), 0);
            Run(ds, input, output, (byte*)inPin.AddrOfPinnedObject(), inBuffer);
        }
        finally
        {
            Free(ds);
            inPin.Free();
        }
    }

    private void Run(IntPtr ds, Stream input, ChunkPipeline output, byte* inBase, byte[] inBuffer)
    {
        var inb = new ZstdInBuffer { Src = inBase };
        long totalIn = 0;
        long totalOut = 0;
        var eof = false;
        var lastRet = (UIntPtr)1; // nothing decoded yet: an empty file is not a zstd file
        byte[]? outBuffer = null;
        var outPos = 0;
        while (true)
        {
            if (inb.Pos == inb.Size && !eof)
            {
                var n = input.Read(inBuffer, 0, inBuffer.Length);
                eof = n == 0;
                inb.Size = (UIntPtr)n;
                inb.Pos = UIntPtr.Zero;
                totalIn += n;
            }
            if (eof && inb.Pos == inb.Size && lastRet == UIntPtr.Zero)
            {
                break;
            }
            if (outBuffer is null)
            {
                outBuffer = output.Rent();
                outPos = 0;
            }
            UIntPtr ret;
            var before = outPos;
            fixed (byte* outBase = outBuffer)
            {
                var outb = new ZstdOutBuffer { Dst = outBase, Size = (UIntPtr)outBuffer.Length, Pos = (UIntPtr)outPos };
                ret = Decompress(ds, &outb, &inb);
                outPos = (int)outb.Pos;
            }
            totalOut += outPos - before;
            Check(ret, totalIn);
            lastRet = ret;
            if (outPos == outBuffer.Length)
            {
                output.Submit(outBuffer, outPos);
                outBuffer = null;
            }
            else if (eof && inb.Pos == inb.Size && lastRet != UIntPtr.Zero && outPos == before)
            {
                // Input exhausted, the frame not finished, and the decoder has nothing more to give.
                output.Submit(outBuffer, 0);
                throw new CorruptDataException($"unexpected end of input: the file is truncated inside a zstd frame (after {totalIn} compressed bytes, {totalOut} decompressed)");
            }
        }
        if (outBuffer is not null)
        {
            output.Submit(outBuffer, outPos);
        }
    }

    private void Check(UIntPtr ret, long totalIn)
    {
        if (IsError(ret))
        {
            var name = ErrorName(ret);
            throw new CorruptDataException($"{name} ({Library}, after {totalIn} compressed bytes read)");
        }
    }
}

/// <summary>zstd with the system's libzstd (<see cref="ZstdStreamDecoder"/>).</summary>
internal sealed unsafe class ZstdDecoder : ZstdStreamDecoder
{
    private readonly ZstdLibrary _library;

    public ZstdDecoder(ZstdLibrary library) => _library = library;

    public override string Description => $"libzstd {_library.Version} ({_library.Name})";

    protected override string Library => "libzstd";

    protected override IntPtr Create() => _library.CreateDStream();

    protected override UIntPtr Init(IntPtr ds) => _library.InitDStream(ds);

    protected override UIntPtr Decompress(IntPtr ds, ZstdOutBuffer* output, ZstdInBuffer* input) => _library.DecompressStream(ds, output, input);

    protected override void Free(IntPtr ds) => _library.FreeDStream(ds);

    protected override bool IsError(UIntPtr code) => _library.IsError(code);

    protected override string ErrorName(UIntPtr code) => _library.ErrorName(code);
}
