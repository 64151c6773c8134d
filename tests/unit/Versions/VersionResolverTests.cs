using TalosImage.Core;
using TalosImage.Core.Versions;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Versions;

public class VersionResolverTests
{
    private static readonly string[] GitHubTags =
    {
        "v1.10.6", "v1.10.7", "v1.11.4", "v1.11.5", "v1.12.0-alpha.1", "v1.12.0-beta.2", "v1.12.0-beta.10",
    };

    private static VersionResolver Resolver(FakeImageFactory fake, string source, IEngineEvents? events = null, string? cacheDir = null,
        TimeSpan? ttl = null, bool offline = false, string? token = null, Func<string, string?>? env = null) =>
        new(new VersionSourceOptions
        {
            Source = source,
            FactoryUrl = fake.BaseUrl,
            GitHubApiUrl = fake.BaseUrl,
            GitHubToken = token,
            Environment = env ?? (_ => null),
            CacheDir = cacheDir,
            Ttl = ttl ?? TimeSpan.FromHours(1),
            Offline = offline,
            Http = FastHttp.Options,
        }, events ?? NullEngineEvents.Instance);

    private static async Task<FakeImageFactory> StartAsync()
    {
        var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(GitHubTags);
        // A draft newer than everything: never a candidate.
        fake.Releases.Add(new FakeImageFactory.Release("v1.13.0", Draft: true, PublishedAt: DateTimeOffset.UtcNow));
        return fake;
    }

    private static VersionRequest Exact(string v) => new(VersionKind.Exact, v);
    private static VersionRequest InMinor(string v) => new(VersionKind.LatestInMinor, v);

    [Theory]
    [InlineData("factory", "Factory")]
    [InlineData("github", "GitHub")]
    public async Task Every_kind_resolves_with_SemVer_order_and_the_GA_preference(string source, string sourceName)
    {
        await using var fake = await StartAsync();
        var events = new RecordingEvents();
        var r = Resolver(fake, source, events);

        var exact = await r.ResolveAsync(Exact("1.11.4"), CancellationToken.None);
        Assert.Equal(("v1.11.4", sourceName, false), (exact.Version, exact.Source, exact.FromCache));
        Assert.Equal("v1.11", exact.Minor);
        Assert.Equal("v1.12.0-beta.2", (await r.ResolveAsync(Exact("v1.12.0-beta.2"), CancellationToken.None)).Version);

        var latest = await r.ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.Equal("v1.11.5", latest.Version);
        Assert.False(latest.IsPrerelease);
        Assert.Equal("latest", latest.Request);

        var newest = await r.ResolveAsync(VersionRequest.Latest, includePrerelease: true, CancellationToken.None);
        Assert.Equal("v1.12.0-beta.10", newest.Version); // beta.10 > beta.2 > alpha.1
        Assert.True(newest.IsPrerelease);

        Assert.Equal("v1.10.7", (await r.ResolveAsync(InMinor("v1.10"), CancellationToken.None)).Version);
        Assert.Equal("v1.11.5", (await r.ResolveAsync(InMinor("1.11"), CancellationToken.None)).Version);
        Assert.Empty(events.Warnings);

        var pre = await r.ResolveAsync(InMinor("v1.12"), CancellationToken.None);
        Assert.Equal("v1.12.0-beta.10", pre.Version);
        Assert.Equal("latest-in-minor v1.12", pre.Request);
        var warning = Assert.Single(events.Warnings);
        Assert.Contains("v1.12 has no release yet", warning);
        Assert.Contains("v1.12.0-beta.10", warning);

        var list = await r.ListAsync(includePrerelease: true, CancellationToken.None);
        Assert.Equal(GitHubTags.Reverse(), list.Select(v => v.Version));
        Assert.Equal(4, (await r.ListAsync(includePrerelease: false, CancellationToken.None)).Count);
        if (source == "github")
        {
            Assert.Equal(new DateTimeOffset(2025, 1, 4, 0, 0, 0, TimeSpan.Zero), list.Single(v => v.Version == "v1.11.5").PublishedAt);
        }
    }

