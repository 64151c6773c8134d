using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

public sealed class ConcurrencyFactory : ReliabilityFactory
{
    protected override int IsoSize => 1 << 20;
    protected override int RawSize => 4 << 20;
}

/// <summary>
/// Two and three runs on one cache at once, as order runners in one process and as talos-order processes: every run
/// succeeds (the later ones wait for the cache lock), each distinct artifact is fetched from the factory exactly once,
/// and the cache holds only complete verified files.
/// </summary>
public sealed class ConcurrencyTests : IClassFixture<ConcurrencyFactory>, IDisposable
{
    private readonly ConcurrencyFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _config;

    public ConcurrencyTests(ConcurrencyFactory images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
        _config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_dir.Path}/cache
              lock_timeout: 120
            manifest:
              dir: {_dir.Path}/manifests
            """);
        // The image trickles out, so the runs overlap: the first holds the lock while the others start and wait.
        Factory.ImageFault = async (ctx, bytes) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = bytes.Length;
            for (var at = 0; at < bytes.Length; at += 256 << 10)
            {
                await ctx.Response.Body.WriteAsync(bytes.AsMemory(at, Math.Min(256 << 10, bytes.Length - at)), ctx.RequestAborted);
                await Task.Delay(5, ctx.RequestAborted);
            }
            return true;
        };
    }

    private FakeImageFactory Factory => _images.Factory;

    public void Dispose()
    {
        Factory.ImageFault = null;
        _dir.Dispose();
    }

    private const string Iso = "{name: iso, product: talos, version: v1.11.5, customization: {}}";
    private const string Xz = "{name: xz, product: talos, version: v1.11.5, image_format: raw.xz, decompress_raw: true, customization: {}}";
    private const string Zst = "{name: zst, product: talos, version: v1.11.5, image_format: raw.zst, customization: {}}";

    /// <summary>Run i's orders: two of the three artifacts each, so every pair of runs shares one.</summary>
    private string Orders(int i)
    {
        var positions = (i % 3) switch { 0 => new[] { Iso, Xz }, 1 => new[] { Iso, Zst }, _ => new[] { Xz, Zst } };
        return _dir.Write($"orders-{i}.yaml", $"- orderid: CONC-{i}\n  positions:\n" + string.Concat(positions.Select(p => $"    - {p}\n")));
    }

    private static int DistinctArtifacts(int runs) => runs == 1 ? 2 : 3; // iso, raw.xz, raw.zst (the raw is expanded locally)

    private void AssertCache(int runs, int gets)
    {
        Assert.Equal(DistinctArtifacts(runs), gets);
        var files = Audit.CacheHoldsOnlyCompleteFiles(Path.Combine(_dir.Path, "cache"));
        Assert.Equal(DistinctArtifacts(runs) + 1, files); // + the expanded raw
        Assert.Equal(runs, Audit.ManifestsAreComplete(Path.Combine(_dir.Path, "manifests")));
        var raw = Assert.Single(Directory.GetFiles(Path.Combine(_dir.Path, "cache"), "*.raw", SearchOption.AllDirectories));
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(raw));
        _output.WriteLine($"figures: {runs} runs at once, image GETs {gets} for {DistinctArtifacts(runs)} distinct artifacts, files hash-checked {files}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Runners_in_one_process_share_the_cache_without_corruption_or_double_downloads(int runs)
    {
        var gets = Factory.ImageGets;
        var events = Enumerable.Range(0, runs).Select(_ => new RecordingEvents()).ToList();

        var results = await Task.WhenAll(Enumerable.Range(0, runs).Select(i => Task.Run(() => new OrderRunner(new RunOptions
        {
            ConfigPath = _config,
            OrdersPath = Orders(i),
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, events[i]).RunAsync(CancellationToken.None))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, string.Join("\n", r.Failures.Select(f => f.Message))));
        Assert.All(results, r => Assert.Equal("Succeeded", Assert.Single(r.Orders).Status));
        AssertCache(runs, Factory.ImageGets - gets);
        _output.WriteLine($"runs that waited for the lock: {events.Count(e => e.Warnings.Any(w => w.Contains("is in use by")))}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Talos_order_processes_share_the_cache_without_corruption_or_double_downloads(int runs)
    {
        var gets = Factory.ImageGets;
        var env = new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = Factory.BaseUrl };

        var results = await Task.WhenAll(Enumerable.Range(0, runs).Select(i =>
            TalosOrderProcess.RunAsync(_dir.Path, env, "--config", _config, "--orders", Orders(i))));

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr));
        Assert.All(results, r => Assert.Contains(": Succeeded", r.Stdout));
        AssertCache(runs, Factory.ImageGets - gets);
        _output.WriteLine($"runs that waited for the lock: {results.Count(r => r.Stderr.Contains("is in use by"))}");
    }
}
