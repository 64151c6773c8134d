using System.Net;
using System.Security.Authentication;
using TalosImage.Core.Http;
using Xunit;

namespace TalosImage.Tests.Http;

/// <summary>What RetryHandler sends again: connection errors yes, TLS authentication failures (a pin mismatch) no.</summary>
public class RetryHandlerTests
{
    private static readonly HttpOptions ThreeQuickAttempts = HttpOptions.Default with
    {
        MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(2),
    };

    /// <summary>Counts the requests it is given and fails each with the exception it was made with.</summary>
    private sealed class FailingHandler : HttpMessageHandler
    {
        private readonly Func<Exception> _failure;

        public FailingHandler(Func<Exception> failure) => _failure = failure;

        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            throw _failure();
        }
    }

    private static async Task<(int Calls, HttpRequestException Error)> SendAsync(Func<Exception> failure)
    {
        var inner = new FailingHandler(failure);
        using var client = new HttpClient(new RetryHandler(inner, ThreeQuickAttempts));
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("https://127.0.0.1:9/"));
        return (inner.Calls, error);
    }

    [Fact]
    public async Task A_connection_error_is_retried_up_to_MaxAttempts()
    {
        var (calls, _) = await SendAsync(() => new HttpRequestException("Connection refused", new IOException("refused")));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_certificate_the_pin_or_the_platform_refuses_is_not_retried()
    {
        var (calls, error) = await SendAsync(() => new HttpRequestException("The SSL connection could not be established, see inner exception.",
            new AuthenticationException("The remote certificate was rejected by the provided RemoteCertificateValidationCallback.")));

        Assert.Equal(1, calls);
        Assert.IsType<AuthenticationException>(error.InnerException);
    }
}
