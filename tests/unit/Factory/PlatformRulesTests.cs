using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Tests.Orders;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>Talos's platform table decides, offline, which images the factory builds (issue 17).</summary>
public class PlatformRulesTests
{
    [Fact]
    public void The_platform_list_is_the_table_in_its_old_order()
    {
        // Messages list the platforms in this order; the table took the list's place, not its order.
        Assert.Equal(new[]
        {
            "metal", "nocloud", "aws", "azure", "gcp", "digital-ocean", "hcloud", "openstack", "oracle", "exoscale",
            "opennebula", "scaleway", "upcloud", "vultr", "vmware", "akamai", "cloudstack", "equinixMetal",
        }, FactoryCatalog.Platforms);
        Assert.Equal(new[] { "metal", "nocloud", "azure", "cloudstack" }, FactoryCatalog.SecureBootPlatforms);
        Assert.Equal("raw.zst", FactoryCatalog.DefaultDiskFormat("metal"));
        Assert.Equal("raw.gz", FactoryCatalog.DefaultDiskFormat("akamai"));
        Assert.Equal("raw.xz", FactoryCatalog.DefaultDiskFormat("vultr")); // no disk image: the general default
    }

    [Theory]
    [InlineData("nocloud", "arm64", "iso", true, "v1.11.5")]
    [InlineData("metal", "amd64", "raw.zst", true, "v1.11.5")]
    [InlineData("openstack", "arm64", "raw.xz", false, null)]
    [InlineData("akamai", "amd64", "raw.gz", false, "v1.7.0")]
    [InlineData("cloudstack", "amd64", "raw.gz", true, "v1.8.0-alpha.2")]
    [InlineData("vultr", "amd64", "iso", false, "v1.11.5")]
    [InlineData("self-hosted-extra", "riscv64", "iso", true, "v1.0.0")]  // a platform the table does not know is not judged
    public void What_the_factory_builds_passes(string platform, string arch, string format, bool secureBoot, string? version) =>
        Assert.Null(PlatformRules.Check(platform, arch, format, secureBoot, version));

    [Theory]
    [InlineData("digital-ocean", "arm64", "raw.gz", false, null, "the factory builds digital-ocean images for amd64 only, not arm64")]
    [InlineData("hcloud", "arm64", "raw.xz", false, null, "for amd64 only, not arm64")]
    [InlineData("aws", "amd64", "iso", false, null, "aws has no ISO images (iso): it boots from disk images; its disk image is raw.xz")]
    [InlineData("equinixMetal", "amd64", "raw.xz", false, null, "equinixMetal has no disk images (raw.xz): it boots from PXE boot")]
    [InlineData("vultr", "amd64", "raw.xz", false, null, "vultr has no disk images (raw.xz): it boots from ISO images or PXE boot")]
    [InlineData("gcp", "amd64", "raw.tar.gz", true, null, "no SecureBoot images for gcp; SecureBoot is offered for metal, nocloud, azure, cloudstack")]
    [InlineData("akamai", "amd64", "raw.gz", false, "v1.6.4", "akamai images exist from Talos v1.7.0, not in v1.6.4")]
    [InlineData("cloudstack", "arm64", "raw.gz", false, "v1.8.0-alpha.1", "cloudstack images exist from Talos v1.8.0-alpha.2")]
    public void What_it_does_not_build_is_one_sentence(string platform, string arch, string format, bool secureBoot, string? version, string expected)
    {
        var refused = PlatformRules.Check(platform, arch, format, secureBoot, version);
        Assert.NotNull(refused);
        Assert.Contains(expected, refused);
    }

