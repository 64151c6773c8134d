using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using Octokit.Internal;

namespace TalosImage.Core.Http;

/// <summary>
/// Octokit's <see cref="IHttpClient"/> on the engine's own pipeline (<see cref="HttpPipeline"/>): the same User-Agent,
/// connect, header, read and answer timeouts, retries and answer size limit as every other request. It is used for one
/// fetch (one paginated listing) and records what the engine needs that Octokit does not keep:
/// <list type="bullet">
/// <item>the first request may be conditional (<see cref="IfNoneMatch"/>); a 304 to it ends the fetch with
/// <see cref="NotModifiedException"/>, which Octokit does not catch;</item>
/// <item>the first answer's ETag (<see cref="ETag"/>);</item>
/// <item>an unsuccessful answer never reaches Octokit: it is a <see cref="TalosException"/> with the pipeline's wording
/// (URL without query, status, the server's message redacted of known secrets), or RateLimited with the reset time
/// for GitHub's rate limit, so no Octokit exception (whose text holds the server's body) can carry a token;</item>
/// <item>the Authorization header Octokit's authenticator adds is sent only to the API's own origin (a Link to another
/// host does not get the token).</item>
/// </list>
/// </summary>
internal sealed class OctokitHttpAdapter : IHttpClient
{
    private readonly HttpClient _client;
    private readonly HttpOptions _options;
    private readonly Uri _origin;
    private readonly Func<JToken, string, TalosException?>? _validate;
    private int _requests;

    /// <param name="client">The pipeline's client (<see cref="HttpPipeline.For"/>): not disposed here.</param>
    /// <param name="origin">The API base: only requests to its scheme, host and port carry Authorization.</param>
    /// <param name="validate">Checks a successful JSON answer (with its shown URL) before Octokit reads it; null accepts any JSON.</param>
    public OctokitHttpAdapter(HttpClient client, HttpOptions options, Uri origin, Func<JToken, string, TalosException?>? validate = null)
    {
        _client = client;
        _options = options;
        _origin = origin;
        _validate = validate;
    }

    /// <summary>If-None-Match for the first request of this fetch; null: unconditional.</summary>
    public string? IfNoneMatch { get; init; }

    /// <summary>More requests than this in one fetch is an answer that does not end (a Link loop): InvalidServerAnswer.</summary>
    public int MaxRequests { get; init; } = 50;

    /// <summary>What the requests are, for the message of <see cref="MaxRequests"/> ("pages of releases").</summary>
    public string What { get; init; } = "pages";

    /// <summary>The caller's cancellation, for Octokit calls that take none: every request watches it too.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>The ETag of the first answer, if it had one.</summary>
    public string? ETag { get; private set; }

    /// <summary>Requests sent so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The first request was conditional and the server answered 304 Not Modified.</summary>
    public sealed class NotModifiedException : Exception
    {
        public NotModifiedException() : base("not modified")
        {
        }
    }

