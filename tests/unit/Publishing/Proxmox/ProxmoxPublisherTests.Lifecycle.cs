using System.Security.Cryptography;
using TalosImage.Core.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>Issue 19 on the API route: free space before sending, and replacing a changed volume.</summary>
public sealed partial class ProxmoxPublisherTests
{
    [Fact]
    public async Task Upload_NotEnoughSpaceOnTheStorage_FailsWithBothFigures_BeforeAnyByteMoves()
    {
        _pve.AvailOverride["local"] = 1000;
        var artifact = Artifact("nocloud-amd64.iso", "iso", 50_000);

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Failed", r.Status);
        Assert.Equal("PublishSpaceInsufficient", r.ErrorId);
        Assert.Contains("(50000 bytes) needed", r.Error);
        Assert.Contains("(1000 bytes) available", r.Error);
        Assert.Contains("storage local", r.Error);
        Assert.Equal(0, _pve.Uploads);
        Assert.Empty(_pve.UploadShapes);
        Assert.Equal(0, r.BytesSent);
    }

    [Fact]
    public async Task Upload_NotEnoughSpaceInVarTmp_WhereProxmoxStagesUploads_Fails()
    {
        _pve.RootFs = (32L << 30, 20_000);
        var artifact = Artifact("nocloud-amd64.iso", "iso", 50_000);

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal(("Failed", "PublishSpaceInsufficient"), (r.Status, r.ErrorId));
        Assert.Contains("/var/tmp", r.Error);
        Assert.Contains("(20000 bytes) available", r.Error);
        Assert.Equal(0, _pve.Uploads);
    }