    [Fact]
    public void Save_refuses_an_image_the_table_rules_out_before_asking()
    {
        var request = new ArtifactRequest
        {
            SchematicId = new string('a', 64), Version = "v1.11.5", Platform = "digital-ocean", Architecture = "arm64", Format = "raw.gz",
            FactoryUrl = "http://127.0.0.1:9",
        };
        var e = Assert.Throws<TalosException>(() => request.Normalise());
        Assert.Equal("PlatformImageUnavailable", e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
        Assert.Equal("Digital Ocean: the factory builds digital-ocean images for amd64 only, not arm64; nothing is asked.", e.Message);
    }

    [Fact]
    public async Task A_position_the_table_rules_out_fails_at_planning_alone_and_offline()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n  factory_url: http://127.0.0.1:9\n");
        var o = dir.Write("o.yaml", """
            - orderid: A
              positions:
                - {product: talos, platform: digital-ocean, arch: arm64, image_format: raw, customization: {}}
                - {product: talos, platform: akamai, image_format: raw, customization: {}, version: {type: exact, value: v1.6.4}}
                - {product: talos, platform: nocloud, image_format: iso, customization: {}}
            """);
        var resolver = new ListResolver("v1.6.4", "v1.11.5");
        var plan = await Planner.PlanAsync(OrderLoader.Load(c, o, _ => null), new PlanOptions { Resolver = resolver, BaseDirectory = dir.Path }, NullEngineEvents.Instance, CancellationToken.None);

        var positions = plan.Orders[0].Positions;
        Assert.Equal("PlatformImageUnavailable", positions[0].ErrorId);
        Assert.Contains("for amd64 only, not arm64", positions[0].Error);
        Assert.Null(positions[0].Version); // refused before its version was asked for
        Assert.Equal("PlatformImageUnavailable", positions[1].ErrorId);
        Assert.Contains("akamai images exist from Talos v1.7.0, not in v1.6.4", positions[1].Error);
        Assert.Equal("v1.6.4", positions[1].Version);
        Assert.Null(positions[2].Error);
        Assert.Equal(2, resolver.Calls); // akamai's exact version and the latest one (nocloud's)
    }

    [Theory]
    [InlineData("v1.9.3", false, "[a=1]", true)]                       // before v1.10 without SecureBoot: lost at install
    [InlineData("v1.10.0", false, "[a=1]", false)]
    [InlineData("v1.9.3", true, "[a=1]", false)]                         // the UKI carries them
    [InlineData("v1.9.3", false, "[]", false)]
    public async Task Kernel_arguments_an_installer_drops_are_warned_about_at_planning(string version, bool secureBoot, string args, bool warned)
    {
        var p = await PlanOne($"{{product: talos, platform: nocloud, image_format: iso, secureboot: {secureBoot.ToString().ToLowerInvariant()}, customization: {{extraKernelArgs: {args}}}, version: {{type: exact, value: {version}}}}}", version);
        Assert.Null(p.Error);
        Assert.Equal(warned, p.Warnings.Any(w => w.Contains("not the installer image of " + version) && w.Contains("machine.install.extraKernelArgs")));
    }

    [Theory]
    [InlineData("talos.platform=metal", true)]
    [InlineData("talos.platform=nocloud", false)]
    [InlineData("console=ttyS0", false)]
    public async Task A_talos_platform_argument_that_names_another_platform_is_warned_about(string arg, bool warned)
    {
        var p = await PlanOne($"{{product: talos, platform: nocloud, image_format: iso, customization: {{extraKernelArgs: ['{arg}']}}}}", "v1.11.5");
        Assert.Equal(warned, p.Warnings.Any(w => w.Contains("extraKernelArgs has talos.platform=metal, but the position's platform is nocloud")));
    }

    private static async Task<PlannedPosition> PlanOne(string position, string version)
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n");
        var o = dir.Write("o.yaml", "- orderid: A\n  positions:\n    - " + position + "\n");
        var plan = await Planner.PlanAsync(OrderLoader.Load(c, o, _ => null), new PlanOptions { Resolver = new ListResolver(version), BaseDirectory = dir.Path }, NullEngineEvents.Instance, CancellationToken.None);
        return plan.Orders[0].Positions[0];
    }
}
