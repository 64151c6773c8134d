using System.IO.Compression;
using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Tests.Factory;
using Xunit;

namespace TalosImage.Tests.Cache;

/// <summary>
/// The stage entry points own the cache-hit answer and the cache lock (issue 15): a cmdlet's stage takes the lock for
/// its call (CacheAccess.PerCall), a run's stage does not take it again (HeldByCaller), and a cache hit or a dry run
/// needs no lock at all. The lock is held by this process here, so a stage that tries to take it waits and fails.
/// </summary>
public sealed class StageEntryPointTests : IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private readonly TempDir _dir = new();
    private readonly RecordingEvents _events = new();

    private string Cache => _dir.File("cache");

    public void Dispose() => _dir.Dispose();

    /// <summary>A gzip-compressed disk image at its cache path, with its record.</summary>
    private TalosArtifact CachedImage()
    {
        var path = CachePaths.ArtifactPath(Cache, Schematic, "v1.11.5", "nocloud-amd64.raw.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var raw = new byte[256 << 10];
        new Random(15).NextBytes(raw.AsSpan(0, 64 << 10));
        using (var file = File.Create(path))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        {
            gz.Write(raw);
        }
        var request = new ArtifactRequest { SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud", Format = "raw.gz", FactoryUrl = "http://127.0.0.1:9" }.Normalise();
        var sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
        ArtifactMetadata.For(request.Identity(sha), ArtifactKind.Downloaded, request.InstallerImage, DateTimeOffset.UtcNow).WriteFor(path, path);
        return ArtifactMetadata.TryRead(path)!.ToArtifact(path, "raw.gz", fromCache: true);
    }

    [Fact]
    public async Task An_expansion_inside_a_cache_takes_its_lock_per_call_and_not_when_the_caller_holds_it()
    {
        var source = CachedImage();
        var destination = source.Path.Substring(0, source.Path.Length - ".gz".Length);

        using (await CacheLock.AcquireAsync(Cache, Short, _events, CancellationToken.None))
        {
            var perCall = new ExpandStage(_events, access: CacheAccess.PerCall(Short));
            var e = await Assert.ThrowsAsync<TalosException>(() => perCall.RunAsync(perCall.Plan(source, null, CancellationToken.None), CancellationToken.None));
            Assert.Equal("CacheLocked", e.ErrorId);
            Assert.False(File.Exists(destination), "nothing is expanded while another holds the lock");

            // A run holds the lock itself: its stage expands without taking it again.
            var held = new ExpandStage(_events, access: CacheAccess.HeldByCaller);
            var expanded = await held.RunAsync(held.Plan(source, null, CancellationToken.None), CancellationToken.None);
            Assert.Equal(destination, expanded.Path);
            Assert.False(expanded.FromCache);

            // Now a verified expansion exists: the plan answers with it, and running the plan needs no lock.
            var step = perCall.Plan(source, null, CancellationToken.None);
            Assert.NotNull(step.Existing);
            var again = await perCall.RunAsync(step, CancellationToken.None);
            Assert.True(again.FromCache);
            Assert.Equal(expanded.Sha256, again.Sha256);
        }
    }

    [Fact]
    public async Task An_expansion_outside_any_cache_needs_no_lock()
    {
        var cached = CachedImage();
        var loose = _dir.File("loose/disk.raw.gz");
        Directory.CreateDirectory(Path.GetDirectoryName(loose)!);
        File.Copy(cached.Path, loose);
        using (await CacheLock.AcquireAsync(Cache, Short, _events, CancellationToken.None))
        {
            var stage = new ExpandStage(_events, access: CacheAccess.PerCall(Short));
            var expanded = await stage.RunAsync(stage.Plan(ImageExpander.ArtifactFor(loose), null, CancellationToken.None), CancellationToken.None);
            Assert.Equal(_dir.File("loose/disk.raw"), expanded.Path);
        }
    }

    [Fact]
    public async Task A_cached_artifact_is_the_plan_s_answer_and_a_download_or_verify_waits_for_the_lock()
    {
        var cached = CachedImage();
        var request = new ArtifactRequest { SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud", Format = "raw.gz", FactoryUrl = "http://127.0.0.1:9" };
        var stage = new SaveStage(Cache, _events, access: CacheAccess.PerCall(Short));
        using (await CacheLock.AcquireAsync(Cache, Short, _events, CancellationToken.None))
        {
            var hit = stage.Plan(request);
            Assert.Equal(cached.Path, hit.Cached?.Path);
            var saved = await stage.RunAsync(hit, CancellationToken.None);
            Assert.True(saved.Artifact.FromCache);
            Assert.Equal(cached.Sha256, saved.Artifact.Sha256);
            Assert.False(saved.Shared);

            // -Verify reads the file, so it is no plan-time answer: the run waits for the lock (and asks no server).
            var verify = stage.Plan(request, new SaveOptions { Verify = true });
            Assert.Null(verify.Cached);
            Assert.Equal(cached.Path, verify.Path);
            var e = await Assert.ThrowsAsync<TalosException>(() => stage.RunAsync(verify, CancellationToken.None));
            Assert.Equal("CacheLocked", e.ErrorId);
        }
    }

    [Fact]
    public async Task A_dry_clearing_reads_without_the_lock_and_a_real_one_waits_for_it()
    {
        var cached = CachedImage();
        using (await CacheLock.AcquireAsync(Cache, Short, _events, CancellationToken.None))
        {
            var preview = await CacheCleaner.ClearAsync(Cache, new CacheClearing { All = true, DryRun = true }, CacheAccess.PerCall(Short), _events, CancellationToken.None);
            Assert.Equal(new[] { nameof(CacheEntryState.WouldRemove) }, preview.Select(e => e.State).Distinct());
            Assert.Contains(preview, e => e.Path == cached.Path);

            var e = await Assert.ThrowsAsync<TalosException>(() => CacheCleaner.ClearAsync(Cache, new CacheClearing { All = true }, CacheAccess.PerCall(Short), _events, CancellationToken.None));
            Assert.Equal("CacheLocked", e.ErrorId);
            Assert.True(File.Exists(cached.Path));

            var removed = await CacheCleaner.ClearAsync(Cache, new CacheClearing { All = true }, CacheAccess.HeldByCaller, _events, CancellationToken.None);
            Assert.Contains(removed, r => r.Path == cached.Path && r.State == nameof(CacheEntryState.Removed));
            Assert.False(File.Exists(cached.Path));
        }
    }

    [Fact]
    public void The_records_are_built_from_one_identity_and_give_it_back()
    {
        var identity = new ArtifactIdentity
        {
            SchematicId = Schematic, Version = "v1.11.5", Platform = "nocloud", Architecture = "arm64", Format = "raw.xz", SecureBoot = true,
            Asset = "nocloud-arm64-secureboot.raw.xz", Url = "http://127.0.0.1:9/image/x", Sha256 = new string('a', 64), Size = 42,
        };
        var artifact = new TalosArtifact(identity) { Path = "/tmp/x" };
        Assert.Equal(identity, artifact.GetIdentity());
        Assert.Equal(nameof(ArtifactKind.Downloaded), artifact.Kind);

        var result = new TalosPublishResult(identity, "/tmp/x");
        Assert.Equal(("/tmp/x", identity.Sha256, 42L, Schematic, "v1.11.5", identity.Asset), (result.Path, result.Sha256, result.Size, result.SchematicId, result.Version, result.Asset));

        var entry = new TalosCacheEntry(identity, "/tmp/x");
        Assert.Equal((identity.Platform, identity.Architecture, identity.Format, true, identity.Sha256), (entry.Platform, entry.Architecture, entry.Format, entry.SecureBoot, entry.Sha256));
    }

    [Theory]
    [InlineData("Published", "ok")]
    [InlineData("Skipped", "skipped")]
    [InlineData("Failed", "failed")]
    [InlineData("Odd", "odd")]
    [InlineData("1", "1")]
    public void A_publish_status_has_one_manifest_word(string status, string word) => Assert.Equal(word, Vocabulary.ManifestWord(status));

    [Fact]
    public void The_orders_spelling_of_a_proxmox_method_goes_both_ways()
    {
        Assert.Equal(new[] { "upload", "download-url" }, Vocabulary.ProxmoxMethodWords);
        foreach (var method in Enum.GetValues<ProxmoxMethod>())
        {
            Assert.Equal(method, Vocabulary.ProxmoxMethodOf(method.Word()));
        }
        Assert.Equal(ProxmoxMethod.Upload, Vocabulary.ProxmoxMethodOf(null));
    }
}
