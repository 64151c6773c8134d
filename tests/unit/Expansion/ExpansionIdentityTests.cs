using TalosImage.Core;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using Xunit;

namespace TalosImage.Tests.Expansion;

/// <summary>
/// An expanded image keeps its source's identity (URL, schematic, version, platform, arch, SecureBoot, installer image)
/// whether it comes from the piped artifact or from the file's cache metadata; the metadata wins only for what it
/// knows of the file (hash, size).
/// </summary>
public sealed class ExpansionIdentityTests : IClassFixture<ExpansionFixture>
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    private const string Installer = "factory.talos.dev/nocloud-installer-secureboot/" + Schematic + ":v1.11.5";

    private readonly ExpansionFixture _f;

    public ExpansionIdentityTests(ExpansionFixture fixture) => _f = fixture;

    private string Compressed(TempDir dir)
    {
        var path = dir.File("nocloud-amd64-secureboot.raw.zst");
        File.Copy(_f.Compressed("identity-zstd", p => ExpansionFixture.Run("zstd", new[] { "-3", "-q", "-o", p, _f.ImagePath })), path);
        return path;
    }

    /// <summary>What Save-TalosImage emits for the file (a piped TalosArtifact).</summary>
    private static TalosArtifact Piped(string path, string sha = "") => new()
    {
        Path = path,
        Url = $"https://factory.talos.dev/image/{Schematic}/v1.11.5/nocloud-amd64-secureboot.raw.zst",
        Sha256 = sha,
        Size = new FileInfo(path).Length,
        SchematicId = Schematic,
        Version = "v1.11.5",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = "raw.zst",
        SecureBoot = true,
        Asset = "nocloud-amd64-secureboot.raw.zst",
        InstallerImage = Installer,
    };

    private static void AssertIdentity(TalosArtifact a)
    {
        Assert.Equal($"https://factory.talos.dev/image/{Schematic}/v1.11.5/nocloud-amd64-secureboot.raw.zst", a.Url);
        Assert.Equal(Schematic, a.SchematicId);
        Assert.Equal("v1.11.5", a.Version);
        Assert.Equal("nocloud", a.Platform);
        Assert.Equal("amd64", a.Architecture);
        Assert.True(a.SecureBoot);
        Assert.Equal(Installer, a.InstallerImage);
    }

    private static Task<TalosArtifact> Expand(TalosArtifact source) =>
        new ImageExpander(NullEngineEvents.Instance).ExpandAsync(source, null, CancellationToken.None);

    [Fact]
    public async Task A_piped_artifact_without_metadata_keeps_its_identity_through_the_expansion()
    {
        using var dir = new TempDir();
        var path = Compressed(dir);
        Assert.Null(ArtifactMetadata.TryRead(path));

        var source = ImageExpander.DescribeSource(path, Piped(path));
        AssertIdentity(source);
        Assert.Equal("raw.zst", source.Format);
        Assert.Equal(new FileInfo(path).Length, source.Size);

        var expanded = await Expand(source);
        AssertIdentity(expanded);
        Assert.Equal("Expanded", expanded.Kind);
        Assert.Equal(path, expanded.SourcePath);
        Assert.Equal(_f.ImageSha256, expanded.Sha256);

        // The record beside the expanded image says the same, so Expand-TalosImage -Path and Get-TalosCache see it too.
        var meta = ArtifactMetadata.TryRead(expanded.Path)!;
        Assert.Equal(("v1.11.5", "nocloud", "amd64", true, Schematic), (meta.Version, meta.Platform, meta.Architecture, meta.SecureBoot, meta.SchematicId));
        Assert.Equal(Installer, meta.InstallerImage);
        Assert.Equal(ExpansionFixture.Sha256Of(path), meta.SourceSha256);

        // Skipped the second time, identity intact, from a bare artifact: the expanded record supplies it.
        var again = await Expand(new TalosArtifact { Path = path });
        Assert.True(again.FromCache);
        AssertIdentity(again);
    }

    [Fact]
    public void The_metadata_wins_for_hash_and_size_and_fills_what_the_pipe_does_not_say()
    {
        using var dir = new TempDir();
        var path = Compressed(dir);
        var sha = ExpansionFixture.Sha256Of(path);
        new ArtifactMetadata
        {
            Url = "https://other.example/image/x/v9.9.9/nocloud-amd64-secureboot.raw.zst",
            Sha256 = sha,
            SchematicId = Schematic,
            Version = "v9.9.9",
            Platform = "nocloud",
            Architecture = "amd64",
            Format = "raw.zst",
            SecureBoot = true,
            Asset = "nocloud-amd64-secureboot.raw.zst",
        }.WriteFor(path);

        // The pipe says the identity (it wins) and a stale hash and size (the verified record wins).
        var piped = Piped(path, sha: new string('0', 64));
        var described = ImageExpander.DescribeSource(path, new TalosArtifact
        {
            Path = piped.Path, Url = piped.Url, Sha256 = piped.Sha256, Size = 1, SchematicId = piped.SchematicId, Version = piped.Version,
            Platform = piped.Platform, Architecture = piped.Architecture, Format = piped.Format, SecureBoot = piped.SecureBoot,
            Asset = piped.Asset, InstallerImage = piped.InstallerImage,
        });
        AssertIdentity(described);
        Assert.Equal(sha, described.Sha256);
        Assert.Equal(new FileInfo(path).Length, described.Size);

        // A pipe that says nothing but the path: the record supplies the identity, the installer image from its URL.
        var bare = ImageExpander.DescribeSource(path, new TalosArtifact { Path = path });
        Assert.Equal("v9.9.9", bare.Version);
        Assert.Equal(Schematic, bare.SchematicId);
        Assert.True(bare.SecureBoot);
        Assert.Equal("raw.zst", bare.Format);
        Assert.Equal("other.example/nocloud-installer-secureboot/" + Schematic + ":v9.9.9", bare.InstallerImage);
        Assert.Equal(sha, bare.Sha256);

        // No pipe at all is Expand-TalosImage -Path.
        Assert.Equal("v9.9.9", ImageExpander.DescribeSource(path, null).Version);
    }

    [Fact]
    public async Task An_artifact_with_only_a_path_takes_its_identity_from_the_file_metadata()
    {
        using var dir = new TempDir();
        var path = Compressed(dir);
        var full = Piped(path, ExpansionFixture.Sha256Of(path));
        new ArtifactMetadata
        {
            Url = full.Url, Sha256 = full.Sha256, SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud",
            Architecture = "amd64", Format = "raw.zst", SecureBoot = true, Asset = full.Asset, InstallerImage = Installer,
        }.WriteFor(path);

        var expanded = await Expand(new TalosArtifact { Path = path });

        AssertIdentity(expanded);
        Assert.Equal("raw", expanded.Format);
    }
}
