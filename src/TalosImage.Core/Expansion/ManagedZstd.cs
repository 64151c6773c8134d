using System;
using SharpCompress.Compressors.ZStandard.Unsafe;

namespace TalosImage.Core.Expansion;

/// <summary>
/// zstd with SharpCompress's managed port of the zstd library (ZSTD_decompressStream, as in libzstd): the same
/// streaming loop as <see cref="ZstdDecoder"/>, so frames are verified the same way (content checksums where the frame
/// has one; input that ends inside a frame is truncated), concatenated frames and skippable frames included.
/// </summary>
internal sealed unsafe class ManagedZstdDecoder : ZstdStreamDecoder
{
    public static string Version { get; } = typeof(Methods).Assembly.GetName().Version?.ToString(3) ?? "?";

    public override string Description => $"SharpCompress {Version} (managed zstd {Methods.ZSTD_versionString()})";

    protected override string Library => "managed zstd";

    protected override IntPtr Create() => (IntPtr)Methods.ZSTD_createDStream();

    protected override UIntPtr Init(IntPtr ds) => Methods.ZSTD_initDStream((ZSTD_DCtx_s*)ds);

    protected override UIntPtr Decompress(IntPtr ds, ZstdOutBuffer* output, ZstdInBuffer* input) =>
        Methods.ZSTD_decompressStream((ZSTD_DCtx_s*)ds, (ZSTD_outBuffer_s*)output, (ZSTD_inBuffer_s*)input);

    protected override void Free(IntPtr ds) => Methods.ZSTD_freeDStream((ZSTD_DCtx_s*)ds);

    protected override bool IsError(UIntPtr code) => Methods.ZSTD_isError(code);

    protected override string ErrorName(UIntPtr code) => Methods.ZSTD_getErrorName(code) ?? "unknown error";
}