    [Fact]
    public async Task Upload_ToAStorageOnTheRootFilesystem_NeedsTwiceTheImage()
    {
        _pve.RootFs = (_pve.StorageTotal, 10L << 30);
        _pve.AvailOverride["local"] = 75_000;
        var artifact = Artifact("nocloud-amd64.iso", "iso", 50_000);

        var refused = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));
        Assert.Equal("PublishSpaceInsufficient", refused.ErrorId);
        Assert.Contains("(100000 bytes) needed", refused.Error);
        Assert.Contains("twice", refused.Error);

        _pve.AvailOverride["local"] = 100_000;
        var published = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));
        Assert.True(published.Status == "Published", published.Error);
    }

    [Fact]
    public async Task DownloadUrl_NotEnoughSpace_FailsBeforeTheNodeFetchesAnything()
    {
        await using var factory = await FakeFactory.StartAsync();
        var artifact = With(Artifact("metal-amd64.iso", "iso", 4096), new Uri(factory.BaseUri, "/x.iso").ToString());
        _pve.AvailOverride["local"] = 4095;

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Method = ProxmoxMethod.DownloadUrl }, CancellationToken.None));

        Assert.Equal("PublishSpaceInsufficient", r.ErrorId);
        Assert.Equal(0, _pve.DownloadUrls);
        Assert.Equal(0, factory.Requests);
    }

    [Fact]
    public async Task AnIdenticalVolume_IsReused_WithoutASpaceCheck()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 10_000);
        await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None);
        _pve.AvailOverride["local"] = 0;
        var before = _pve.Log.Count(l => l.EndsWith("/storage/local/status", StringComparison.Ordinal));
        Assert.Equal(1, before);

        var again = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));

        Assert.Equal("Skipped", again.Status);
        Assert.Equal(before, _pve.Log.Count(l => l.EndsWith("/storage/local/status", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AChangedVolume_IsRefused_ThenWithForce_NotReplacedWhileAVmUsesIt_ThenReplacedWhenFree()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 20_000);
        var volid = Publisher().VolumeIdFor(artifact, Target("pve1"));
        var old = RandomNumberGenerator.GetBytes(12_345);
        _pve.Storage("pve1", "local")[volid] = old;
        _pve.AddVm(100, "pve2", "talos-cp-1", false, new Dictionary<string, string> { ["ide2"] = volid + ",media=cdrom", ["memory"] = "2048" });
        _pve.AddVm(9000, "pve1", "talos-template", true, new Dictionary<string, string> { ["scsi0"] = "local-lvm:base-9000-disk-0,size=8G", ["description"] = "from " + volid });

        var refused = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1"), CancellationToken.None));
        Assert.Equal(("Failed", "ProxmoxVolumeConflict"), (refused.Status, refused.ErrorId));
        Assert.Contains("refusing to overwrite", refused.Error);
        Assert.Contains(artifact.Sha256, refused.Error);
        Assert.Contains("-Force", refused.Error);

        var inUse = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Replace = true }, CancellationToken.None));
        Assert.Equal(("Failed", "ProxmoxVolumeInUse"), (inUse.Status, inUse.ErrorId));
        Assert.Contains("pve2/100", inUse.Error);
        Assert.DoesNotContain("9000", inUse.Error); // its description names the volume; descriptions do not count
        Assert.Empty(_pve.Deleted);
        Assert.Equal(old, _pve.Storage("pve1", "local")[volid]);
        Assert.Equal(0, _pve.Uploads);

        _pve.Vms.TryRemove(100, out _);
        var replaced = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Replace = true }, CancellationToken.None));
        Assert.True(replaced.Status == "Published", replaced.Error);
        Assert.Equal(new[] { volid }, _pve.Deleted.ToArray());
        Assert.Equal(File.ReadAllBytes(artifact.Path), _pve.Storage("pve1", "local")[volid]);
    }

    [Fact]
    public async Task AChangedVolume_InUse_IsReplacedWithReplaceInUse()
    {
        var artifact = Artifact("nocloud-amd64.iso", "iso", 20_000);
        var volid = Publisher().VolumeIdFor(artifact, Target("pve1"));
        _pve.Storage("pve1", "local")[volid] = new byte[10];
        _pve.AddVm(100, "pve1", "talos-cp-1", false, new Dictionary<string, string> { ["ide2"] = volid + ",media=cdrom" });

        var r = Assert.Single(await Publisher().PublishAsync(artifact, Target("pve1") with { Replace = true, ReplaceInUse = true }, CancellationToken.None));

        Assert.True(r.Status == "Published", r.Error);
        Assert.Contains(_events.Warnings, w => w.Contains("pve1/100", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DownloadUrl_AVolumeWithAnotherSha256_IsReplacedWithForce()
    {
        await using var factory = await FakeFactory.StartAsync();
        var bytes = RandomNumberGenerator.GetBytes(4096);
        factory.Files["/x.iso"] = bytes;
        var artifact = With(Artifact("metal-amd64.iso", "iso", 4096), new Uri(factory.BaseUri, "/x.iso").ToString());
        artifact = new TalosArtifact
        {
            Path = artifact.Path, Url = artifact.Url, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)), Size = 4096, SchematicId = artifact.SchematicId,
            Version = artifact.Version, Platform = artifact.Platform, Architecture = artifact.Architecture, Format = artifact.Format, Asset = artifact.Asset, Kind = artifact.Kind,
        };
        var target = Target("pve1") with { Method = ProxmoxMethod.DownloadUrl, Replace = true };
        var volid = Publisher().VolumeIdFor(artifact, target);
        _pve.Storage("pve1", "local")[volid] = new byte[4096];

        var r = Assert.Single(await Publisher().PublishAsync(artifact, target, CancellationToken.None));

        Assert.True(r.Status == "Published", r.Error);
        Assert.Equal(new[] { volid }, _pve.Deleted.ToArray());
        Assert.Equal(bytes, _pve.Storage("pve1", "local")[volid]);
    }

    [Fact]
    public void VolumeUsage_MatchesWholeItemsOnly()
    {
        Assert.True(VolumeUsage.References("local:iso/a.iso,media=cdrom", "local:iso/a.iso"));
        Assert.True(VolumeUsage.References("local-lvm:0,import-from=local:import/a.raw", "local:import/a.raw"));
        Assert.False(VolumeUsage.References("local:iso/a.iso.bak,media=cdrom", "local:iso/a.iso"));
        Assert.False(VolumeUsage.References("other:iso/a.iso", "local:iso/a.iso"));
    }
}
