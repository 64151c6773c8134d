using System.Security.Cryptography;
using System.Text;
using TalosImage.Core;
using TalosImage.Core.Cache;
using TalosImage.Tests.Artifacts;
using Xunit;

namespace TalosImage.Tests.Cache;

public sealed class CacheTests : IDisposable
{
    private const string A = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    private const string B = "ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515";

    private readonly string _cache = Path.Combine(Path.GetTempPath(), "talosimage-cache-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly RecordingEvents _events = new();

    public void Dispose()
    {
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    /// <summary>Writes an artifact with its .meta.json and .sha256, as the downloader or the expander would.</summary>
    private string Put(string schematic, string version, string asset, string kind = "Downloaded", bool meta = true)
    {
        var path = Path.Combine(_cache, "artifacts", schematic, version, asset);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = Encoding.UTF8.GetBytes($"{schematic}/{version}/{asset}");
        File.WriteAllBytes(path, bytes);
        if (meta)
        {
            new ArtifactMetadata
            {
                Sha256 = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
                SchematicId = schematic,
                Version = version,
                Asset = asset,
                Platform = "nocloud",
                Architecture = "amd64",
                Format = asset[(asset.IndexOf('.') + 1)..],
                Kind = kind,
                DownloadedAt = DateTimeOffset.UtcNow,
            }.WriteFor(path);
        }
        return path;
    }

    [Fact]
    public void Inventory_lists_downloaded_and_expanded_artifacts_with_their_family()
    {
        var xz = Put(A, "v1.11.5", "nocloud-amd64.raw.xz");
        var raw = Put(A, "v1.11.5", "nocloud-amd64.raw", kind: "Expanded");
        var bare = Put(B, "v1.12.0-beta.1", "metal-arm64-secureboot.iso", meta: false);
        File.WriteAllText(Path.Combine(_cache, "artifacts", A, "v1.11.5", "notes.txt"), "mine");

        var entries = CacheInventory.List(_cache);

        Assert.Equal(3, entries.Count);
        var e = entries.Single(x => x.Path == xz);
        Assert.Equal(A + "/nocloud-amd64.raw.xz", e.Family);
        Assert.Equal("Downloaded", e.Kind);
        Assert.Equal(64, e.Sha256.Length);
        Assert.NotNull(e.DownloadedAt);
        var x = entries.Single(x => x.Path == raw);
        Assert.Equal("Expanded", x.Kind);
        Assert.Equal(A + "/nocloud-amd64.raw.xz", x.Family);
        Assert.Equal("raw", x.Format);
        var b = entries.Single(x => x.Path == bare);
        Assert.Equal(B + "/metal-arm64-secureboot.iso", b.Family);
        Assert.Equal(("metal", "arm64", true, "iso", "v1.12.0-beta.1"), (b.Platform, b.Architecture, b.SecureBoot, b.Format, b.Version));
        Assert.Null(b.DownloadedAt);
        Assert.Empty(CacheInventory.List(Path.Combine(_cache, "nothing-here")));
    }

    [Fact]
    public void Retention_orders_pre_releases_by_semver_and_keeps_pinned_versions()
    {
        var old = Put(A, "v1.11.0", "nocloud-amd64.raw.xz");
        var oldRaw = Put(A, "v1.11.0", "nocloud-amd64.raw", kind: "Expanded");
        var mid = Put(A, "v1.11.5", "nocloud-amd64.raw.xz");
        var midRaw = Put(A, "v1.11.5", "nocloud-amd64.raw", kind: "Expanded");
        File.WriteAllText(mid + ".part", "stale partial");
        var beta2 = Put(A, "v1.12.0-beta.2", "nocloud-amd64.raw.xz");
        var beta10 = Put(A, "v1.12.0-beta.10", "nocloud-amd64.raw.xz");
        var iso = Put(A, "v1.11.0", "nocloud-amd64.iso"); // another family, alone: kept
        var foreign = Path.Combine(_cache, "artifacts", A, "v1.12.0-beta.2", "README");
        File.WriteAllText(foreign, "someone else's");

        var removed = CacheRetention.Apply(_cache, 1, new[] { oldRaw }, dryRun: false, _events);

        // beta.10 is newer than beta.2 (numeric order, not text); v1.11.0 is pinned through its expanded image.
        Assert.Equal(new[] { beta2, mid, midRaw }.OrderBy(p => p), removed.Select(r => r.Path).OrderBy(p => p));
        Assert.All(removed, r => Assert.Equal("Removed", r.State));
        Assert.True(File.Exists(beta10));
        Assert.True(File.Exists(old) && File.Exists(oldRaw) && File.Exists(iso));
        foreach (var gone in new[] { beta2, mid, midRaw })
        {
            Assert.False(File.Exists(gone));
            Assert.False(File.Exists(gone + ".meta.json"));
            Assert.False(File.Exists(gone + ".sha256"));
        }
        Assert.False(File.Exists(mid + ".part"));
        Assert.False(Directory.Exists(Path.GetDirectoryName(mid))); // emptied folder pruned
        Assert.True(File.Exists(foreign));                            // foreign file stays, and so does its folder
        Assert.Contains(_events.Warnings, w => w.Contains(foreign));
    }

    [Fact]
    public void Retention_dry_run_removes_nothing()
    {
        var v1 = Put(A, "v1.10.0", "metal-amd64.iso");
        Put(A, "v1.11.0", "metal-amd64.iso");

        var would = CacheRetention.Apply(_cache, 1, Array.Empty<string>(), dryRun: true, _events);

        Assert.Equal(v1, Assert.Single(would).Path);
        Assert.Equal("WouldRemove", would[0].State);
        Assert.True(File.Exists(v1));
        Assert.True(File.Exists(v1 + ".meta.json"));
    }

    [Fact]
    public void A_pinned_version_not_yet_in_the_cache_is_kept_in_its_family()
    {
        var v10 = Put(A, "v1.10.0", "metal-amd64.iso");
        Put(A, "v1.11.0", "metal-amd64.iso");
        File.WriteAllText(v10 + ".part", "being downloaded again");
        File.Delete(v10);
        ArtifactMetadata.DeleteFor(v10);

        var removed = CacheRetention.Apply(_cache, 1, new[] { v10 }, dryRun: false, _events);

        Assert.Empty(removed);
        Assert.True(File.Exists(v10 + ".part"));
    }

    [Fact]
    public void Purge_removes_the_artifact_tree_only()
    {
        var a = Put(A, "v1.11.5", "nocloud-amd64.raw.xz");
        Put(B, "v1.12.0-beta.1", "metal-amd64.iso");
        var manifest = Path.Combine(_cache, "manifests", "manifest-o1.yaml");
        var versions = Path.Combine(_cache, "versions", "github-releases.json");
        var rootForeign = Path.Combine(_cache, "notes.txt");
        var treeForeign = Path.Combine(_cache, "artifacts", "README");
        foreach (var f in new[] { manifest, versions, rootForeign, treeForeign })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            File.WriteAllText(f, "keep me");
        }

        var dry = CacheRetention.Purge(_cache, dryRun: true, _events);
        Assert.Equal(2, dry.Count);
        Assert.True(File.Exists(a));

        var removed = CacheRetention.Purge(_cache, dryRun: false, _events);

        Assert.Equal(2, removed.Count);
        Assert.All(removed, r => Assert.Equal("Removed", r.State));
        Assert.False(Directory.Exists(Path.Combine(_cache, "artifacts", A)));
        Assert.False(Directory.Exists(Path.Combine(_cache, "artifacts", B)));
        foreach (var f in new[] { manifest, versions, rootForeign, treeForeign })
        {
            Assert.True(File.Exists(f), f);
        }
        Assert.Contains(_events.Warnings, w => w.Contains(treeForeign));
        Assert.Empty(CacheInventory.List(_cache));
    }

    [Fact]
    public async Task A_second_lock_holder_waits_then_fails_with_CacheLocked()
    {
        using (var first = await CacheLock.AcquireAsync(_cache, TimeSpan.FromSeconds(1), _events, CancellationToken.None))
        {
            var e = await Assert.ThrowsAsync<TalosException>(() => CacheLock.AcquireAsync(_cache, TimeSpan.FromMilliseconds(300), _events, CancellationToken.None));
            Assert.Equal("CacheLocked", e.ErrorId);
            Assert.Contains("process " + Environment.ProcessId, e.Message);
            Assert.Contains(_events.Warnings, w => w.Contains("in use by process " + Environment.ProcessId));
        }

        // Released: the next holder gets it at once and finds no stale owner.
        var warnings = _events.Warnings.Count;
        using (await CacheLock.AcquireAsync(_cache, TimeSpan.FromMilliseconds(300), _events, CancellationToken.None))
        {
            Assert.Equal(warnings, _events.Warnings.Count);
        }
    }

    [Fact]
    public async Task A_waiting_holder_gets_the_lock_when_the_first_releases_it()
    {
        var first = await CacheLock.AcquireAsync(_cache, TimeSpan.FromSeconds(1), _events, CancellationToken.None);
        var waiting = CacheLock.AcquireAsync(_cache, TimeSpan.FromSeconds(30), _events, CancellationToken.None);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        first.Dispose();
        using var second = await waiting;
        Assert.Contains("pid=" + Environment.ProcessId, File.ReadAllText(Path.Combine(_cache, ".lock.owner")));
    }

    [Fact]
    public async Task A_lock_left_by_a_dead_process_is_taken_over_with_a_warning()
    {
        Directory.CreateDirectory(_cache);
        File.WriteAllText(Path.Combine(_cache, ".lock"), $"pid=2147483000\nhost={Environment.MachineName}\nstarted=2025-01-01T00:00:00Z\n");

        using var taken = await CacheLock.AcquireAsync(_cache, TimeSpan.FromMilliseconds(300), _events, CancellationToken.None);

        Assert.Contains(_events.Warnings, w => w.Contains("stale") && w.Contains("2147483000"));
        Assert.Contains("pid=" + Environment.ProcessId, File.ReadAllText(Path.Combine(_cache, ".lock.owner")));
    }

    [Fact]
    public void Default_cache_directory_follows_XDG_on_Linux()
    {
        var dir = CachePaths.DefaultCacheDirectory();
        Assert.True(Path.IsPathRooted(dir));
        if (!OperatingSystem.IsWindows())
        {
            Assert.EndsWith("talosimage", dir);
        }
        Assert.Equal(Path.Combine(Path.GetFullPath(_cache), "artifacts"), CachePaths.ArtifactRoot(_cache));
    }
}
