using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// The multipart/form-data body of <c>POST .../upload</c> as Proxmox parses it: parts <c>content</c>,
/// <c>checksum-algorithm</c>, <c>checksum</c>, then the file part <c>filename</c>. Its length is known in advance,
/// so the request carries Content-Length (Proxmox refuses chunked uploads); the file is streamed from disk.
/// </summary>
internal sealed class ProxmoxUploadContent : HttpContent
{
    private const int ChunkSize = 1 << 20;

    private readonly byte[] _head;
    private readonly byte[] _tail;
    private readonly string _path;
    private readonly long _fileLength;
    private readonly TimeSpan _stallTimeout;
    private readonly Action<long> _progress;
    private readonly CancellationToken _cancellationToken;

    public ProxmoxUploadContent(string path, long fileLength, string content, string fileName, string? sha256,
        TimeSpan stallTimeout, Action<long> progress, CancellationToken cancellationToken)
    {
        _path = path;
        _fileLength = fileLength;
        _stallTimeout = stallTimeout;
        _progress = progress;
        _cancellationToken = cancellationToken;

        var boundary = "----TalosImage" + Guid.NewGuid().ToString("N");
        var head = new StringBuilder();
        void Field(string name, string value) =>
            head.Append("--").Append(boundary).Append("\r\n")
                .Append("Content-Disposition: form-data; name=\"").Append(name).Append("\"\r\n\r\n")
                .Append(value).Append("\r\n");
        Field("content", content);
        if (sha256 is not null)
        {
            Field("checksum-algorithm", "sha256");
            Field("checksum", sha256);
        }
        head.Append("--").Append(boundary).Append("\r\n")
            .Append("Content-Disposition: form-data; name=\"filename\"; filename=\"").Append(fileName).Append("\"\r\n")
            .Append("Content-Type: application/octet-stream\r\n\r\n");
        _head = Encoding.ASCII.GetBytes(head.ToString());
        _tail = Encoding.ASCII.GetBytes("\r\n--" + boundary + "--\r\n");

        // Unquoted boundary: Proxmox's parser takes the parameter value as it stands.
        var type = new MediaTypeHeaderValue("multipart/form-data");
        type.Parameters.Add(new NameValueHeaderValue("boundary", boundary));
        Headers.ContentType = type;
    }

    /// <summary>Bytes of the whole body (what Content-Length says).</summary>
    public long TotalLength => _head.Length + _fileLength + _tail.Length;

    protected override bool TryComputeLength(out long length)
    {
        length = TotalLength;
        return true;
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        await WriteAsync(stream, _head, _head.Length).ConfigureAwait(false);
        using (var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            if (file.Length != _fileLength)
            {
                throw new IOException($"{_path} changed size while it was being uploaded.");
            }
            var buffer = new byte[ChunkSize];
            long sent = 0;
            int read;
            while (sent < _fileLength && (read = await file.ReadAsync(buffer, 0, (int)Math.Min(buffer.Length, _fileLength - sent), _cancellationToken).ConfigureAwait(false)) > 0)
            {
                await WriteAsync(stream, buffer, read).ConfigureAwait(false);
                sent += read;
                _progress(sent);
            }
            if (sent != _fileLength)
            {
                throw new IOException($"{_path} became shorter while it was being uploaded.");
            }
        }
        await WriteAsync(stream, _tail, _tail.Length).ConfigureAwait(false);
    }

    /// <summary>One write that must make progress within the stall timeout.</summary>
    private async Task WriteAsync(Stream stream, byte[] buffer, int count)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
        cts.CancelAfter(_stallTimeout);
        try
        {
            await stream.WriteAsync(buffer, 0, count, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!_cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the upload made no progress for {Units.Duration(_stallTimeout)}");
        }
    }
}
