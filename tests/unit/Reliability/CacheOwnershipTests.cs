using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Tests.Artifacts;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Issue 14, items 7 and 8: the cache is the tool's own. Nothing planted in it (a symbolic link to a file or folder
/// outside, a FIFO) is followed: the run refuses it, names the path, and the file outside is unchanged. And -Verify
/// restores side files from the verified hash, so <c>sha256sum -c</c> over the cache agrees with the tool.
/// </summary>
public sealed class CacheOwnershipTests : IAsyncLifetime, IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private static readonly byte[] Iso = ReliabilityFactory.Random(300_000, 147);
    private static readonly byte[] Precious = "precious: a file outside the cache that a run must never touch\n"u8.ToArray();

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly RecordingEvents _events = new();
    private LoopbackHttpServer _server = null!;

    public CacheOwnershipTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync() => _server = await LoopbackHttpServer.StartAsync(async ctx =>
    {
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = Iso.Length;
        await ctx.Response.Body.WriteAsync(Iso);
    });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private string Outside => _dir.File("outside");

    private string VersionDir => Path.Combine(Cache, "artifacts", Schematic, "v1.11.5");

    private string FinalPath => Path.Combine(VersionDir, "nocloud-amd64.iso");

    private ArtifactRequest Request => new()
    {
        SchematicId = Schematic,
        Version = "v1.11.5",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = "iso",
        FactoryUrl = _server.BaseUrl,
    };

    private Task<TalosArtifact> SaveAsync(bool verify = false) =>
        new ArtifactDownloader(Cache, _events, FastHttp.Options).SaveAsync(Request, new SaveOptions { Verify = verify }, CancellationToken.None);

    /// <summary>A file outside the cache with known content and an old mtime.</summary>
    private string OutsideFile()
    {
        Directory.CreateDirectory(Outside);
        var file = Path.Combine(Outside, "precious.txt");
        File.WriteAllBytes(file, Precious);
        File.SetLastWriteTimeUtc(file, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        return file;
    }

    private void AssertOutsideUnchanged(string file)
    {
        Assert.Equal(Precious, File.ReadAllBytes(file));
        Assert.Equal(new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(file));
        Assert.Equal(new[] { file }, Directory.GetFileSystemEntries(Outside));
    }

    private static bool IsLink(string path) => new FileInfo(path).LinkTarget is not null;

    private static void AssertRefused(TalosException e, string path)
    {
        Assert.Equal("CachePathRefused", e.ErrorId);
        Assert.Equal(TalosErrorKind.SecurityError, e.Kind);
        Assert.Contains(path, e.Message);
    }

    // ---- item 7: planted links and non-regular files -------------------------------------------------------------

    public static TheoryData<string> PlantedFiles => new() { ".part", "", ".meta.json", ".sha256" };

    [SkippableTheory]
    [MemberData(nameof(PlantedFiles))]
    public async Task A_symlink_planted_beside_an_artifact_is_refused_and_its_target_is_untouched(string suffix)
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "symbolic links need a privilege on Windows");
        var target = OutsideFile();
        Directory.CreateDirectory(VersionDir);
        var planted = FinalPath + suffix;
        File.CreateSymbolicLink(planted, target);

        var e = await Assert.ThrowsAsync<TalosException>(() => SaveAsync());

        _output.WriteLine($"{suffix}: {e.ErrorId}: {e.Message}");
        AssertRefused(e, planted);
        AssertOutsideUnchanged(target);
        Assert.True(IsLink(planted)); // refused, not followed, not removed: the operator sees what was planted
        if (suffix.Length > 0)
        {
            Assert.False(File.Exists(FinalPath) || IsLink(FinalPath), $"{FinalPath} exists");
        }
        Assert.Equal(0, _server.Requests);
    }

    public static TheoryData<string> PlantedFolders => new() { "artifacts", "artifacts/" + Schematic, "artifacts/" + Schematic + "/v1.11.5" };

    [SkippableTheory]
    [MemberData(nameof(PlantedFolders))]
    public async Task A_symlinked_folder_in_the_artifact_tree_is_refused_and_nothing_is_written_outside(string folder)
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "symbolic links need a privilege on Windows");
        var target = OutsideFile();
        var planted = Path.Combine(Cache, folder);
        Directory.CreateDirectory(Path.GetDirectoryName(planted)!);
        Directory.CreateSymbolicLink(planted, Outside);

        var e = await Assert.ThrowsAsync<TalosException>(() => SaveAsync());

        _output.WriteLine($"{folder}: {e.ErrorId}: {e.Message}");
        AssertRefused(e, planted);
        AssertOutsideUnchanged(target);
        Assert.Equal(0, _server.Requests);
    }

    [SkippableFact]
    public async Task A_fifo_planted_as_metadata_is_refused_instead_of_hanging_the_run()
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "no FIFOs on Windows");
        Directory.CreateDirectory(VersionDir);
        File.WriteAllBytes(FinalPath, Iso);
        var fifo = FinalPath + ".meta.json";
        Skip.If(ChildProcess.Run("mkfifo", new[] { fifo }).ExitCode != 0, "mkfifo failed");

        var save = SaveAsync();
        var finished = await Task.WhenAny(save, Task.Delay(TimeSpan.FromSeconds(10))) == save;
        if (!finished)
        {
            // Unblock the reader stuck on the FIFO (a writer that closes at once gives it end of file).
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write))
            {
            }
            await Task.WhenAny(save, Task.Delay(TimeSpan.FromSeconds(5)));
        }
        Assert.True(finished, $"the run blocked on the FIFO {fifo}");
        var e = await Assert.ThrowsAsync<TalosException>(() => save);
        _output.WriteLine($"{e.ErrorId}: {e.Message}");
        AssertRefused(e, fifo);
        Assert.Contains("FIFO", e.Message);
    }

    [SkippableFact]
    public async Task A_symlink_planted_at_an_expansion_part_is_refused_and_its_target_is_untouched()
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "symbolic links need a privilege on Windows");
        var target = OutsideFile();
        var (xz, _) = await TestImages.CompressAsync(ReliabilityFactory.Random(200_000, 148), zstdLevel: 1);
        Directory.CreateDirectory(VersionDir);
        var source = Path.Combine(VersionDir, "nocloud-amd64.raw.xz");
        File.WriteAllBytes(source, xz);
        var planted = Path.Combine(VersionDir, "nocloud-amd64.raw.part");
        File.CreateSymbolicLink(planted, target);
        var artifact = new TalosArtifact
        {
            Path = source,
            Url = _server.BaseUrl + "/image/" + Schematic + "/v1.11.5/nocloud-amd64.raw.xz",
            Sha256 = Audit.Sha256(xz),
            Size = xz.Length,
            SchematicId = Schematic,
            Version = "v1.11.5",
            Platform = "nocloud",
            Architecture = "amd64",
            Format = "raw.xz",
            Asset = "nocloud-amd64.raw.xz",
        };

        var e = await Assert.ThrowsAsync<TalosException>(() =>
            new TalosImage.Core.Expansion.ImageExpander(_events).ExpandAsync(artifact, null, CancellationToken.None));

        _output.WriteLine($"{e.ErrorId}: {e.Message}");
        AssertRefused(e, planted);
        AssertOutsideUnchanged(target);
        Assert.True(IsLink(planted));
        Assert.False(File.Exists(Path.Combine(VersionDir, "nocloud-amd64.raw")));
    }

    public static TheoryData<string> LockFiles => new() { CacheLock.LockFileName, CacheLock.OwnerFileName };

    [SkippableTheory]
    [MemberData(nameof(LockFiles))]
    public async Task A_symlink_planted_at_the_lock_is_refused_and_its_target_is_untouched(string name)
    {
        Skip.If(RuntimeInformation.IsOSPlatform(OSPlatform.Windows), "symbolic links need a privilege on Windows");
        var target = OutsideFile();
        Directory.CreateDirectory(Cache);
        var planted = Path.Combine(Cache, name);
        File.CreateSymbolicLink(planted, target);

        var e = await Assert.ThrowsAsync<TalosException>(async () =>
        {
            using var held = await CacheLock.AcquireAsync(Cache, TimeSpan.FromSeconds(2), _events, CancellationToken.None);
        });

        _output.WriteLine($"{name}: {e.ErrorId}: {e.Message}");
        AssertRefused(e, planted);
        AssertOutsideUnchanged(target);
        Assert.True(IsLink(planted));
    }

    // ---- item 8: -Verify restores side files ---------------------------------------------------------------------

    public static TheoryData<string> DamagedSidecars => new() { "missing", "wrong-hash", "wrong-name", "empty-meta-fields" };

    [SkippableTheory]
    [MemberData(nameof(DamagedSidecars))]
    public async Task Verify_restores_damaged_side_files_from_the_verified_hash_so_sha256sum_agrees(string damage)
    {
        Skip.If(!File.Exists("/usr/bin/sha256sum") && !File.Exists("/bin/sha256sum"), "sha256sum is not installed");
        var first = await SaveAsync();
        var sidecar = first.Path + ".sha256";
        var metaPath = first.Path + ".meta.json";
        Assert.Equal(0, SumCheck(sidecar).ExitCode);
        var goodMeta = File.ReadAllText(metaPath);
        switch (damage)
        {
            case "missing":
                File.Delete(sidecar);
                break;
            case "wrong-hash":
                File.WriteAllText(sidecar, new string('0', 64) + "  nocloud-amd64.iso\n");
                break;
            case "wrong-name":
                File.WriteAllText(sidecar, first.Sha256 + "  nocloud-amd64.raw.xz\n");
                break;
            case "empty-meta-fields":
                // The record still matches the file (size, mtime, hash) but lost what it says about it.
                var meta = ArtifactMetadata.TryRead(first.Path)!;
                meta.Asset = "";
                meta.SchematicId = "";
                File.WriteAllText(metaPath, Newtonsoft.Json.JsonConvert.SerializeObject(meta));
                break;
        }
        var before = SumCheck(sidecar);
        _output.WriteLine($"{damage}: before -Verify sha256sum -c exit {before.ExitCode}: {before.Output.Trim()}");

        var verified = await SaveAsync(verify: true);

        Assert.True(verified.FromCache);
        Assert.Equal(1, _server.Requests); // verified, not downloaded again
        var after = SumCheck(sidecar);
        _output.WriteLine($"{damage}: after -Verify sha256sum -c exit {after.ExitCode}: {after.Output.Trim()}");
        Assert.Equal(0, after.ExitCode);
        Assert.Equal($"{Audit.Sha256(Iso)}  nocloud-amd64.iso\n", File.ReadAllText(sidecar));
        var restored = ArtifactMetadata.TryRead(first.Path)!;
        Assert.True(restored.Matches(first.Path));
        Assert.Equal(Audit.Sha256(Iso), restored.Sha256);
        Assert.Equal("nocloud-amd64.iso", restored.Asset);
        Assert.Equal(Schematic, restored.SchematicId);
        Assert.Equal(1, Audit.CacheHoldsOnlyCompleteFiles(Cache));
        if (damage == "missing" || damage.StartsWith("wrong", StringComparison.Ordinal))
        {
            Assert.Equal(goodMeta, File.ReadAllText(metaPath)); // a sound record is left as it was
        }
        Assert.Contains(_events.Warnings, w => w.Contains("restored", StringComparison.Ordinal));
    }

    /// <summary>The real <c>sha256sum -c</c>, run in the artifact's folder as a user would.</summary>
    private static (int ExitCode, string Output) SumCheck(string sidecar)
    {
        var r = ChildProcess.Run("sha256sum", new[] { "-c", Path.GetFileName(sidecar) }, new ChildOptions { WorkingDirectory = Path.GetDirectoryName(sidecar)! });
        return (r.ExitCode, r.Stdout + r.Stderr);
    }
}
