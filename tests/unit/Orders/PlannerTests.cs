using TalosImage.Core;
using TalosImage.Core.Manifests;
using TalosImage.Core.Orders;
using TalosImage.Core.Versions;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Tests.Orders;

/// <summary>A resolver over a fixed list, for planning tests: latest = newest GA, latest-in-minor = newest GA of the minor.</summary>
internal sealed class ListResolver : IVersionResolver
{
    private readonly TalosSemVersion[] _versions;
    public int Calls;

    public ListResolver(params string[] versions) => _versions = versions.Select(TalosSemVersion.Parse).ToArray();

    public Task<TalosVersion> ResolveAsync(VersionRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        var candidates = request.Kind switch
        {
            VersionKind.Exact => _versions.Where(v => v.ToString() == request.Value),
            VersionKind.LatestInMinor => _versions.Where(v => v.MinorTag == request.Value && !v.IsPrerelease),
            _ => _versions.Where(v => !v.IsPrerelease),
        };
        var best = candidates.OrderByDescending(v => v).FirstOrDefault()
            ?? throw new TalosException(TalosErrors.UnknownVersion, $"no version for {request}");
        return Task.FromResult(new TalosVersion { Version = best.ToString(), Source = "Test", Request = request.ToString(), Minor = best.MinorTag });
    }
}

public class PlannerTests
{
    private static async Task<Plan> PlanAsync(OrderInput input, IVersionResolver resolver, string baseDir, params string[] orderIds) =>
        await Planner.PlanAsync(input, new PlanOptions { Resolver = resolver, BaseDirectory = baseDir, OrderIds = orderIds }, NullEngineEvents.Instance, CancellationToken.None);

    [Fact]
    public async Task The_compat_files_plan_with_latest_resolved()
    {
        var input = OrderLoader.Load(TestPaths.Compat("talos_order-config.yaml"), TestPaths.Compat("talos_order-orders.yaml"), _ => null);
        using var dir = new TempDir();
        var plan = await PlanAsync(input, new ListResolver("v1.10.7", "v1.11.5", "v1.12.0-beta.1"), dir.Path);

        var order = Assert.Single(plan.Orders);
        Assert.Equal("/var/cache/talos-sync/manifests/manifest-ORD-2025-0001.yaml", order.ManifestPath);
        var p = Assert.Single(order.Positions);
        Assert.Null(p.Error);
        Assert.Equal("v1.11.5", p.Version);
        Assert.Equal("nocloud-amd64-secureboot.raw.xz", p.Asset);
        var expectedId = input.Orders[0].Positions[0].Schematic!.ComputeId();
        Assert.Equal(expectedId, p.SchematicId);
        Assert.Equal($"https://factory.talos.dev/image/{expectedId}/v1.11.5/nocloud-amd64-secureboot.raw.xz", p.Url);
        Assert.Equal($"factory.talos.dev/nocloud-installer-secureboot/{expectedId}:v1.11.5", p.InstallerImage);
        Assert.Equal($"/var/cache/talos-sync/artifacts/{expectedId}/v1.11.5/nocloud-amd64-secureboot.raw.xz", p.CachePath);
        Assert.Equal($"/var/cache/talos-sync/artifacts/{expectedId}/v1.11.5/nocloud-amd64-secureboot.raw", p.ExpandedPath);
        Assert.True(p.PushExpanded);
        // Disk images go to the import folder: Proxmox does not list .raw files in template/iso.
        Assert.Equal(new[] { "pve-01.example.lan:/var/lib/vz/import", "pve-02.example.lan:/var/lib/vz/import" }, p.Targets.Select(t => t.ToString()));
    }

