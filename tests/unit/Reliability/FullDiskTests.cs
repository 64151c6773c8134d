using System.Diagnostics;
using TalosImage.Core;
using TalosImage.Core.Orders;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// A full disk under the cache: a small tmpfs mounted as the cache folder (needs root and mount; skipped clearly
/// otherwise). The disk fills while the image is received, and (the narrow case) right after the image is complete,
/// when its metadata is written. Either way the run fails clearly, no file has a final name without being complete and
/// recorded, and once there is space again a re-run finishes.
/// </summary>
public sealed class FullDiskTests : IClassFixture<FaultFactory>, IDisposable
{
    private const int Page = 4096;
    private readonly FaultFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _cache;
    private readonly string? _unavailable;

    public FullDiskTests(FaultFactory images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
        _cache = Path.Combine(_dir.Path, "cache");
        Directory.CreateDirectory(_cache);
        var (code, err) = Mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", _cache);
        _unavailable = code == 0 ? null : $"cannot mount a tmpfs here (mount exit {code}: {err.Trim()})";
    }

    public void Dispose()
    {
        if (_unavailable is null)
        {
            Run("umount", "-l", _cache);
        }
        _dir.Dispose();
    }

    private static (int, string) Mount(params string[] args) => Run("mount", args);

    private static (int Code, string Stderr) Run(string program, params string[] args) => MountTool.Run(program, args);

    private Task<RunResult> RunAsync(string orders) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = _dir.Write("config.yaml", $"""
                defaults:
                  cache_dir: {_cache}
                  lock_timeout: 30
                manifest:
                  dir: {_dir.Path}/manifests
                """),
            OrdersPath = _dir.Write("orders.yaml", orders),
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? _images.Factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    private const string Iso = "- orderid: DISK-1\n  positions:\n    - {name: iso, product: talos, version: v1.11.5, customization: {}}\n";
    private const string MetalIso = "- orderid: DISK-1\n  positions:\n    - {name: iso, product: talos, version: v1.11.5, platform: metal, customization: {}}\n";
    private const string NotServed = "- orderid: DISK-1\n  positions:\n    - {name: x, product: talos, version: v1.11.5, image_format: raw.zst, customization: {}}\n";

    private static void AssertFailedCleanly(RunResult r, ITestOutputHelper output, string cache)
    {
        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("Failed", Assert.Single(r.Orders).Status);
        var failure = Assert.Single(r.Failures);
        Assert.Contains("No space left on device", failure.Message);
        Assert.DoesNotContain("   at ", failure.Message);
        output.WriteLine($"outcome: exit {r.ExitCode}, {failure.ErrorId}: {failure.Message}");
        Audit.CacheHoldsOnlyCompleteFiles(cache);
        Assert.Empty(Directory.GetFiles(cache, "*.iso", SearchOption.AllDirectories));
    }

    [SkippableFact]
    public async Task An_image_larger_than_the_free_space_fails_clearly_and_a_rerun_with_space_finishes()
    {
        Skip.If(_unavailable is not null, _unavailable);

        var full = await RunAsync(MetalIso); // 3 MiB into a 2 MiB tmpfs
        AssertFailedCleanly(full, _output, _cache);

        Assert.Equal(0, Mount("-o", "remount,size=16m", _cache).Item1);
        var again = await RunAsync(MetalIso);

        Assert.True(again.ExitCode == 0, string.Join("\n", again.Failures.Select(f => f.Message)));
        var iso = Assert.Single(Directory.GetFiles(_cache, "*.iso", SearchOption.AllDirectories));
        Assert.Equal(Audit.Sha256(_images.MetalIso), Audit.Sha256(iso));
        Assert.Equal(1, Audit.CacheHoldsOnlyCompleteFiles(_cache));
    }

    [SkippableTheory]
    [InlineData(-1)] // the image's last page does not fit
    [InlineData(0)]  // the .sha256 does not fit
    [InlineData(1)]  // the .meta.json does not fit
    public async Task A_disk_that_fills_when_the_metadata_is_written_leaves_no_unrecorded_final_file(int slackPages)
    {
        Skip.If(_unavailable is not null, _unavailable);
        // A first run that downloads nothing leaves what every run keeps in the cache root (the version list, the lock file).
        Assert.Equal(ExitCodes.Failed, (await RunAsync(NotServed)).ExitCode);
        // Fill the disk so that the image's pages fit, plus the lock and its owner file, plus slackPages: the side files
        // (.sha256, .meta.json) written with the image find the disk full (with -1 the image itself does not fit).
        var free = new DriveInfo(_cache).AvailableFreeSpace / Page;
        var fill = free - _images.Iso.Length / Page - 2 - slackPages;
        var filler = Path.Combine(_cache, "filler");
        using (var f = File.Create(filler))
        {
            var zeros = new byte[Page];
            for (var i = 0; i < fill; i++)
            {
                f.Write(zeros);
            }
        }

        var full = await RunAsync(Iso);
        AssertFailedCleanly(full, _output, _cache);

        File.Delete(filler);
        var again = await RunAsync(Iso);

        Assert.True(again.ExitCode == 0, string.Join("\n", again.Failures.Select(f => f.Message)));
        Assert.Equal(Audit.Sha256(_images.Iso), Audit.Sha256(Assert.Single(Directory.GetFiles(_cache, "*.iso", SearchOption.AllDirectories))));
        Assert.Equal(1, Audit.CacheHoldsOnlyCompleteFiles(_cache));
    }
}
