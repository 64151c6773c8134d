using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;

namespace TalosImage.Core.Versions;

/// <summary>One version of a source's list.</summary>
internal sealed record VersionEntry(TalosSemVersion Version, bool Prerelease, DateTimeOffset? PublishedAt);

internal enum VersionListOrigin
{
    /// <summary>Asked the source during this run (a 304 counts).</summary>
    Fetched,
    /// <summary>The disk cache, younger than the TTL.</summary>
    FreshCache,
    /// <summary>The disk cache of any age, because the source could not be asked.</summary>
    Fallback,
    /// <summary>The disk cache of any age, because the run is offline.</summary>
    Offline,
}

/// <summary>A version list, newest first.</summary>
internal sealed record VersionSnapshot(IReadOnlyList<VersionEntry> Versions, VersionListOrigin Origin, DateTimeOffset FetchedAt);

/// <summary>A version list as fetched and as stored in the cache file.</summary>
internal sealed record VersionListFile(string Source, string Url, DateTimeOffset FetchedAt, string? ETag, IReadOnlyList<VersionEntry> Versions)
{
    public VersionSnapshot ToSnapshot(VersionListOrigin origin) =>
        new(Versions.OrderByDescending(e => e.Version).ToList(), origin, FetchedAt);

    public string ToJson()
    {
        var o = new JObject
        {
            ["source"] = Source,
            ["url"] = Url,
            ["fetched_at"] = FetchedAt.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            ["etag"] = ETag,
            ["versions"] = new JArray(Versions.OrderBy(e => e.Version).Select(e => new JObject
            {
                ["version"] = e.Version.ToString(),
                ["prerelease"] = e.Prerelease,
                ["published_at"] = e.PublishedAt?.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
            })),
        };
        return o.ToString(Newtonsoft.Json.Formatting.Indented) + "\n";
    }

    public static VersionListFile Parse(string json)
    {
        var o = (JObject)HttpText.ParseJson(json, "version cache");
        var versions = new List<VersionEntry>();
        foreach (var item in (JArray?)o["versions"] ?? new JArray())
        {
            if (TalosSemVersion.TryParse((string?)item["version"], out var v))
            {
                versions.Add(new VersionEntry(v, (bool?)item["prerelease"] ?? v.IsPrerelease, ParseTime((string?)item["published_at"])));
            }
        }
        return new VersionListFile(
            (string?)o["source"] ?? "",
            (string?)o["url"] ?? "",
            ParseTime((string?)o["fetched_at"]) ?? throw new FormatException("fetched_at is missing"),
            (string?)o["etag"],
            versions);
    }

    internal static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
}

/// <summary>&lt;cacheDir&gt;/versions/&lt;source&gt;.json: the last list fetched from one source URL, with its fetch time and ETag.</summary>
internal sealed class VersionListCache
{
    private readonly string _source;
    private readonly string _url;

    public VersionListCache(string cacheDir, string source, string url)
    {
        _source = source;
        _url = url;
        Path = CachePaths.VersionList(System.IO.Path.GetFullPath(cacheDir), source);
    }

    public string Path { get; }

    /// <summary>The cached list, or null when there is none, it is unreadable or it belongs to another URL.</summary>
    public VersionListFile? Read(IEngineEvents events)
    {
        try
        {
            if (!File.Exists(Path))
            {
                return null;
            }
            var file = VersionListFile.Parse(File.ReadAllText(Path));
            if (!string.Equals(file.Url, _url, StringComparison.Ordinal) || !string.Equals(file.Source, _source, StringComparison.Ordinal))
            {
                events.Verbose($"{Path} holds the version list of {file.Url}, not of {_url}: not used");
                return null;
            }
            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or Newtonsoft.Json.JsonException or InvalidCastException or TalosException)
        {
            events.Verbose($"{Path}: cached version list not usable ({e.Message})");
            return null;
        }
    }

    /// <summary>Stores <paramref name="file"/>; a cache that cannot be written costs the next run a request, nothing more.</summary>
    public void Write(VersionListFile file, IEngineEvents events)
    {
        try
        {
            AtomicFile.WriteAllText(Path, file.ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            events.Verbose($"{Path}: version list not cached ({e.Message})");
        }
    }
}

/// <summary>Where a version list comes from.</summary>
internal interface IVersionListSource
{
    /// <summary>factory or github: the cache file's name.</summary>
    string Key { get; }
    /// <summary>Factory or GitHub: <see cref="TalosVersion.Source"/>.</summary>
    string Name { get; }
    /// <summary>The list's URL (no secrets).</summary>
    string Url { get; }
    string Describe();
    /// <summary>Fetches the list; <paramref name="cached"/> may make the request conditional.</summary>
    Task<VersionListFile> FetchAsync(VersionListFile? cached, IEngineEvents events, CancellationToken ct);
}

/// <summary>GET {factory}/versions: what the factory can build. No token, no rate limit.</summary>
internal sealed class FactoryVersionSource : IVersionListSource
{
    private readonly FactoryClient _client;

    public FactoryVersionSource(string factoryUrl, HttpOptions http)
    {
        _client = new FactoryClient(factoryUrl, http);
        Url = _client.FactoryUrl + "/versions";
    }

    public string Key => "factory";
    public string Name => "Factory";
    public string Url { get; }
    public string Describe() => $"the factory at {_client.FactoryUrl}";

