using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Versions;

/// <summary>Dry runs through the order runner resolve latest kinds against a loopback factory or GitHub.</summary>
public class DryRunResolutionTests
{
    private static async Task<RunResult> DryRunAsync(string config, string orders, FakeImageFactory fake, string baseDir, bool offline = false, IEngineEvents? events = null) =>
        await new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            DryRun = true,
            Offline = offline,
            BaseDirectory = baseDir,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? fake.BaseUrl : null,
        }, events ?? NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    /// <summary>The compat config with its cache_dir (/var/cache/talos-sync) moved into <paramref name="dir"/>.</summary>
    private static string CompatConfig(TempDir dir, string extra = "")
    {
        var text = File.ReadAllText(TestPaths.Compat("talos_order-config.yaml"));
        Assert.Contains("cache_dir: /var/cache/talos-sync\n", text);
        return dir.Write("config.yaml", text.Replace("cache_dir: /var/cache/talos-sync\n", $"cache_dir: {dir.Path}/cache\n" + extra));
    }

    [Fact]
    public async Task The_compat_files_dry_run_resolves_latest_against_the_factory()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();

        var result = await DryRunAsync(CompatConfig(dir), TestPaths.Compat("talos_order-orders.yaml"), fake, dir.Path);

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        var p = Assert.Single(Assert.Single(result.Plan.Orders).Positions);
        Assert.Null(p.Error);
        Assert.Equal("v1.11.5", p.Version);
        Assert.Equal("Factory", p.VersionSource);
        Assert.StartsWith(fake.BaseUrl + "/image/" + p.SchematicId + "/v1.11.5/nocloud-amd64-secureboot.raw.xz", p.Url);
        Assert.Contains("version: v1.11.5", Assert.Single(result.Manifests).Yaml);
        Assert.Equal(1, fake.Count("GET", "/versions"));
        Assert.Equal(0, fake.SchematicPosts); // a dry run computes schematic IDs locally
        Assert.Equal(new[] { "config.yaml" }, Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_compat_files_dry_run_resolves_latest_against_GitHub()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Releases = FakeImageFactory.ReleasesOf("v1.10.7", "v1.11.5", "v1.11.6", "v1.12.0-rc.1");
        using var dir = new TempDir();
        var config = CompatConfig(dir, $"  version_source: github\n  github_api_url: {fake.BaseUrl}\n");

        var result = await DryRunAsync(config, TestPaths.Compat("talos_order-orders.yaml"), fake, dir.Path);

        var p = result.Plan.Orders[0].Positions[0];
        Assert.Equal(("v1.11.6", "GitHub"), (p.Version, p.VersionSource));
        Assert.Equal(0, fake.Count("GET", "/versions"));
        // A dry run changes no file: the fetched list is not written to the version cache.
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "cache")), "a dry run created the cache folder");
    }

    [Fact]
    public async Task Latest_in_minor_and_exact_positions_resolve_or_fail_one_by_one()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var orders = dir.Write("orders.yaml", """
            - orderid: A
              positions:
                - {name: old, product: talos, customization: {}, version: {type: latest-in-minor, minor: v1.10}}
                - {name: next, product: talos, customization: {}, version: {type: latest-in-minor, minor: v1.12}}
                - {name: typo, product: talos, customization: {}, version: {type: exact, value: v1.11.9}}
                - {name: ok, product: talos, customization: {}, version: {type: exact, value: 1.11.4}}
            """);
        var events = new RecordingEvents();

        var result = await DryRunAsync(CompatConfig(dir), orders, fake, dir.Path, events: events);

        var p = result.Plan.Orders[0].Positions;
        Assert.Equal("v1.10.7", p[0].Version);
        Assert.Equal("v1.12.0-beta.10", p[1].Version);
        Assert.Contains(events.Warnings, w => w.Contains("v1.12 has no release yet"));
        Assert.Equal("UnknownVersion", p[2].ErrorId);
        Assert.Contains("nearest: v1.11.4, v1.11.5", p[2].Error);
        Assert.Equal("v1.11.4", p[3].Version);
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal(1, fake.Count("GET", "/versions"));
    }

    [Fact]
    public async Task Offline_dry_runs_use_the_version_cache_and_ask_nothing()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var config = CompatConfig(dir);
        var orders = TestPaths.Compat("talos_order-orders.yaml");

        var cold = await DryRunAsync(config, orders, fake, dir.Path, offline: true);
        Assert.Equal("VersionListUnavailable", cold.Plan.Orders[0].Positions[0].ErrorId);
        Assert.Empty(fake.Log);

        // Fill the cache as Resolve-TalosVersion or a real run would (a dry run writes nothing).
        await new TalosImage.Core.Versions.VersionResolver(new TalosImage.Core.Versions.VersionSourceOptions
        {
            FactoryUrl = fake.BaseUrl,
            CacheDir = Path.Combine(dir.Path, "cache"),
            Http = FastHttp.Options,
        }, NullEngineEvents.Instance).ListAsync(includePrerelease: false, CancellationToken.None);
        var requests = fake.Log.Count;
        var warm = await DryRunAsync(config, orders, fake, dir.Path, offline: true);
        Assert.Equal("v1.11.5", warm.Plan.Orders[0].Positions[0].Version);
        Assert.Equal(requests, fake.Log.Count);
    }
}
