using System.Security.Cryptography;
using System.Text;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using Xunit;

namespace TalosImage.Tests.Factory;

/// <summary>
/// talos_order.py's alias <c>raw</c> = raw.xz belongs to orders files only: a file on disk, its cache metadata, an
/// artifact and a cmdlet parameter say exactly the format they name.
/// </summary>
public sealed class FileFormatTests
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    [Theory]
    [InlineData("nocloud-amd64.raw", "raw")]
    [InlineData("nocloud-amd64.raw.xz", "raw.xz")]
    [InlineData("gcp-amd64.raw.tar.gz", "raw.tar.gz")]
    [InlineData("METAL-amd64.RAW.ZST", "raw.zst")]
    [InlineData("azure-amd64.vhd.xz", "vhd.xz")]
    [InlineData("metal-amd64.iso", "iso")]
    [InlineData("metal-amd64.iso.zst", "iso.zst")]
    [InlineData("oracle-amd64.qcow2", "qcow2")]
    [InlineData("notes.txt", null)]
    [InlineData("rawxz", null)]
    public void One_function_says_the_format_of_a_file_name(string name, string? format)
    {
        Assert.Equal(format, FactoryCatalog.FormatOfFileName("/some/dir/" + name));
        Assert.Equal(format, ImageExpander.FormatOf("/some/dir/" + name));
        Assert.Equal(format ?? "", LocalArtifact.FormatOf("/some/dir/" + name));
    }

    [Fact]
    public void The_alias_applies_to_orders_files_only()
    {
        Assert.Equal("raw", FactoryCatalog.NormaliseFormat("raw"));
        Assert.Equal("raw", FactoryCatalog.NormaliseFormat(" RAW "));
        Assert.Null(FactoryCatalog.NormaliseFormat("rawxz"));
        Assert.Equal("raw.xz", FactoryCatalog.NormaliseOrdersFormat("raw"));
        Assert.Equal("raw.xz", FactoryCatalog.NormaliseOrdersFormat("rawxz"));
        Assert.Equal("raw.zst", FactoryCatalog.NormaliseOrdersFormat("raw.zst"));
        Assert.Null(FactoryCatalog.NormaliseOrdersFormat("exe"));
    }

    [Fact]
    public void A_format_parameter_of_raw_asks_for_the_raw_asset()
    {
        var request = new ArtifactRequest { SchematicId = Schematic, Version = "v1.11.5", Platform = "metal", Format = "raw" }.Normalise();
        Assert.Equal("raw", request.Format);
        Assert.Equal("metal-amd64.raw", request.Asset);
    }

    [Fact]
    public void An_expanded_cache_entry_is_published_under_a_raw_name()
    {
        using var dir = new TempDir();
        var cache = dir.Path;
        var folder = Path.Combine(cache, "artifacts", Schematic, "v1.11.5");
        var xz = Write(folder, "nocloud-amd64.raw.xz", "compressed", "Downloaded", "raw.xz");
        var raw = Write(folder, "nocloud-amd64.raw", "expanded", "Expanded", "raw");

        var entry = CacheInventory.List(cache).Single(e => e.Kind == "Expanded");
        Assert.Equal(raw, entry.Path);
        Assert.Equal("raw", entry.Format);

        // Get-TalosCache | Publish-TalosImage binds the entry's Path.
        var artifact = LocalArtifact.FromFile(entry.Path);
        Assert.Equal("raw", artifact.Format);
        Assert.Equal("Expanded", artifact.Kind);
        var target = new SshTarget { Host = "pve1", IsoDir = "/iso", ImportDir = "/imp" };
        Assert.Equal("/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.raw", SshPublisher.DestinationFor(artifact, target, SshPublishMode.AsIs));
        Assert.Equal("local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw",
            ProxmoxPublisher.VolumeIdOf(artifact, new ProxmoxTarget { Endpoint = new Uri("https://127.0.0.1:8006"), Nodes = new[] { "pve1" } }));

        // The compressed one stays what it is.
        Assert.Equal("raw.xz", LocalArtifact.FromFile(xz).Format);
        // Expand-TalosImage -Path reads the same metadata.
        Assert.Equal("raw", ImageExpander.ArtifactFor(raw).Format);
    }

    [Fact]
    public void A_plain_raw_file_given_by_path_is_published_under_a_raw_name()
    {
        using var dir = new TempDir();
        var path = dir.Write("nocloud-amd64.raw", "a disk image");
        var artifact = LocalArtifact.FromFile(path);
        Assert.Equal("raw", artifact.Format);
        Assert.Equal("/var/lib/vz/import/talos-nocloud-amd64.raw", SshPublisher.DestinationFor(artifact, new SshTarget { Host = "pve1" }, SshPublishMode.AsIs));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Expanding_a_plain_raw_fails_with_NotCompressed(bool withMetadata, bool piped)
    {
        using var dir = new TempDir();
        var path = withMetadata
            ? Write(dir.Path, "nocloud-amd64.raw", "already expanded", "Expanded", "raw")
            : dir.Write("nocloud-amd64.raw", "already expanded");
        var source = piped
            ? new TalosArtifact { Path = path, Format = "raw", Kind = "Expanded", Asset = "nocloud-amd64.raw" }
            : ImageExpander.ArtifactFor(path);

        var e = await Assert.ThrowsAsync<TalosException>(() => new ImageExpander(NullEngineEvents.Instance).ExpandAsync(source, null, CancellationToken.None));

        Assert.Equal("NotCompressed", e.ErrorId);
        Assert.Contains("is raw", e.Message);
    }

    [Theory]
    [InlineData("metal-amd64.iso")]
    [InlineData("metal-amd64.iso.zst")]
    [InlineData("oracle-amd64.qcow2")]
    public async Task Expanding_an_iso_or_an_uncompressed_image_fails_with_NotCompressed(string name)
    {
        using var dir = new TempDir();
        var source = ImageExpander.ArtifactFor(dir.Write(name, "not a compressed disk image"));

        var e = await Assert.ThrowsAsync<TalosException>(() => new ImageExpander(NullEngineEvents.Instance).ExpandAsync(source, null, CancellationToken.None));

        Assert.Equal("NotCompressed", e.ErrorId);
    }

    [Fact]
    public void The_compat_orders_file_still_plans_raw_as_raw_xz()
    {
        using var dir = new TempDir();
        var orders = dir.Write("orders.yaml", File.ReadAllText(TestPaths.Compat("talos_order-orders.yaml")).Replace("image_format: raw.xz", "image_format: raw"));
        var input = OrderLoader.Load(TestPaths.Compat("talos_order-config.yaml"), orders, _ => null);
        Assert.All(input.Orders.SelectMany(o => o.Positions).Where(p => p.Format != "iso"), p => Assert.Equal("raw.xz", p.Format));
        Assert.Contains(input.Orders.SelectMany(o => o.Positions), p => p.Format == "raw.xz");
    }

    /// <summary>An artifact with side files as the downloader or the expander writes them.</summary>
    private static string Write(string folder, string name, string content, string kind, string format)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name);
        var bytes = Encoding.UTF8.GetBytes(content);
        File.WriteAllBytes(path, bytes);
        new ArtifactMetadata
        {
            Url = $"https://factory.talos.dev/image/{Schematic}/v1.11.5/nocloud-amd64.raw.xz",
            Sha256 = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
            SchematicId = Schematic,
            Version = "v1.11.5",
            Asset = name,
            Platform = "nocloud",
            Architecture = "amd64",
            Format = format,
            Kind = kind,
            SourceSha256 = kind == "Expanded" ? new string('a', 64) : null,
            DownloadedAt = DateTimeOffset.UtcNow,
        }.WriteFor(path);
        return path;
    }
}
