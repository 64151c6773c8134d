using System.Globalization;
using System.Text.RegularExpressions;
using TalosImage.Core;
using TalosImage.Core.Versions;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Versions;

/// <summary>
/// The GitHub version source on Octokit (Release.GetAll through OctokitHttpAdapter on the engine's pipeline): GitHub
/// Enterprise bases, the rate limit answered with its reset time, the token kept to the API's origin and out of every
/// text, answers that are not release lists, a Link chain that does not end, and cancellation.
/// </summary>
public class GitHubSourceTests
{
    private static readonly string[] Tags = { "v1.10.6", "v1.10.7", "v1.11.4", "v1.11.5", "v1.12.0-alpha.1", "v1.12.0-beta.2", "v1.12.0-beta.10" };

    private static async Task<FakeImageFactory> StartAsync()
    {
        var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(Tags);
        return fake;
    }

    private static VersionResolver Resolver(string apiUrl, IEngineEvents? events = null, string? cacheDir = null, TimeSpan? ttl = null,
        string? token = null, Core.Http.HttpOptions? http = null) =>
        new(new VersionSourceOptions
        {
            Source = "github",
            GitHubApiUrl = apiUrl,
            GitHubToken = token,
            Environment = _ => null,
            CacheDir = cacheDir,
            Ttl = ttl ?? TimeSpan.FromHours(1),
            Http = http ?? FastHttp.Options,
        }, events ?? NullEngineEvents.Instance);

    private static void AssertOneSentence(string text)
    {
        Assert.EndsWith(".", text);
        // No sentence ends inside it (the URL's dots are followed by digits or letters, not by a space).
        Assert.DoesNotMatch(new Regex(@"[.!?]\s"), text.TrimEnd('.'));
    }

    [Theory]
    [InlineData("/api/v3")]
    [InlineData("/api/v3/")]
    public async Task A_GitHub_Enterprise_base_with_a_path_is_used_as_given_for_every_page(string suffix)
    {
        await using var fake = await StartAsync();
        fake.GitHubApiPrefix = "/api/v3";
        fake.PageSize = 3; // 7 releases: 3 pages
        using var cache = new TempDir();

        var list = await Resolver(fake.BaseUrl + suffix, cacheDir: cache.Path).ListAsync(includePrerelease: true, CancellationToken.None);

        Assert.Equal(Tags.Reverse(), list.Select(v => v.Version));
        Assert.Equal(3, fake.Log.Count);
        Assert.All(fake.Log, s => Assert.Equal("/api/v3/repos/siderolabs/talos/releases", s.Path));
        Assert.Contains($"\"url\": \"{fake.BaseUrl}/api/v3/repos/siderolabs/talos/releases\"", File.ReadAllText(Path.Combine(cache.Path, "versions", "github.json")));
    }

