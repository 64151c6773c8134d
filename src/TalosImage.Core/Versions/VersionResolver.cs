using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;

namespace TalosImage.Core.Versions;

/// <summary>Where versions come from and how the list is cached.</summary>
public sealed record VersionSourceOptions
{
    /// <summary>factory (GET /versions: what the factory can build) or github (siderolabs/talos releases).</summary>
    public string Source { get; init; } = "factory";
    public string FactoryUrl { get; init; } = FactoryCatalog.PublicFactoryUrl;
    public string GitHubApiUrl { get; init; } = FactoryCatalog.PublicGitHubApiUrl;
    /// <summary>GitHub token; else GITHUB_TOKEN or GH_TOKEN through <see cref="Environment"/>. Never shown.</summary>
    public string? GitHubToken { get; init; }
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
    /// <summary>The version list is cached at &lt;CacheDir&gt;/versions/&lt;source&gt;.json; null: no disk cache.</summary>
    public string? CacheDir { get; init; }
    /// <summary>How long a cached list is used without asking the source.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Ask no server: exact versions are unchecked, latest kinds use the cached list of any age.</summary>
    public bool Offline { get; init; }
    /// <summary>Read the cached list but never write it (dry runs change no file).</summary>
    public bool ReadOnlyCache { get; init; }
    public HttpOptions? Http { get; init; }
    /// <summary>
    /// With the GitHub source: also look every resolved version up in <see cref="FactoryUrl"/>'s /versions and refuse one
    /// it cannot build (VersionNotBuildable). Order runs set it (their factory_url is the factory they will ask);
    /// Resolve-TalosVersion sets it when -FactoryUrl is given.
    /// </summary>
    public bool CheckBuildable { get; init; }
}

/// <summary>
/// Resolves exact, latest and latest-in-minor requests against the factory's or GitHub's version list, in SemVer
/// order (beta.10 &gt; beta.2, rc &gt; beta &gt; alpha, a release &gt; its pre-releases). The list is fetched at most
/// once per instance, cached on disk with its fetch time, reused within the TTL and used (with a warning) when the
/// source cannot be reached.
/// </summary>
public sealed class VersionResolver : IVersionResolver
{
    private readonly VersionSourceOptions _options;
    private readonly IEngineEvents _events;
    private readonly IVersionListSource _source;
    private readonly VersionListCache? _cache;
    private Lazy<Task<VersionSnapshot>>? _list;
    private Lazy<Task<VersionSnapshot>>? _refreshed;
    private readonly object _gate = new();

    public VersionResolver(VersionSourceOptions options, IEngineEvents events)
    {
        _options = options;
        _events = events;
        var http = options.Http ?? HttpOptions.Default;
        _source = (options.Source ?? "").Trim().ToLowerInvariant() switch
        {
            "factory" => new FactoryVersionSource(options.FactoryUrl, http),
            // The factory's credential is the factory's: never given to the GitHub client.
            "github" => new GitHubVersionSource(options.GitHubApiUrl, Token(options), http with { Credential = null }),
            _ => throw new TalosException(TalosErrors.UnknownVersionSource,
                $"'{options.Source}' is not a version source; expected factory or github", options.Source),
        };
        _cache = string.IsNullOrEmpty(options.CacheDir) ? null : new VersionListCache(options.CacheDir!, _source.Key, _source.Url);
        if (_source is GitHubVersionSource && options.CheckBuildable)
        {
            // GitHub lists releases; only the factory's /versions says which of them it can build.
            _buildable = new FactoryVersionSource(options.FactoryUrl, http);
            _buildableCache = string.IsNullOrEmpty(options.CacheDir) ? null : new VersionListCache(options.CacheDir!, _buildable.Key, _buildable.Url);
        }
    }

    private readonly IVersionListSource? _buildable;
    private readonly VersionListCache? _buildableCache;
    private Lazy<Task<VersionSnapshot?>>? _buildableList;
    private Lazy<Task<VersionSnapshot?>>? _buildableRefreshed;

    /// <summary>Factory or GitHub: the value of <see cref="TalosVersion.Source"/> for versions this resolver checked.</summary>
    public string SourceName => _source.Name;

    public Task<TalosVersion> ResolveAsync(VersionRequest request, CancellationToken ct) => ResolveAsync(request, includePrerelease: false, ct);

