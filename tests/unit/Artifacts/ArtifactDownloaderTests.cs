using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Http;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Artifacts;

public sealed class ArtifactDownloaderTests : IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    private const string ImagePath = "/image/" + Schematic + "/v1.11.5/nocloud-amd64.raw.xz";

    private static readonly HttpOptions Fast = new()
    {
        BaseDelay = TimeSpan.FromMilliseconds(5),
        MaxDelay = TimeSpan.FromMilliseconds(20),
        MaxAttempts = 3,
        ReadTimeout = TimeSpan.FromSeconds(10),
        HeadersTimeout = TimeSpan.FromSeconds(20),
    };

    private readonly string _cache = Path.Combine(Path.GetTempPath(), "talosimage-dl-" + Guid.NewGuid().ToString("N")[..10]);
    private readonly RecordingEvents _events = new();

    public void Dispose()
    {
        if (Directory.Exists(_cache))
        {
            Directory.Delete(_cache, recursive: true);
        }
    }

    /// <summary>3 MiB + a bit of non-repeating bytes (more than two of the downloader's 1 MiB blocks).</summary>
    private static readonly byte[] Data = MakeData(3 * 1024 * 1024 + 12345);

    private static byte[] MakeData(int length)
    {
        var data = new byte[length];
        new Random(42).NextBytes(data);
        return data;
    }

    private static string Sha(byte[] data) => Convert.ToHexString(SHA256.HashData(data)).ToLowerInvariant();

    private static ArtifactRequest RequestFor(LoopbackHttpServer server) => new()
    {
        SchematicId = Schematic,
        Version = "v1.11.5",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = "raw.xz",
        FactoryUrl = server.BaseUrl,
    };

    private ArtifactDownloader Downloader(HttpOptions? http = null) => new(_cache, _events, http ?? Fast);

    private string ExpectedPath => Path.Combine(_cache, "artifacts", Schematic, "v1.11.5", "nocloud-amd64.raw.xz");

    /// <summary>
    /// Serves <paramref name="data"/> (or its tail for a Range request when <paramref name="ranges"/>, with a strong
    /// ETag: without one a transfer is never resumed).
    /// </summary>
    private static async Task Serve(HttpContext ctx, byte[] data, bool ranges, int? dropAfter = null)
    {
        long start = 0;
        if (ranges)
        {
            ctx.Response.Headers.AcceptRanges = "bytes";
            ctx.Response.Headers.ETag = "\"v1\"";
            var range = ctx.Request.Headers.Range.ToString();
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                start = long.Parse(range["bytes=".Length..^1]);
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers.ContentRange = $"bytes {start}-{data.Length - 1}/{data.Length}";
            }
        }
        ctx.Response.ContentLength = data.Length - start;
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.Headers.ContentDisposition = "attachment; filename=../../evil.raw.xz";
        var end = dropAfter is { } d ? Math.Min(d, data.Length) : data.Length;
        await ctx.Response.Body.WriteAsync(data.AsMemory((int)start, (int)(end - start)));
        if (dropAfter is not null)
        {
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(50);
            ctx.Abort();
        }
    }

    [Fact]
    public async Task Downloads_hashes_and_records_metadata_and_a_sha256sum_file()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => ctx.Request.Path == ImagePath ? Serve(ctx, Data, ranges: false) : NotFound(ctx));
        var downloader = Downloader();

        var artifact = await downloader.SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        Assert.Equal(ExpectedPath, artifact.Path);
        Assert.False(artifact.FromCache);
        Assert.Equal(Sha(Data), artifact.Sha256);
        Assert.Equal(Data.Length, artifact.Size);
        Assert.Equal("raw.xz", artifact.Format);
        Assert.Equal(server.BaseUrl + ImagePath, artifact.Url);
        Assert.StartsWith("127.0.0.1:", artifact.InstallerImage);
        Assert.Contains("/nocloud-installer/" + Schematic + ":v1.11.5", artifact.InstallerImage);
        Assert.Equal(Data, File.ReadAllBytes(artifact.Path));
        Assert.Equal($"{Sha(Data)}  nocloud-amd64.raw.xz\n", File.ReadAllText(artifact.Path + ".sha256"));
        var meta = ArtifactMetadata.TryRead(artifact.Path)!;
        Assert.Equal(Sha(Data), meta.Sha256);
        Assert.Equal(Data.Length, meta.Size);
        Assert.Equal(Schematic, meta.SchematicId);
        Assert.Equal("v1.11.5", meta.Version);
        Assert.Equal("nocloud-amd64.raw.xz", meta.Asset);
        Assert.Equal("Downloaded", meta.Kind);
        Assert.Equal(server.BaseUrl + ImagePath, meta.Url);
        Assert.True(meta.Matches(artifact.Path));
        Assert.False(File.Exists(artifact.Path + ".part"));
        Assert.False(File.Exists(Path.Combine(_cache, "artifacts", Schematic, "evil.raw.xz")));
        Assert.Equal(Data.Length, downloader.BytesDownloaded);
        Assert.Contains(_events.Progress, p => p.Completed);
        Assert.Contains(_events.Progress, p => p.BytesTotal == Data.Length && p.PercentComplete == 100 && !p.Completed);
    }

    [Fact]
    public async Task A_connection_dropped_midway_is_retried_to_a_complete_correct_file()
    {
        var calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
            Interlocked.Increment(ref calls) == 1 ? Serve(ctx, Data, ranges: false, dropAfter: Data.Length / 2) : Serve(ctx, Data, ranges: false));

        var artifact = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        Assert.Equal(2, server.Requests);
        Assert.Equal(Sha(Data), artifact.Sha256);
        Assert.Equal(Data, File.ReadAllBytes(artifact.Path));
        Assert.Contains(_events.Warnings, w => w.Contains("transfer broke"));
    }

    [Fact]
    public async Task A_direct_answer_without_ranges_that_drops_restarts_from_zero()
    {
        var ranges = new ConcurrentQueue<string>();
        var calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            ranges.Enqueue(ctx.Request.Headers.Range.ToString());
            return Interlocked.Increment(ref calls) == 1 ? Serve(ctx, Data, ranges: false, dropAfter: Data.Length - 1000) : Serve(ctx, Data, ranges: false);
        });

        var artifact = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        Assert.Equal(new[] { "", "" }, ranges.ToArray());
        Assert.Equal(Data, File.ReadAllBytes(artifact.Path));
        Assert.Equal(Sha(Data), artifact.Sha256);
    }

    [Fact]
    public async Task A_redirect_to_a_range_capable_cdn_that_drops_is_resumed_with_Range()
    {
        var cdnRanges = new ConcurrentQueue<string>();
        var cdnCalls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            if (ctx.Request.Path == ImagePath)
            {
                ctx.Response.Redirect("/cdn/blob?X-Amz-Signature=s3cr3t");
                return Task.CompletedTask;
            }
            cdnRanges.Enqueue(ctx.Request.Headers.Range.ToString());
            return Interlocked.Increment(ref cdnCalls) == 1
                ? Serve(ctx, Data, ranges: true, dropAfter: Data.Length - 5000)
                : Serve(ctx, Data, ranges: true);
        });
        var downloader = Downloader();

        var artifact = await downloader.SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        var seen = cdnRanges.ToArray();
        Assert.Equal(2, seen.Length);
        Assert.Equal("", seen[0]);
        Assert.StartsWith("bytes=", seen[1]);
        var resumedAt = long.Parse(seen[1]["bytes=".Length..^1]);
        Assert.True(resumedAt > 0, seen[1]);
        Assert.Equal(Sha(Data), artifact.Sha256);
        Assert.Equal(Data, File.ReadAllBytes(artifact.Path));
        // The kept prefix was not fetched again: the two transfers add up to the file.
        Assert.Equal(Data.Length, downloader.BytesDownloaded);
        Assert.Equal(server.BaseUrl + ImagePath, ArtifactMetadata.TryRead(artifact.Path)!.Url);
        Assert.DoesNotContain(_events.Messages, m => m.Contains("s3cr3t"));
    }

    [Fact]
    public async Task A_truncated_body_fails_and_leaves_no_final_file()
    {
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            ctx.Response.ContentLength = Data.Length;
            await ctx.Response.Body.WriteAsync(Data.AsMemory(0, Data.Length / 2));
        });

        var e = await Assert.ThrowsAsync<TalosException>(() =>
            Downloader(Fast with { MaxAttempts = 2 }).SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));

        Assert.Equal("DownloadFailed", e.ErrorId);
        Assert.Equal(2, server.Requests);
        Assert.False(File.Exists(ExpectedPath));
        Assert.False(File.Exists(ExpectedPath + ".meta.json"));
        Assert.False(File.Exists(ExpectedPath + ".sha256"));
    }

    [Fact]
    public async Task A_body_longer_than_announced_fails_and_leaves_no_final_file()
    {
        // First answer breaks midway with Accept-Ranges; the resumed 206 (chunked, no Content-Length) then sends more
        // bytes than its Content-Range announces.
        var calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                await Serve(ctx, Data, ranges: true, dropAfter: Data.Length - 5000);
                return;
            }
            var range = ctx.Request.Headers.Range.ToString();
            var start = int.Parse(range["bytes=".Length..^1]);
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers.AcceptRanges = "bytes";
            ctx.Response.Headers.ETag = "\"v1\"";
            ctx.Response.Headers.ContentRange = $"bytes {start}-{Data.Length - 1}/{Data.Length}";
            await ctx.Response.Body.WriteAsync(Data.AsMemory(start));
            await ctx.Response.Body.WriteAsync(new byte[4096]);
        });

        var e = await Assert.ThrowsAsync<TalosException>(() =>
            Downloader(Fast with { MaxAttempts = 2 }).SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));

        Assert.Equal("DownloadFailed", e.ErrorId);
        Assert.Contains("longer than the announced", e.Message);
        Assert.False(File.Exists(ExpectedPath));
        Assert.False(File.Exists(ExpectedPath + ".meta.json"));
    }

    [Fact]
    public async Task A_server_error_then_success_downloads_the_file()
    {
        var calls = 0;
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                ctx.Response.StatusCode = 500;
                return Task.CompletedTask;
            }
            return Serve(ctx, Data, ranges: false);
        });

        var artifact = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        Assert.Equal(2, server.Requests);
        Assert.Equal(Sha(Data), artifact.Sha256);
    }

    [Fact]
    public async Task Not_found_names_the_url_without_its_query()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx =>
        {
            if (ctx.Request.Path == ImagePath)
            {
                ctx.Response.Redirect("/cdn/blob?X-Amz-Signature=s3cr3t");
                return Task.CompletedTask;
            }
            return NotFound(ctx);
        });

        var e = await Assert.ThrowsAsync<TalosException>(() => Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));

        Assert.Equal("Http404", e.ErrorId);
        Assert.Equal(TalosErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains(server.BaseUrl + "/cdn/blob", e.Message);
        Assert.DoesNotContain("s3cr3t", e.Message);
        Assert.Equal(2, server.Requests); // 404 is not retried
        Assert.False(File.Exists(ExpectedPath));
    }

    [Fact]
    public async Task A_failed_download_removes_the_folders_it_created()
    {
        await using var server = await LoopbackHttpServer.StartAsync(NotFound);
        Directory.CreateDirectory(_cache);
        File.WriteAllText(Path.Combine(_cache, ".lock"), ""); // a cache folder as the lock leaves it

        var e = await Assert.ThrowsAsync<TalosException>(() => Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));

        Assert.Equal("Http404", e.ErrorId);
        Assert.False(Directory.Exists(Path.Combine(_cache, "artifacts", Schematic, "v1.11.5")));
        Assert.False(Directory.Exists(Path.Combine(_cache, "artifacts", Schematic)));
        Assert.False(Directory.Exists(Path.Combine(_cache, "artifacts")));
        Assert.True(File.Exists(Path.Combine(_cache, ".lock"))); // the cache folder itself was there before
    }

    [Fact]
    public async Task A_failed_download_keeps_folders_that_were_there_or_hold_anything_else()
    {
        await using var server = await LoopbackHttpServer.StartAsync(NotFound);
        var schematicDir = Path.Combine(_cache, "artifacts", Schematic);
        var other = Path.Combine(schematicDir, "v1.10.7", "nocloud-amd64.iso");
        Directory.CreateDirectory(Path.GetDirectoryName(other)!);
        File.WriteAllText(other, "another version");
        var emptyBefore = Path.Combine(_cache, "artifacts", Schematic, "v1.11.5");
        var downloader = Downloader();

        // A new version folder is removed; the schematic folder, which holds another version, stays.
        await Assert.ThrowsAsync<TalosException>(() => downloader.SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));
        Assert.False(Directory.Exists(emptyBefore));
        Assert.True(File.Exists(other));

        // A folder that was there before the download, even empty, is not the downloader's to remove.
        Directory.CreateDirectory(emptyBefore);
        await Assert.ThrowsAsync<TalosException>(() => downloader.SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None));
        Assert.True(Directory.Exists(emptyBefore));

        // A folder the download created but that holds another file by now stays, with the file.
        Directory.Delete(emptyBefore);
        await using var slow = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            File.WriteAllText(Path.Combine(emptyBefore, "metal-amd64.iso"), "saved meanwhile");
            await NotFound(ctx);
        });
        await Assert.ThrowsAsync<TalosException>(() => downloader.SaveAsync(RequestFor(slow), new SaveOptions(), CancellationToken.None));
        Assert.Equal("saved meanwhile", File.ReadAllText(Path.Combine(emptyBefore, "metal-amd64.iso")));
    }

    [Fact]
    public async Task A_cache_hit_sends_no_request()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => Serve(ctx, Data, ranges: false));
        var first = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);
        Assert.Equal(1, server.Requests);

        var again = Downloader();
        var second = await again.SaveAsync(RequestFor(server) with { SchematicId = Schematic.ToUpperInvariant(), Version = "1.11.5" }, new SaveOptions(), CancellationToken.None);

        Assert.True(second.FromCache);
        Assert.Equal(first.Path, second.Path);
        Assert.Equal(first.Sha256, second.Sha256);
        Assert.Equal(1, server.Requests);
        Assert.Equal(0, again.BytesDownloaded);
        Assert.NotNull(again.TryGetCached(RequestFor(server)));
    }

    [Fact]
    public async Task Verify_finds_a_corrupt_cached_file_and_replaces_it()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => Serve(ctx, Data, ranges: false));
        var first = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);
        var mtime = File.GetLastWriteTimeUtc(first.Path);
        var corrupt = (byte[])Data.Clone();
        corrupt[12345] ^= 0xFF;
        File.WriteAllBytes(first.Path, corrupt);
        File.SetLastWriteTimeUtc(first.Path, mtime);

        // Without -Verify the metadata decides: same size and mtime is a hit, nothing is re-read.
        var unverified = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);
        Assert.True(unverified.FromCache);
        Assert.Equal(1, server.Requests);

        var verified = await Downloader().SaveAsync(RequestFor(server), new SaveOptions { Verify = true }, CancellationToken.None);

        Assert.False(verified.FromCache);
        Assert.Equal(2, server.Requests);
        Assert.Equal(Sha(Data), verified.Sha256);
        Assert.Equal(Data, File.ReadAllBytes(verified.Path));
        Assert.Contains(_events.Warnings, w => w.Contains("corrupt"));

        // A sound file passes -Verify without a download.
        var sound = await Downloader().SaveAsync(RequestFor(server), new SaveOptions { Verify = true }, CancellationToken.None);
        Assert.True(sound.FromCache);
        Assert.Equal(2, server.Requests);
    }

    [Fact]
    public async Task Force_downloads_again_and_a_touched_file_is_not_a_hit()
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => Serve(ctx, Data, ranges: false));
        var first = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);

        var forced = await Downloader().SaveAsync(RequestFor(server), new SaveOptions { Force = true }, CancellationToken.None);
        Assert.False(forced.FromCache);
        Assert.Equal(2, server.Requests);

        File.SetLastWriteTimeUtc(first.Path, DateTime.UtcNow.AddHours(-3));
        var touched = await Downloader().SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);
        Assert.False(touched.FromCache);
        Assert.Equal(3, server.Requests);
        Assert.Equal(Sha(Data), touched.Sha256);
    }

    [Fact]
    public async Task Concurrent_saves_of_one_artifact_share_one_download()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            await gate.Task;
            await Serve(ctx, Data, ranges: false);
        });
        var downloader = Downloader();

        var a = downloader.SaveAsync(RequestFor(server), new SaveOptions(), CancellationToken.None);
        var b = downloader.SaveAsync(RequestFor(server) with { Format = " RAW.XZ " }, new SaveOptions(), CancellationToken.None);
        gate.SetResult();
        var results = await Task.WhenAll(a, b);

        Assert.Equal(1, server.Requests);
        Assert.Equal(results[0].Path, results[1].Path);
        Assert.Equal(Sha(Data), results[1].Sha256);
        Assert.Equal(Data.Length, downloader.BytesDownloaded);
    }

    [Theory]
    [InlineData("../../etc", "v1.11.5", "nocloud", "iso")]
    [InlineData(Schematic, "latest", "nocloud", "iso")]
    [InlineData(Schematic, "v1.11.5", "../x", "iso")]
    [InlineData(Schematic, "v1.11.5", "nocloud", "exe")]
    [InlineData(Schematic, "v1.11.5", "nocloud", "rawxz")] // talos_order.py's alias is for orders files only
    public async Task Bad_requests_fail_before_any_request(string schematic, string version, string platform, string format)
    {
        await using var server = await LoopbackHttpServer.StartAsync(ctx => Serve(ctx, Data, ranges: false));
        var request = RequestFor(server) with { SchematicId = schematic, Version = version, Platform = platform, Format = format };

        var e = await Assert.ThrowsAsync<TalosException>(() => Downloader().SaveAsync(request, new SaveOptions(), CancellationToken.None));

        Assert.Contains(e.ErrorId, new[] { "InvalidArtifactRequest", "InvalidVersion" });
        Assert.Equal(0, server.Requests);
    }

    private static Task NotFound(HttpContext ctx)
    {
        ctx.Response.StatusCode = 404;
        return ctx.Response.WriteAsync("no such image");
    }
}

/// <summary>Collects engine events for assertions.</summary>
public sealed class RecordingEvents : IEngineEvents
{
    public ConcurrentQueue<EngineProgress> Progress { get; } = new();
    public ConcurrentQueue<string> Warnings { get; } = new();
    public ConcurrentQueue<string> Verbose { get; } = new();
    public IEnumerable<string> Messages => Warnings.Concat(Verbose);

    void IEngineEvents.Progress(EngineProgress progress) => Progress.Enqueue(progress);
    void IEngineEvents.Verbose(string message) => Verbose.Enqueue(message);
    void IEngineEvents.Warning(string message) => Warnings.Enqueue(message);
}
