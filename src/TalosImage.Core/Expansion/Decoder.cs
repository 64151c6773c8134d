using System;
using System.IO;

namespace TalosImage.Core.Expansion;

/// <summary>Decompresses one input stream into the pipeline's chunks; runs on its own thread.</summary>
internal interface IDecoder
{
    /// <summary>What decodes, for messages and verbose output, e.g. "liblzma 5.4.1 (2 threads)".</summary>
    string Description { get; }

    /// <summary>Reads all of <paramref name="input"/>, submits every decompressed byte in order; throws <see cref="CorruptDataException"/> on bad data.</summary>
    void Decode(Stream input, ChunkPipeline output);
}

/// <summary>The compressed data is corrupt or truncated: the decoder's own words.</summary>
internal sealed class CorruptDataException : Exception
{
    public CorruptDataException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The decoder failed for a reason that is not the data's (out of memory, bad options).</summary>
internal sealed class DecoderFailedException : Exception
{
    public DecoderFailedException(string message)
        : base(message)
    {
    }
}

/// <summary>Fills pipeline chunks from a managed stream of decompressed bytes (gzip, tar members, program output).</summary>
internal static class StreamChunks
{
    /// <summary>Copies up to <paramref name="limit"/> bytes (all when negative) of <paramref name="source"/>; returns how many.</summary>
    public static long Copy(Stream source, ChunkPipeline output, long limit = -1)
    {
        long total = 0;
        while (limit < 0 || total < limit)
        {
            var buffer = output.Rent();
            var filled = 0;
            var want = limit < 0 ? buffer.Length : (int)Math.Min(buffer.Length, limit - total);
            while (filled < want)
            {
                output.Token.ThrowIfCancellationRequested();
                var n = source.Read(buffer, filled, want - filled);
                if (n == 0)
                {
                    break;
                }
                filled += n;
            }
            total += filled;
            output.Submit(buffer, filled);
            if (filled < want)
            {
                break;
            }
        }
        return total;
    }
}
