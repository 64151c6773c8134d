using TalosImage.Core;
using TalosImage.Core.Http;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Retention;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>Get-TalosPublished / Clear-TalosPublished / push.retention on the API route, against the fake Proxmox.</summary>
public sealed class ProxmoxInventoryTests : IAsyncLifetime
{
    private const string S12 = "376567988ad3";

    private static readonly ProxmoxOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(10),
        TaskTimeout = TimeSpan.FromSeconds(20),
        Http = HttpOptions.Default with { MaxAttempts = 1, HeadersTimeout = TimeSpan.FromSeconds(20), ReadTimeout = TimeSpan.FromSeconds(20), ConnectTimeout = TimeSpan.FromSeconds(5) },
    };

    private FakeProxmox _pve = null!;

    public async Task InitializeAsync() => _pve = await FakeProxmox.StartAsync(f => f.Storages["nfs"] = (true, "iso,import"));

    public async Task DisposeAsync() => await _pve.DisposeAsync();

    private ProxmoxInventory Inventory() => new(ProxmoxApiToken.Parse(FakeProxmox.Token), NullEngineEvents.Instance, Fast);

    private ProxmoxTarget Target(string storage, params string[] nodes) => new() { Endpoint = _pve.Endpoint, Nodes = nodes, Storage = storage, FingerprintSha256 = _pve.Fingerprint };

    private static string Iso(string version, string stem = "nocloud-amd64") => $"talos-{S12}-{version}-{stem}.iso";

    [Fact]
    public async Task Retention_KeepsTheNewest_KeepsAnInUseIso_AndNeverTouchesForeignFiles()
    {
        var files = _pve.Storage("pve1", "local");
        foreach (var v in new[] { "v1.10.7", "v1.11.3", "v1.11.4", "v1.11.5" })
        {
            files["local:iso/" + Iso(v)] = new byte[100];
        }
        files["local:iso/" + Iso("v1.10.7", "metal-amd64-secureboot")] = new byte[10];
        files["local:import/" + $"talos-{S12}-v1.10.7-nocloud-amd64.raw"] = new byte[10];
        // Foreign: not TalosImage's naming, a near miss, and an ISO-named file in import.
        files["local:iso/debian-12.iso"] = new byte[1];
        files["local:iso/talos-custom-v1.9.0-nocloud-amd64.iso"] = new byte[1];
        files["local:iso/" + Iso("v1.9.0").Replace("nocloud-amd64", "nocloud-amd64-old", StringComparison.Ordinal)] = new byte[1];
        _pve.AddVm(100, "pve1", "talos-cp-1", false, new Dictionary<string, string> { ["ide2"] = "local:iso/" + Iso("v1.11.3") + ",media=cdrom" });

        var listed = await Inventory().ListAsync(Target("local", "pve1"), 1, CancellationToken.None);

        string StateOf(string name) => Assert.Single(listed, i => i.Name == name).State;
        Assert.Equal("Published", StateOf(Iso("v1.11.5")));
        Assert.Equal("WouldRemove", StateOf(Iso("v1.11.4")));
        Assert.Equal("InUse", StateOf(Iso("v1.11.3")));
        Assert.Equal("WouldRemove", StateOf(Iso("v1.10.7")));
        Assert.Equal("Published", StateOf(Iso("v1.10.7", "metal-amd64-secureboot"))); // its own family, the newest there
        Assert.Equal("Published", StateOf($"talos-{S12}-v1.10.7-nocloud-amd64.raw")); // raw is another family than iso
        Assert.DoesNotContain(listed, i => i.Name.Contains("debian", StringComparison.Ordinal) || i.Name.Contains("custom", StringComparison.Ordinal) || i.Name.Contains("-old", StringComparison.Ordinal));
        var inUse = Assert.Single(listed, i => i.Name == Iso("v1.11.3"));
        Assert.Equal(new[] { "pve1/100 (VM talos-cp-1, ide2)" }, inUse.UsedBy);
        Assert.Equal($"{S12}/nocloud-amd64.iso", inUse.Family);
        Assert.Empty(_pve.Deleted); // listing removes nothing

        var removed = await Inventory().RemoveAsync(Target("local", "pve1"), listed.Where(i => i.State == "WouldRemove"), CancellationToken.None);

        Assert.Equal(new[] { "local:iso/" + Iso("v1.11.4"), "local:iso/" + Iso("v1.10.7") }.Order(), _pve.Deleted.Order());
        Assert.All(removed, r => Assert.Equal("Removed", r.State));
        Assert.True(files.ContainsKey("local:iso/debian-12.iso"));
        Assert.True(files.ContainsKey("local:iso/talos-custom-v1.9.0-nocloud-amd64.iso"));
        Assert.True(files.ContainsKey("local:iso/" + Iso("v1.11.3")));
    }

    [Fact]
    public async Task Removing_RechecksUse_SoAVolumeAttachedMeanwhileIsKept()
    {
        var files = _pve.Storage("pve1", "local");
        files["local:iso/" + Iso("v1.11.4")] = new byte[5];
        files["local:iso/" + Iso("v1.11.5")] = new byte[5];
        var listed = await Inventory().ListAsync(Target("local", "pve1"), 1, CancellationToken.None);
        _pve.AddVm(9000, "pve1", "talos-template", true, new Dictionary<string, string> { ["ide2"] = "local:iso/" + Iso("v1.11.4") + ",media=cdrom" });

        var result = Assert.Single(await Inventory().RemoveAsync(Target("local", "pve1"), listed.Where(i => i.State == "WouldRemove"), CancellationToken.None));

        Assert.Equal("InUse", result.State);
        Assert.Contains("template", Assert.Single(result.UsedBy));
        Assert.Empty(_pve.Deleted);
    }

    [Fact]
    public async Task ASharedStorage_IsListedAndCleanedOnce_NotOncePerNode()
    {
        var files = _pve.Storage("pve1", "nfs");
        files["nfs:iso/" + Iso("v1.11.4")] = new byte[5];
        files["nfs:iso/" + Iso("v1.11.5")] = new byte[5];
        var target = Target("nfs", "pve1", "pve2");

        var listed = await Inventory().ListAsync(target, 1, CancellationToken.None);
        Assert.Equal(2, listed.Count);
        Assert.All(listed, i => Assert.True(i.Shared));
        var removed = await Inventory().RemoveAsync(target, listed.Where(i => i.State == "WouldRemove"), CancellationToken.None);

        Assert.Equal("Removed", Assert.Single(removed).State);
        Assert.Equal(new[] { "nfs:iso/" + Iso("v1.11.4") }, _pve.Deleted.ToArray());
        // iso + import once per listing (ListAsync, and RemoveAsync's fresh look), through pve1 only.
        Assert.Equal(4, _pve.Log.Count(l => l.StartsWith("GET /api2/json/nodes/pve1/storage/nfs/content", StringComparison.Ordinal)));
        Assert.DoesNotContain(_pve.Log, l => l.StartsWith("GET /api2/json/nodes/pve2/storage/nfs/content", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenTheVmConfigurationsCannotBeRead_NothingIsRemoved()
    {
        var files = _pve.Storage("pve1", "local");
        files["local:iso/" + Iso("v1.11.4")] = new byte[5];
        files["local:iso/" + Iso("v1.11.5")] = new byte[5];
        _pve.Intercept = async ctx =>
        {
            if (ctx.Request.Path.Value!.EndsWith("/cluster/resources", StringComparison.Ordinal))
            {
                ctx.Response.StatusCode = 403;
                await Task.CompletedTask;
                return true;
            }
            return false;
        };

        var listed = await Inventory().ListAsync(Target("local", "pve1"), 1, CancellationToken.None);

        Assert.Equal("InUse", Assert.Single(listed, i => i.Name == Iso("v1.11.4")).State);
        Assert.Empty(await Inventory().RemoveAsync(Target("local", "pve1"), listed.Where(i => i.State == "WouldRemove"), CancellationToken.None));
        var forced = await Inventory().RemoveAsync(Target("local", "pve1"), listed, CancellationToken.None);
        Assert.All(forced, r => Assert.Equal("InUse", r.State));
        Assert.Empty(_pve.Deleted);
    }

    [Theory]
    [InlineData("talos-376567988ad3-v1.11.5-nocloud-amd64.iso", "376567988ad3/nocloud-amd64.iso", "v1.11.5")]
    [InlineData("talos-376567988ad3-v1.12.0-beta.1-metal-arm64-secureboot.iso", "376567988ad3/metal-arm64-secureboot.iso", "v1.12.0-beta.1")]
    [InlineData("talos-376567988ad3-v1.11.5-digital-ocean-amd64.raw", "376567988ad3/digital-ocean-amd64.raw", "v1.11.5")]
    public void PublishedName_ReadsTalosImagesOwnNames(string name, string family, string version)
    {
        var n = PublishedName.TryParse(name);
        Assert.NotNull(n);
        Assert.Equal(family, n!.Family);
        Assert.Equal(version, n.VersionText);
    }

    [Theory]
    [InlineData("talos-nocloud-amd64.iso")]
    [InlineData("talos-376567988ad3-v1.11.5-nocloud-amd64.iso.bak")]
    [InlineData("talos-376567988AD3-v1.11.5-nocloud-amd64.iso")]
    [InlineData("talos-376567988ad3-1.11.5-nocloud-amd64.iso")]
    [InlineData("talos-376567988ad3-v1.11.5-nocloud-x86.iso")]
    [InlineData("my-talos-376567988ad3-v1.11.5-nocloud-amd64.iso")]
    public void PublishedName_RecognisesNothingElse(string name) => Assert.Null(PublishedName.TryParse(name));
}
