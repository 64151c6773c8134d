using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Http;

/// <summary>
/// Builds the HttpClients every network stage uses: a User-Agent of TalosImage/&lt;version&gt;, connect, header and
/// read timeouts, and retries with exponential backoff and jitter on connection errors, 429 and 5xx (honouring
/// Retry-After), never on other 4xx. One client per base URL and options, shared for the process' lifetime.
/// </summary>
public static class HttpPipeline
{
    private static readonly ConcurrentDictionary<(string, HttpOptions), HttpClient> Clients = new();

    /// <summary>The shared client for <paramref name="baseUrl"/> with <paramref name="options"/>.</summary>
    public static HttpClient For(string baseUrl, HttpOptions? options = null)
    {
        options ??= HttpOptions.Default;
        return Clients.GetOrAdd((NormaliseBase(baseUrl), options), key => Create(key.Item1, key.Item2));
    }

    /// <summary>A new client (tests and callers that own its lifetime).</summary>
    public static HttpClient Create(string? baseUrl, HttpOptions? options = null)
    {
        options ??= HttpOptions.Default;
        var transport = CreateTransport(options);
        if (options.Credential is { } credential)
        {
            transport = new CredentialHandler(transport, credential);
        }
        var client = new HttpClient(new RetryHandler(transport, options))
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        if (!string.IsNullOrEmpty(baseUrl))
        {
            client.BaseAddress = new Uri(NormaliseBase(baseUrl!));
        }
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue(ToolInfo.Name, ToolInfo.Version));
        return client;
    }

    private static string NormaliseBase(string baseUrl) => baseUrl.EndsWith("/", StringComparison.Ordinal) ? baseUrl : baseUrl + "/";

    /// <summary>
    /// SocketsHttpHandler (PowerShell 7, talos-order) has a connect timeout; it is not part of netstandard2.0, so it
    /// is created by reflection where the runtime has it, and HttpClientHandler is used elsewhere (Windows PowerShell).
    /// </summary>
    private static HttpMessageHandler CreateTransport(HttpOptions options)
    {
        var socketsType = options.ServerCertificateValidation is null
            ? Type.GetType("System.Net.Http.SocketsHttpHandler, System.Net.Http", throwOnError: false)
            : null;
        if (socketsType is not null && Activator.CreateInstance(socketsType) is HttpMessageHandler sockets)
        {
            socketsType.GetProperty("ConnectTimeout")?.SetValue(sockets, options.ConnectTimeout);
            socketsType.GetProperty("AllowAutoRedirect")?.SetValue(sockets, true);
            socketsType.GetProperty("MaxAutomaticRedirections")?.SetValue(sockets, options.MaxRedirects);
            socketsType.GetProperty("AutomaticDecompression")?.SetValue(sockets, DecompressionMethods.None);
            socketsType.GetProperty("PooledConnectionLifetime")?.SetValue(sockets, TimeSpan.FromMinutes(5));
            socketsType.GetProperty("UseProxy")?.SetValue(sockets, true);
            return sockets;
        }

        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = options.MaxRedirects,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (options.ServerCertificateValidation is { } validate)
        {
            handler.ServerCertificateCustomValidationCallback = (_, cert, chain, errors) => cert is not null && validate(cert, chain, errors);
        }
        return handler;
    }

    /// <summary>
    /// Sends <paramref name="request"/> and waits at most <see cref="HttpOptions.HeadersTimeout"/> for the response
    /// headers. A timeout surfaces as <see cref="TalosException"/> with ErrorId HttpTimeout; the caller's
    /// cancellation as <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpRequestMessage request, HttpOptions options, CancellationToken cancellationToken)
    {
        using var headers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        headers.CancelAfter(options.HeadersTimeout);
        try
        {
            return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TalosException(TalosErrors.HttpTimeout,
                $"{request.Method} {Redact(request.RequestUri)}: no response within {Units.Duration(options.HeadersTimeout)}.", Redact(request.RequestUri));
        }
        catch (HttpRequestException e)
        {
            throw new TalosException(TalosErrors.HttpConnectionFailed,
                $"{request.Method} {Redact(request.RequestUri)}: {Describe(e)}", Redact(request.RequestUri), e);
        }
    }

    /// <summary>Throws a <see cref="TalosException"/> naming the URL, the status and the server's message unless the response succeeded.</summary>
    public static Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        EnsureSuccessAsync(response, HttpOptions.Default, cancellationToken);

    /// <summary>
    /// Throws a <see cref="TalosException"/> naming the URL, the status and the server's message unless the response
    /// succeeded. The message's body text is read through <see cref="HttpBody.ReadErrorTextAsync"/>: at most
    /// <see cref="HttpOptions.MaxErrorBodyBytes"/>, within the read timeout and the answer deadline of
    /// <paramref name="options"/>, and the caller's cancellation stops it at once.
    /// </summary>
    public static async Task EnsureSuccessAsync(HttpResponseMessage response, HttpOptions options, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var code = (int)response.StatusCode;
        // A redirect's body is not part of its message.
        var body = code >= 300 && code < 400 ? "" : await HttpBody.ReadErrorTextAsync(response, options, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        // Redacted (known tokens, and fragments at the edges of what was read) before it is cut, never after.
        body = SafeText.Excerpt(body, 500);
        var url = Redact(response.RequestMessage?.RequestUri);
        var message = $"{response.RequestMessage?.Method} {url} answered {code} {response.ReasonPhrase}" + (body.Length > 0 ? $": {body}" : ".");
        if (code is 401 or 403 && options.Credential is { } credential && credential.AppliesTo(response.RequestMessage?.RequestUri))
        {
            // The request carried the credential: say which one (never its value), not only the status.
            throw new TalosException(TalosErrors.FactoryAuthenticationFailed,
                $"{response.RequestMessage?.Method} {url} answered {code} {response.ReasonPhrase} to {credential.Describe()}: " +
                (code == 401 ? "the factory does not accept it (wrong or expired)" : "the factory accepts it but refuses this request to it") +
                (body.Length > 0 ? $". The factory said: {body}" : "."), url);
        }
        if (code >= 300 && code < 400)
        {
            // The handler follows redirects; one it hands back was refused: too many hops (a loop) or https -> http.
            var location = response.Headers.Location is { } l ? Redact(l.IsAbsoluteUri ? l : new Uri(response.RequestMessage?.RequestUri ?? new Uri("http://invalid/"), l)) : "nowhere";
            message = $"{response.RequestMessage?.Method} {url} answered {code} {response.ReasonPhrase} to {location}, a redirect that was not followed: " +
                "too many redirects in a row (a redirect loop?), or one from https to http.";
        }
        throw new TalosException(TalosErrors.Http(code), message, url);
    }

    /// <summary>A URL as it may be shown: no user info, no query (presigned URLs carry signatures there).</summary>
    public static string Redact(Uri? uri)
    {
        if (uri is null)
        {
            return "";
        }
        if (!uri.IsAbsoluteUri)
        {
            var s = uri.OriginalString;
            var q = s.IndexOf('?');
            return q >= 0 ? s.Substring(0, q) : s;
        }
        return uri.GetComponents(UriComponents.Scheme | UriComponents.HostAndPort | UriComponents.Path, UriFormat.UriEscaped);
    }

    public static string Describe(Exception e)
    {
        var message = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            message = inner.Message;
        }
        return message;
    }
}
