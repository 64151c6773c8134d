using System.Security.Cryptography;
using System.Text;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Tests.Orders;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>
/// Every asset the factory offers, as a format (issue 17): the boot assets kernel, initramfs, cmdline, uki, installer
/// and pxe, and the uncompressed raw disk image. Names, URLs, refusals, the cache, the manifest and publishing.
/// </summary>
public class BootAssetTests
{
    private const string Id = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    [Theory]
    [InlineData("kernel", "metal", "amd64", false, "kernel-amd64", "https://factory.talos.dev/image/{id}/v1.11.5/kernel-amd64")]
    [InlineData("initramfs", "metal", "arm64", false, "initramfs-arm64.xz", "https://factory.talos.dev/image/{id}/v1.11.5/initramfs-arm64.xz")]
    [InlineData("cmdline", "nocloud", "amd64", true, "cmdline-nocloud-amd64-secureboot", "https://factory.talos.dev/image/{id}/v1.11.5/cmdline-nocloud-amd64-secureboot")]
    [InlineData("cmdline", "aws", "amd64", false, "cmdline-aws-amd64", "https://factory.talos.dev/image/{id}/v1.11.5/cmdline-aws-amd64")]
    [InlineData("uki", "metal", "amd64", true, "metal-amd64-secureboot-uki.efi", "https://factory.talos.dev/image/{id}/v1.11.5/metal-amd64-secureboot-uki.efi")]
    [InlineData("installer", "metal", "amd64", true, "installer-amd64-secureboot.tar", "https://factory.talos.dev/image/{id}/v1.11.5/installer-amd64-secureboot.tar")]
    [InlineData("pxe", "metal", "arm64", false, "metal-arm64.ipxe", "https://pxe.talos.dev/pxe/{id}/v1.11.5/metal-arm64")]
    [InlineData("pxe", "nocloud", "amd64", true, "nocloud-amd64-secureboot.ipxe", "https://pxe.talos.dev/pxe/{id}/v1.11.5/nocloud-amd64-secureboot")]
    [InlineData("raw", "nocloud", "amd64", false, "nocloud-amd64.raw", "https://factory.talos.dev/image/{id}/v1.11.5/nocloud-amd64.raw")]
    public void Each_asset_has_the_factorys_name_and_url(string format, string platform, string arch, bool secureBoot, string asset, string url)
    {
        var r = new ArtifactRequest { SchematicId = Id, Version = "1.11.5", Platform = platform, Architecture = arch, Format = format, SecureBoot = secureBoot }.Normalise();
        Assert.Equal(asset, r.Asset);
        Assert.Equal(url.Replace("{id}", Id), r.Url);
        // The cache keeps every asset under <schematic>/<version>/<asset>, and reads its name back as the same format.
        Assert.Equal(Path.Combine("/c", "artifacts", Id, "v1.11.5", asset), ArtifactDownloader.PathFor("/c", Id, "v1.11.5", asset));
        Assert.Equal(format, FactoryCatalog.FormatOfFileName("/c/" + asset));
        Assert.Equal(format, CacheInventory.ParseAsset(asset)?.Format);
        Assert.Equal(arch, CacheInventory.ParseAsset(asset)?.Architecture);
    }

    [Theory]
    [InlineData("https://factory.talos.dev", null, "https://pxe.talos.dev")]
    [InlineData("https://factory.talos.dev/", null, "https://pxe.talos.dev")]
    [InlineData("https://factory.example.lan", null, "https://factory.example.lan")]           // a self-hosted factory serves /pxe/ itself
    [InlineData("https://factory.example.lan", "http://pxe.example.lan/", "http://pxe.example.lan")] // its http.externalPXEURL
    public void The_pxe_host_is_pxe_talos_dev_for_the_public_factory_and_the_factory_itself_otherwise(string factory, string? pxe, string expected)
    {
        Assert.Equal(expected, FactoryCatalog.PxeBaseUrl(factory, pxe));
        var r = new ArtifactRequest { SchematicId = Id, Version = "v1.11.5", Platform = "metal", Format = "pxe", FactoryUrl = factory, PxeUrl = pxe }.Normalise();
        Assert.Equal($"{expected}/pxe/{Id}/v1.11.5/metal-amd64", r.Url);
        // The installer image stays on the factory's registry host.
        Assert.StartsWith(new Uri(factory).Host + "/metal-installer/" + Id, r.InstallerImage);
    }