    [Fact]
    public async Task Installer_image_uses_the_legacy_form_below_Talos_1_10_and_the_factory_host()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", "defaults:\n  factory_url: http://127.0.0.1:8080\n");
        var o = dir.Write("o.yaml", "- orderid: A\n  positions:\n    - {product: talos, platform: metal, customization: {}, version: {type: exact, value: v1.9.3}}\n");
        var plan = await PlanAsync(OrderLoader.Load(c, o, _ => null), new ListResolver("v1.9.3"), dir.Path);
        var p = plan.Orders[0].Positions[0];
        Assert.Equal("127.0.0.1:8080/installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:v1.9.3", p.InstallerImage);
        Assert.StartsWith("http://127.0.0.1:8080/image/", p.Url);
    }

    [Fact]
    public async Task Two_customizations_of_one_version_never_share_a_cache_file()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n");
        var o = dir.Write("o.yaml", """
            - orderid: A
              positions:
                - {product: talos, image_format: iso, customization: {extraKernelArgs: [a]}}
                - {product: talos, image_format: iso, customization: {extraKernelArgs: [b]}}
            """);
        var plan = await PlanAsync(OrderLoader.Load(c, o, _ => null), new ListResolver("v1.11.5"), dir.Path);
        var paths = plan.Orders[0].Positions.Select(p => p.CachePath).ToList();
        Assert.NotEqual(paths[0], paths[1]);
    }

    [Fact]
    public async Task A_version_that_cannot_be_resolved_fails_that_position_only_and_requests_are_resolved_once()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", "");
        var o = dir.Write("o.yaml", """
            - orderid: A
              positions:
                - {product: talos, customization: {}, version: {type: latest-in-minor, minor: v1.3}}
                - {product: talos, customization: {}}
                - {product: talos, customization: {}}
            """);
        var resolver = new ListResolver("v1.11.5");
        var plan = await PlanAsync(OrderLoader.Load(c, o, _ => null), resolver, dir.Path);
        var positions = plan.Orders[0].Positions;
        Assert.Equal("UnknownVersion", positions[0].ErrorId);
        Assert.Null(positions[1].Error);
        Assert.Equal("v1.11.5", positions[2].Version);
        Assert.Equal(2, resolver.Calls);
    }

    [Fact]
    public async Task Manifests_inside_the_artifact_tree_are_refused()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\nmanifest:\n  dir: {dir.Path}/cache/artifacts/m\n");
        var o = dir.Write("o.yaml", "- orderid: A\n");
        var e = await Assert.ThrowsAsync<TalosValidationException>(() => PlanAsync(OrderLoader.Load(c, o, _ => null), new ListResolver("v1.11.5"), dir.Path));
        Assert.Contains("inside the artifact tree", e.Message);
    }

    [Fact]
    public async Task An_unknown_order_id_is_a_usage_error_with_a_hint()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", "");
        var o = dir.Write("o.yaml", "- orderid: ORD-1\n- orderid: ORD-2\n");
        var e = await Assert.ThrowsAsync<TalosException>(() => PlanAsync(OrderLoader.Load(c, o, _ => null), new ListResolver(), dir.Path, "ORD-3"));
        Assert.Equal("UnknownOrderId", e.ErrorId);
        Assert.Equal(ExitCodes.BadInput, ExitCodes.For(e));
        var only = await PlanAsync(OrderLoader.Load(c, o, _ => null), new ListResolver(), dir.Path, "ord-2");
        Assert.Equal("ORD-2", Assert.Single(only.Orders).Order.OrderId);
    }

    [Theory]
    [InlineData("path_template: /m/x-{orderid}.yml", "/m/x-A.yml")]
    [InlineData("dir: /m", "/m/manifest-A.yaml")]
    [InlineData("path: /m/manifest.yaml", "/m/manifest-A.yaml")]
    [InlineData("path: /m/out-{orderid}.json", "/m/out-A.json")]
    [InlineData("path: /m/manifest", "/m/manifest-A")]
    [InlineData("{dir: /d, path_template: \"/t/{orderid}.yaml\"}", "/t/A.yaml")]
    [InlineData("{dir: /d, path: /p/m.yaml}", "/d/manifest-A.yaml")]
    public void Manifest_paths_follow_talos_order_py_precedence(string manifestYaml, string expected)
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", manifestYaml.StartsWith("{") ? "manifest: " + manifestYaml + "\n" : "manifest:\n  " + manifestYaml + "\n");
        var config = OrderLoader.LoadConfig(c, _ => null);
        Assert.Equal(expected, ManifestPaths.For(config.Manifest, "A"));
    }

    [Fact]
    public void Default_manifest_path_is_in_the_current_folder()
    {
        Assert.Equal(Path.Combine("/base", "manifest-A.yaml"), ManifestPaths.For(new ManifestSettings(), "A", "/base"));
    }

    [Fact]
    public async Task A_dry_run_manifest_reads_back_with_the_same_values_and_types()
    {
        var input = OrderLoader.Load(TestPaths.Compat("talos_order-config.yaml"), TestPaths.Compat("talos_order-orders.yaml"), _ => null);
        using var dir = new TempDir();
        var plan = await PlanAsync(input, new ListResolver("v1.11.5"), dir.Path);
        var entries = plan.Orders[0].Positions.Select(p => ManifestBuilder.Planned(p, plan.Config, DateTimeOffset.UnixEpoch)).ToList();
        var yaml = ManifestWriter.ToYaml(ManifestBuilder.ForOrder(plan, plan.Orders[0], entries, "Planned", true, 1.5, DateTimeOffset.UnixEpoch));

        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        Assert.Equal("1970-01-01T00:00:00Z", root["generated_at"].ToString());
        Assert.Equal("ORD-2025-0001", ((YamlMappingNode)root["order"])["orderid"].ToString());
        var entry = (YamlMappingNode)((YamlSequenceNode)root["entries"])[0];
        foreach (var key in new[] { "name", "product", "platform", "arch", "version", "version_source", "secureboot", "image_format", "schematic_id", "url", "cache_dir", "download", "decompressed", "pushed", "features", "timestamp_utc", "status", "installer_image", "asset" })
        {
            Assert.True(entry.Children.ContainsKey(key), "manifest entry lacks " + key);
        }
        Assert.Equal(plan.Orders[0].Positions[0].Url, entry["url"].ToString());
        Assert.Equal("true", entry["secureboot"].ToString());
        Assert.Equal(YamlDotNet.Core.ScalarStyle.Plain, ScalarStyleOf(entry["secureboot"]));
        Assert.Equal(3, ((YamlSequenceNode)((YamlMappingNode)entry["features"])["officialExtensions"]).Children.Count);
    }

    private static YamlDotNet.Core.ScalarStyle ScalarStyleOf(YamlNode node) => ((YamlScalarNode)node).Style;
}
