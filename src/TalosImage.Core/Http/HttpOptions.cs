using System;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace TalosImage.Core.Http;

/// <summary>Timeouts and retry policy of one HTTP pipeline. The defaults allow the factory's on-demand builds.</summary>
public sealed record HttpOptions
{
    /// <summary>Time to open a TCP/TLS connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Time from sending a request to its response headers. The factory builds an image on the first
    /// request and answers only when done (its builds time out after 20 minutes), so this is long.</summary>
    public TimeSpan HeadersTimeout { get; init; } = TimeSpan.FromMinutes(25);
    /// <summary>Longest silence while reading a response body.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Longest time to receive the whole body of an API answer (JSON, YAML) or of an error answer, once its
    /// headers are in: a server that trickles a byte now and then is abandoned after this. Image bodies have no such
    /// deadline (only <see cref="ReadTimeout"/>): they may take hours on a slow line.</summary>
    public TimeSpan AnswerTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Largest API answer read (JSON lists, YAML); a bigger one is not what was asked for.</summary>
    public int MaxAnswerBytes { get; init; } = HttpText.MaxBytes;
    /// <summary>Bytes of an error answer's body read for the message (the rest is never read).</summary>
    public int MaxErrorBodyBytes { get; init; } = 4 * 1024;
    /// <summary>Attempts in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 5;
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>A Retry-After longer than this is not waited for: the request fails instead.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);
    public int MaxRedirects { get; init; } = 10;
    /// <summary>Extra check of a server certificate (pinning). Null: the platform's normal validation.</summary>
    public Func<X509Certificate2, X509Chain?, SslPolicyErrors, bool>? ServerCertificateValidation { get; init; }
    /// <summary>
    /// The credential of one origin (a factory behind a login): sent to requests of exactly its scheme, host and port,
    /// never after a redirect to another host. Null: no Authorization header is ever set.
    /// </summary>
    public HttpCredential? Credential { get; init; }

    public static HttpOptions Default { get; } = new();
}
