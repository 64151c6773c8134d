using TalosImage.Core;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Versions;
using TalosImage.Tests.Factory;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Orders;

/// <summary>
/// Orders with overlays (SBC images): planned as metal-arm64 with the overlay in the schematic, refused at planning on
/// another platform or architecture and before Talos v1.7.0, checked against the official overlay list (the cached one
/// offline, with its age in a note) before anything is downloaded; and GitHub versions the factory cannot build.
/// </summary>
public class OverlayPlanningTests
{
    private static string Orders(string version, string platform = "metal", string arch = "arm64", string name = "rpi_generic",
        string image = "siderolabs/sbc-raspberrypi", string extensions = "[siderolabs/iscsi-tools]") => $"""
        - orderid: SBC
          positions:
            - name: pi
              product: talos
              version: {version}
              platform: {platform}
              arch: {arch}
              image_format: raw.xz
              overlay:
                image: {image}
                name: {name}
                options: {"{"}configTxtAppend: dtoverlay=vc4-kms-v3d{"}"}
              customization:
                systemExtensions:
                  officialExtensions: {extensions}
        """;

    private static string Config(TempDir dir, string factoryUrl, string source = "factory") => dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {dir.Path}/cache
          factory_url: {factoryUrl}
          version_source: {source}
          github_api_url: {factoryUrl}
        manifest:
          dir: {dir.Path}/manifests
        """);

    private static Task<RunResult> RunAsync(TempDir dir, string factoryUrl, string orders, IEngineEvents events, bool dryRun = true, bool offline = false, string source = "factory") =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = Config(dir, factoryUrl, source),
            OrdersPath = dir.Write("orders.yaml", orders),
            DryRun = dryRun,
            Offline = offline,
            BaseDirectory = dir.Path,
            Http = FastHttp.Options,
            Environment = _ => null,
        }, events).RunAsync(CancellationToken.None);

    private static PlannedPosition Single(RunResult r) => Assert.Single(Assert.Single(r.Plan.Orders).Positions);

    [Fact]
    public async Task An_sbc_position_plans_offline_as_metal_arm64_with_the_overlay_in_the_schematic()
    {
        using var dir = new TempDir();
        var result = await RunAsync(dir, "http://127.0.0.1:9", Orders("v1.11.5"), new RecordingEvents(), offline: true);

        var p = Single(result);
        Assert.Null(p.Error);
        Assert.Equal("metal-arm64.raw.xz", p.Asset);
        Assert.Equal(p.Schematic!.ComputeId(), p.SchematicId);
        Assert.StartsWith("overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\n    options:\n        configTxtAppend: dtoverlay=vc4-kms-v3d\n", p.Schematic.ToCanonicalYaml());
        Assert.Equal($"http://127.0.0.1:9/image/{p.SchematicId}/v1.11.5/metal-arm64.raw.xz", p.Url);
        Assert.Equal($"127.0.0.1:9/metal-installer/{p.SchematicId}:v1.11.5", p.InstallerImage);
    }

    [Theory]
    [InlineData("nocloud", "arm64", "not into nocloud-arm64")]
    [InlineData("metal", "amd64", "not into metal-amd64")]
    public async Task An_overlay_on_another_platform_or_architecture_is_refused_at_planning(string platform, string arch, string expected)
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        var result = await RunAsync(dir, "http://127.0.0.1:9", Orders("v1.11.5", platform, arch), events, offline: true);

        var p = Single(result);
        Assert.Equal("OverlayUnavailable", p.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, p.ErrorKind);
        Assert.Contains(expected, p.Error);
        Assert.Contains("goes only into metal images for arm64", p.Error);
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
    }

    [Fact]
    public async Task An_overlay_before_talos_1_7_is_refused_at_planning()
    {
        using var dir = new TempDir();
        var result = await RunAsync(dir, "http://127.0.0.1:9", Orders("v1.6.7"), new RecordingEvents(), offline: true);

        var p = Single(result);
        Assert.Equal("OverlayUnavailable", p.ErrorId);
        Assert.Contains("overlay is not supported for Talos version v1.6.7", p.Error);
    }

    [Fact]
    public async Task A_dry_run_checks_the_overlay_online_and_offline_against_the_cached_list_saying_its_age()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        // Offline, nothing cached: planned, with a warning that nothing was checked.
        var first = new RecordingEvents();
        var unchecked_ = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5", name: "rpi_gneric"), first, offline: true);
        Assert.Null(Single(unchecked_).Error);
        Assert.Contains(first.Warnings, w => w.Contains("not checked against the official lists (offline)"));

        // Online dry run: the bad name is caught from the factory's list, and nothing is written.
        var online = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5", name: "rpi_gneric"), new RecordingEvents());
        Assert.Equal("UnknownOverlay", Single(online).ErrorId);
        Assert.Contains("nearest: rpi_generic from siderolabs/sbc-raspberrypi", Single(online).Error);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "cache", "versions")));

        // The lists as a real run (or Get-TalosOverlay's completion) leaves them, two days old.
        var lists = new OfficialListCache(Path.Combine(dir.Path, "cache"), fake.BaseUrl);
        var client = new FactoryClient(fake.BaseUrl, FastHttp.Options);
        lists.WriteOverlays("v1.11.5", await client.GetOfficialOverlaysAsync("v1.11.5", CancellationToken.None), DateTimeOffset.UtcNow.AddDays(-2));
        lists.WriteExtensions("v1.11.5", await client.GetOfficialExtensionsAsync("v1.11.5", CancellationToken.None), DateTimeOffset.UtcNow.AddDays(-2));
        var requests = fake.Log.Count;

        var bad = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5", image: "siderolabs/sbc-rockchip"), new RecordingEvents(), offline: true);
        Assert.Equal("UnknownOverlay", Single(bad).ErrorId);
        Assert.Contains("checked against the list cached 2 days ago", Single(bad).Error);

        var badExtension = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5", extensions: "[siderolabs/iscsi-tool]"), new RecordingEvents(), offline: true);
        Assert.Equal("UnknownExtension", Single(badExtension).ErrorId);

        var good = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5"), new RecordingEvents(), offline: true);
        var p = Single(good);
        Assert.Null(p.Error);
        Assert.Contains(p.Notes, n => n.StartsWith("overlay rpi_generic (siderolabs/sbc-raspberrypi) of Talos v1.11.5 checked against the list cached 2 days ago", StringComparison.Ordinal));
        Assert.Contains(p.Notes, n => n.StartsWith("extension names of Talos v1.11.5 checked against the list cached 2 days ago", StringComparison.Ordinal));
        Assert.Contains("note: pi: overlay rpi_generic", PlanReport.Format(good.Plan));
        Assert.Equal(requests, fake.Log.Count);
    }

    [Fact]
    public async Task A_real_run_with_an_unknown_overlay_fails_before_any_download_and_one_with_a_good_one_downloads()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Images = (_, _, asset) => asset == "metal-arm64.raw.xz" ? new byte[] { 1, 2, 3 } : null;
        using var dir = new TempDir();

        var bad = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5", name: "rpi_gneric"), new RecordingEvents(), dryRun: false);
        Assert.Equal("UnknownOverlay", Assert.Single(bad.Failures).ErrorId);
        Assert.Equal(0, fake.ImageGets);

        var good = await RunAsync(dir, fake.BaseUrl, Orders("v1.11.5"), new RecordingEvents(), dryRun: false);
        Assert.Empty(good.Failures);
        Assert.Equal(1, fake.ImageGets);
        // The run left the official lists in the cache for later offline checks.
        Assert.NotNull(new OfficialListCache(Path.Combine(dir.Path, "cache"), fake.BaseUrl).ReadOverlays("v1.11.5"));
        Assert.NotNull(new OfficialListCache(Path.Combine(dir.Path, "cache"), fake.BaseUrl).ReadExtensions("v1.11.5"));
    }

    [Fact]
    public async Task A_github_release_the_factory_cannot_build_is_refused_with_that_reason()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(fake.Versions.Append("v1.11.6").ToArray());
        var resolver = new VersionResolver(new VersionSourceOptions
        {
            Source = "github", FactoryUrl = fake.BaseUrl, GitHubApiUrl = fake.BaseUrl, Environment = _ => null, Http = FastHttp.Options, CheckBuildable = true,
        }, NullEngineEvents.Instance);

        var e = await Assert.ThrowsAsync<TalosException>(() => resolver.ResolveAsync(new VersionRequest(VersionKind.Exact, "v1.11.6"), CancellationToken.None));
        var latest = await Assert.ThrowsAsync<TalosException>(() => resolver.ResolveAsync(VersionRequest.Latest, CancellationToken.None));
        var buildable = await resolver.ResolveAsync(new VersionRequest(VersionKind.Exact, "v1.11.5"), CancellationToken.None);

        Assert.Equal("VersionNotBuildable", e.ErrorId);
        Assert.Equal(TalosErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains("Talos v1.11.6 is a release on GitHub releases", e.Message);
        Assert.Contains($"cannot build it: it is not in {fake.BaseUrl}/versions; the newest release it builds is v1.11.5", e.Message);
        Assert.Equal("VersionNotBuildable", latest.ErrorId);
        Assert.Equal(("v1.11.5", "GitHub"), (buildable.Version, buildable.Source));
        // The factory's list is asked once for all three.
        Assert.Equal(1, fake.Count("GET", "/versions"));
    }

    [Fact]
    public async Task An_order_run_with_version_source_github_fails_the_position_the_factory_cannot_build_and_a_dry_run_says_unchecked()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(fake.Versions.Append("v1.11.6").ToArray());
        using var dir = new TempDir();

        fake.Images = (_, _, _) => new byte[] { 1 };
        // No overlay and no extensions: nothing else asks the factory about v1.11.6 (its lists would answer 404 too).
        const string plain = "- orderid: GH\n  positions:\n    - {name: pi, product: talos, version: v1.11.6, customization: {}}\n";

        // A dry run asks GitHub only: unchecked, with a warning.
        var events = new RecordingEvents();
        var dry = await RunAsync(dir, fake.BaseUrl, plain, events, source: "github");
        Assert.Null(Single(dry).Error);
        Assert.Contains(events.Warnings, w => w.Contains("can build the GitHub release is not checked (a dry run does not ask"));
        Assert.Equal(0, fake.Count("GET", "/versions"));

        // A real run asks the factory's /versions and fails the position at planning, before any download.
        var result = await RunAsync(dir, fake.BaseUrl, plain, new RecordingEvents(), dryRun: false, source: "github");
        var failure = Assert.Single(result.Failures);
        Assert.Equal("VersionNotBuildable", failure.ErrorId);
        Assert.Equal(TalosErrorKind.ObjectNotFound, failure.Kind);
        Assert.Contains("cannot build it", failure.Message);
        Assert.Equal(1, fake.Count("GET", "/versions"));
        Assert.Equal(0, fake.ImageGets);
    }

    [Fact]
    public async Task Offline_a_github_version_is_used_unchecked_against_the_factory_with_a_warning()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf(fake.Versions.Append("v1.11.6").ToArray());
        using var dir = new TempDir();
        // Online once so that the GitHub list is cached, then offline.
        var online = new VersionResolver(new VersionSourceOptions
        {
            Source = "github", FactoryUrl = fake.BaseUrl, GitHubApiUrl = fake.BaseUrl, Environment = _ => null, Http = FastHttp.Options, CacheDir = dir.Path, CheckBuildable = true,
        }, NullEngineEvents.Instance);
        await online.ResolveAsync(new VersionRequest(VersionKind.Exact, "v1.11.5"), CancellationToken.None);
        var events = new RecordingEvents();
        var offline = new VersionResolver(new VersionSourceOptions
        {
            Source = "github", FactoryUrl = fake.BaseUrl, GitHubApiUrl = fake.BaseUrl, Environment = _ => null, Http = FastHttp.Options, CacheDir = dir.Path, Offline = true, CheckBuildable = true,
        }, events);

        var v = await offline.ResolveAsync(VersionRequest.Latest, CancellationToken.None);

        Assert.Equal("v1.11.6", v.Version);
        Assert.Contains(events.Warnings, w => w.Contains("whether the factory at " + fake.BaseUrl + " can build the GitHub release is not checked"));
    }
}
