using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

public sealed class ResourceFactory : ReliabilityFactory
{
    protected override int IsoSize => 4096;
}

/// <summary>
/// Issue 14 item 14: many distinct customizations in one run. Every stage that talks to the factory (schematic POSTs,
/// extension lists, downloads) is bounded by defaults.concurrency, so the open files of a run do not grow with the
/// number of positions, and a run under a cron job's open-file limit ends with its manifests and a summary.
/// </summary>
public sealed class ResourceTests : IClassFixture<ResourceFactory>, IDisposable
{
    private readonly ResourceFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();

    public ResourceTests(ResourceFactory images, ITestOutputHelper output)
    {
        _images = images;
        _output = output;
    }

    private FakeImageFactory Factory => _images.Factory;

    public void Dispose()
    {
        Factory.SchematicDelay = TimeSpan.Zero;
        _dir.Dispose();
    }

    /// <summary><paramref name="orders"/> orders of <paramref name="perOrder"/> positions, each with a customization of its own.</summary>
    private (string Config, string Orders) Write(int concurrency, int orders, int perOrder)
    {
        var config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_dir.Path}/cache
              lock_timeout: 30
              concurrency: {concurrency}
            manifest:
              dir: {_dir.Path}/manifests
            """);
        var sb = new System.Text.StringBuilder();
        for (var o = 0; o < orders; o++)
        {
            sb.Append($"- orderid: RES-{o}\n  positions:\n");
            for (var i = 0; i < perOrder; i++)
            {
                var ext = i % 2 == 0 ? ", systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]}" : "";
                sb.Append($"    - {{name: p{i}, product: talos, version: v1.11.5, platform: nocloud, image_format: iso, customization: {{extraKernelArgs: [talos.res={o}-{i}]{ext}}}}}\n");
            }
        }
        return (config, _dir.Write("orders.yaml", sb.ToString()));
    }

    [Fact]
    public async Task Schematic_posts_for_hundreds_of_distinct_customizations_are_bounded_by_the_configured_concurrency()
    {
        const int concurrency = 3;
        var (config, orders) = Write(concurrency, orders: 3, perOrder: 100);
        Factory.SchematicDelay = TimeSpan.FromMilliseconds(15);
        Factory.ResetSchematicPostsInFlight();
        var posts = Factory.SchematicPosts;

        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

        _output.WriteLine($"POSTs {Factory.SchematicPosts - posts}, at most {Factory.MaxSchematicPostsInFlight} in flight; exit {result.ExitCode}");
        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Take(5).Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Equal(300, Factory.SchematicPosts - posts);
        Assert.True(Factory.MaxSchematicPostsInFlight <= concurrency, $"{Factory.MaxSchematicPostsInFlight} schematic POSTs in flight at once, concurrency is {concurrency}");
        Assert.Equal(3, Audit.ManifestsAreComplete(Path.Combine(_dir.Path, "manifests")));
        Assert.Equal(300, Audit.CacheHoldsOnlyCompleteFiles(Path.Combine(_dir.Path, "cache")));
    }

    /// <summary>Runs <paramref name="onWarning"/> on each warning (a test's hook to change the world mid-run).</summary>
    private sealed class HookEvents(Action<string> onWarning) : IEngineEvents
    {
        public void Progress(EngineProgress progress) { }
        public void Verbose(string message) { }
        public void Warning(string message) => onWarning(message);
    }

    [Fact]
    public async Task A_manifest_that_cannot_be_written_while_positions_run_is_written_once_they_are_done()
    {
        // What too many open files does to a manifest written while other positions hold files: the first write fails.
        // Here the manifest folder is a regular file until the failure has been reported, then it can be made.
        var (config, orders) = Write(concurrency: 2, orders: 1, perOrder: 2);
        var manifests = Path.Combine(_dir.Path, "manifests");
        File.WriteAllText(manifests, "in the way");
        var warnings = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, new HookEvents(w =>
        {
            warnings.Enqueue(w);
            if (w.Contains("cannot write the manifest", StringComparison.Ordinal) && File.Exists(manifests))
            {
                File.Delete(manifests);
            }
        })).RunAsync(CancellationToken.None);

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => $"{f.ErrorId}: {f.Message}")));
        Assert.Equal(1, Audit.ManifestsAreComplete(manifests));
        Assert.Contains(warnings, w => w.Contains("written on a second attempt", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(160)]
    public async Task Talos_order_under_a_low_open_file_limit_ends_with_its_manifests_and_a_summary(int limit)
    {
        var (config, orders) = Write(concurrency: 4, orders: 2, perOrder: 150);
        Factory.SchematicDelay = TimeSpan.FromMilliseconds(5);

        var r = await TalosOrderProcess.RunAsync(_dir.Path, new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = Factory.BaseUrl }, limit,
            "--config", config, "--orders", orders, "--log", Path.Combine(_dir.Path, "run.log"));

        _output.WriteLine($"ulimit -n {limit}: exit {r.ExitCode}; stdout:\n{r.Stdout}\nstderr (first 2000):\n{r.Stderr[..Math.Min(2000, r.Stderr.Length)]}");
        Assert.True(r.ExitCode is 0 or 1, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal(2, Audit.ManifestsAreComplete(Path.Combine(_dir.Path, "manifests")));
        Assert.Contains("RES-0: ", r.Stdout);
        Assert.Contains("RES-1: ", r.Stdout);
        Audit.CacheHoldsOnlyCompleteFiles(Path.Combine(_dir.Path, "cache"));
    }
}
