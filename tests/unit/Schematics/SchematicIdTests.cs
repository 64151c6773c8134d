using TalosImage.Core.Schematics;
using Xunit;

namespace TalosImage.Tests.Schematics;

public class SchematicIdTests
{
    private static Schematic Extensions(params string[] names) =>
        new() { Customization = new SchematicCustomization { OfficialExtensions = names } };

    public static TheoryData<string, Schematic, string> Vectors => new()
    {
        { "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", new Schematic(), "customization: {}\n" },
        {
            "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
            new Schematic { Customization = new SchematicCustomization { ExtraKernelArgs = Array.Empty<string>() } },
            "customization: {}\n"
        },
        {
            "9cba8e32753f91a16c1837ab8abf356af021706ef284aef07380780177d9a06c",
            new Schematic { Customization = new SchematicCustomization { ExtraKernelArgs = new[] { "noapic", "nolapic" } } },
            "customization:\n    extraKernelArgs:\n        - noapic\n        - nolapic\n"
        },
        {
            "d308a2a5ee2277bed5fbaa104fcbc8d59122abfa737df987a95b4ca763459a7f",
            new Schematic { Customization = new SchematicCustomization { Meta = new[] { new SchematicMeta(0xa, "foo") } } },
            "customization:\n    meta:\n        - key: 10\n          value: foo\n"
        },
        {
            "fa8e05f142a851d3ee568eb0a8e5841eaf6b0ebc8df9a63df16ac5ed2c04f3e6",
            new Schematic { Customization = new SchematicCustomization { SecureBootIncludeWellKnownCertificates = true } },
            "customization:\n    secureboot:\n        includeWellKnownCertificates: true\n"
        },
        {
            "92833e9ddd9bb9e11b2464fa5525429f01866306d52ebd882ee08d7918f6d1ea",
            new Schematic { Customization = new SchematicCustomization { DiskImageSectorSize = 4096 } },
            "customization:\n    diskImage:\n        sectorSize: 4096\n"
        },
        {
            "ee21ef4a5ef808a9b7484cc0dda0f25075021691c8c09a276591eedb638ea1f9",
            new Schematic { Overlay = new SchematicOverlay { Image = "siderolabs/sbc-raspberrypi", Name = "rpi_generic" } },
            "overlay:\n    image: siderolabs/sbc-raspberrypi\n    name: rpi_generic\ncustomization: {}\n"
        },
        {
            "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515",
            Extensions("siderolabs/qemu-guest-agent"),
            "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/qemu-guest-agent\n"
        },
        {
            "dc7b152cb3ea99b821fcb7340ce7168313ce393d663740b791c36f6e95fc8586",
            Extensions("siderolabs/iscsi-tools", "siderolabs/qemu-guest-agent"),
            "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/qemu-guest-agent\n"
        },
        {
            "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245",
            Extensions("siderolabs/iscsi-tools", "siderolabs/util-linux-tools"),
            "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Reference_vectors_give_the_canonical_yaml_and_id(string expectedId, Schematic schematic, string expectedYaml)
    {
        Assert.Equal(expectedYaml, schematic.ToCanonicalYaml());
        Assert.Equal(expectedId, schematic.ComputeId());
    }

    [Fact]
    public void Extension_order_changes_the_id()
    {
        var ab = Extensions("siderolabs/iscsi-tools", "siderolabs/qemu-guest-agent").ComputeId();
        var ba = Extensions("siderolabs/qemu-guest-agent", "siderolabs/iscsi-tools").ComputeId();
        Assert.NotEqual(ab, ba);
    }

    [Theory]
    [InlineData("console=ttyS0,115200", "console=ttyS0,115200")]
    [InlineData("true", "\"true\"")]
    [InlineData("yes", "\"yes\"")]
    [InlineData("off", "\"off\"")]
    [InlineData("123", "\"123\"")]
    [InlineData("0x1f", "\"0x1f\"")]
    [InlineData("1.5", "\"1.5\"")]
    [InlineData("null", "\"null\"")]
    [InlineData("~", "\"~\"")]
    [InlineData("", "\"\"")]
    [InlineData("2024-01-02", "\"2024-01-02\"")]
    [InlineData("{x}", "'{x}'")]
    [InlineData("a: b", "'a: b'")]
    [InlineData("- x", "'- x'")]
    [InlineData("it's", "it's")]
    [InlineData("#x", "'#x'")]
    [InlineData("a #b", "'a #b'")]
    [InlineData(" lead", "' lead'")]
    [InlineData("tab\there", "tab\there")]
    [InlineData("bell\u0007", "\"bell\\a\"")]
    [InlineData("talos.dashboard.disabled=1", "talos.dashboard.disabled=1")]
    public void Strings_are_quoted_only_when_plain_would_read_back_otherwise(string value, string expected)
    {
        Assert.Equal(expected, SchematicYaml.Scalar(value, 8));
    }

    [Fact]
    public void Multi_line_strings_are_literal_blocks()
    {
        var schematic = new Schematic
        {
            Customization = new SchematicCustomization { EmbeddedMachineConfiguration = "machine:\n  type: worker\n" },
        };
        Assert.Equal("customization:\n    embeddedMachineConfiguration: |\n        machine:\n          type: worker\n", schematic.ToCanonicalYaml());
    }

    [Fact]
    public void Overlay_options_are_written_with_sorted_keys()
    {
        var schematic = new Schematic
        {
            Overlay = new SchematicOverlay
            {
                Image = "siderolabs/sbc-rockchip",
                Name = "turingrk1",
                Options = new Dictionary<string, object?> { ["zeta"] = true, ["alpha"] = 3, ["list"] = new List<object?> { "a", "yes" } },
            },
        };
        Assert.Equal(
            "overlay:\n    image: siderolabs/sbc-rockchip\n    name: turingrk1\n    options:\n        alpha: 3\n        list:\n            - a\n            - \"yes\"\n        zeta: true\ncustomization: {}\n",
            schematic.ToCanonicalYaml());
    }
}