    [Fact]
    public async Task The_list_is_fetched_once_per_resolver_however_many_requests_run_at_once()
    {
        await using var fake = await StartAsync();
        fake.Delay = TimeSpan.FromMilliseconds(100);
        var r = Resolver(fake, "factory");
        var requests = new[] { VersionRequest.Latest, InMinor("v1.10"), Exact("v1.11.4"), InMinor("v1.11"), VersionRequest.Latest };
        var results = await Task.WhenAll(requests.Select(q => Task.Run(() => r.ResolveAsync(q, CancellationToken.None))));
        Assert.Equal(new[] { "v1.11.5", "v1.10.7", "v1.11.4", "v1.11.5", "v1.11.5" }, results.Select(v => v.Version));
        Assert.Equal(1, fake.Count("GET", "/versions"));
    }

    [Theory]
    [InlineData("factory")]
    [InlineData("github")]
    public async Task An_exact_version_the_source_does_not_list_fails_with_the_nearest_versions(string source)
    {
        await using var fake = await StartAsync();
        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake, source).ResolveAsync(Exact("v1.11.9"), CancellationToken.None));
        Assert.Equal("UnknownVersion", e.ErrorId);
        Assert.Equal(TalosErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains("v1.11.9", e.Message);
        Assert.Contains("nearest: v1.11.4, v1.11.5, v1.12.0-alpha.1, v1.12.0-beta.2", e.Message);
        Assert.Contains(fake.BaseUrl, e.Message);
    }

    [Fact]
    public async Task A_minor_without_any_version_fails_naming_the_nearest_minors()
    {
        await using var fake = await StartAsync();
        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake, "factory").ResolveAsync(InMinor("v1.3"), CancellationToken.None));
        Assert.Equal("UnknownVersion", e.ErrorId);
        Assert.Contains("no Talos v1.3 version", e.Message);
        Assert.Contains("nearest minors: v1.10, v1.11, v1.12", e.Message);
    }

    [Fact]
    public async Task Malformed_requests_fail_before_any_request()
    {
        await using var fake = await StartAsync();
        var r = Resolver(fake, "factory");
        Assert.Equal("InvalidVersion", (await Assert.ThrowsAsync<TalosException>(() => r.ResolveAsync(Exact("1.x"), CancellationToken.None))).ErrorId);
        Assert.Equal("InvalidVersion", (await Assert.ThrowsAsync<TalosException>(() => r.ResolveAsync(InMinor("one.two"), CancellationToken.None))).ErrorId);
        Assert.Empty(fake.Log);
        Assert.Equal("UnknownVersionSource", Assert.Throws<TalosException>(() => Resolver(fake, "gitlab")).ErrorId);
    }

    [Fact]
    public async Task GitHub_pages_are_followed_through_Link_headers_and_drafts_skipped()
    {
        await using var fake = await StartAsync();
        fake.PageSize = 3; // 8 releases: 3 pages
        var list = await Resolver(fake, "github").ListAsync(includePrerelease: true, CancellationToken.None);
        Assert.Equal(7, list.Count);
        Assert.DoesNotContain(list, v => v.Version == "v1.13.0");
        Assert.Equal(new[] { "", "&page=2", "&page=3" }, fake.Log.Select(s => s.Query.Replace("?per_page=100", "").Replace("?per_page=3", "")));
    }

    [Fact]
    public async Task A_warm_GitHub_run_with_a_matching_ETag_makes_one_conditional_request_and_no_full_fetch()
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        var cold = await Resolver(fake, "github", cacheDir: cache.Path, ttl: TimeSpan.Zero).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.Equal(4, fake.GitHubRequests); // 8 releases, 2 per page
        var cacheFile = Path.Combine(cache.Path, "versions", "github.json");
        Assert.Contains(fake.ReleasesETag.Trim('"'), File.ReadAllText(cacheFile));
        while (fake.Log.TryDequeue(out _))
        {
        }

        var warm = await Resolver(fake, "github", cacheDir: cache.Path, ttl: TimeSpan.Zero).ResolveAsync(VersionRequest.Latest, CancellationToken.None);

        Assert.Equal(cold.Version, warm.Version);
        Assert.False(warm.FromCache);
        var only = Assert.Single(fake.Log);
        Assert.Equal(fake.ReleasesETag, only.IfNoneMatch);

        // A new release changes the ETag: the next run fetches again and sees it.
        fake.Releases.Add(new FakeImageFactory.Release("v1.11.6", PublishedAt: new DateTimeOffset(2025, 2, 1, 0, 0, 0, TimeSpan.Zero)));
        var newer = await Resolver(fake, "github", cacheDir: cache.Path, ttl: TimeSpan.Zero).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.Equal("v1.11.6", newer.Version);
    }

    [Theory]
    [InlineData("factory")]
    [InlineData("github")]
    public async Task Within_the_TTL_the_cached_list_is_used_without_any_request(string source)
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        await Resolver(fake, source, cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(cache.Path, "versions", source + ".json")));
        var before = fake.Log.Count;

        var again = Resolver(fake, source, cacheDir: cache.Path);
        Assert.Equal("v1.11.5", (await again.ResolveAsync(VersionRequest.Latest, CancellationToken.None)).Version);
        Assert.Equal("v1.10.7", (await again.ResolveAsync(InMinor("v1.10"), CancellationToken.None)).Version);
        Assert.Equal(before, fake.Log.Count);
    }

    [Fact]
    public async Task An_exact_version_newer_than_a_fresh_cached_list_asks_the_source_once()
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        await Resolver(fake, "factory", cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        fake.Versions.Add("v1.11.6");

        var r = Resolver(fake, "factory", cacheDir: cache.Path);
        Assert.Equal("Factory", (await r.ResolveAsync(Exact("v1.11.6"), CancellationToken.None)).Source);
        Assert.Equal("v1.11.6", (await r.ResolveAsync(VersionRequest.Latest, CancellationToken.None)).Version);
        Assert.Equal(2, fake.Count("GET", "/versions"));
    }

    [Fact]
    public async Task When_the_source_is_unreachable_the_cached_list_is_used_with_a_warning()
    {
        using var cache = new TempDir();
        string url;
        await using (var fake = await StartAsync())
        {
            url = fake.BaseUrl;
            await Resolver(fake, "factory", cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        }
        // The server is gone: connections are refused.
        var events = new RecordingEvents();
        var r = new VersionResolver(new VersionSourceOptions { FactoryUrl = url, CacheDir = cache.Path, Ttl = TimeSpan.Zero, Http = FastHttp.Options }, events);

        var v = await r.ResolveAsync(VersionRequest.Latest, CancellationToken.None);

        Assert.Equal("v1.11.5", v.Version);
        Assert.True(v.FromCache);
        var warning = Assert.Single(events.Warnings);
        Assert.Contains("could not be asked", warning);
        Assert.Contains(url, warning);
        // An exact version the stale list does not have cannot be refused: it is unchecked.
        Assert.Equal("Unchecked", (await r.ResolveAsync(Exact("v1.11.9"), CancellationToken.None)).Source);
    }

    [Fact]
    public async Task A_slow_source_without_a_cache_fails_clearly_but_exact_versions_pass_unchecked()
    {
        await using var fake = await StartAsync();
        fake.Delay = TimeSpan.FromSeconds(20);
        var events = new RecordingEvents();
        var r = new VersionResolver(new VersionSourceOptions
        {
            FactoryUrl = fake.BaseUrl,
            Http = FastHttp.Options with { HeadersTimeout = TimeSpan.FromMilliseconds(300) },
        }, events);

        var e = await Assert.ThrowsAsync<TalosException>(() => r.ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Contains(fake.BaseUrl + "/versions", e.Message);

        var exact = await r.ResolveAsync(Exact("v1.11.5"), CancellationToken.None);
        Assert.Equal("Unchecked", exact.Source);
        Assert.Contains(events.Warnings, w => w.Contains("v1.11.5 is not checked"));
    }

    [Fact]
    public async Task Server_errors_name_the_url_the_status_and_the_message()
    {
        await using var fake = await StartAsync();
        fake.Fail500(100);
        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake, "factory").ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Contains("GET " + fake.BaseUrl + "/versions answered 500", e.Message);
        Assert.Contains("internal error", e.Message);
        Assert.Equal(FastHttp.Options.MaxAttempts, fake.Count("GET", "/versions"));
    }

    [Fact]
    public async Task Offline_exact_versions_are_unchecked_and_latest_kinds_need_the_cache()
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        var events = new RecordingEvents();
        var offline = Resolver(fake, "factory", events, cache.Path, offline: true);

        var exact = await offline.ResolveAsync(Exact("1.9.0"), CancellationToken.None);
        Assert.Equal(("v1.9.0", "Unchecked"), (exact.Version, exact.Source));
        Assert.Contains(events.Warnings, w => w.Contains("not checked against a version source"));
        var e = await Assert.ThrowsAsync<TalosException>(() => offline.ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Contains(Path.Combine(cache.Path, "versions", "factory.json"), e.Message);
        Assert.Empty(fake.Log);

        // Fill the cache online, age it, then go offline again: any age is used, with a warning.
        await Resolver(fake, "factory", cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        var file = Path.Combine(cache.Path, "versions", "factory.json");
        File.WriteAllText(file, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(file), "\"fetched_at\": \"[^\"]+\"", "\"fetched_at\": \"2024-01-01T00:00:00.0000000+00:00\""));
        var requests = fake.Log.Count;
        var events2 = new RecordingEvents();
        var latest = await Resolver(fake, "factory", events2, cache.Path, offline: true).ResolveAsync(InMinor("v1.10"), CancellationToken.None);
        Assert.Equal("v1.10.7", latest.Version);
        Assert.True(latest.FromCache);
        Assert.Contains(events2.Warnings, w => w.Contains("offline") && w.Contains("2024-01-01"));
        Assert.Equal(requests, fake.Log.Count);
    }

    [Fact]
    public async Task A_cached_list_of_another_url_is_not_used()
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        await Resolver(fake, "factory", cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        var other = new VersionResolver(new VersionSourceOptions { FactoryUrl = "http://127.0.0.1:9", CacheDir = cache.Path, Offline = true }, NullEngineEvents.Instance);
        Assert.Equal("VersionListUnavailable", (await Assert.ThrowsAsync<TalosException>(() => other.ResolveAsync(VersionRequest.Latest, CancellationToken.None))).ErrorId);
    }

    [Fact]
    public async Task The_GitHub_token_is_sent_as_Bearer_and_never_appears_in_errors()
    {
        const string token = "ghp_s3cretTokenValueWkQzRvTxLmPnJb";
        await using var fake = await StartAsync();
        fake.RequiredToken = token;

        var ok = await Resolver(fake, "github", env: n => n == "GITHUB_TOKEN" ? token : null).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.Equal("v1.11.5", ok.Version);
        Assert.All(fake.Log, s => Assert.Equal("Bearer " + token, s.Authorization));

        fake.RequiredToken = "another";
        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake, "github", token: token).ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Contains("401", e.Message);
        Assert.Contains("Bad credentials", e.Message);
        Assert.Contains(fake.BaseUrl + "/repos/siderolabs/talos/releases", e.Message);
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(token, x.Message);
            Assert.DoesNotContain(token, x.ToString());
            Assert.DoesNotContain(token, (x as TalosException)?.Target?.ToString() ?? "");
        }
    }

    [Fact]
    public async Task Without_a_token_no_Authorization_header_is_sent()
    {
        await using var fake = await StartAsync();
        await Resolver(fake, "github").ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        Assert.All(fake.Log, s => Assert.Null(s.Authorization));
    }
}