    public async Task<Octokit.IResponse> Send(IRequest request, CancellationToken octokitCancellation, Func<object, object>? preprocessResponseBody = null)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(octokitCancellation, Cancellation);
        var cancellationToken = linked.Token;
        cancellationToken.ThrowIfCancellationRequested();
        var count = Interlocked.Increment(ref _requests);
        var uri = request.BaseAddress is null ? request.Endpoint : new Uri(request.BaseAddress, request.Endpoint);
        var shown = HttpPipeline.Redact(uri);
        if (count > MaxRequests)
        {
            throw new TalosException(TalosErrors.InvalidServerAnswer, $"{shown}: more than {MaxRequests} {What}; stopping", shown);
        }
        if (request.Method != HttpMethod.Get)
        {
            // Only listings are read through this adapter; a body would need Octokit's serialised content.
            throw new NotSupportedException($"{request.Method} {shown}: only GET requests are sent through this adapter");
        }
        using var message = new HttpRequestMessage(request.Method, uri);
        foreach (var header in request.Headers)
        {
            if (string.Equals(header.Key, "Authorization", StringComparison.OrdinalIgnoreCase) && !SameOrigin(uri, _origin))
            {
                continue;
            }
            // The pipeline's User-Agent (TalosImage/<version>) is the client's; Octokit's would only add to it. The
            // pipeline does not decompress, so no compressed answer is asked for.
            if (string.Equals(header.Key, "User-Agent", StringComparison.OrdinalIgnoreCase) || string.Equals(header.Key, "Accept-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            message.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        message.Headers.TryAddWithoutValidation("X-GitHub-Api-Version", "2022-11-28");
        var conditional = count == 1 && IfNoneMatch is { Length: > 0 };
        if (conditional)
        {
            message.Headers.TryAddWithoutValidation("If-None-Match", IfNoneMatch);
        }

        using var response = await HttpPipeline.SendAsync(_client, message, _options, cancellationToken).ConfigureAwait(false);
        if (conditional && response.StatusCode == HttpStatusCode.NotModified)
        {
            throw new NotModifiedException();
        }
        if (!response.IsSuccessStatusCode)
        {
            if (RateLimit(response, shown) is { } limited)
            {
                throw limited;
            }
            await HttpPipeline.EnsureSuccessAsync(response, _options, cancellationToken).ConfigureAwait(false);
        }
        if (count == 1)
        {
            ETag = response.Headers.ETag?.ToString() ?? (response.Headers.TryGetValues("ETag", out var tags) ? tags.FirstOrDefault() : null);
        }
        var text = await HttpText.ReadAsync(response, _options, cancellationToken).ConfigureAwait(false);
        var json = HttpText.ParseJson(text, shown);
        if (_validate?.Invoke(json, shown) is { } invalid)
        {
            throw invalid;
        }
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in response.Headers.Concat(response.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
        {
            headers[h.Key] = string.Join(", ", h.Value);
        }
        object body = text;
        if (preprocessResponseBody is not null)
        {
            body = preprocessResponseBody(body);
        }
        return new Answer(response.StatusCode, body, headers, ParseLinks(headers, uri));
    }

    /// <summary>An answer as Octokit reads it (its own Response type is internal): the body, the headers, and the
    /// ApiInfo its pagination follows (Links["next"]), with the ETag and the rate limit.</summary>
    private sealed class Answer : Octokit.IResponse
    {
        public Answer(HttpStatusCode status, object body, Dictionary<string, string> headers, IDictionary<string, Uri> links)
        {
            StatusCode = status;
            Body = body;
            Headers = headers;
            headers.TryGetValue("ETag", out var etag);
            ApiInfo = new Octokit.ApiInfo(links, new List<string>(), new List<string>(), etag, new Octokit.RateLimit(headers), TimeSpan.Zero);
        }

        public object Body { get; }
        public IReadOnlyDictionary<string, string> Headers { get; }
        public Octokit.ApiInfo ApiInfo { get; }
        public HttpStatusCode StatusCode { get; }
        // Octokit deserialises only what is labelled application/json (the factory-style text/plain would be skipped);
        // the body was parsed as JSON before it got here, so it is labelled so whatever the server said.
        public string ContentType => "application/json";
    }

    private static readonly Regex LinkItem = new(@"<(?<url>[^>]*)>(?<params>[^,<]*)", RegexOptions.CultureInvariant);
    private static readonly Regex RelParam = new(@";\s*rel\s*=\s*""?(?<rel>[^"";]+)""?", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>RFC 8288 Link header: rel name to the (absolute) URL; relative URLs against the request's.</summary>
    internal static IDictionary<string, Uri> ParseLinks(IReadOnlyDictionary<string, string> headers, Uri requestUri)
    {
        var links = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase);
        if (!headers.TryGetValue("Link", out var header) || string.IsNullOrEmpty(header))
        {
            return links;
        }
        foreach (Match item in LinkItem.Matches(header))
        {
            var rel = RelParam.Match(item.Groups["params"].Value);
            if (rel.Success && Uri.TryCreate(requestUri, item.Groups["url"].Value.Trim(), out var target))
            {
                foreach (var name in rel.Groups["rel"].Value.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!links.ContainsKey(name))
                    {
                        links[name] = target;
                    }
                }
            }
        }
        return links;
    }

    /// <summary>The pipeline bounds each request itself (<see cref="HttpOptions"/>); Octokit's timeout is not used.</summary>
    public void SetRequestTimeout(TimeSpan timeout)
    {
    }

    public void Dispose()
    {
        // The client is the pipeline's, shared for the process' lifetime.
    }

    /// <summary>
    /// GitHub's primary rate limit (403 or 429 with X-RateLimit-Remaining: 0) or a secondary limit (403 or 429 with
    /// Retry-After, after the pipeline's retries): one sentence with the reset time.
    /// </summary>
    internal static TalosException? RateLimit(HttpResponseMessage response, string shown)
    {
        var code = (int)response.StatusCode;
        if (code != 403 && code != 429)
        {
            return null;
        }
        var remaining = Header(response, "X-RateLimit-Remaining");
        DateTimeOffset? reset = null;
        if (long.TryParse(Header(response, "X-RateLimit-Reset"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch))
        {
            reset = DateTimeOffset.FromUnixTimeSeconds(epoch);
        }
        var retryAfter = response.Headers.RetryAfter;
        if (remaining == "0")
        {
            var limit = Header(response, "X-RateLimit-Limit");
            var resetText = reset is { } r ? $"until {Versions.VersionResolver.Time(r)}" : "for now";
            return new TalosException(TalosErrors.GitHubRateLimited,
                $"GET {shown}: GitHub's API rate limit{(limit is null ? "" : $" of {limit} requests an hour")} is used up {resetText}; " +
                "set GITHUB_TOKEN (or -GitHubToken) for a higher limit, or wait until then.", shown);
        }
        if (code == 429 || retryAfter is not null)
        {
            var at = retryAfter?.Delta is { } delta ? DateTimeOffset.UtcNow + delta : retryAfter?.Date ?? reset;
            return new TalosException(TalosErrors.GitHubRateLimited,
                $"GET {shown}: GitHub's API rate limit was hit (answer {code}) and asks to wait {(at is { } a ? $"until {Versions.VersionResolver.Time(a)}" : "a while")}; " +
                "try again then, or set GITHUB_TOKEN (or -GitHubToken) for a higher limit.", shown);
        }
        return null;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}
