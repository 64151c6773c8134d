using System.Security.Cryptography;
using Newtonsoft.Json.Linq;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;
using TalosImage.Tests.Servers;
using Xunit;
using Mode = TalosImage.Tests.Servers.FakeImageFactory.ChecksumMode;

namespace TalosImage.Tests.Artifacts;

/// <summary>
/// Issue 17: where the factory serves <c>&lt;asset&gt;.sha256</c> / <c>.sha512</c> (enterprise), the download is verified
/// against it before it gets its final name; a mismatch leaves no file; 402 (the public factory) and 404 mean "local",
/// said in a verbose line; the artifact, its <c>.meta.json</c> and cache hits say which it was.
/// </summary>
public sealed class FactoryChecksumTests : IAsyncLifetime, IDisposable
{
    private static readonly byte[] Iso = Enumerable.Range(0, 2_500_000).Select(i => (byte)(i * 31 + 7)).ToArray();

    private readonly TempDir _dir = new();
    private readonly RecordingEvents _events = new();
    private FakeImageFactory _factory = null!;
    private string _schematic = "";

    public async Task InitializeAsync()
    {
        _factory = await FakeImageFactory.StartAsync();
        _factory.Images = (_, _, asset) => asset == "metal-amd64.iso" ? Iso : null;
        _schematic = (await new FactoryClient(_factory.BaseUrl, FastHttp.Options).CreateSchematicAsync(new Schematic(), CancellationToken.None)).SchematicId;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private ArtifactRequest Request => new()
    {
        SchematicId = _schematic, Version = "v1.11.5", Platform = "metal", Architecture = "amd64", Format = "iso", FactoryUrl = _factory.BaseUrl,
    };

    private string ImagePath => $"/image/{_schematic}/v1.11.5/metal-amd64.iso";

    private async Task<TalosArtifact> SaveAsync(SaveOptions? options = null)
    {
        var stage = new SaveStage(Cache, _events, FastHttp.Options);
        return (await stage.RunAsync(stage.Plan(Request, options), CancellationToken.None)).Artifact;
    }

    private static JObject Meta(string path) => JObject.Parse(File.ReadAllText(ArtifactMetadata.MetaPath(path)));

    [Theory]
    [InlineData(Mode.Sha256, "factory-sha256")]
    [InlineData(Mode.Sha512, "factory-sha512")]
    public async Task A_checksum_the_factory_serves_is_verified_and_recorded_and_a_cache_hit_keeps_it(Mode mode, string word)
    {
        _factory.Checksums = mode;
        var artifact = await SaveAsync();

        Assert.Equal(word, artifact.HashSource);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(Iso)).ToLowerInvariant(), artifact.Sha256);
        Assert.Equal(word, (string?)Meta(artifact.Path)["hash_source"]);
        Assert.Contains(_events.Verbose, v => v.Contains("matches the factory's") && v.Contains(mode == Mode.Sha256 ? ".sha256" : ".sha512"));
        Assert.Equal(1, _factory.Count("GET", ImagePath + ".sha256"));
        Assert.Equal(mode == Mode.Sha512 ? 1 : 0, _factory.Count("GET", ImagePath + ".sha512"));
        Assert.Equal(1, _factory.ImageGets);

