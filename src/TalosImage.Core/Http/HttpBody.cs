using System;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Http;

/// <summary>
/// The one bounded reader of response bodies that are read whole (API answers, error answers): every read waits at
/// most <see cref="HttpOptions.ReadTimeout"/> for data (<see cref="ReadTimeoutStream"/>, the same idle timeout the
/// image download streams through), the whole body at most <see cref="HttpOptions.AnswerTimeout"/>, the caller's
/// cancellation ends it at once, and no more than a cap is ever read: the rest of the body is left unread on the wire.
/// </summary>
public static class HttpBody
{
    /// <summary>What was read: the first <see cref="Length"/> bytes of the body, and whether there was more.</summary>
    private sealed class Buffer
    {
        public byte[] Bytes = new byte[4096];
        public int Length;
        public bool Truncated;
    }

    /// <summary>
    /// Reads at most <paramref name="limit"/> bytes of the body into <paramref name="into"/>. A silence longer than the
    /// read timeout or a body not complete by the answer deadline is a <see cref="TimeoutException"/>; the caller's
    /// cancellation an <see cref="OperationCanceledException"/>; a broken connection an IOException or HttpRequestException.
    /// </summary>
    private static async Task ReadAsync(HttpResponseMessage response, HttpOptions options, int limit, Buffer into, CancellationToken cancellationToken)
    {
        if (response.Content is null)
        {
            return;
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.AnswerTimeout);
        try
        {
            using var stream = new ReadTimeoutStream(await response.Content.ReadAsStreamAsync().ConfigureAwait(false), options.ReadTimeout);
            while (true)
            {
                if (into.Length == into.Bytes.Length)
                {
                    if (into.Length > limit)
                    {
                        break;
                    }
                    Array.Resize(ref into.Bytes, (int)Math.Min((long)limit + 1, into.Bytes.Length * 2L));
                }
                // Up to one byte past the limit: enough to know there is more, never more than that.
                var want = Math.Min(into.Bytes.Length, limit + 1) - into.Length;
                var n = await stream.ReadAsync(into.Bytes, into.Length, want, deadline.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                into.Length += n;
                if (into.Length > limit)
                {
                    break;
                }
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"the answer was not complete within {Units.Duration(options.AnswerTimeout)} (a server that sends too slowly?)");
        }
        if (into.Length > limit)
        {
            into.Truncated = true;
            into.Length = limit;
        }
    }

    /// <summary>
    /// The body of an API answer as UTF-8 text, at most <see cref="HttpOptions.MaxAnswerBytes"/> (a bigger one is
    /// HttpResponseTooLarge, and is not read beyond that); a stall or a missed deadline is HttpTimeout.
    /// </summary>
    public static async Task<string> ReadAnswerAsync(HttpResponseMessage response, HttpOptions options, CancellationToken cancellationToken)
    {
        var url = HttpPipeline.Redact(response.RequestMessage?.RequestUri);
        var limit = Math.Max(0, options.MaxAnswerBytes);
        var tooLarge = new TalosException(TalosErrors.HttpResponseTooLarge,
            $"{url}: the answer is larger than {Units.Bytes(limit)}; this is not an API answer", url);
        if (response.Content?.Headers.ContentLength is { } announced && announced > limit)
        {
            throw tooLarge;
        }
        var buffer = new Buffer();
        try
        {
            await ReadAsync(response, options, limit, buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            throw new TalosException(TalosErrors.HttpTimeout, $"{url}: {e.Message}", url, e);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TalosException(TalosErrors.HttpConnectionFailed, $"{url}: {HttpPipeline.Describe(e)}", url, e);
        }
        if (buffer.Truncated)
        {
            throw tooLarge;
        }
        return new UTF8Encoding(false).GetString(buffer.Bytes, 0, buffer.Length);
    }

    /// <summary>
    /// The start of an error answer's body, for its message: at most <see cref="HttpOptions.MaxErrorBodyBytes"/>, read
    /// with the same timeouts; a body that stalls, breaks or is cut off gives what had arrived (the status is the
    /// error, the body only explains it). "..." marks a body that went on. Only the caller's cancellation is thrown.
    /// </summary>
    public static async Task<string> ReadErrorTextAsync(HttpResponseMessage response, HttpOptions options, CancellationToken cancellationToken)
    {
        var buffer = new Buffer();
        try
        {
            await ReadAsync(response, options, Math.Max(0, options.MaxErrorBodyBytes), buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException or HttpRequestException)
        {
        }
        var length = buffer.Truncated ? CompleteUtf8Prefix(buffer.Bytes, buffer.Length) : buffer.Length;
        var text = new UTF8Encoding(false).GetString(buffer.Bytes, 0, length);
        // Cut here, the text's end is a cut edge: a known secret split by it is masked now, before the marker moves
        // the edge (SafeText masks fragments only at a text's edges).
        return buffer.Truncated ? SafeText.Redact(text) + "..." : text;
    }

    /// <summary>The length of the longest prefix of <paramref name="bytes"/> that does not end inside a UTF-8 sequence.</summary>
    private static int CompleteUtf8Prefix(byte[] bytes, int length)
    {
        var start = length;
        // Step back over up to 3 continuation bytes to the lead byte of the last sequence.
        while (start > 0 && length - start < 3 && (bytes[start - 1] & 0xC0) == 0x80)
        {
            start--;
        }
        if (start == 0)
        {
            return length;
        }
        var lead = bytes[start - 1];
        var needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return length - (start - 1) < needed ? start - 1 : length;
    }
}
