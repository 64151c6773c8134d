using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;

namespace TalosImage.Core.Expansion;

/// <summary>
/// An expansion fed by a download as its body arrives (an order position that expands what it downloads): the
/// body's blocks go, besides the download's own <c>.part</c>, through a bounded in-memory pipe to a streaming decoder
/// (xz: the block-parallel decoder reading blocks by their headers, <see cref="XzBlockParallelDecoder.DecodeStreaming"/>;
/// zstd: frames as they come), which writes the expanded image to <c>&lt;destination&gt;.part</c>, sparse and hashed,
/// as a local expansion does. Neither file gets its final name before the download is verified: the downloader calls
/// <see cref="FinishAsync"/> at that point, records the download, then <see cref="Commit"/> records the expansion
/// with what a later local expansion would write (the source's SHA-256, size, the decoder kind).
/// Anything the streaming decoder cannot take (a block header without sizes, several streams, corrupt data), a
/// transfer that restarts or resumes, or a failure abandons it (<see cref="Abandon"/>: its <c>.part</c> is removed)
/// and the position expands the downloaded file afterwards as before, which reports any error in the usual words.
/// </summary>
internal sealed class OverlappedExpansion : IBodyObserver
{
    /// <summary>Blocks of the body that may wait for the decoder (each up to 1 MiB): beyond that the download waits.</summary>
    private const int PipeBlocks = 32;

    private readonly IEngineEvents _events;
    private readonly ImageExpander _expander;
    private readonly IDecoder _decoder;
    private readonly ExpansionBackend _kind;
    private readonly string _format;
    private readonly string _sourcePath;
    private readonly string _destination;
    private readonly string _part;
    private readonly Stopwatch _started = new();
    private readonly CancellationTokenSource _cancel = new();
    private readonly object _gate = new();
    private BodyPipe? _pipe;
    private Task<(string Sha256, long Size)>? _decoding;
    private bool _began;
    private bool _over;
    private string? _sourceSha;
    private (string Sha256, long Size) _expanded;

    internal OverlappedExpansion(IEngineEvents events, ImageExpander expander, IDecoder decoder, ExpansionBackend kind, string format, string sourcePath, string destination)
    {
        _events = events;
        _expander = expander;
        _decoder = decoder;
        _kind = kind;
        _format = format;
        _sourcePath = sourcePath;
        _destination = destination;
        _part = destination + ImageExpander.PartSuffix;
    }

    private readonly TaskCompletionSource<bool> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Done once the expansion is committed or abandoned (<see cref="Close"/> at the latest): nothing of it runs or changes after.</summary>
    public Task Settled => _settled.Task;

    /// <summary>After the download (whatever became of it): abandons the expansion unless committed, and settles it.</summary>
    public void Close()
    {
        Abandon("the download did not give it its body");
        _settled.TrySetResult(true);
    }

    /// <summary>The expanded artifact once <see cref="Commit"/> succeeded; null when the expansion did not happen this way.</summary>
    public TalosArtifact? Result { get; private set; }

    /// <summary>The download path whose body this expansion takes.</summary>
    public string SourcePath => _sourcePath;

    public string Destination => _destination;

