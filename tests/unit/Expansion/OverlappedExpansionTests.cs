using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using TalosImage.Core;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Tests.Reliability;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Expansion;

/// <summary>
/// A disk image (14 MiB: random, text-like and zero regions, eight identical non-zero 1 MiB blocks and one that differs
/// from them in one byte) as the factory serves it: raw.xz in 1 MiB blocks with sizes in the block headers (xz -T2),
/// raw.zst; and a single-block raw.xz (xz -T1: no sizes in its header, cannot be decoded as it arrives).
/// </summary>
public sealed class OverlapImages : IAsyncLifetime
{
    public FakeImageFactory Factory { get; private set; } = null!;
    public byte[] Raw { get; private set; } = Array.Empty<byte>();
    public byte[] RawXz { get; private set; } = Array.Empty<byte>();
    public byte[] RawXzSingle { get; private set; } = Array.Empty<byte>();
    public byte[] RawZst { get; private set; } = Array.Empty<byte>();

    /// <summary>What the factory serves as raw.xz (multi-block unless a test says otherwise).</summary>
    public bool SingleBlock { get; set; }

    public async Task InitializeAsync()
    {
        Raw = new byte[14 << 20];
        var rng = new Random(1806);
        // the first MiB random: its xz block is larger than 1 MiB (the streaming decoder's buffer grows under a block header it has read)
        rng.NextBytes(Raw.AsSpan(0, 1 << 20));
        for (var i = 1 << 20; i < (2 << 20); i++)
        {
            Raw[i] = (byte)('a' + rng.Next(8));
        }
        // blocks 3 to 11: the same non-zero MiB, except that block 11 differs from it in one byte (the decoder keeps a
        // block seen decoded twice: with one worker per core, eight repeats reach past the workers in flight)
        var same = new byte[1 << 20];
        rng.NextBytes(same.AsSpan(0, 100 << 10));
        for (var b = 3; b <= 11; b++)
        {
            same.CopyTo(Raw, b << 20);
        }
        Raw[(11 << 20) + 5000] ^= 0x5A;
        var dir = new TempDir();
        try
        {
            var file = dir.File("disk.raw");
            await File.WriteAllBytesAsync(file, Raw);
            TestImages.Run("sh", "-c", "xz -0 -T2 --block-size=1MiB -c \"$1\" > \"$1.xz\" && xz -0 -T1 -c \"$1\" > \"$1.single.xz\" && zstd -q -1 -c \"$1\" > \"$1.zst\"", "sh", file);
            RawXz = await File.ReadAllBytesAsync(file + ".xz");
            RawXzSingle = await File.ReadAllBytesAsync(file + ".single.xz");
            RawZst = await File.ReadAllBytesAsync(file + ".zst");
        }
        finally
        {
            dir.Dispose();
        }
        Factory = await FakeImageFactory.StartAsync();
        Factory.Images = (_, _, asset) =>
            asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? (SingleBlock ? RawXzSingle : RawXz)
            : asset.EndsWith(".raw.zst", StringComparison.Ordinal) ? RawZst
            : null;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>
/// Order positions that expand what they download (decompress_raw): the expansion takes the body as it arrives, and the
/// result is the one the sequential path gives (bytes, SHA-256, the expanded record's source SHA-256, size and
/// decoder); a failed or restarted transfer leaves nothing of it; a slow server changes nothing but the time.
/// </summary>
[Collection("overlap")]
public sealed class OverlappedExpansionTests : IClassFixture<OverlapImages>, IDisposable
{
    private readonly OverlapImages _images;
    private readonly TempDir _dir = new();
    private readonly string _config;

    public OverlappedExpansionTests(OverlapImages images)
    {
        _images = images;
        _config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_dir.Path}/cache
              lock_timeout: 30
            manifest:
              dir: {_dir.Path}/manifests
            """);
    }

    private FakeImageFactory Factory => _images.Factory;

    private string Cache => Path.Combine(_dir.Path, "cache");

    public void Dispose()
    {
        Factory.ImageFault = null;
        _images.SingleBlock = false;
        _dir.Dispose();
    }

    private async Task<(RunResult Result, Events Events)> RunAsync(string formats, HttpOptions? http = null)
    {
        // each format its own version: its own cache folder, so its own expanded file
        var positions = string.Concat(formats.Split(',').Select(f =>
            $"    - {{name: {f.Replace('.', '-')}, product: talos, version: {(f == "raw.zst" && formats.Contains(',') ? "v1.11.4" : "v1.11.5")}, image_format: {f}, decompress_raw: true, customization: {{}}}}\n"));
        var orders = _dir.Write("orders.yaml", "- orderid: OVERLAP-1\n  positions:\n" + positions);
        var events = new Events();
        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = _config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = http ?? FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, events).RunAsync(CancellationToken.None);
        return (result, events);
    }

    private string Expanded(string name) => Assert.Single(Directory.GetFiles(Cache, name, SearchOption.AllDirectories));

    /// <summary>No file of an expansion or a download under a final or temporary name.</summary>
    private void AssertNothingLeft()
    {
        var left = Directory.Exists(Cache)
            ? Directory.GetFiles(Cache, "*", SearchOption.AllDirectories).Where(f => f.Contains(".raw", StringComparison.Ordinal)).ToList()
            : new List<string>();
        Assert.True(left.Count == 0, "left: " + string.Join(", ", left));
    }

    [Theory]
    [InlineData("raw.xz", "nocloud-amd64.raw")]
    [InlineData("raw.zst", "nocloud-amd64.raw")]
    public async Task The_expansion_runs_as_the_body_arrives_and_equals_a_local_expansion(string format, string expandedName)
    {
        var (result, events) = await RunAsync(format);

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Contains(events.Verbose, m => m.Contains("as it downloads", StringComparison.Ordinal));
        Assert.Contains(events.Verbose, m => m.Contains("expanded while downloading", StringComparison.Ordinal));
        Assert.DoesNotContain(events.Verbose, m => m.Contains("was dropped", StringComparison.Ordinal));
        var expanded = Expanded(expandedName);
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(expanded));
        Audit.CacheHoldsOnlyCompleteFiles(Cache);
        Assert.False(File.Exists(expanded + ImageExpander.PartSuffix));
        var download = Assert.Single(Directory.GetFiles(Cache, "*." + format, SearchOption.AllDirectories));
        var downloadMeta = ArtifactMetadata.TryRead(download)!;
        var meta = ArtifactMetadata.TryRead(expanded)!;
        Assert.Equal("Expanded", meta.Kind);
        Assert.Equal(downloadMeta.Sha256, meta.SourceSha256);
        Assert.Equal(Audit.Sha256(File.ReadAllBytes(download)), meta.SourceSha256);

        // the same download expanded locally afterwards (the sequential path) records the same
        var local = Path.Combine(_dir.Path, "local", expandedName);
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        var again = await new ImageExpander(NullEngineEvents.Instance, new ExpandOptions { Force = true })
            .ExpandAsync(ImageExpander.DescribeSource(download, null), local, CancellationToken.None);
        var localMeta = ArtifactMetadata.TryRead(local)!;
        Assert.Equal(localMeta.Sha256, meta.Sha256);
        Assert.Equal(localMeta.Size, meta.Size);
        Assert.Equal(localMeta.SourceSha256, meta.SourceSha256);
        Assert.Equal(localMeta.Decompressor, meta.Decompressor);
        Assert.Equal(localMeta.Format, meta.Format);
        Assert.Equal(localMeta.Url, meta.Url);
        Assert.Equal(localMeta.SchematicId, meta.SchematicId);
        Assert.Equal(localMeta.Version, meta.Version);
        Assert.Equal(again.Sha256, meta.Sha256);

        // the order's manifest names the expansion as after the expansion stage
        Assert.Contains(meta.Sha256, File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-OVERLAP-1.yaml")));
    }

    [Fact]
    public async Task Repeated_blocks_are_copied_and_a_block_differing_in_one_byte_is_decoded()
    {
        var (result, events) = await RunAsync("raw.xz");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains(events.Verbose, m => m.Contains("repeats of an earlier (non-zero) block", StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(Expanded("nocloud-amd64.raw"));
        Assert.Equal(_images.Raw.Length, bytes.Length);
        for (var b = 3; b <= 11; b++)
        {
            Assert.True(bytes.AsSpan(b << 20, 1 << 20).SequenceEqual(_images.Raw.AsSpan(b << 20, 1 << 20)), $"block {b} differs");
        }
        Assert.NotEqual(bytes[(10 << 20) + 5000], bytes[(11 << 20) + 5000]);
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(bytes));
    }

    [Theory]
    [InlineData("raw.xz")]
    [InlineData("raw.zst")]
    public async Task A_body_cut_short_every_time_leaves_neither_file_nor_a_temporary_one(string format)
    {
        var bytes = format == "raw.xz" ? _images.RawXz : _images.RawZst;
        Factory.ImageFault = async (ctx, served) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = served.Length;
            await ctx.Response.Body.WriteAsync(served.AsMemory(0, served.Length * 2 / 3));
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
            return true;
        };

        var (result, _) = await RunAsync(format);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("DownloadFailed", Assert.Single(result.Failures).ErrorId);
        AssertNothingLeft();
        Assert.Empty(Directory.GetFiles(Cache, "*." + format, SearchOption.AllDirectories));
        Assert.True(bytes.Length > 0);
    }

    [Fact]
    public async Task A_transfer_that_restarts_drops_the_overlapped_expansion_and_expands_afterwards()
    {
        var gets = 0;
        Factory.ImageFault = async (ctx, served) =>
        {
            if (Interlocked.Increment(ref gets) > 1)
            {
                return false;
            }
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = served.Length;
            await ctx.Response.Body.WriteAsync(served.AsMemory(0, served.Length / 2));
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
            return true;
        };

        var (result, events) = await RunAsync("raw.xz");

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Contains(events.Verbose, m => m.Contains("the expansion during the download was dropped", StringComparison.Ordinal));
        Assert.DoesNotContain(events.Verbose, m => m.Contains("expanded while downloading", StringComparison.Ordinal));
        var expanded = Expanded("nocloud-amd64.raw");
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(expanded));
        Audit.CacheHoldsOnlyCompleteFiles(Cache);
    }

    [Fact]
    public async Task A_slow_server_gives_the_same_result()
    {
        // about 2 MB/s in 32 KiB writes
        Factory.ImageFault = async (ctx, served) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = served.Length;
            for (var at = 0; at < served.Length; at += 32 << 10)
            {
                await ctx.Response.Body.WriteAsync(served.AsMemory(at, Math.Min(32 << 10, served.Length - at)));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(15);
            }
            return true;
        };

        var (result, events) = await RunAsync("raw.xz,raw.zst");

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.True(2 == events.Verbose.Count(m => m.Contains("expanded while downloading", StringComparison.Ordinal)), string.Join("\n", events.Verbose));
        foreach (var file in Directory.GetFiles(Cache, "*.raw", SearchOption.AllDirectories))
        {
            Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(file));
        }
        Assert.Equal(2, Directory.GetFiles(Cache, "*.raw", SearchOption.AllDirectories).Length);
        Audit.CacheHoldsOnlyCompleteFiles(Cache);
    }

    [Fact]
    public async Task A_single_block_raw_xz_cannot_stream_and_is_expanded_after_the_download()
    {
        _images.SingleBlock = true;

        var (result, events) = await RunAsync("raw.xz");

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Contains(events.Verbose, m => m.Contains("cannot be decoded as it arrives", StringComparison.Ordinal));
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(Expanded("nocloud-amd64.raw")));
        Audit.CacheHoldsOnlyCompleteFiles(Cache);
    }

    private sealed class Events : IEngineEvents
    {
        public ConcurrentQueue<string> Verbose { get; } = new();

        void IEngineEvents.Progress(EngineProgress progress)
        {
        }

        void IEngineEvents.Verbose(string message) => Verbose.Enqueue(message);

        void IEngineEvents.Warning(string message) => Verbose.Enqueue(message);
    }
}