    /// <summary>As <see cref="ResolveAsync(VersionRequest, CancellationToken)"/>; <paramref name="includePrerelease"/> lets latest kinds pick pre-releases.</summary>
    public async Task<TalosVersion> ResolveAsync(VersionRequest request, bool includePrerelease, CancellationToken ct)
    {
        var resolved = await ResolveFromSourceAsync(request, includePrerelease, ct).ConfigureAwait(false);
        if (_buildable is not null && resolved.Source != "Unchecked")
        {
            await CheckBuildableAsync(resolved, ct).ConfigureAwait(false);
        }
        return resolved;
    }

    /// <summary>
    /// A version GitHub lists must also be in the factory's /versions, or the factory cannot build it
    /// (VersionNotBuildable). The factory's list is cached like any version list (versions/factory.json, the TTL);
    /// offline, or when the factory cannot be asked and nothing is cached, the version stays unchecked (a warning).
    /// </summary>
    private async Task CheckBuildableAsync(TalosVersion resolved, CancellationToken ct)
    {
        var wanted = TalosSemVersion.Parse(resolved.Version);
        var list = await GetBuildableListAsync(refresh: false, ct).ConfigureAwait(false);
        if (list is null)
        {
            return;
        }
        if (list.Versions.All(e => !e.Version.Equals(wanted)) && list.Origin == VersionListOrigin.FreshCache)
        {
            // A release newer than the cached factory list: ask the factory once before refusing.
            list = await GetBuildableListAsync(refresh: true, ct).ConfigureAwait(false) ?? list;
        }
        if (list.Versions.Any(e => e.Version.Equals(wanted)))
        {
            _events.Verbose($"Talos {wanted} is in the version list of {_buildable!.Describe()}: it can build it");
            return;
        }
        var newest = list.Versions.FirstOrDefault(e => !e.Prerelease)?.Version;
        throw new TalosException(TalosErrors.VersionNotBuildable,
            $"Talos {wanted} is a release on {_source.Describe()}, but {_buildable!.Describe()} cannot build it: it is not in {_buildable.Url}" +
            (list.Origin is VersionListOrigin.Fallback ? $" (the list cached at {Time(list.FetchedAt)})" : "") +
            (newest is not null ? $"; the newest release it builds is {newest}" : ""), wanted.ToString());
    }

    private Task<VersionSnapshot?> GetBuildableListAsync(bool refresh, CancellationToken ct)
    {
        lock (_gate)
        {
            if (refresh)
            {
                _buildableRefreshed ??= new Lazy<Task<VersionSnapshot?>>(() => LoadBuildableAsync(force: true, ct));
                return _buildableRefreshed.Value;
            }
            _buildableList ??= new Lazy<Task<VersionSnapshot?>>(() => LoadBuildableAsync(force: false, ct));
            return _buildableList.Value;
        }
    }

    private async Task<VersionSnapshot?> LoadBuildableAsync(bool force, CancellationToken ct)
    {
        var source = _buildable!;
        if (_options.Offline)
        {
            _events.Warning($"offline: whether {source.Describe()} can build the GitHub release is not checked ({source.Url} is not asked)");
            return null;
        }
        var cached = _buildableCache?.Read(_events);
        var now = DateTimeOffset.UtcNow;
        if (_options.ReadOnlyCache)
        {
            // A dry run resolves from GitHub alone: it uses the factory's cached list when there is one, asks nothing more.
            if (cached is null)
            {
                _events.Warning($"whether {source.Describe()} can build the GitHub release is not checked (a dry run does not ask {source.Url}, and no list of it is cached)");
                return null;
            }
            return cached.ToSnapshot(VersionListOrigin.Fallback);
        }
        if (!force && cached is not null && now - cached.FetchedAt < _options.Ttl && cached.FetchedAt - now < TimeSpan.FromMinutes(5))
        {
            return cached.ToSnapshot(VersionListOrigin.FreshCache);
        }
        try
        {
            var fetched = await source.FetchAsync(cached, _events, ct).ConfigureAwait(false);
            if (!_options.ReadOnlyCache)
            {
                _buildableCache?.Write(fetched, _events);
            }
            return fetched.ToSnapshot(VersionListOrigin.Fetched);
        }
        catch (TalosException e) when (!ct.IsCancellationRequested)
        {
            if (cached is not null)
            {
                _events.Warning($"{source.Describe()} could not be asked ({e.Message}); whether it can build the release is checked against its version list cached at {Time(cached.FetchedAt)}");
                return cached.ToSnapshot(VersionListOrigin.Fallback);
            }
            _events.Warning($"{source.Describe()} could not be asked ({e.Message}): whether it can build the GitHub release is not checked");
            return null;
        }
    }

