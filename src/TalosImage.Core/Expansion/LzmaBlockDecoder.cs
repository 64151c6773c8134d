namespace TalosImage.Core.Expansion;

/// <summary>
/// Block-parallel .xz decoding with liblzma (<see cref="XzBlockParallelDecoder"/>): each block is wrapped as a
/// one-block .xz stream (the file's own stream header, the block, a one-record index, a footer) and decoded with
/// lzma_stream_buffer_decode, which verifies the block header, the block's check (CRC32/CRC64/SHA-256) and its sizes
/// against the index record.
/// </summary>
internal sealed unsafe class LzmaBlockDecoder : XzBlockParallelDecoder
{
    public const int MaxBlockSize = XzLayout.MaxBlockSize;

    private readonly LzmaLibrary _library;

    private LzmaBlockDecoder(LzmaLibrary library, string path, int threads, XzLayout? layout)
        : base(path, threads, layout) => _library = library;

    public override string Description => $"liblzma {_library.Version} ({_library.Name}), block-parallel decoder, {Threads} threads" + (Layout is null ? ", streaming" : $", {Layout.Blocks.Count} blocks");

    /// <summary>A decoder for <paramref name="path"/>, or null when the file is not a single stream of small indexed blocks.</summary>
    /// <summary>A decoder for an .xz stream read in order (<see cref="XzBlockParallelDecoder.DecodeStreaming"/>), or null when liblzma cannot.</summary>
    public static LzmaBlockDecoder? ForStream(LzmaLibrary library, int threads) =>
        library.HasBufferDecoder ? new LzmaBlockDecoder(library, "", threads, null) : null;

    public static LzmaBlockDecoder? TryCreate(LzmaLibrary library, string path, int threads)
    {
        if (!library.HasBufferDecoder || threads < 2)
        {
            return null;
        }
        return XzLayout.TryRead(path, (data, offset, count) => Crc(library, data, offset, count), minBlocks: 2) is { } layout
            ? new LzmaBlockDecoder(library, path, threads, layout)
            : null;
    }

    protected override void DecodeBlock(XzBlock block, byte[] stream, byte[] buffer, int number)
    {
        var length = CompleteOneBlockStream(block, stream, (data, offset, count) => Crc(_library, data, offset, count));
        int inPos, outPos, ret;
        fixed (byte* s = stream)
        fixed (byte* o = buffer)
        {
            ret = _library.StreamBufferDecode(s, length, o, buffer.Length, out inPos, out outPos);
        }
        if (ret != 0 || inPos != length || outPos != block.Uncompressed)
        {
            var what = ret != 0 ? LzmaDecoder.Describe(ret == 10 ? 9 : ret) : "the block's size does not match the index";
            if (ret is 5 or 6 or 8 or 11)
            {
                throw new DecoderFailedException("liblzma: " + what);
            }
            throw new CorruptDataException($"{what} (block {number + 1}{OfBlocks}, at byte {block.Offset})");
        }
    }

    private static uint Crc(LzmaLibrary library, byte[] data, int offset, int count)
    {
        fixed (byte* p = data)
        {
            return library.Crc32(p + offset, count);
        }
    }
}