    public bool Begin(long? total)
    {
        lock (_gate)
        {
            if (_began || _over)
            {
                AbandonLocked("the transfer started again");
                return false;
            }
            _began = true;
            try
            {
                CacheFiles.RefuseUnlessFileOrAbsent(_part);
                CacheFiles.RefuseUnlessFileOrAbsent(_destination);
            }
            catch (TalosException e)
            {
                AbandonLocked(e.Message);
                return false;
            }
            _started.Start();
            _pipe = new BodyPipe(PipeBlocks, _cancel.Token);
            var pipe = _pipe;
            _events.Verbose($"Expanding {_sourcePath} -> {_destination} as it downloads, with the {_kind} decompressor: {_decoder.Description}.");
            _decoding = Task.Factory.StartNew(() => Decode(pipe), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return true;
        }
    }

    private (string, long) Decode(BodyPipe pipe)
    {
        try
        {
            return _expander.Run(_decoder, pipe, _part, _cancel.Token);
        }
        catch
        {
            pipe.Fail(); // the download goes on without it
            AtomicFile.TryDelete(_part);
            throw;
        }
    }

    public ValueTask AppendAsync(byte[] buffer, int count, CancellationToken ct) =>
        _pipe is { } pipe && !_over ? pipe.WriteAsync(buffer, count, ct) : default;

    public void EndOfBody() => _pipe?.Complete();

    public async Task<bool> FinishAsync(string sha256, long size, CancellationToken ct)
    {
        Task<(string Sha256, long Size)>? decoding;
        lock (_gate)
        {
            decoding = _over ? null : _decoding;
        }
        if (decoding is null)
        {
            return false;
        }
        try
        {
            // The decoder has the whole body: this waits for its last blocks, the hash and the flush to disk.
            var done = await WaitAsync(decoding, ct).ConfigureAwait(false);
            if (_pipe!.BytesRead != size)
            {
                Abandon($"the decoder stopped after {_pipe.BytesRead} of {size} bytes");
                return false;
            }
            _expanded = done;
            _sourceSha = sha256;
            return true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Abandon("cancelled");
            throw;
        }
        catch (Exception e)
        {
            Abandon(e is NotStreamableException ? $"it cannot be decoded as it arrives ({e.Message})" : SafeText.Printable(e.Message));
            return false;
        }
    }

    private static async Task<T> WaitAsync<T>(Task<T> task, CancellationToken ct)
    {
        var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (ct.Register(() => cancelled.TrySetResult(true)))
        {
            if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
            {
                ct.ThrowIfCancellationRequested();
            }
        }
        return await task.ConfigureAwait(false);
    }

    public void Commit(TalosArtifact downloaded)
    {
        lock (_gate)
        {
            if (_over || _sourceSha is null)
            {
                return;
            }
            try
            {
                Result = _expander.RecordOverlapped(downloaded, _destination, _part, _expanded.Sha256, _expanded.Size, _sourceSha, _kind, _started);
                _over = true;
                _events.Verbose($"{_destination}: expanded while downloading, {Units.Bytes(_expanded.Size)}, SHA-256 {_expanded.Sha256}.");
            }
            catch (Exception e) when (e is TalosException or IOException or UnauthorizedAccessException)
            {
                AbandonLocked(SafeText.Printable(e.Message));
            }
        }
    }

    public void Abandon(string why)
    {
        lock (_gate)
        {
            AbandonLocked(why);
        }
    }

    private void AbandonLocked(string why)
    {
        if (_over)
        {
            return;
        }
        _over = true;
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _pipe?.Fail();
        try
        {
            _decoding?.Wait();
        }
        catch (AggregateException)
        {
        }
        AtomicFile.TryDelete(_part);
        if (_began)
        {
            _events.Verbose($"{_destination}: the expansion during the download was dropped ({why}); {Path.GetFileName(_sourcePath)} is expanded after it instead.");
        }
    }

    /// <summary>
    /// The body from the downloader to the decoder thread: copies of the received blocks in a queue of at most
    /// <c>capacity</c> blocks (the writer waits for room), read as a stream by the decoder.
    /// </summary>
    private sealed class BodyPipe : Stream
    {
        private readonly BlockingCollection<(byte[] Data, int Count)> _blocks = new();
        private readonly SemaphoreSlim _room;
        private readonly CancellationToken _cancel;
        private byte[]? _current;
        private int _count;
        private int _at;
        private long _read;
        private volatile bool _failed;

        public BodyPipe(int capacity, CancellationToken cancel)
        {
            _room = new SemaphoreSlim(capacity);
            _cancel = cancel;
        }

        public long BytesRead => Interlocked.Read(ref _read);

        public async ValueTask WriteAsync(byte[] buffer, int count, CancellationToken ct)
        {
            if (_failed || count == 0)
            {
                return;
            }
            using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, _cancel);
            try
            {
                await _room.WaitAsync(both.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return; // the expansion was abandoned: the download goes on
            }
            var copy = ArrayPool<byte>.Shared.Rent(count);
            Buffer.BlockCopy(buffer, 0, copy, 0, count);
            try
            {
                _blocks.Add((copy, count));
            }
            catch (InvalidOperationException)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }

        public void Complete()
        {
            try
            {
                _blocks.CompleteAdding();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Fail()
        {
            _failed = true;
            Complete();
            _room.Release(PipeBlocks); // a writer waiting for room goes on (and drops its block)
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (_current is null || _at == _count)
            {
                if (_current is not null)
                {
                    ArrayPool<byte>.Shared.Return(_current);
                    _current = null;
                    _room.Release();
                }
                if (!_blocks.TryTake(out var next, Timeout.Infinite, _cancel))
                {
                    if (_failed)
                    {
                        throw new OperationCanceledException("the expansion was abandoned");
                    }
                    return 0; // end of the body
                }
                (_current, _count, _at) = (next.Data, next.Count, 0);
            }
            var n = Math.Min(count, _count - _at);
            Buffer.BlockCopy(_current, _at, buffer, offset, n);
            _at += n;
            Interlocked.Add(ref _read, n);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