    private async Task<TalosVersion> ResolveFromSourceAsync(VersionRequest request, bool includePrerelease, CancellationToken ct)
    {
        switch (request.Kind)
        {
            case VersionKind.Exact:
                return await ResolveExactAsync(request, ct).ConfigureAwait(false);
            case VersionKind.LatestInMinor:
                return await ResolveLatestInMinorAsync(request, includePrerelease, ct).ConfigureAwait(false);
            default:
            {
                var list = await GetListAsync(ct).ConfigureAwait(false);
                var best = list.Versions.FirstOrDefault(e => includePrerelease || !e.Prerelease)
                    ?? throw new TalosException(TalosErrors.UnknownVersion,
                        $"{_source.Describe()} lists no {(includePrerelease ? "" : "released ")}Talos version", request.ToString());
                return Output(best, request, list);
            }
        }
    }

    /// <summary>Every version of the source, newest first (releases only unless <paramref name="includePrerelease"/>).</summary>
    public async Task<IReadOnlyList<TalosVersion>> ListAsync(bool includePrerelease, CancellationToken ct)
    {
        var list = await GetListAsync(ct).ConfigureAwait(false);
        return list.Versions.Where(e => includePrerelease || !e.Prerelease).Select(e => Output(e, "list", list)).ToList();
    }

    private async Task<TalosVersion> ResolveExactAsync(VersionRequest request, CancellationToken ct)
    {
        var wanted = TalosSemVersion.Parse(request.Value ?? "");
        request = request with { Value = wanted.ToString() };
        if (_options.Offline)
        {
            return Unchecked(wanted, request, $"{wanted} is not checked against a version source (offline)");
        }
        VersionSnapshot list;
        try
        {
            list = await GetListAsync(ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (e.ErrorId == TalosErrors.VersionListUnavailable.Id)
        {
            return Unchecked(wanted, request, $"{wanted} is not checked against a version source: {e.Message}");
        }
        var found = list.Versions.FirstOrDefault(e => e.Version.Equals(wanted));
        if (found is null && list.Origin == VersionListOrigin.FreshCache)
        {
            // A release newer than the cached list: ask the source once before failing.
            list = await GetRefreshedListAsync(ct).ConfigureAwait(false);
            found = list.Versions.FirstOrDefault(e => e.Version.Equals(wanted));
        }
        if (found is not null)
        {
            return Output(found, request, list);
        }
        if (list.Origin == VersionListOrigin.Fallback)
        {
            return Unchecked(wanted, request, $"{wanted} is not in the version list cached at {Time(list.FetchedAt)} and {_source.Describe()} could not be asked; it is not checked");
        }
        var ascending = list.Versions.Select(e => e.Version).Reverse().ToList();
        var index = ascending.Count(v => v < wanted);
        var nearest = ascending.Skip(Math.Max(0, index - 2)).Take(index - Math.Max(0, index - 2) + 2).Select(v => v.ToString()).ToList();
        throw new TalosException(TalosErrors.UnknownVersion,
            $"Talos {wanted} is not listed by {_source.Describe()}" + (nearest.Count > 0 ? $"; nearest: {string.Join(", ", nearest)}" : "; the list is empty"),
            wanted.ToString());
    }

    private async Task<TalosVersion> ResolveLatestInMinorAsync(VersionRequest request, bool includePrerelease, CancellationToken ct)
    {
        int major, minor;
        if (!TalosSemVersion.TryParseMinor(request.Value, out major, out minor))
        {
            if (!TalosSemVersion.TryParse(request.Value, out var full))
            {
                throw new TalosException(TalosErrors.InvalidVersion,
                    $"'{request.Value}' is not a Talos minor version: expected vMAJOR.MINOR, e.g. v1.11", request.Value);
            }
            major = full.Major;
            minor = full.Minor;
        }
        var tag = string.Format(CultureInfo.InvariantCulture, "v{0}.{1}", major, minor);
        var list = await GetListAsync(ct).ConfigureAwait(false);
        var inMinor = list.Versions.Where(e => e.Version.Major == major && e.Version.Minor == minor).ToList();
        var best = inMinor.FirstOrDefault(e => !e.Prerelease) ?? inMinor.FirstOrDefault();
        if (best is null)
        {
            var minors = list.Versions.Select(e => (e.Version.Major, e.Version.Minor)).Distinct()
                .OrderBy(m => Math.Abs((m.Major - major) * 1000 + m.Minor - minor)).ThenByDescending(m => m)
                .Take(3).OrderBy(m => m).Select(m => $"v{m.Major}.{m.Minor}").ToList();
            throw new TalosException(TalosErrors.UnknownVersion,
                $"{_source.Describe()} lists no Talos {tag} version" + (minors.Count > 0 ? $"; nearest minors: {string.Join(", ", minors)}" : ""), tag);
        }
        if (best.Prerelease && !includePrerelease)
        {
            _events.Warning($"Talos {tag} has no release yet; using the pre-release {best.Version}");
        }
        return Output(best, request with { Value = tag }, list);
    }

    private TalosVersion Unchecked(TalosSemVersion v, VersionRequest request, string warning)
    {
        _events.Warning(warning);
        return new TalosVersion { Version = v.ToString(), Source = "Unchecked", Request = request.ToString(), IsPrerelease = v.IsPrerelease, Minor = v.MinorTag };
    }

    private TalosVersion Output(VersionEntry e, VersionRequest request, VersionSnapshot list) => Output(e, request.ToString(), list);

    private TalosVersion Output(VersionEntry e, string request, VersionSnapshot list) => new()
    {
        Version = e.Version.ToString(),
        Source = _source.Name,
        Request = request,
        IsPrerelease = e.Prerelease,
        Minor = e.Version.MinorTag,
        FromCache = list.Origin is VersionListOrigin.Fallback or VersionListOrigin.Offline,
        PublishedAt = e.PublishedAt,
    };

    private Task<VersionSnapshot> GetListAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            _list ??= new Lazy<Task<VersionSnapshot>>(() => LoadAsync(force: false, ct));
            return _list.Value;
        }
    }

