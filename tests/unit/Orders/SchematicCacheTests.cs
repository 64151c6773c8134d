using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Artifacts;
using TalosImage.Tests.Servers;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Tests.Orders;

/// <summary>
/// A position whose download is already in the cache under its locally computed schematic ID does not POST the
/// schematic again (a warm re-run asks the factory nothing); every position that needs the factory still does.
/// </summary>
public sealed class SchematicCacheTests
{
    private const string Orders = """
        - orderid: warm
          positions:
            - {name: iso, product: talos, version: v1.11.5, image_format: iso, customization: {extraKernelArgs: [a=1]}}
            - {name: disk, product: talos, version: v1.11.5, image_format: raw.xz, customization: {extraKernelArgs: [b=2]}}
            - {name: pxe, product: talos, platform: metal, version: v1.11.5, image_format: pxe, customization: {extraKernelArgs: [c=3]}}
        """;

    private static RunOptions Options(TempDir dir, string factoryUrl, bool verify = false) => new()
    {
        ConfigPath = dir.Write("config.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n  factory_url: {factoryUrl}\nmanifest:\n  dir: {dir.Path}/manifests\n"),
        OrdersPath = dir.Write("orders.yaml", Orders),
        Verify = verify,
        BaseDirectory = dir.Path,
        Http = FastHttp.Options,
        Environment = _ => null,
    };

    private static async Task<(RunResult Result, RecordingEvents Events)> RunAsync(TempDir dir, FakeImageFactory fake, bool verify = false)
    {
        var iso = new byte[64 * 1024];
        var disk = new byte[48 * 1024];
        new Random(11).NextBytes(iso);
        new Random(12).NextBytes(disk);
        fake.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? iso : asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? disk : null;
        var events = new RecordingEvents();
        var result = await new OrderRunner(Options(dir, fake.BaseUrl, verify), events).RunAsync(CancellationToken.None);
        Assert.True(result.ExitCode == ExitCodes.Success, string.Join("; ", result.Failures.Select(f => f.Position + ": " + f.Message)));
        return (result, events);
    }

    /// <summary>Each manifest entry's name with its schematic_id and schematic_source, as the run wrote them.</summary>
    private static Dictionary<string, (string SchematicId, string SchematicSource)> Positions(RunResult result)
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Assert.Single(result.Orders).ManifestPath)));
        var entries = (YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["entries"];
        return entries.Cast<YamlMappingNode>().ToDictionary(
            e => e["name"].ToString(), e => (e["schematic_id"].ToString(), e["schematic_source"].ToString()));
    }

    [Fact]
    public async Task A_warm_rerun_posts_only_the_schematic_of_the_position_that_is_not_downloaded()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();

        var (cold, _) = await RunAsync(dir, fake);
        Assert.Equal(3, fake.SchematicPosts);
        var coldIds = Positions(cold).ToDictionary(p => p.Key, p => p.Value.SchematicId);
        Assert.All(Positions(cold).Values, p => Assert.Equal("factory", p.SchematicSource));

        var (warm, events) = await RunAsync(dir, fake);

        // The iso and the disk image are in the cache under their IDs; the pxe position only records a URL, which
        // the factory must know, so its schematic is created as before.
        Assert.Equal(4, fake.SchematicPosts);
        var positions = Positions(warm);
        Assert.Equal(("cache", "cache", "factory"), (positions["iso"].SchematicSource, positions["disk"].SchematicSource, positions["pxe"].SchematicSource));
        Assert.Equal(coldIds, positions.ToDictionary(p => p.Key, p => p.Value.SchematicId));
        Assert.Contains(events.Verbose, m => m.Contains($"schematic {coldIds["iso"]}: computed here; the cache holds v1.11.5 iso from {fake.BaseUrl} under it, so the factory is not asked.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Verify_and_a_missing_download_post_the_schematic_again()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var (cold, _) = await RunAsync(dir, fake);
        Assert.Equal(3, fake.SchematicPosts);

        // --verify re-hashes and may download again: every schematic is created first.
        await RunAsync(dir, fake, verify: true);
        Assert.Equal(6, fake.SchematicPosts);

        // The disk image gone from the cache: only its schematic is created again, and it is downloaded again.
        var disk = Positions(cold)["disk"];
        var path = Path.Combine(dir.Path, "cache", "artifacts", disk.SchematicId, "v1.11.5", "nocloud-amd64.raw.xz");
        Assert.True(File.Exists(path), path);
        File.Delete(path);
        var downloads = fake.Count("GET", $"/image/{disk.SchematicId}/v1.11.5/nocloud-amd64.raw.xz");

        var (again, _) = await RunAsync(dir, fake);

        Assert.Equal(8, fake.SchematicPosts); // the disk image's and the pxe position's
        Assert.Equal(("cache", "factory"), (Positions(again)["iso"].SchematicSource, Positions(again)["disk"].SchematicSource));
        Assert.Equal(downloads + 1, fake.Count("GET", $"/image/{disk.SchematicId}/v1.11.5/nocloud-amd64.raw.xz"));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task A_cached_download_from_another_factory_does_not_spare_the_post()
    {
        await using var first = await FakeImageFactory.StartAsync();
        await using var second = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        await RunAsync(dir, first);

        var (result, _) = await RunAsync(dir, second);

        Assert.Equal(3, second.SchematicPosts);
        Assert.All(Positions(result).Values, p => Assert.Equal("factory", p.SchematicSource));
    }
}
