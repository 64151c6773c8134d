using TalosImage.Core;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Core.Factory;
using TalosImage.Core.Manifests;
using TalosImage.Tests.Expansion;
using Xunit;

namespace TalosImage.Tests.Manifests;

/// <summary>
/// Export-TalosManifest after <c>Save-TalosImage | Expand-TalosImage | Publish-TalosImage</c>: the manifest records
/// what an order run's manifest records: the download (url, sha256, size, platform, arch, format, installer image),
/// its expansion and its pushes, one entry per download, whichever of those objects reached it.
/// </summary>
public sealed class PipelineManifestTests : IClassFixture<ExpansionFixture>, IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private readonly ExpansionFixture _f;
    private readonly TempDir _dir = new();
    private readonly string _cache;
    private readonly TalosArtifact _download;
    private readonly TalosArtifact _expanded;
    private readonly DateTimeOffset _now = new(2025, 11, 3, 12, 0, 0, TimeSpan.Zero);

    public PipelineManifestTests(ExpansionFixture fixture)
    {
        _f = fixture;
        _cache = _dir.File("cache");
        // Save-TalosImage: the asset in the cache with the record the downloader writes.
        var path = CachePaths.ArtifactPath(_cache, Schematic, "v1.11.5", "nocloud-amd64-secureboot.raw.xz");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(_f.Compressed("manifest-xz", p => ExpansionFixture.Run("xz", new[] { "-0", "-T1", "-c", _f.ImagePath }, p)), path);
        var url = FactoryCatalog.ImageUrl("https://factory.talos.dev", Schematic, "v1.11.5", "nocloud-amd64-secureboot.raw.xz");
        var installer = FactoryCatalog.InstallerImage("https://factory.talos.dev", "nocloud", Schematic, "v1.11.5", true);
        new ArtifactMetadata
        {
            Url = url, Sha256 = ExpansionFixture.Sha256Of(path), SchematicId = Schematic, Version = "v1.11.5",
            Asset = "nocloud-amd64-secureboot.raw.xz", Platform = "nocloud", Architecture = "amd64", Format = "raw.xz",
            SecureBoot = true, InstallerImage = installer, Kind = "Downloaded", DownloadedAt = _now,
        }.WriteFor(path);
        _download = new TalosArtifact
        {
            Path = path, Url = url, Sha256 = ExpansionFixture.Sha256Of(path), Size = new FileInfo(path).Length, SchematicId = Schematic,
            Version = "v1.11.5", Platform = "nocloud", Architecture = "amd64", Format = "raw.xz", SecureBoot = true,
            Asset = "nocloud-amd64-secureboot.raw.xz", InstallerImage = installer, FromCache = false, Kind = "Downloaded", DurationSeconds = 1.5,
        };
        // Expand-TalosImage: the real expander.
        _expanded = new ImageExpander(NullEngineEvents.Instance).ExpandAsync(_download, null, CancellationToken.None).GetAwaiter().GetResult();
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>What Publish-TalosImage emits for a host.</summary>
    private static TalosPublishResult Push(TalosArtifact a, string host, string status, string? error = null) => new()
    {
        Host = host,
        Destination = "/var/lib/vz/import/talos-376567988ad3-v1.11.5-" + a.Asset,
        Status = status,
        BytesSent = status == "Published" ? a.Size : 0,
        Duration = 0.25,
        Verified = status != "Failed",
        Error = error,
        ErrorId = error is null ? null : "RsyncFailed",
        Transport = "Ssh",
        Path = a.Path,
        Sha256 = a.Sha256,
        Size = a.Size,
        SchematicId = a.SchematicId,
        Version = a.Version,
        Asset = a.Asset,
    };

    private void AssertLikeAnOrderRun(ManifestEntry e)
    {
        Assert.Equal("nocloud-amd64-secureboot.raw.xz", e.Name);
        Assert.Equal(_download.Url, e.Url);
        Assert.Equal("nocloud", e.Platform);
        Assert.Equal("amd64", e.Arch);
        Assert.Equal("v1.11.5", e.Version);
        Assert.True(e.SecureBoot);
        Assert.Equal("raw.xz", e.ImageFormat);
        Assert.Equal("nocloud-amd64-secureboot.raw.xz", e.Asset);
        Assert.Equal(Schematic, e.SchematicId);
        Assert.Equal(_download.InstallerImage, e.InstallerImage);
        Assert.Equal($"factory.talos.dev/nocloud-installer-secureboot/{Schematic}:v1.11.5", e.InstallerImage);
        Assert.Equal(Path.GetFullPath(_cache), e.CacheDir);

        Assert.NotNull(e.Download);
        Assert.Equal(_download.Path, e.Download!.Path);
        Assert.True(e.Download.Done);
        Assert.Equal(_download.Sha256, e.Download.Sha256);
        Assert.Equal(_download.Size, e.Download.SizeBytes);

        Assert.NotNull(e.Decompressed);
        Assert.Equal(_expanded.Path, e.Decompressed!.Path);
        Assert.EndsWith("nocloud-amd64-secureboot.raw", e.Decompressed.Path);
        Assert.True(e.Decompressed.Done);
        Assert.Equal(_f.ImageSha256, e.Decompressed.Sha256);
        Assert.Equal(ExpansionFixture.ImageSize, e.Decompressed.SizeBytes);
    }

    [Fact]
    public void Save_expand_publish_gives_one_entry_with_the_download_its_expansion_and_its_pushes()
    {
        var pushes = new[] { Push(_expanded, "pve1", "Published"), Push(_expanded, "pve2", "Skipped") };

        var m = ManifestBuilder.FromPipeline("lab", "ACME", new[] { _download, _expanded }, pushes, _now);

        var e = Assert.Single(m.Entries);
        AssertLikeAnOrderRun(e);
        Assert.False(e.Download!.FromCache);
        Assert.Equal(1.5, e.Download.DurationSeconds);
        Assert.Equal(new[] { ("pve1", "ok"), ("pve2", "skipped") }, e.Pushed.Select(p => (p.Host, p.Status)));
        Assert.Equal("ok", e.Status);
        Assert.Equal("Succeeded", m.Status);
        Assert.Equal(1, m.PositionsCount);
    }

    [Fact]
    public void Only_the_push_results_reach_it_in_a_real_pipeline_and_the_cache_records_supply_the_rest()
    {
        // Save-TalosImage | Expand-TalosImage | Publish-TalosImage | Export-TalosManifest: Export sees only the results.
        var pushes = new[] { Push(_expanded, "pve1", "Published"), Push(_expanded, "pve2", "Failed", "rsync to pve2 failed (exit 12)") };

        var m = ManifestBuilder.FromPipeline("lab", "", Array.Empty<TalosArtifact>(), pushes, _now);

        var e = Assert.Single(m.Entries);
        AssertLikeAnOrderRun(e);
        Assert.Equal(new[] { ("pve1", "ok"), ("pve2", "failed") }, e.Pushed.Select(p => (p.Host, p.Status)));
        Assert.Equal("failed", e.Status);
        Assert.Contains("pve2", e.Error);

        var yaml = ManifestWriter.ToYaml(m);
        Assert.Contains($"url: {_download.Url}", yaml);
        Assert.Contains("image_format: raw.xz", yaml);
        Assert.Contains("platform: nocloud", yaml);
        Assert.Contains("installer_image: factory.talos.dev/nocloud-installer-secureboot/", yaml);
    }

    [Fact]
    public void Pushes_of_the_compressed_and_the_expanded_file_and_a_lone_expansion_group_under_one_download()
    {
        var pushes = new[] { Push(_download, "pve1", "Published"), Push(_expanded, "pve2", "Published") };

        var m = ManifestBuilder.FromPipeline("lab", "", new[] { _expanded }, pushes, _now);

        var e = Assert.Single(m.Entries);
        AssertLikeAnOrderRun(e);
        Assert.Equal(new[] { "pve1", "pve2" }, e.Pushed.Select(p => p.Host));
    }

    [Fact]
    public void An_expansion_whose_source_left_the_cache_still_names_its_download()
    {
        File.Delete(_download.Path);
        ArtifactMetadata.DeleteFor(_download.Path);

        var m = ManifestBuilder.FromPipeline("lab", "", Array.Empty<TalosArtifact>(), new[] { Push(_expanded, "pve1", "Published") }, _now);

        var e = Assert.Single(m.Entries);
        Assert.Equal(_download.Url, e.Url);
        Assert.Equal("raw.xz", e.ImageFormat);
        Assert.Equal(_download.Path, e.Download!.Path);
        Assert.Equal(_download.Sha256, e.Download.Sha256); // the expansion's record names its source's hash
        Assert.Equal(_download.InstallerImage, e.InstallerImage);
        Assert.Equal(_expanded.Path, e.Decompressed!.Path);
    }

    [Fact]
    public void A_plain_file_outside_the_cache_gets_an_entry_of_its_own()
    {
        var iso = _dir.Write("elsewhere/metal-amd64.iso", "iso bytes");
        var push = new TalosPublishResult
        {
            Host = "pve1", Destination = "/var/lib/vz/template/iso/talos-metal-amd64.iso", Status = "Published", Transport = "Ssh",
            Path = iso, Sha256 = new string('c', 64), Size = 9, Asset = "metal-amd64.iso",
        };

        var m = ManifestBuilder.FromPipeline("lab", "", Array.Empty<TalosArtifact>(), new[] { push }, _now);

        var e = Assert.Single(m.Entries);
        Assert.Equal(iso, e.Download!.Path);
        Assert.Equal("iso", e.ImageFormat);
        Assert.Equal(new string('c', 64), e.Download.Sha256);
        Assert.Null(e.Decompressed);
        Assert.Equal("", e.CacheDir);
    }
}