    [Theory]
    [InlineData("uki", "metal", false, "AssetVariantUnavailable", "only for SecureBoot")]
    [InlineData("kernel", "metal", true, "AssetVariantUnavailable", "the kernel has no SecureBoot variant (kernel-<arch> serves both)")]
    [InlineData("initramfs", "nocloud", true, "AssetVariantUnavailable", "initramfs-<arch>.xz serves both")]
    [InlineData("uki", "aws", true, "PlatformImageUnavailable", "no SecureBoot images for aws")]
    [InlineData("pxe", "aws", false, "PlatformImageUnavailable", "aws has no PXE boot (pxe): it boots from disk images")]
    [InlineData("pxe", "opennebula", false, "PlatformImageUnavailable", "opennebula has no PXE boot")]
    public void Save_refuses_an_asset_the_factory_does_not_have_before_asking(string format, string platform, bool secureBoot, string errorId, string expected)
    {
        var request = new ArtifactRequest { SchematicId = Id, Version = "v1.11.5", Platform = platform, Format = format, SecureBoot = secureBoot, FactoryUrl = "http://127.0.0.1:9" };
        var e = Assert.Throws<TalosException>(() => request.Normalise());
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("kernel", "aws")]         // the kernel, initramfs, cmdline and installer exist for every platform
    [InlineData("cmdline", "digital-ocean")]
    [InlineData("installer", "gcp")]
    [InlineData("pxe", "equinixMetal")]   // PXE only
    [InlineData("pxe", "vultr")]
    public void Boot_assets_pass_where_the_platform_has_them(string format, string platform) =>
        Assert.Null(PlatformRules.Check(platform, "amd64", format, false, "v1.11.5"));

    [Fact]
    public void A_pxe_url_with_user_info_is_refused_without_repeating_it()
    {
        var request = new ArtifactRequest { SchematicId = Id, Version = "v1.11.5", Platform = "metal", Format = "pxe", PxeUrl = "https://user:s3cret-pw@pxe.example.lan" };
        var e = Assert.Throws<TalosException>(() => request.Normalise());
        Assert.Equal("InvalidArtifactRequest", e.ErrorId);
        Assert.DoesNotContain("s3cret-pw", e.Message);
    }

    [Fact]
    public void Orders_files_spell_the_uncompressed_raw_raw_uncompressed_and_keep_raw_for_raw_xz()
    {
        Assert.Equal("raw", FactoryCatalog.NormaliseOrdersFormat("raw.uncompressed"));
        Assert.Equal("raw", FactoryCatalog.NormaliseOrdersFormat("RAW.Uncompressed"));
        Assert.Equal("raw.xz", FactoryCatalog.NormaliseOrdersFormat("raw"));
        Assert.Equal("raw", FactoryCatalog.NormaliseFormat("raw"));
        Assert.Null(FactoryCatalog.NormaliseFormat("raw.uncompressed")); // outside orders files raw is raw
        Assert.Equal("kernel", FactoryCatalog.NormaliseOrdersFormat("Kernel"));
    }

