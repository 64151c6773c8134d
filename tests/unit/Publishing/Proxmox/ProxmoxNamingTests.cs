using TalosImage.Core;
using TalosImage.Core.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

public sealed class ProxmoxNamingTests
{
    private static TalosArtifact A(string asset, string format, string schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", string version = "v1.11.5") =>
        new() { Asset = asset, Format = format, SchematicId = schematic, Version = version, Path = "/cache/" + asset };

    [Theory]
    [InlineData("nocloud-amd64.iso", "iso", ProxmoxMethod.Upload, "store:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso")]
    [InlineData("nocloud-amd64.raw.xz", "raw", ProxmoxMethod.Upload, "store:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw")]
    [InlineData("metal-arm64-secureboot.raw.zst", "raw", ProxmoxMethod.Upload, "store:import/talos-376567988ad3-v1.11.5-metal-arm64-secureboot.raw")]
    [InlineData("nocloud-amd64.qcow2", "qcow2", ProxmoxMethod.DownloadUrl, "store:import/talos-376567988ad3-v1.11.5-nocloud-amd64.qcow2")]
    [InlineData("metal-amd64.iso.zst", "iso.zst", ProxmoxMethod.DownloadUrl, "store:iso/talos-376567988ad3-v1.11.5-metal-amd64.iso")]
    public void VolumeIds_FollowTheContentType(string asset, string format, ProxmoxMethod method, string expected)
    {
        Assert.Equal(expected, ProxmoxVolumePlan.For(A(asset, format), "store", method).VolumeId);
    }

    [Fact]
    public void Names_AreNormalisedLikeProxmox_AndCutTo255KeepingTheExtension()
    {
        var odd = ProxmoxVolumePlan.For(A("no cloud+amd64.iso", "iso", version: "v1.12.0-beta.1+dirty"), "local", ProxmoxMethod.Upload);
        Assert.Equal("talos-376567988ad3-v1.12.0-beta.1_dirty-no_cloud_amd64.iso", odd.FileName);
        Assert.Equal(odd.FileName, FakeProxmox.Normalise(odd.FileName));

        var longName = ProxmoxVolumePlan.For(A(new string('x', 400) + ".raw", "raw"), "local", ProxmoxMethod.Upload);
        Assert.Equal(255, longName.FileName.Length);
        Assert.EndsWith(".raw", longName.FileName);
    }

    [Fact]
    public void SchematicsAndVersions_NeverShareAName()
    {
        var a = ProxmoxVolumePlan.For(A("nocloud-amd64.iso", "iso"), "local", ProxmoxMethod.Upload).FileName;
        var b = ProxmoxVolumePlan.For(A("nocloud-amd64.iso", "iso", schematic: "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515"), "local", ProxmoxMethod.Upload).FileName;
        var c = ProxmoxVolumePlan.For(A("nocloud-amd64.iso", "iso", version: "v1.11.6"), "local", ProxmoxMethod.Upload).FileName;
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
    }

    [Theory]
    [InlineData("iso.gz", ProxmoxMethod.Upload)]
    [InlineData("raw.tar.gz", ProxmoxMethod.Upload)]
    [InlineData("raw.zst", ProxmoxMethod.DownloadUrl)]
    [InlineData("vmdk", ProxmoxMethod.Upload)]
    public void UnstorableFormats_FailClearly(string format, ProxmoxMethod method)
    {
        var e = Assert.Throws<TalosException>(() => ProxmoxVolumePlan.For(A("x." + format, format), "local", method));
        Assert.Equal("ProxmoxFormatUnsupported", e.ErrorId);
        Assert.Contains(format, e.Message);
    }
}
