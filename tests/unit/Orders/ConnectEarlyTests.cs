using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Publishing.Ssh;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Orders;

/// <summary>
/// RunOptions.ConnectEarly (talos-order, Invoke-TalosOrder without prompts): the push hosts' SSH connections open as the
/// run starts, while it still plans; without it, only as the first position that pushes to the host starts. The
/// factory holds GET /versions (which planning waits for), and sshd's log says when the connection was accepted.
/// </summary>
public sealed class ConnectEarlyTests : IClassFixture<CountingSshd>, IDisposable
{
    private static readonly TimeSpan Planning = TimeSpan.FromSeconds(3);

    private readonly SshServerFixture _sshd;
    private readonly TempDir _dir = new();

    public ConnectEarlyTests(CountingSshd sshd) => _sshd = sshd.Server;

    public void Dispose() => _dir.Dispose();

    private int Accepted => _sshd.Log.Split('\n').Count(l => l.Contains("Accepted publickey"));

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Early_connections_open_while_the_run_plans_and_are_the_ones_its_push_uses(bool early)
    {
        Skip.If(_sshd.Unavailable is not null, "no real sshd here: " + _sshd.Unavailable);
        await using var factory = await FakeImageFactory.StartAsync();
        factory.VersionsDelay = Planning;
        var iso = new byte[64 * 1024];
        new Random(18).NextBytes(iso);
        factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? iso : null;
        var remote = Path.Combine(_dir.Path, "remote");
        var config = _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_dir.Path}/cache
              push:
                ssh_opts: "{_sshd.SshOptions}"
                rsync_opts: "-a"
            manifest:
              dir: {_dir.Path}/manifests
            """);
        var orders = _dir.Write("orders.yaml", $"""
            - orderid: EARLY-1
              positions:
                - name: p
                  product: talos
                  version: v1.11.5
                  customization: {"{}"}
                  image_format: iso
                  push: {"{"}enabled: true, hosts: [{"{"}host: {_sshd.Host}, iso_dir: {remote}/iso{"}"}]{"}"}
            """);
        var before = Accepted;

        var run = new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? factory.BaseUrl : null,
            ConnectEarly = early,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

        // Until the factory answers GET /versions the run is planning: no position has started.
        var deadline = DateTime.UtcNow + Planning - TimeSpan.FromSeconds(0.5);
        while (Accepted == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }
        var connectedWhilePlanning = Accepted > before;
        Assert.Equal(1, factory.VersionGets);
        Assert.False(run.IsCompleted, "the run did not wait for GET /versions");
        Assert.Equal(early, connectedWhilePlanning);

        var result = await run;
        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => f.Message)));
        Assert.Single(Directory.GetFiles(Path.Combine(remote, "iso"), "*.iso"));
        // Either way the host had one connection, used for the probe and the transfer.
        Assert.Equal(1, Accepted - before);
    }
}
