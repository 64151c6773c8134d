using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Tests.Artifacts;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Issue 14, items 3 and 4: a downloaded file is exactly one whole file. A body whose end cannot be told from a cut
/// connection, or one sent in a content coding, never lands under a final name; a cut transfer is resumed only with a
/// strong validator and a Content-Range of the same total, and otherwise starts again from byte 0, so a server that now
/// serves other bytes never produces a spliced file. Bytes downloaded are counted once per transfer.
/// </summary>
public sealed class DownloadIntegrityTests : IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
    private const int Mib = 1 << 20;

    private static readonly HttpOptions Fast = FastHttp.Options with { ReadTimeout = TimeSpan.FromSeconds(5) };

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly RecordingEvents _events = new();

    public DownloadIntegrityTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _dir.Dispose();

    private string Cache => _dir.File("cache");

    private string FinalPath => Path.Combine(Cache, "artifacts", Schematic, "v1.11.5", "nocloud-amd64.iso");

    private static ArtifactRequest RequestFor(string baseUrl) => new()
    {
        SchematicId = Schematic,
        Version = "v1.11.5",
        Platform = "nocloud",
        Architecture = "amd64",
        Format = "iso",
        FactoryUrl = baseUrl,
    };

    private Task<TalosArtifact> SaveAsync(string baseUrl, HttpOptions? http = null) =>
        new ArtifactDownloader(Cache, _events, http ?? Fast).SaveAsync(RequestFor(baseUrl), new SaveOptions(), CancellationToken.None);

    /// <summary>No file under the final name and no side file says the download is complete.</summary>
    private void AssertNothingFinal()
    {
        Assert.False(File.Exists(FinalPath), $"{FinalPath} exists");
        Assert.False(File.Exists(FinalPath + ".meta.json"));
        Assert.False(File.Exists(FinalPath + ".sha256"));
        Assert.Equal(0, Audit.CacheHoldsOnlyCompleteFiles(Cache));
    }

    // ---- item 3: framing and content codings -------------------------------------------------------------------

    /// <summary>
    /// A raw HTTP/1.1 server on 127.0.0.1: every connection gets a 200 without Content-Length or chunked framing and
    /// half of the 1 MiB image, then a close (Kestrel always frames its answers, so it cannot send this).
    /// </summary>
    private sealed class CloseDelimitedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _connections;

        public CloseDelimitedServer(byte[] body)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    }
                    catch (Exception) when (_stop.IsCancellationRequested)
                    {
                        return;
                    }
                    Interlocked.Increment(ref _connections);
                    using (client)
                    {
                        var stream = client.GetStream();
                        var seen = new List<byte>();
                        var one = new byte[1];
                        while (!EndsWithBlankLine(seen) && await stream.ReadAsync(one) == 1)
                        {
                            seen.Add(one[0]);
                        }
                        var head = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
                        await stream.WriteAsync(head);
                        await stream.WriteAsync(body.AsMemory(0, body.Length / 2));
                        await stream.FlushAsync();
                    }
                }
            });
        }

        public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public int Connections => Volatile.Read(ref _connections);

        private static bool EndsWithBlankLine(List<byte> b) =>
            b.Count >= 4 && b[^4] == '\r' && b[^3] == '\n' && b[^2] == '\r' && b[^1] == '\n';

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _loop;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task A_body_without_Content_Length_ended_by_a_connection_close_is_never_cached_as_complete()
    {
        var iso = ReliabilityFactory.Random(Mib, 141);
        await using var server = new CloseDelimitedServer(iso);

        var e = await Assert.ThrowsAsync<TalosException>(() => SaveAsync(server.BaseUrl));

        _output.WriteLine($"{e.ErrorId}: {e.Message} ({server.Connections} connection(s))");
        Assert.Equal("DownloadProtocolError", e.ErrorId);
        Assert.Contains("Content-Length", e.Message);
        Assert.Contains(server.BaseUrl + "/image/", e.Message);
        AssertNothingFinal();
    }

    [Fact]
    public async Task An_image_sent_with_Content_Encoding_gzip_is_never_stored_as_the_image()
    {
        var iso = ReliabilityFactory.Random(Mib, 142);
        var encoded = new MemoryStream();
        using (var gz = new GZipStream(encoded, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(iso);
        }
        var gzipped = encoded.ToArray();
        var acceptEncoding = new ConcurrentQueue<string>();
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            acceptEncoding.Enqueue(ctx.Request.Headers.AcceptEncoding.ToString());
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.Headers.ContentEncoding = "gzip";
            ctx.Response.ContentLength = gzipped.Length;
            await ctx.Response.Body.WriteAsync(gzipped);
        });

        var e = await Assert.ThrowsAsync<TalosException>(() => SaveAsync(server.BaseUrl));

        _output.WriteLine($"{e.ErrorId}: {e.Message}; Accept-Encoding sent: '{string.Join("', '", acceptEncoding)}'");
        Assert.Equal("DownloadProtocolError", e.ErrorId);
        Assert.Contains("Content-Encoding 'gzip'", e.Message);
        Assert.Equal(1, server.Requests); // a coding the server chose is not a network fault: not retried
        Assert.All(acceptEncoding, a => Assert.Equal("identity", a));
        AssertNothingFinal();
        Assert.False(Directory.Exists(Cache) && Directory.GetFiles(Cache, "*.iso*", SearchOption.AllDirectories).Length > 0, "an .iso file is left in the cache");
    }

    // ---- item 4: resume only what is provably the same file ------------------------------------------------------

    /// <summary>
    /// The first GET gets the old image (2 MiB), cut after 1 MiB; every later GET gets the new image: a Range request
    /// is answered 206 from the new bytes whatever If-Range says (a server or cache that ignores it).
    /// </summary>
    private sealed record Change(string Name, string? OldETag, string? NewETag, int NewExtra, bool LastModified);

    public static TheoryData<string> Changes => new() { "new-strong-etag", "total-changed", "no-etag", "weak-etag", "last-modified-changed" };

    private static Change ChangeOf(string name) => name switch
    {
        "new-strong-etag" => new(name, "\"old\"", "\"new\"", 0, false),
        "total-changed" => new(name, "\"same\"", "\"same\"", 4096, false),   // the server even claims the same ETag
        "no-etag" => new(name, null, null, 0, false),
        "weak-etag" => new(name, "W/\"old\"", "W/\"old\"", 0, false),
        "last-modified-changed" => new(name, null, null, 0, true),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task A_cut_transfer_whose_server_now_serves_other_bytes_never_becomes_a_spliced_file(string changeName)
    {
        var change = ChangeOf(changeName);
        var oldIso = ReliabilityFactory.Random(2 * Mib, 143);
        var newIso = ReliabilityFactory.Random(2 * Mib + change.NewExtra, 144);
        var oldModified = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var newModified = oldModified.AddDays(1);
        var seen = new ConcurrentQueue<(string Range, string IfRange)>();
        var gets = 0;
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            seen.Enqueue((ctx.Request.Headers.Range.ToString(), ctx.Request.Headers.IfRange.ToString()));
            var first = Interlocked.Increment(ref gets) == 1;
            var data = first ? oldIso : newIso;
            ctx.Response.Headers.AcceptRanges = "bytes";
            if ((first ? change.OldETag : change.NewETag) is { } etag)
            {
                ctx.Response.Headers.ETag = etag;
            }
            if (change.LastModified)
            {
                ctx.Response.Headers.LastModified = (first ? oldModified : newModified).ToString("R");
            }
            long start = 0;
            var range = ctx.Request.Headers.Range.ToString();
            if (!first && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
            {
                start = long.Parse(range["bytes=".Length..^1]);
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers.ContentRange = $"bytes {start}-{data.Length - 1}/{data.Length}";
            }
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = data.Length - start;
            if (first)
            {
                await ctx.Response.Body.WriteAsync(data.AsMemory(0, Mib));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(50);
                ctx.Abort();
                return;
            }
            await ctx.Response.Body.WriteAsync(data.AsMemory((int)start));
        });

        TalosArtifact? artifact = null;
        TalosException? failure = null;
        try
        {
            artifact = await SaveAsync(server.BaseUrl);
        }
        catch (TalosException e)
        {
            failure = e;
        }

        var requests = seen.ToArray();
        _output.WriteLine($"{changeName}: requests {string.Join("; ", requests.Select(r => $"Range '{r.Range}' If-Range '{r.IfRange}'"))}; " +
            (failure is null ? "downloaded" : $"{failure.ErrorId}: {failure.Message}"));
        Assert.Null(failure);
        // One whole file: the new image from byte 0, never the old head with the new tail.
        Assert.Equal(Audit.Sha256(newIso), artifact!.Sha256);
        Assert.Equal(Audit.Sha256(newIso), Audit.Sha256(FinalPath));
        Assert.Equal(1, Audit.CacheHoldsOnlyCompleteFiles(Cache));
        if (change.OldETag is null && !change.LastModified || change.OldETag is { } weak && weak.StartsWith("W/", StringComparison.Ordinal))
        {
            // No strong validator: nothing could prove the rest belongs to the same file, so no range was asked for.
            Assert.All(requests, r => Assert.Equal("", r.Range));
        }
        else
        {
            // A range is asked for only with If-Range naming the first answer's validator.
            Assert.All(requests.Where(r => r.Range.Length > 0), r => Assert.Equal(change.OldETag ?? oldModified.ToString("R"), r.IfRange));
        }
    }

    [Fact]
    public async Task A_cut_transfer_of_an_unchanged_file_is_resumed_with_If_Range_on_a_strong_Last_Modified()
    {
        var iso = ReliabilityFactory.Random(2 * Mib, 145);
        var modified = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToString("R");
        var seen = new ConcurrentQueue<(string Range, string IfRange)>();
        var gets = 0;
        await using var server = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            seen.Enqueue((ctx.Request.Headers.Range.ToString(), ctx.Request.Headers.IfRange.ToString()));
            var first = Interlocked.Increment(ref gets) == 1;
            ctx.Response.Headers.AcceptRanges = "bytes";
            ctx.Response.Headers.LastModified = modified;
            long start = 0;
            var range = ctx.Request.Headers.Range.ToString();
            if (range.StartsWith("bytes=", StringComparison.Ordinal) && ctx.Request.Headers.IfRange.ToString() == modified)
            {
                start = long.Parse(range["bytes=".Length..^1]);
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers.ContentRange = $"bytes {start}-{iso.Length - 1}/{iso.Length}";
            }
            ctx.Response.ContentLength = iso.Length - start;
            if (first)
            {
                await ctx.Response.Body.WriteAsync(iso.AsMemory(0, Mib));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(50);
                ctx.Abort();
                return;
            }
            await ctx.Response.Body.WriteAsync(iso.AsMemory((int)start));
        });
        var downloader = new ArtifactDownloader(Cache, _events, Fast);

        var artifact = await downloader.SaveAsync(RequestFor(server.BaseUrl), new SaveOptions(), CancellationToken.None);

        var requests = seen.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.StartsWith("bytes=", requests[1].Range);
        Assert.Equal(modified, requests[1].IfRange);
        Assert.Equal(Audit.Sha256(iso), artifact.Sha256);
        Assert.Equal(iso, File.ReadAllBytes(FinalPath));
        Assert.Equal(iso.Length, downloader.BytesDownloaded); // the kept prefix was not fetched again
    }

    [Fact]
    public async Task Six_positions_sharing_one_download_count_its_bytes_once()
    {
        var iso = ReliabilityFactory.Random(Mib, 146);
        await using var factory = await FakeImageFactory.StartAsync();
        factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? iso : null;
        // Hold the image back until every position has asked for it, so that they share the transfer.
        factory.ImageFault = async (_, _) =>
        {
            await Task.Delay(400);
            return false;
        };
        var config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {Cache}
              concurrency: 6
            manifest:
              dir: {_dir.File("manifests")}
            """);
        var orders = _dir.Write("orders.yaml", "- orderid: SHARED-1\n  positions:\n" + string.Concat(Enumerable.Range(1, 6).Select(i =>
            $"    - {{name: iso-{i}, product: talos, version: v1.11.5, customization: {{}}}}\n")));

        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = Fast,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Equal(1, factory.ImageGets);
        var order = Assert.Single(result.Orders);
        _output.WriteLine($"{order.Positions} positions, {factory.ImageGets} image GET(s), BytesDownloaded {order.BytesDownloaded}");
        Assert.Equal(iso.Length, order.BytesDownloaded);
        Assert.Contains("downloaded 1.0 MiB", RunReport.Summary(result));
    }
}