    [Theory]
    [InlineData(403)]
    [InlineData(429)]
    public async Task The_rate_limit_is_one_sentence_with_the_reset_time_and_PermissionDenied(int status)
    {
        await using var fake = await StartAsync();
        var reset = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);
        fake.GitHubRateLimited = (status, reset);

        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake.BaseUrl).ResolveAsync(VersionRequest.Latest, CancellationToken.None));

        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Equal(TalosErrorKind.PermissionDenied, e.Kind);
        var cause = Assert.IsType<TalosException>(e.InnerException);
        Assert.Equal(TalosErrors.GitHubRateLimited.Id, cause.ErrorId);
        Assert.Contains("rate limit of 60 requests an hour is used up until 2031-05-06 07:08:09Z", cause.Message);
        Assert.Contains("GITHUB_TOKEN", cause.Message);
        Assert.Contains(fake.BaseUrl + "/repos/siderolabs/talos/releases", cause.Message);
        AssertOneSentence(cause.Message);
        Assert.Contains("2031-05-06 07:08:09Z", e.Message);
        // A used-up limit is not retried: 403 is never, and a 429 only as the pipeline retries every 429.
        Assert.Equal(status == 403 ? 1 : FastHttp.Options.MaxAttempts, fake.GitHubRequests);
    }

    [Fact]
    public async Task Rate_limited_with_a_cached_list_the_list_is_used_and_the_warning_gives_the_reset_time()
    {
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        await Resolver(fake.BaseUrl, cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        fake.GitHubRateLimited = (403, new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var events = new RecordingEvents();

        var v = await Resolver(fake.BaseUrl, events, cache.Path, TimeSpan.Zero).ResolveAsync(VersionRequest.Latest, CancellationToken.None);

        Assert.Equal(("v1.11.5", true), (v.Version, v.FromCache));
        var warning = Assert.Single(events.Warnings);
        Assert.Contains("could not be asked", warning);
        Assert.Contains("until 2031-05-06 07:08:09Z", warning);

        // Without a cache an exact version passes unchecked, and the warning says why.
        var events2 = new RecordingEvents();
        var exact = await Resolver(fake.BaseUrl, events2).ResolveAsync(new VersionRequest(VersionKind.Exact, "v1.11.4"), CancellationToken.None);
        Assert.Equal("Unchecked", exact.Source);
        Assert.Contains(events2.Warnings, w => w.Contains("v1.11.4 is not checked") && w.Contains("until 2031-05-06 07:08:09Z"));
    }

    [Fact]
    public async Task The_token_goes_to_the_APIs_origin_only_and_a_Link_to_another_host_is_fetched_without_it()
    {
        const string token = "ghp_OctokitOriginTestQmRwZtKvYpNsXu";
        await using var api = await StartAsync();
        await using var other = await StartAsync();
        api.PageSize = other.PageSize = 3;
        api.LinkBase = other.BaseUrl; // page 1's next Link points to another origin
        api.RequiredToken = token;
        var events = new RecordingEvents();

        var list = await Resolver(api.BaseUrl, events, token: token).ListAsync(includePrerelease: true, CancellationToken.None);

        Assert.Equal(Tags.Reverse(), list.Select(v => v.Version));
        var first = Assert.Single(api.Log);
        Assert.Equal("Bearer " + token, first.Authorization);
        Assert.Equal(2, other.Log.Count); // pages 2 and 3
        Assert.All(other.Log, s => Assert.Null(s.Authorization));
        Assert.All(events.Verbose.Concat(events.Warnings), m => Assert.DoesNotContain(token, m));
    }

    [Fact]
    public async Task A_rejected_token_echoed_by_the_server_is_in_no_warning_message_or_cached_file()
    {
        const string token = "ghp_EchoedTokenValueJqWzRtLmVkPxHs";
        await using var fake = await StartAsync();
        using var cache = new TempDir();
        await Resolver(fake.BaseUrl, cacheDir: cache.Path).ResolveAsync(VersionRequest.Latest, CancellationToken.None);
        fake.RequiredToken = "another";
        var events = new RecordingEvents();

        var v = await Resolver(fake.BaseUrl, events, cache.Path, TimeSpan.Zero, token).ResolveAsync(VersionRequest.Latest, CancellationToken.None);

        Assert.True(v.FromCache);
        var warning = Assert.Single(events.Warnings);
        Assert.Contains("401", warning);
        Assert.Contains("Bad credentials", warning);
        Assert.DoesNotContain(token, warning);
        Assert.DoesNotContain(token.Substring(0, 12), warning);
        Assert.All(events.Verbose, m => Assert.DoesNotContain(token, m));
        Assert.DoesNotContain(token, File.ReadAllText(Path.Combine(cache.Path, "versions", "github.json")));
    }

    [Theory]
    [InlineData("{\"message\": \"Moved Permanently\"}", "expected a JSON list of releases")]
    [InlineData("<html>not an API</html>", "expected JSON")]
    public async Task An_answer_that_is_not_a_list_of_releases_is_InvalidServerAnswer(string body, string expected)
    {
        await using var fake = await StartAsync();
        fake.ReleasesBody = body;

        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake.BaseUrl).ResolveAsync(VersionRequest.Latest, CancellationToken.None));

        Assert.Equal("VersionListUnavailable", e.ErrorId);
        Assert.Equal(TalosErrorKind.ProtocolError, e.Kind);
        Assert.Equal("InvalidServerAnswer", Assert.IsType<TalosException>(e.InnerException).ErrorId);
        Assert.Contains(expected, e.Message);
        Assert.Contains(fake.BaseUrl + "/repos/siderolabs/talos/releases", e.Message);
    }

    [Fact]
    public async Task More_than_50_pages_stop_with_InvalidServerAnswer()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(Enumerable.Range(0, 60).Select(i => string.Format(CultureInfo.InvariantCulture, "v1.{0}.0", i)).ToArray());
        fake.PageSize = 1;

        var e = await Assert.ThrowsAsync<TalosException>(() => Resolver(fake.BaseUrl).ResolveAsync(VersionRequest.Latest, CancellationToken.None));

        Assert.Equal("InvalidServerAnswer", Assert.IsType<TalosException>(e.InnerException).ErrorId);
        Assert.Contains("more than 50 pages of releases", e.Message);
        Assert.Equal(50, fake.GitHubRequests);
    }

    [Fact]
    public async Task Cancelling_a_slow_listing_ends_it_at_once()
    {
        await using var fake = await StartAsync();
        fake.Delay = TimeSpan.FromSeconds(30);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Resolver(fake.BaseUrl).ResolveAsync(VersionRequest.Latest, cts.Token));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }
}
