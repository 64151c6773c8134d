using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Http;

/// <summary>
/// Wraps a response body so that a read that receives nothing for <c>timeout</c> fails with a
/// <see cref="TimeoutException"/> instead of hanging on a stalled server.
/// </summary>
public sealed class ReadTimeoutStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeSpan _timeout;

    public ReadTimeoutStream(Stream inner, TimeSpan timeout)
    {
        _inner = inner;
        _timeout = timeout;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_timeout);
        try
        {
            return await _inner.ReadAsync(buffer, offset, count, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no data received for {Units.Duration(_timeout)}");
        }
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
