using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Http;
using TalosImage.Core.Publishing.Proxmox;
using Xunit;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>New-TalosVMTemplate's engine against the loopback Proxmox fake: create, find, replace, firmware, overrides, ids, keep-N.</summary>
public sealed class TemplateBuilderTests : IAsyncLifetime
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private static readonly ProxmoxOptions Fast = new()
    {
        PollInterval = TimeSpan.FromMilliseconds(10),
        TaskTimeout = TimeSpan.FromSeconds(20),
        Http = HttpOptions.Default with { MaxAttempts = 1, HeadersTimeout = TimeSpan.FromSeconds(20), ReadTimeout = TimeSpan.FromSeconds(20), ConnectTimeout = TimeSpan.FromSeconds(5) },
    };

    private readonly RecordingEvents _events = new();
    private FakeProxmox _pve = null!;

    public async Task InitializeAsync() => _pve = await FakeProxmox.StartAsync(f => f.Storages["local-lvm"] = (false, "images,rootdir"));

    public async Task DisposeAsync() => await _pve.DisposeAsync();

    [Fact]
    public async Task Template_IsCreatedOnce_AndFoundTheSecondTime()
    {
        var request = Image("v1.11.5", out var sha);

        var first = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("Created", first.Status);
        Assert.Equal(100, first.VmId); // the fake's first free id, from /cluster/nextid
        Assert.Equal("pve1", first.Node);
        Assert.Equal("local-lvm", first.Storage);
        Assert.Equal(sha, first.Sha256);
        Assert.Equal("talos-v1-11-5-nocloud-amd64-376567988ad3", first.Name);
        Assert.Equal("factory.talos.dev/nocloud-installer/" + Schematic + ":v1.11.5", first.InstallerImage);
        var vm = _pve.Vms[100];
        Assert.True(vm.Template);
        Assert.Equal("local-lvm:base-100-disk-0,size=4096", vm.Config["scsi0"]); // imported, then a base disk
        Assert.Contains("talosimage-sha256: " + sha, vm.Config["description"]);
        Assert.Contains("talosimage-schematic: " + Schematic, vm.Config["description"]);
        Assert.Contains("talosimage-version: v1.11.5", vm.Config["description"]);
        Assert.Equal("talos;talosimage;v1.11.5", vm.Config["tags"]);

        var second = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("Found", second.Status);
        Assert.Equal(100, second.VmId);
        Assert.Single(_pve.QemuCreates); // nothing made again
        Assert.Single(_pve.Vms);
    }

    [Fact]
    public async Task ChangedImage_MakesANewTemplate_WithTheNextId()
    {
        var old = Assert.Single(await Builder().EnsureAsync(Image("v1.11.5", out _), CancellationToken.None));
        _pve.AddVm(101, "pve2", "someone-elses-vm");

        // Same name on the storage, other bytes: another SHA-256, so another template.
        var changed = Image("v1.11.5", out var sha, seed: 2);
        var made = Assert.Single(await Builder().EnsureAsync(changed, CancellationToken.None));
        Assert.Equal("Created", made.Status);
        Assert.Equal(102, made.VmId);
        Assert.Equal(sha, made.Sha256);
        Assert.NotEqual(old.Sha256, made.Sha256);
        Assert.True(_pve.Vms[100].Template); // the old one is not retired without keep
        Assert.True(_pve.Vms[102].Template);
        Assert.Equal(2, _pve.QemuCreates.Count);
    }

    [Fact]
    public async Task SecureBootImage_GetsOvmf_Q35_AndAnEfiDiskWithoutMicrosoftKeys()
    {
        var request = Image("v1.11.5", out _, asset: "nocloud-amd64-secureboot.raw", secureBoot: true);
        var made = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));

        Assert.True(made.SecureBoot);
        Assert.Equal("factory.talos.dev/nocloud-installer-secureboot/" + Schematic + ":v1.11.5", made.InstallerImage);
        var sent = Assert.Single(_pve.QemuCreates);
        Assert.Equal("ovmf", sent["bios"]);
        Assert.Equal("q35", sent["machine"]);
        Assert.Equal("local-lvm:1,efitype=4m,pre-enrolled-keys=0", sent["efidisk0"]);
        Assert.Equal("local-lvm:0,import-from=" + request.SourceVolumeId, sent["scsi0"]);
        Assert.Equal("virtio-scsi-single", sent["scsihw"]);
        Assert.Equal("socket", sent["serial0"]);
        Assert.Equal("1", sent["agent"]);
        Assert.Equal("l26", sent["ostype"]);
        Assert.Equal("order=scsi0", sent["boot"]);
        Assert.Equal("virtio,bridge=vmbr0", sent["net0"]);
        Assert.Contains("talosimage-secureboot: 1", sent["description"]);

        // A plain image gets none of the firmware settings.
        _pve.QemuCreates.Clear();
        Assert.Single(await Builder().EnsureAsync(Image("v1.11.6", out _, seed: 3), CancellationToken.None));
        var plain = Assert.Single(_pve.QemuCreates);
        Assert.False(plain.ContainsKey("bios"));
        Assert.False(plain.ContainsKey("machine"));
        Assert.False(plain.ContainsKey("efidisk0"));
    }

    [Fact]
    public async Task Overrides_ReplaceAddAndRemoveDefaults()
    {
        var request = Image("v1.11.5", out _) with
        {
            Settings = new TemplateSettings
            {
                VmId = 9000,
                Name = "talos-golden",
                Storage = "local-lvm",
                Memory = 4096,
                Cores = 4,
                Bridge = "vmbr1",
                Tags = new[] { "prod", "k8s" },
                Options = new Dictionary<string, string> { ["cpu"] = "host", ["ide2"] = "", ["balloon"] = "0", ["net0"] = "virtio,bridge=vmbr1,tag=20" },
            },
        };
        var made = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));

        Assert.Equal(9000, made.VmId);
        Assert.Equal("talos-golden", made.Name);
        var sent = Assert.Single(_pve.QemuCreates);
        Assert.Equal("9000", sent["vmid"]);
        Assert.Equal("4096", sent["memory"]);
        Assert.Equal("4", sent["cores"]);
        Assert.Equal("host", sent["cpu"]);
        Assert.Equal("0", sent["balloon"]);
        Assert.Equal("virtio,bridge=vmbr1,tag=20", sent["net0"]);
        Assert.False(sent.ContainsKey("ide2")); // removed by an empty value
        Assert.Equal("talos;talosimage;v1.11.5;prod;k8s", sent["tags"]);
        Assert.True(_pve.Vms[9000].Template);
    }

    [Fact]
    public async Task NocloudImage_GetsACloudInitDrive_ByDefault()
    {
        Assert.Single(await Builder().EnsureAsync(Image("v1.11.5", out _), CancellationToken.None));
        Assert.Equal("local-lvm:cloudinit", Assert.Single(_pve.QemuCreates)["ide2"]);
    }

    [Fact]
    public async Task GivenVmIdTakenBySomethingElse_IsAClearError_AndNothingIsSent()
    {
        _pve.AddVm(9000, "pve2", "database", config: new Dictionary<string, string> { ["scsi0"] = "local-lvm:vm-9000-disk-0" });
        var request = Image("v1.11.5", out _) with { Settings = new TemplateSettings { VmId = 9000 } };

        var e = await Assert.ThrowsAsync<TalosException>(() => Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("TemplateVmIdTaken", e.ErrorId);
        Assert.Contains("9000", e.Message);
        Assert.Contains("database", e.Message);
        Assert.Contains("pve2", e.Message);
        Assert.Empty(_pve.QemuCreates);
        Assert.Equal("database", _pve.Vms[9000].Name);
    }

    [Fact]
    public async Task GivenVmIdOfTheSameImagesTemplate_IsFound()
    {
        var request = Image("v1.11.5", out _) with { Settings = new TemplateSettings { VmId = 9000 } };
        Assert.Equal("Created", Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None)).Status);
        var again = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("Found", again.Status);
        Assert.Equal(9000, again.VmId);
    }

    [Fact]
    public async Task KeepN_RetiresOlderTemplatesOfTheFamily_ButSparesOneWithLinkedClones()
    {
        var keepAll = new TemplateSettings();
        var v1 = Assert.Single(await Builder().EnsureAsync(Image("v1.10.0", out _, seed: 10) with { Settings = keepAll }, CancellationToken.None));
        var v2 = Assert.Single(await Builder().EnsureAsync(Image("v1.10.1", out _, seed: 11) with { Settings = keepAll }, CancellationToken.None));
        var v3 = Assert.Single(await Builder().EnsureAsync(Image("v1.11.0", out _, seed: 12) with { Settings = keepAll }, CancellationToken.None));
        // Another family (another schematic) is never counted.
        var other = Assert.Single(await Builder().EnsureAsync(Image("v1.9.0", out _, seed: 13, schematic: new string('a', 64)) with { Settings = keepAll }, CancellationToken.None));
        // A linked clone of the oldest: its disk refers to base-<v1>-disk-0.
        await Clone(v1.VmId, 500);
        Assert.Contains($"base-{v1.VmId}-disk-0", _pve.Vms[500].Config["scsi0"]);

        var results = await Builder().EnsureAsync(Image("v1.11.5", out _, seed: 14) with { Settings = new TemplateSettings { Keep = 2 } }, CancellationToken.None);

        Assert.Equal("Created", results[0].Status);
        var retired = Assert.Single(results.Skip(1));
        Assert.Equal("Retired", retired.Status);
        Assert.Equal(v2.VmId, retired.VmId); // v1.10.1: beyond keep 2 (v1.11.5 new, v1.11.0 kept)
        Assert.Equal("v1.10.1", retired.Version);
        Assert.False(_pve.Vms.ContainsKey(v2.VmId));
        Assert.True(_pve.Vms.ContainsKey(v1.VmId)); // linked clones depend on it
        Assert.True(_pve.Vms.ContainsKey(v3.VmId));
        Assert.True(_pve.Vms.ContainsKey(other.VmId));
        Assert.True(_pve.Vms.ContainsKey(500));
        Assert.Contains(_events.Warnings, w => w.Contains($"template {v1.VmId}") && w.Contains("linked clones") && w.Contains("500"));
        Assert.Equal(1, _pve.Destroys);
    }

    [Fact]
    public async Task IsoOrCompressedVolume_IsRefused_BeforeAnythingIsSent()
    {
        var request = Image("v1.11.5", out _) with { SourceVolumeId = "local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso" };
        var e = await Assert.ThrowsAsync<TalosException>(() => Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("TemplateSourceNotImport", e.ErrorId);
        Assert.Equal(0, _pve.Requests);
    }

    [Fact]
    public async Task UnknownSha256_IsRefused_BeforeAnythingIsSent()
    {
        var request = Image("v1.11.5", out _) with { Sha256 = "" };
        var e = await Assert.ThrowsAsync<TalosException>(() => Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("TemplateImageUnidentified", e.ErrorId);
        Assert.Contains("SHA-256", e.Message);
        Assert.Equal(0, _pve.Requests);
    }

    [Theory]
    [InlineData("vmid")]
    [InlineData("name")]
    [InlineData("tag")]
    [InlineData("option")]
    [InlineData("reserved")]
    public async Task BadSettings_AreRefused_NamingTheSetting(string what)
    {
        var settings = what switch
        {
            "vmid" => new TemplateSettings { VmId = 5 },
            "name" => new TemplateSettings { Name = "not a name" },
            "tag" => new TemplateSettings { Tags = new[] { "Bad Tag" } },
            "option" => new TemplateSettings { Options = new Dictionary<string, string> { ["cpu;rm"] = "host" } },
            _ => new TemplateSettings { Options = new Dictionary<string, string> { ["description"] = "mine" } },
        };
        var e = await Assert.ThrowsAsync<TalosException>(() => Builder().EnsureAsync(Image("v1.11.5", out _) with { Settings = settings }, CancellationToken.None));
        Assert.Equal("TemplateSettingInvalid", e.ErrorId);
        Assert.Contains(what == "reserved" ? "description" : what, e.Message);
        Assert.Equal(0, _pve.Requests);
    }

    [Fact]
    public async Task FailedImport_IsAFailedTask_NamingTheVm()
    {
        var request = Image("v1.11.5", out _) with { SourceVolumeId = "local:import/not-there.raw" };
        var e = await Assert.ThrowsAsync<TalosException>(() => Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal("ProxmoxTaskFailed", e.ErrorId);
        Assert.Contains("does not exist", e.Message);
        Assert.Contains("qm destroy 100", e.Message);
    }

    [Fact]
    public async Task AnInterruptedRunsVm_IsFinished_NotMadeTwice()
    {
        var request = Image("v1.11.5", out var sha);
        // A VM with TalosImage's marker that never became a template.
        _pve.AddVm(150, "pve1", "talos-half", config: new Dictionary<string, string>
        {
            ["description"] = ProxmoxTemplateBuilder.MarkerFor(request).ToDescription(),
            ["tags"] = "talos;talosimage;v1.11.5",
            ["scsi0"] = "local-lvm:vm-150-disk-0,size=4096",
        });
        var done = Assert.Single(await Builder().EnsureAsync(request, CancellationToken.None));
        Assert.Equal(150, done.VmId);
        Assert.Equal("Created", done.Status);
        Assert.True(_pve.Vms[150].Template);
        Assert.Empty(_pve.QemuCreates);
        Assert.Equal(sha, done.Sha256);
    }

    [Fact]
    public void ForPublished_TakesTheIdentityFromTheAsset_AndRefusesSshResults()
    {
        var api = new TalosPublishResult
        {
            Host = "pve1", Destination = "local", Transport = "ProxmoxApi", VolumeId = "local:import/talos-376567988ad3-v1.11.5-metal-arm64-secureboot.raw",
            Sha256 = new string('b', 64), SchematicId = Schematic, Version = "v1.11.5", Asset = "metal-arm64-secureboot.raw", Path = "/nonexistent/x.raw",
        };
        var r = ProxmoxTemplateBuilder.ForPublished(api, _pve.Endpoint, null, new TemplateSettings());
        Assert.Equal("metal", r.Platform);
        Assert.Equal("arm64", r.Architecture);
        Assert.True(r.SecureBoot);
        Assert.Equal("factory.talos.dev/metal-installer-secureboot/" + Schematic + ":v1.11.5", r.InstallerImage);

        var ssh = new TalosPublishResult { Host = "pve1", Destination = "/var/lib/vz/import", Transport = "Ssh", Sha256 = new string('b', 64) };
        var e = Assert.Throws<TalosException>(() => ProxmoxTemplateBuilder.ForPublished(ssh, _pve.Endpoint, null, new TemplateSettings()));
        Assert.Equal("TemplateApiOnly", e.ErrorId);
        Assert.Contains("API only", e.Message);
    }

    private async Task Clone(int template, int newId)
    {
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_pve.Endpoint, $"/api2/json/nodes/pve1/qemu/{template}/clone"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["newid"] = newId.ToString(), ["name"] = "worker-1", ["full"] = "0" }),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "PVEAPIToken=" + FakeProxmox.Token);
        (await http.SendAsync(request)).EnsureSuccessStatusCode();
    }

    private ProxmoxTemplateBuilder Builder() => new(ProxmoxApiToken.Parse(FakeProxmox.Token), _events, Fast);

    /// <summary>A disk image in pve1's import content and the request for its template.</summary>
    private TemplateRequest Image(string version, out string sha, int seed = 1, string asset = "nocloud-amd64.raw", bool secureBoot = false, string schematic = Schematic)
    {
        var bytes = new byte[4096];
        new Random(seed).NextBytes(bytes);
        sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var stem = asset.Substring(0, asset.Length - ".raw".Length);
        var volid = $"local:import/talos-{schematic.Substring(0, 12)}-{version}-{stem}.raw";
        _pve.Storage("pve1", "local")[volid] = bytes;
        var published = new TalosPublishResult
        {
            Host = "pve1", Destination = "local", Transport = "ProxmoxApi", VolumeId = volid, Status = "Published",
            Sha256 = sha, SchematicId = schematic, Version = version, Asset = asset,
        };
        var request = ProxmoxTemplateBuilder.ForPublished(published, _pve.Endpoint, _pve.Fingerprint, new TemplateSettings());
        Assert.Equal(secureBoot, request.SecureBoot);
        return request;
    }
}
