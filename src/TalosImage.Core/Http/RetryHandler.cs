using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Security.Authentication;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Http;

/// <summary>
/// Retries a request on connection errors, 408, 429 and 5xx with exponential backoff and full jitter, waiting at
/// least what Retry-After asks. Other answers (2xx, 3xx, 4xx) are returned at once. Requests whose content cannot
/// be sent twice (streams) are not retried here, nor are TLS authentication failures (an untrusted or unpinned
/// certificate, no common protocol): the same server gives the same answer, and a pin mismatch must not be retried
/// against what may be someone else's server.
/// </summary>
public sealed class RetryHandler : DelegatingHandler
{
    private readonly HttpOptions _options;
    private static readonly Random Jitter = new();

    public RetryHandler(HttpMessageHandler inner, HttpOptions options)
        : base(inner)
    {
        _options = options;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var replayable = request.Content is null or ByteArrayContent;
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, cancellationToken) && replayable && attempt < _options.MaxAttempts)
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (!IsRetryable(response.StatusCode) || !replayable || attempt >= _options.MaxAttempts)
            {
                return response;
            }
            var delay = RetryAfter(response) is { } asked
                ? (asked > _options.MaxRetryAfter ? (TimeSpan?)null : Max(asked, Backoff(attempt)))
                : Backoff(attempt);
            if (delay is null)
            {
                return response;
            }
            response.Dispose();
            await Task.Delay(delay.Value, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static bool IsRetryable(HttpStatusCode status) =>
        (int)status is 408 or 429 || ((int)status >= 500 && (int)status != 501 && (int)status != 505);

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        (e is HttpRequestException or IOException && !IsTlsAuthenticationFailure(e)) || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static bool IsTlsAuthenticationFailure(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is AuthenticationException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Full jitter: a random time between half and all of min(MaxDelay, BaseDelay * 2^(attempt-1)).</summary>
    internal TimeSpan Backoff(int attempt) => Backoff(_options, attempt);

    /// <summary>The same backoff for callers that retry on their own (e.g. a body transfer that broke midway).</summary>
    public static TimeSpan Backoff(HttpOptions options, int attempt)
    {
        var cap = Math.Min(options.MaxDelay.TotalMilliseconds, options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
        double r;
        lock (Jitter)
        {
            r = Jitter.NextDouble();
        }
        return TimeSpan.FromMilliseconds(cap * (0.5 + r / 2));
    }

    internal static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
