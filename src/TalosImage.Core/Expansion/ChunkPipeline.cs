using System;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading;

namespace TalosImage.Core.Expansion;

/// <summary>A filled output buffer: its first <see cref="Count"/> bytes are decompressed data.</summary>
internal readonly struct Chunk
{
    public Chunk(byte[]? buffer, int count, bool zero = false)
    {
        Buffer = buffer;
        Count = count;
        Zero = zero;
    }

    /// <summary>The buffer; null only for a <see cref="Zero"/> chunk that was never decoded (nothing to give back).</summary>
    public byte[]? Buffer { get; }
    public int Count { get; }

    /// <summary>The chunk's <see cref="Count"/> bytes are all zeros; the buffer's contents are then undefined (nothing was copied into it).</summary>
    public bool Zero { get; }
}

/// <summary>
/// Hands output buffers from the decoder thread to the hash-and-write thread: a fixed pool of pinned buffers
/// (so native decoders write into them directly) goes round between a free queue and a full queue, which
/// bounds memory to <c>count x size</c>. Either side failing aborts the other.
/// </summary>
internal sealed class ChunkPipeline : IDisposable
{
    private readonly BlockingCollection<byte[]> _free = new();
    private readonly BlockingCollection<Chunk> _full = new();
    private readonly GCHandle[] _pins;
    private readonly CancellationTokenSource _abort;

    public ChunkPipeline(int bufferSize, int bufferCount, CancellationToken ct)
    {
        BufferSize = bufferSize;
        _abort = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _pins = new GCHandle[bufferCount];
        for (var i = 0; i < bufferCount; i++)
        {
            var buffer = new byte[bufferSize];
            _pins[i] = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            _free.Add(buffer);
        }
    }

    public int BufferSize { get; }

    /// <summary>Cancelled when the caller cancels or either side has failed.</summary>
    public CancellationToken Token => _abort.Token;

    /// <summary>An empty buffer for the decoder (blocks while all are in flight).</summary>
    public byte[] Rent() => _free.Take(_abort.Token);

    /// <summary>Passes <paramref name="count"/> bytes of <paramref name="buffer"/> on; an empty chunk just returns the buffer.</summary>
    public void Submit(byte[] buffer, int count)
    {
        if (count == 0)
        {
            _free.Add(buffer);
            return;
        }
        _full.Add(new Chunk(buffer, count), _abort.Token);
    }

    /// <summary>Passes a chunk on (one that may be a <see cref="Chunk.Zero"/> chunk).</summary>
    public void Submit(Chunk chunk)
    {
        if (chunk.Count == 0)
        {
            Return(chunk.Buffer);
            return;
        }
        _full.Add(chunk, _abort.Token);
    }

    /// <summary>The decoder has produced everything.</summary>
    public void Complete() => _full.CompleteAdding();

    /// <summary>Stops both sides (after a failure).</summary>
    public void Abort()
    {
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>For the consumer: every chunk, in order, until the decoder completes.</summary>
    public System.Collections.Generic.IEnumerable<Chunk> Chunks() => _full.GetConsumingEnumerable(_abort.Token);

    /// <summary>For the consumer: gives a processed buffer back.</summary>
    public void Return(byte[]? buffer)
    {
        if (buffer is not null)
        {
            _free.Add(buffer);
        }
    }

    public void Dispose()
    {
        foreach (var pin in _pins)
        {
            if (pin.IsAllocated)
            {
                pin.Free();
            }
        }
        _free.Dispose();
        _full.Dispose();
        _abort.Dispose();
    }
}
