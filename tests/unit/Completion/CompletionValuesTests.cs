using TalosImage.Core.Completion;
using TalosImage.Core.Versions;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Completion;

/// <summary>What tab completion offers, from the cache folder and the orders file; the factory only for an uncached extension list.</summary>
public class CompletionValuesTests
{
    [Fact]
    public void Platforms_formats_and_architectures_complete_from_the_catalog()
    {
        Assert.Equal(new[] { "nocloud" }, CompletionValues.Platforms("noc"));
        Assert.Contains("raw.zst", CompletionValues.Formats("raw"));
        Assert.DoesNotContain("iso", CompletionValues.Formats("raw"));
        Assert.Equal(new[] { "arm64" }, CompletionValues.Architectures("AR"));
    }

    [Fact]
    public async Task Versions_and_minors_come_from_the_cached_version_list_newest_release_first()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        Assert.Empty(CompletionValues.Versions(dir.Path, "")); // nothing cached yet
        await new VersionResolver(new VersionSourceOptions { FactoryUrl = fake.BaseUrl, CacheDir = dir.Path, Http = FastHttp.Options }, TalosImage.Core.NullEngineEvents.Instance)
            .ListAsync(includePrerelease: true, CancellationToken.None);

        var all = CompletionValues.Versions(dir.Path, "");
        Assert.Equal("v1.11.5", all[0]);
        Assert.Equal("v1.12.0-beta.10", all.First(v => v.Contains('-')));
        Assert.Equal(new[] { "v1.11.5", "v1.11.4" }, CompletionValues.Versions(dir.Path, "1.11"));
        Assert.Equal(new[] { "v1.12", "v1.11", "v1.10" }, CompletionValues.Minors(dir.Path, "v1.1"));
    }

    [Fact]
    public void Schematic_ids_are_the_cached_artifact_folders()
    {
        using var dir = new TempDir();
        var id = new string('a', 64);
        Directory.CreateDirectory(Path.Combine(dir.Path, "artifacts", id, "v1.11.5"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "artifacts", "not-a-schematic"));

        Assert.Equal(new[] { id }, CompletionValues.SchematicIds(dir.Path, "a"));
        Assert.Empty(CompletionValues.SchematicIds(dir.Path, "b"));
        Assert.Empty(CompletionValues.SchematicIds(Path.Combine(dir.Path, "missing"), ""));
    }

    [Fact]
    public void Order_ids_are_read_leniently_from_the_orders_file()
    {
        using var dir = new TempDir();
        Assert.Equal(new[] { "ORD-2025-0001" }, CompletionValues.OrderIds(TestPaths.Compat("talos_order-orders.yaml"), "ORD"));
        // A file with problems the loader would refuse still offers its ids.
        var list = dir.Write("orders.yaml", "- orderid: A-1\n  platfrom: typo\n- orderid: B-2\n- {customer: no id}\n");
        Assert.Equal(new[] { "A-1", "B-2" }, CompletionValues.OrderIds(list, ""));
        Assert.Empty(CompletionValues.OrderIds(dir.Write("broken.yaml", "- orderid: [\n"), ""));
        Assert.Empty(CompletionValues.OrderIds(Path.Combine(dir.Path, "missing.yaml"), ""));
    }

    [Fact]
    public async Task Extensions_are_fetched_once_then_completed_from_the_cache_without_the_factory()
    {
        using var dir = new TempDir();
        IReadOnlyList<string> first;
        await using (var fake = await FakeImageFactory.StartAsync())
        {
            first = await CompletionValues.ExtensionsAsync(dir.Path, fake.BaseUrl, "v1.11.5", "qemu", TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/extensions/official"));
        }
        Assert.Equal(new[] { "siderolabs/qemu-guest-agent" }, first);
        Assert.True(File.Exists(CompletionValues.ExtensionListPath(dir.Path, "v1.11.5")));

        // The factory is gone (a closed port): the cached list still completes, by full name or by the part after '/'.
        var again = await CompletionValues.ExtensionsAsync(dir.Path, "http://127.0.0.1:9", "v1.11.5", "siderolabs/qemu", TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(first, again);
        // An uncached version with no factory: nothing, quickly, and no exception.
        Assert.Empty(await CompletionValues.ExtensionsAsync(dir.Path, "http://127.0.0.1:9", "v1.10.6", "", TimeSpan.FromSeconds(1), CancellationToken.None));
    }
}