        _factory.Checksums = Mode.NotFound; // a hit asks nothing: what was recorded stays
        var hit = await SaveAsync();
        Assert.True(hit.FromCache);
        Assert.Equal(word, hit.HashSource);
        var verified = await SaveAsync(new SaveOptions { Verify = true });
        Assert.Equal(word, verified.HashSource);
        Assert.Equal(1, _factory.Count("GET", ImagePath + ".sha256"));
        Assert.Equal(word, ArtifactMetadata.TryRead(artifact.Path)!.ToArtifact(artifact.Path, "iso", fromCache: true).HashSource);
    }

    [Theory]
    [InlineData(Mode.WrongSha256)]
    [InlineData(Mode.WrongSha512)]
    [InlineData(Mode.NotAChecksum)]
    public async Task A_mismatch_or_a_file_that_is_no_checksum_leaves_no_file(Mode mode)
    {
        _factory.Checksums = mode;
        var e = await Assert.ThrowsAsync<TalosException>(() => SaveAsync());

        Assert.Equal(TalosErrors.FactoryChecksumMismatch.Id, e.ErrorId);
        Assert.Equal(TalosErrorKind.InvalidData, e.Kind);
        Assert.Contains(mode == Mode.WrongSha512 ? ".sha512" : ".sha256", e.Message);
        var path = ArtifactDownloader.PathFor(Cache, _schematic, "v1.11.5", "metal-amd64.iso");
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + CachePaths.PartSuffix));
        Assert.False(File.Exists(ArtifactMetadata.MetaPath(path)));
        Assert.False(File.Exists(ArtifactMetadata.ShaPath(path)));
        Assert.Equal(1, _factory.ImageGets); // not retried: the factory's answer does not change
    }

    [Theory]
    [InlineData(Mode.PaymentRequired, 402, 0)]
    [InlineData(Mode.NotFound, 404, 1)]
    public async Task Without_a_factory_checksum_the_hash_is_local_and_a_verbose_line_says_why(Mode mode, int status, int sha512Asked)
    {
        _factory.Checksums = mode;
        var artifact = await SaveAsync();

        Assert.Equal("local", artifact.HashSource);
        Assert.Equal("local", (string?)Meta(artifact.Path)["hash_source"]);
        Assert.Contains(_events.Verbose, v => v.Contains(".sha256") && v.Contains(status.ToString()));
        Assert.Contains(_events.Verbose, v => v.Contains("computed here only"));
        Assert.Empty(_events.Warnings);
        Assert.Equal(sha512Asked, _factory.Count("GET", ImagePath + ".sha512"));
    }

    [Fact]
    public async Task The_checksum_file_is_asked_with_the_factory_credential()
    {
        // Random characters: SafeText masks any 8-character piece of a secret the process has read in every later
        // message of this test process, so a word such as "checksum" in a token would garble other tests' messages.
        var credential = FactoryCredentials.FromParameter(_factory.BaseUrl, "bearer", "tok-7c41e9b05d2f8a63");
        _factory.RequiredAuthorization = "Bearer tok-7c41e9b05d2f8a63";
        _factory.Checksums = Mode.Sha256;
        var stage = new SaveStage(Cache, _events, FactoryCredentials.With(FastHttp.Options, credential));
        var artifact = (await stage.RunAsync(stage.Plan(Request), CancellationToken.None)).Artifact;
        Assert.Equal("factory-sha256", artifact.HashSource);
        Assert.Equal("Bearer tok-7c41e9b05d2f8a63", _factory.Log.Single(s => s.Path == ImagePath + ".sha256").Authorization);
    }

    [Fact]
    public async Task A_record_written_before_hash_source_existed_reads_as_local()
    {
        var artifact = await SaveAsync();
        var meta = Meta(artifact.Path);
        meta.Remove("hash_source");
        var metaPath = ArtifactMetadata.MetaPath(artifact.Path);
        var mtime = File.GetLastWriteTimeUtc(artifact.Path);
        File.WriteAllText(metaPath, meta.ToString());
        File.SetLastWriteTimeUtc(artifact.Path, mtime);

        var hit = await SaveAsync();
        Assert.True(hit.FromCache);
        Assert.Equal("local", hit.HashSource);
    }

    [Theory]
    [InlineData("ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789  metal-amd64.iso\n", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("1111111111111111111111111111111111111111111111111111111111111111  other.iso\nabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 *metal-amd64.iso\n", "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")]
    [InlineData("abcdef  metal-amd64.iso", null)]
    [InlineData("<html>not found</html>", null)]
    [InlineData("", null)]
    public void A_checksum_file_is_read_in_sha256sums_formats(string text, string? expected) =>
        Assert.Equal(expected, FactoryChecksum.Parse(text, "metal-amd64.iso", 64));
}