    public async Task<VersionListFile> FetchAsync(VersionListFile? cached, IEngineEvents events, CancellationToken ct)
    {
        var names = await _client.GetVersionsAsync(ct).ConfigureAwait(false);
        var versions = new List<VersionEntry>();
        foreach (var name in names)
        {
            if (TalosSemVersion.TryParse(name, out var v))
            {
                versions.Add(new VersionEntry(v, v.IsPrerelease, null));
            }
            else
            {
                events.Verbose($"{Url}: '{name}' is not a Talos version; ignored");
            }
        }
        events.Verbose($"{Url}: {versions.Count} versions");
        return new VersionListFile(Key, Url, DateTimeOffset.UtcNow, null, versions);
    }
}

/// <summary>
/// GitHub releases of siderolabs/talos through Octokit (<c>Repository.Release.GetAll</c>, 100 a page, its pagination
/// following Link rel="next"), on the engine's HTTP pipeline (<see cref="OctokitHttpAdapter"/>: its timeouts, retries
/// and size limit), with a Bearer token when there is one (sent to the API's origin only), drafts skipped, and a
/// conditional first request with the stored ETag: a 304 reuses the stored list and costs nothing. The API base is
/// used as given (<c>https://api.github.com</c>, GitHub Enterprise's <c>https://HOST/api/v3</c>, a loopback server).
/// </summary>
internal sealed class GitHubVersionSource : IVersionListSource
{
    public const string Owner = "siderolabs";
    public const string RepositoryName = "talos";
    public const string Repository = Owner + "/" + RepositoryName;
    private const int MaxPages = 50;
    private const int PageSize = 100;

    private readonly Uri _api;
    private readonly string? _token;
    private readonly HttpOptions _http;
    private readonly HttpClient _client;

    public GitHubVersionSource(string apiUrl, string? token, HttpOptions http)
    {
        if (!Uri.TryCreate(apiUrl.TrimEnd('/') + "/", UriKind.Absolute, out var api) || (api.Scheme != Uri.UriSchemeHttp && api.Scheme != Uri.UriSchemeHttps))
        {
            throw new TalosException(TalosErrors.InvalidGitHubApiUrl, $"'{apiUrl}' is not an http(s) URL of a GitHub API", apiUrl);
        }
        _api = api;
        _token = token;
        SafeText.AddSecret(token);
        _http = http;
        _client = HttpPipeline.For(api.ToString(), http);
        Url = HttpPipeline.Redact(new Uri(api, $"repos/{Repository}/releases"));
    }

    public string Key => "github";
    public string Name => "GitHub";
    public string Url { get; }
    public string Describe() => $"GitHub releases at {Url}";

    public async Task<VersionListFile> FetchAsync(VersionListFile? cached, IEngineEvents events, CancellationToken ct)
    {
        try
        {
            return await FetchPagesAsync(cached, events, ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (_token is not null && (e.Message.Contains(_token) || (e.Target as string)?.Contains(_token) == true))
        {
            // Belt and braces: a server that echoes the token must not put it into an error.
            throw new TalosException(TalosErrors.Get(e.ErrorId, e.Kind), SafeText.Redact(e.Message, _token), SafeText.Redact(e.Target as string, _token));
        }
    }

    private async Task<VersionListFile> FetchPagesAsync(VersionListFile? cached, IEngineEvents events, CancellationToken ct)
    {
        var adapter = new OctokitHttpAdapter(_client, _http, _api, ValidateReleases)
        {
            IfNoneMatch = cached?.ETag is { Length: > 0 } tag ? tag : null,
            MaxRequests = MaxPages,
            What = "pages of releases",
            Cancellation = ct,
        };
        var credentials = _token is null ? Octokit.Credentials.Anonymous : new Octokit.Credentials(_token, Octokit.AuthenticationType.Bearer);
        var connection = new Octokit.Connection(new Octokit.ProductHeaderValue(ToolInfo.Name, ToolInfo.Version), _api,
            new Octokit.Internal.InMemoryCredentialStore(credentials), adapter, new GitHubReleaseJson());
        var github = new Octokit.GitHubClient(connection);
        IReadOnlyList<Octokit.Release> releases;
        try
        {
            // Octokit's listing calls take no CancellationToken: the adapter's requests watch ct instead.
            releases = await github.Repository.Release.GetAll(Owner, RepositoryName, new Octokit.ApiOptions { PageSize = PageSize }).ConfigureAwait(false);
        }
        catch (OctokitHttpAdapter.NotModifiedException)
        {
            events.Verbose($"{Url}: not modified since {VersionResolver.Time(cached!.FetchedAt)} (ETag {cached.ETag})");
            return cached with { FetchedAt = DateTimeOffset.UtcNow };
        }
        catch (Exception e) when (e is not TalosException and not OperationCanceledException)
        {
            // An answer Octokit cannot read (the adapter passes only successful JSON answers on).
            throw new TalosException(TalosErrors.InvalidServerAnswer, $"GET {Url}: the answer is not a list of GitHub releases ({SafeText.Redact(e.Message, _token)})", Url);
        }
        var versions = new Dictionary<string, VersionEntry>(StringComparer.Ordinal);
        foreach (var release in releases)
        {
            if (release is null || release.Draft || !TalosSemVersion.TryParse(release.TagName, out var v))
            {
                continue;
            }
            versions[v.ToString()] = new VersionEntry(v, v.IsPrerelease || release.Prerelease, release.PublishedAt?.ToUniversalTime());
        }
        events.Verbose($"{Url}: {versions.Count} releases in {adapter.Requests} page(s)");
        return new VersionListFile(Key, Url, DateTimeOffset.UtcNow, adapter.ETag, versions.Values.ToList());
    }

    private static TalosException? ValidateReleases(JToken json, string url) =>
        json is JArray ? null : new TalosException(TalosErrors.InvalidServerAnswer, $"GET {url}: expected a JSON list of releases", url);
}