    private Task<VersionSnapshot> GetRefreshedListAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            _refreshed ??= new Lazy<Task<VersionSnapshot>>(async () =>
            {
                var fresh = await LoadAsync(force: true, ct).ConfigureAwait(false);
                lock (_gate)
                {
                    _list = new Lazy<Task<VersionSnapshot>>(() => Task.FromResult(fresh));
                }
                return fresh;
            });
            return _refreshed.Value;
        }
    }

    private async Task<VersionSnapshot> LoadAsync(bool force, CancellationToken ct)
    {
        var cached = _cache?.Read(_events);
        var now = DateTimeOffset.UtcNow;
        if (_options.Offline)
        {
            if (cached is null)
            {
                throw new TalosException(TalosErrors.VersionListUnavailable,
                    _cache is null
                        ? $"offline and no version cache folder: latest and latest-in-minor need a version list from {_source.Describe()}; give an exact version or run online"
                        : $"offline and no cached version list at {_cache.Path}: latest and latest-in-minor need one; run once online or give an exact version",
                    _cache?.Path);
            }
            _events.Warning($"offline: using the version list of {_source.Describe()} cached at {Time(cached.FetchedAt)} ({Age(now - cached.FetchedAt)} old)");
            return cached.ToSnapshot(VersionListOrigin.Offline);
        }
        if (!force && cached is not null && now - cached.FetchedAt < _options.Ttl && cached.FetchedAt - now < TimeSpan.FromMinutes(5))
        {
            _events.Verbose($"using the version list of {_source.Describe()} cached at {Time(cached.FetchedAt)} (younger than {Units.Duration(_options.Ttl)})");
            return cached.ToSnapshot(VersionListOrigin.FreshCache);
        }
        VersionListFile fetched;
        try
        {
            fetched = await _source.FetchAsync(cached, _events, ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (!ct.IsCancellationRequested)
        {
            if (cached is not null)
            {
                _events.Warning($"{_source.Describe()} could not be asked ({e.Message}); using the version list cached at {Time(cached.FetchedAt)} ({Age(now - cached.FetchedAt)} old)");
                return cached.ToSnapshot(VersionListOrigin.Fallback);
            }
            if (e.ErrorId == TalosErrors.FactoryAuthenticationFailed.Id)
            {
                throw; // its own id: which credential the factory refused says more than "no version list"
            }
            throw new TalosException(TalosErrors.VersionListUnavailable.Caused(e.Kind), $"cannot list Talos versions: {e.Message}", _source.Url, e);
        }
        if (!_options.ReadOnlyCache)
        {
            _cache?.Write(fetched, _events);
        }
        return fetched.ToSnapshot(VersionListOrigin.Fetched);
    }

    private static string? Token(VersionSourceOptions o)
    {
        foreach (var t in new[] { o.GitHubToken, o.Environment("GITHUB_TOKEN"), o.Environment("GH_TOKEN") })
        {
            if (!string.IsNullOrWhiteSpace(t))
            {
                return t!.Trim();
            }
        }
        return null;
    }

    internal static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Age(TimeSpan t) => t < TimeSpan.Zero ? "0s" : Units.Duration(t);
}