    [Fact]
    public void Download_false_is_refused_for_every_format_but_pxe()
    {
        using var dir = new TempDir();
        var c = dir.Write("c.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n");
        var o = dir.Write("o.yaml", "- orderid: A\n  positions:\n    - {product: talos, image_format: iso, download: false, customization: {}}\n");
        var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(c, o, _ => null));
        Assert.Contains("download: false is for image_format pxe only", e.Message);
        Assert.Contains("o.yaml:3", e.Message);
    }

    private static string OrdersOfEveryKind(string push = "") => """
        - orderid: every
          positions:
            - {name: kernel, product: talos, platform: metal, image_format: kernel, version: v1.11.5, customization: {}PUSH}
            - {name: initramfs, product: talos, platform: metal, image_format: initramfs, version: v1.11.5, customization: {}}
            - {name: cmdline, product: talos, platform: metal, image_format: cmdline, version: v1.11.5, customization: {}}
            - {name: uki, product: talos, platform: metal, image_format: uki, secureboot: true, version: v1.11.5, customization: {}}
            - {name: installer, product: talos, platform: metal, image_format: installer, version: v1.11.5, customization: {}}
            - {name: pxe, product: talos, platform: metal, image_format: pxe, version: v1.11.5, customization: {}}
            - {name: pxe-fetched, product: talos, platform: nocloud, image_format: pxe, download: true, version: v1.11.5, customization: {}}
            - {name: raw, product: talos, platform: nocloud, image_format: raw.uncompressed, version: v1.11.5, customization: {}}
            - {name: uki-nosb, product: talos, platform: metal, image_format: uki, version: v1.11.5, customization: {}}
        """.Replace("PUSH", push);

    private static RunOptions Options(TempDir dir, string factoryUrl, string orders, bool dryRun, bool offline = false) => new()
    {
        ConfigPath = dir.Write("config.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\n  factory_url: {factoryUrl}\nmanifest:\n  dir: {dir.Path}/manifests\n"),
        OrdersPath = dir.Write("orders.yaml", orders),
        DryRun = dryRun,
        Offline = offline,
        BaseDirectory = dir.Path,
        Http = FastHttp.Options,
        Environment = _ => null,
    };

    [Fact]
    public async Task A_dry_run_plans_every_kind_offline_with_its_url_and_installer_image()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var events = new RecordingEvents();

        var result = await new OrderRunner(Options(dir, fake.BaseUrl, OrdersOfEveryKind(), dryRun: true, offline: true), events).RunAsync(CancellationToken.None);

        Assert.Empty(fake.Log); // no request at all
        var positions = Assert.Single(result.Plan.Orders).Positions.ToDictionary(p => p.Name);
        var image = $"{fake.BaseUrl}/image/{Id}/v1.11.5/";
        var host = new Uri(fake.BaseUrl).Authority;
        Assert.Equal(image + "kernel-amd64", positions["kernel"].Url);
        Assert.Equal(image + "initramfs-amd64.xz", positions["initramfs"].Url);
        Assert.Equal(image + "cmdline-metal-amd64", positions["cmdline"].Url);
        Assert.Equal(image + "metal-amd64-secureboot-uki.efi", positions["uki"].Url);
        Assert.Equal(image + "installer-amd64.tar", positions["installer"].Url);
        Assert.Equal(image + "nocloud-amd64.raw", positions["raw"].Url);
        Assert.Equal($"{fake.BaseUrl}/pxe/{Id}/v1.11.5/metal-amd64", positions["pxe"].Url); // a self-hosted factory is its own PXE host
        Assert.Equal($"{host}/metal-installer/{Id}:v1.11.5", positions["kernel"].InstallerImage);
        Assert.Equal($"{host}/metal-installer-secureboot/{Id}:v1.11.5", positions["uki"].InstallerImage);
        Assert.Equal($"{host}/nocloud-installer/{Id}:v1.11.5", positions["raw"].InstallerImage);
        Assert.Equal(Path.Combine(dir.Path, "cache", "artifacts", Id, "v1.11.5", "installer-amd64.tar"), positions["installer"].CachePath);
        Assert.Equal("raw", positions["raw"].Format);
        Assert.Null(positions["raw"].ExpandedPath); // nothing to expand
        Assert.False(positions["pxe"].Download);
        Assert.True(positions["pxe-fetched"].Download);
        Assert.Equal("AssetVariantUnavailable", positions["uki-nosb"].ErrorId);
        Assert.All(positions.Values.Where(p => p.Name != "uki-nosb"), p => Assert.Null(p.Error));

        var yaml = Assert.Single(result.Manifests).Yaml;
        foreach (var p in positions.Values.Where(p => p.Error is null))
        {
            Assert.Contains("url: " + p.Url, yaml);
            Assert.Contains("installer_image: " + p.InstallerImage, yaml);
        }
        var report = PlanReport.Format(result.Plan);
        Assert.Contains($"record {positions["pxe"].Url} (not fetched", report);
        Assert.Contains("download " + positions["pxe-fetched"].CachePath, report);
        Assert.Equal(new[] { "config.yaml", "orders.yaml" }, Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_run_fetches_every_kind_into_the_cache_and_records_it_in_the_manifest()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        var bytes = new Dictionary<string, byte[]>
        {
            ["kernel-amd64"] = Bytes(64 * 1024, 1), ["initramfs-amd64.xz"] = Bytes(96 * 1024, 2), ["cmdline-metal-amd64"] = Encoding.ASCII.GetBytes("talos.platform=metal\n"),
            ["metal-amd64-secureboot-uki.efi"] = Bytes(80 * 1024, 3), ["installer-amd64.tar"] = Bytes(128 * 1024, 4), ["nocloud-amd64.raw"] = Bytes(256 * 1024, 5),
        };
        fake.Images = (_, _, asset) => bytes.TryGetValue(asset, out var b) ? b : null;
        using var dir = new TempDir();
        var orders = string.Join("\n", OrdersOfEveryKind().Split('\n').Where(l => !l.Contains("uki-nosb"))) + "\n";

        var result = await new OrderRunner(Options(dir, fake.BaseUrl, orders, dryRun: false), new RecordingEvents()).RunAsync(CancellationToken.None);

        Assert.True(result.ExitCode == ExitCodes.Success, string.Join("; ", result.Failures.Select(f => f.Position + ": " + f.Message)));
        var root = Path.Combine(dir.Path, "cache", "artifacts", Id, "v1.11.5");
        foreach (var (asset, content) in bytes)
        {
            var path = Path.Combine(root, asset);
            Assert.Equal(content, File.ReadAllBytes(path));
            var sha = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
            Assert.StartsWith(sha + "  " + asset, File.ReadAllText(path + ".sha256"));
            Assert.Equal(sha, ArtifactMetadata.TryRead(path)!.Sha256);
        }
        // pxe: only the position with download: true fetched its script, once; the other recorded its URL.
        Assert.Equal(1, fake.Log.Count(s => s.Path.StartsWith("/pxe/", StringComparison.Ordinal)));
        var script = File.ReadAllText(Path.Combine(root, "nocloud-amd64.ipxe"));
        Assert.Contains($"kernel {fake.BaseUrl}/image/{Id}/v1.11.5/kernel-amd64", script);
        Assert.False(File.Exists(Path.Combine(root, "metal-amd64.ipxe")));

        var yaml = File.ReadAllText(Assert.Single(result.Plan.Orders).ManifestPath);
        Assert.Contains($"url: {fake.BaseUrl}/pxe/{Id}/v1.11.5/metal-amd64\n", yaml);
        Assert.Contains("sha256: " + Convert.ToHexString(SHA256.HashData(bytes["installer-amd64.tar"])).ToLowerInvariant(), yaml);
        Assert.Contains("image_format: uki", yaml);

        // The cache lists them as what they are, each in a family of its own.
        var entries = CacheInventory.List(Path.Combine(dir.Path, "cache"));
        Assert.Equal(new[] { "cmdline", "initramfs", "installer", "kernel", "pxe", "raw", "uki" }, entries.Select(e => e.Format).Order());
        Assert.Equal(7, entries.Select(e => e.Family).Distinct().Count());
        Assert.True(entries.Single(e => e.Format == "uki").SecureBoot);
    }

    [Theory]
    [InlineData("kernel", "kernel-amd64")]
    [InlineData("initramfs", "initramfs-amd64.xz")]
    [InlineData("cmdline", "cmdline-metal-amd64")]
    [InlineData("uki", "metal-amd64-secureboot-uki.efi")]
    [InlineData("installer", "installer-amd64.tar")]
    [InlineData("pxe", "metal-amd64.ipxe")]
    public void Publishing_a_boot_asset_is_refused_on_both_transports_with_the_reason(string format, string asset)
    {
        var artifact = new TalosArtifact { SchematicId = Id, Version = "v1.11.5", Platform = "metal", Architecture = "amd64", Format = format, Asset = asset, Path = "/nonexistent/" + asset, Url = "http://127.0.0.1:9/image/x" };
        var ssh = Assert.Throws<TalosException>(() => SshPublisher.DestinationFor(artifact, new SshTarget { Host = "127.0.0.1" }, SshPublishMode.AsIs));
        Assert.Equal("ProxmoxFormatUnsupported", ssh.ErrorId);
        Assert.Contains($"{asset} ({format}) has no Proxmox content type", ssh.Message);
        foreach (var method in new[] { ProxmoxMethod.Upload, ProxmoxMethod.DownloadUrl })
        {
            var api = Assert.Throws<TalosException>(() => ProxmoxPublisher.VolumeIdOf(artifact, new ProxmoxTarget { Endpoint = new Uri("https://127.0.0.1:8006"), Nodes = new[] { "pve" }, Storage = "local", Method = method }));
            Assert.Equal("ProxmoxFormatUnsupported", api.ErrorId);
            Assert.Contains("has no Proxmox content type", api.Message);
        }
        Assert.Null(ProxmoxContent.Refusal("iso", "x.iso"));
        Assert.Null(ProxmoxContent.Refusal("raw", "x.raw"));
    }

    [Fact]
    public void An_uncompressed_raw_goes_to_import_content_by_upload_and_by_download_url()
    {
        var artifact = new TalosArtifact { SchematicId = Id, Version = "v1.11.5", Platform = "nocloud", Architecture = "amd64", Format = "raw", Asset = "nocloud-amd64.raw", Path = "/c/nocloud-amd64.raw", Url = $"https://factory.talos.dev/image/{Id}/v1.11.5/nocloud-amd64.raw", Kind = nameof(ArtifactKind.Downloaded) };
        foreach (var method in new[] { ProxmoxMethod.Upload, ProxmoxMethod.DownloadUrl })
        {
            var plan = ProxmoxVolumePlan.For(artifact, "local", method);
            Assert.Equal("import", plan.Content);
            Assert.Equal($"local:import/talos-{Id.Substring(0, 12)}-v1.11.5-nocloud-amd64.raw", plan.VolumeId);
            Assert.Null(plan.Compression);
        }
        Assert.Equal($"/var/lib/vz/import/talos-{Id.Substring(0, 12)}-v1.11.5-nocloud-amd64.raw",
            SshPublisher.DestinationFor(artifact, new SshTarget { Host = "127.0.0.1" }, SshPublishMode.AsIs));
    }

    [Fact]
    public async Task A_position_that_pushes_a_boot_asset_is_warned_at_planning_and_fails_each_target_without_contacting_it()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        fake.Images = (_, _, asset) => asset == "kernel-amd64" ? Bytes(4096, 9) : null;
        using var dir = new TempDir();
        // The push is refused before any ssh is started.
        var orders = OrdersOfEveryKind(", push: {enabled: true, hosts: [{host: '127.0.0.1'}]}").Split('\n').Take(3).Aggregate((a, b) => a + "\n" + b) + "\n";

        var dry = await new OrderRunner(Options(dir, fake.BaseUrl, orders, dryRun: true, offline: true), new RecordingEvents()).RunAsync(CancellationToken.None);
        Assert.True(dry.Plan.Orders.Count == 1, string.Join("; ", dry.Failures.Select(f => f.Position + ": " + f.Message)) + dry.ExitCode);
        var planned = Assert.Single(Assert.Single(dry.Plan.Orders).Positions);
        Assert.Contains(planned.Warnings, w => w.StartsWith("push fails for every target: kernel-amd64 (kernel) has no Proxmox content type", StringComparison.Ordinal));
        Assert.Contains("push kernel to 127.0.0.1:/var/lib/vz/import: fails, no Proxmox content type", PlanReport.Format(dry.Plan));

        var result = await new OrderRunner(Options(dir, fake.BaseUrl, orders, dryRun: false), new RecordingEvents()).RunAsync(CancellationToken.None);
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var failure = Assert.Single(result.Failures);
        Assert.Equal("PublishFailed", failure.ErrorId);
        var yaml = File.ReadAllText(Assert.Single(result.Plan.Orders).ManifestPath);
        Assert.Contains("kernel-amd64 (kernel) has no Proxmox content type", failure.Message);
        Assert.Contains("error_id: PublishFailed", yaml);
        Assert.Contains("no Proxmox content type", yaml);
        Assert.True(File.Exists(Path.Combine(dir.Path, "cache", "artifacts", Id, "v1.11.5", "kernel-amd64"))); // downloaded all the same
    }

    private static byte[] Bytes(int size, int seed)
    {
        var b = new byte[size];
        new Random(seed).NextBytes(b);
        return b;
    }
}
