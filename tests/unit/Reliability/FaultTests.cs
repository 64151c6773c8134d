using Microsoft.AspNetCore.Http;
using TalosImage.Core;
using TalosImage.Core.Http;
using TalosImage.Core.Orders;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

public sealed class FaultFactory : ReliabilityFactory
{
    protected override int IsoSize => 1 << 20;
    protected override int MetalIsoSize => 3 << 20;
}

/// <summary>
/// Whole order runs against a loopback factory that misbehaves on purpose while it serves the image: connection resets
/// at seeded random offsets, a stalled body, bursts of 500/502/503/429, a redirect loop, a body shorter than its
/// Content-Length, a build that answers later than the headers timeout. After each run: a clear outcome (exit code,
/// order status, ErrorId), the cache holds only complete verified files, the manifest is whole; and a re-run without
/// the fault (or with fewer faults than attempts) finishes the job.
/// </summary>
public sealed class FaultTests : IClassFixture<FaultFactory>, IDisposable
{
    private readonly FaultFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _config;
    private readonly string _orders;
    private int _injected;
    private int _audited;

    public FaultTests(FaultFactory images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
        _config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_dir.Path}/cache
              lock_timeout: 30
            manifest:
              dir: {_dir.Path}/manifests
            """);
        _orders = _dir.Write("orders.yaml", """
            - orderid: FAULT-1
              positions:
                - {name: iso, product: talos, version: v1.11.5, customization: {}}
            """);
    }

    private FakeImageFactory Factory => _images.Factory;

    private string Cache => Path.Combine(_dir.Path, "cache");

    public void Dispose()
    {
        Factory.ImageFault = null;
        _output.WriteLine($"figures: faults injected {_injected}, cache files hash-checked {_audited}");
        _dir.Dispose();
    }

    /// <summary>The first <paramref name="count"/> image GETs get <paramref name="fault"/> (given the 1-based GET number); the rest are served.</summary>
    private void Inject(int count, Func<HttpContext, byte[], int, Task> fault)
    {
        var n = 0;
        Factory.ImageFault = async (ctx, bytes) =>
        {
            var i = Interlocked.Increment(ref n);
            if (i > count)
            {
                return false;
            }
            Interlocked.Increment(ref _injected);
            await fault(ctx, bytes, i);
            return true;
        };
    }

    private async Task<RunResult> RunAsync(HttpOptions? http = null)
    {
        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = _config,
            OrdersPath = _orders,
            BaseDirectory = _dir.Path,
            Http = http ?? FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
        _audited += Audit.CacheHoldsOnlyCompleteFiles(Cache);
        Assert.Equal(1, Audit.ManifestsAreComplete(Path.Combine(_dir.Path, "manifests")));
        return result;
    }

    /// <summary>Exit 1, the order Failed, one failure with <paramref name="errorId"/>, no ISO under its final name.</summary>
    private void AssertFailed(RunResult r, string errorId, string says)
    {
        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("Failed", Assert.Single(r.Orders).Status);
        var failure = Assert.Single(r.Failures);
        Assert.True(failure.ErrorId == errorId, $"{failure.ErrorId}: {failure.Message}");
        Assert.Contains(says, failure.Message);
        Assert.DoesNotContain("   at ", failure.Message);
        Assert.Empty(Directory.GetFiles(Cache, "*.iso", SearchOption.AllDirectories));
        Assert.Contains("status: Failed", File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-FAULT-1.yaml")));
        _output.WriteLine($"outcome: exit {r.ExitCode}, {failure.ErrorId}: {failure.Message}");
    }

    private void AssertDone(RunResult r)
    {
        Assert.True(r.ExitCode == 0, string.Join("\n", r.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Equal("Succeeded", Assert.Single(r.Orders).Status);
        var iso = Assert.Single(Directory.GetFiles(Cache, "*.iso", SearchOption.AllDirectories));
        Assert.Equal(Audit.Sha256(_images.Iso), Audit.Sha256(iso));
        Assert.Contains("status: Succeeded", File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-FAULT-1.yaml")));
    }

    /// <summary>Headers and the first <paramref name="offset"/> bytes of the body, then a reset connection.</summary>
    private static async Task ResetAt(HttpContext ctx, byte[] bytes, int offset)
    {
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, offset));
        await ctx.Response.Body.FlushAsync();
        ctx.Abort();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Connection_resets_at_random_offsets_fail_clearly_and_fewer_than_the_attempts_are_absorbed(int seed)
    {
        var rng = new Random(seed);
        var offsets = new List<int>();
        int Next()
        {
            lock (offsets)
            {
                var o = rng.Next(0, _images.Iso.Length);
                offsets.Add(o);
                return o;
            }
        }
        var gets = Factory.ImageGets;

        // Every attempt is reset somewhere: the run fails with DownloadFailed after MaxAttempts transfers.
        Inject(int.MaxValue, (ctx, bytes, _) => ResetAt(ctx, bytes, Next()));
        var broken = await RunAsync();
        AssertFailed(broken, "DownloadFailed", "download failed after 3 attempt(s)");
        Assert.Equal(3, Factory.ImageGets - gets);

        // Two resets, then a clean answer: the same run finishes within its attempts.
        Inject(2, (ctx, bytes, _) => ResetAt(ctx, bytes, Next()));
        AssertDone(await RunAsync());
        _output.WriteLine($"seed {seed}: reset offsets {string.Join(", ", offsets)} of {_images.Iso.Length}");
    }

    [Fact]
    public async Task A_stall_longer_than_the_read_timeout_fails_clearly_and_a_rerun_finishes()
    {
        var http = FastHttp.Options with { ReadTimeout = TimeSpan.FromMilliseconds(400) };
        async Task Stall(HttpContext ctx, byte[] bytes, int i)
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = bytes.Length;
            await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 3));
            await ctx.Response.Body.FlushAsync();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted); // ends when the client gives up
            }
            catch (OperationCanceledException)
            {
            }
        }

        Inject(int.MaxValue, Stall);
        AssertFailed(await RunAsync(http), "DownloadFailed", "no data received for");

        Inject(1, Stall);
        AssertDone(await RunAsync(http));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Bursts_of_server_errors_fail_clearly_when_longer_than_the_attempts_and_are_absorbed_when_shorter(int status)
    {
        Task Answer(HttpContext ctx, byte[] bytes, int i)
        {
            ctx.Response.StatusCode = status;
            if (status == 429)
            {
                ctx.Response.Headers.RetryAfter = "0";
            }
            return ctx.Response.WriteAsync("busy\n");
        }
        var gets = Factory.ImageGets;

        Inject(3, Answer);
        AssertFailed(await RunAsync(), "Http" + status, "answered " + status);
        Assert.Equal(3, Factory.ImageGets - gets);

        Inject(2, Answer);
        AssertDone(await RunAsync());
    }

    [Fact]
    public async Task A_mixed_burst_of_503_and_429_shorter_than_the_attempts_is_absorbed()
    {
        Inject(2, (ctx, _, i) =>
        {
            ctx.Response.StatusCode = i == 1 ? 503 : 429;
            ctx.Response.Headers.RetryAfter = "0";
            return Task.CompletedTask;
        });
        AssertDone(await RunAsync());
    }

    [Fact]
    public async Task A_redirect_loop_fails_clearly_and_a_rerun_finishes()
    {
        Inject(int.MaxValue, (ctx, _, i) =>
        {
            ctx.Response.StatusCode = 302;
            ctx.Response.Headers.Location = ctx.Request.Path.Value + "?hop=" + i;
            return Task.CompletedTask;
        });
        var gets = Factory.ImageGets;

        AssertFailed(await RunAsync(), "Http302", "too many redirects in a row (a redirect loop?)");
        Assert.Equal(FastHttp.Options.MaxRedirects + 1, Factory.ImageGets - gets);

        Factory.ImageFault = null;
        AssertDone(await RunAsync());
    }

    [Fact]
    public async Task A_body_shorter_than_its_Content_Length_fails_clearly_and_a_rerun_finishes()
    {
        var rng = new Random(7);
        Task Short(HttpContext ctx, byte[] bytes, int i)
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = bytes.Length;
            return ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length - rng.Next(1, bytes.Length / 2))).AsTask();
        }

        Inject(int.MaxValue, Short);
        AssertFailed(await RunAsync(), "DownloadFailed", "download failed after 3 attempt(s)");

        Inject(1, Short);
        AssertDone(await RunAsync());
    }

    [Fact]
    public async Task A_factory_build_longer_than_the_headers_timeout_fails_with_HttpTimeout_and_completes_with_a_longer_timeout()
    {
        // The factory builds an image on its first request and answers only when done: simulated by a late answer.
        Factory.ImageFault = async (ctx, _) =>
        {
            Interlocked.Increment(ref _injected);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(1500), ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return true;
            }
            return false;
        };

        AssertFailed(await RunAsync(FastHttp.Options with { HeadersTimeout = TimeSpan.FromMilliseconds(300) }), "HttpTimeout", "no response within");

        AssertDone(await RunAsync(FastHttp.Options with { HeadersTimeout = TimeSpan.FromSeconds(30) }));
    }
}
