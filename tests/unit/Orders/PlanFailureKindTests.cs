using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Orders;

/// <summary>
/// A position that fails while planning (an exact version the factory does not list) fails a real run with the
/// planner's ErrorId and kind, as a dry run reports it: Invoke-TalosOrder's error category comes from that kind.
/// </summary>
public class PlanFailureKindTests
{
    [Fact]
    public async Task A_plan_failure_keeps_its_kind_in_a_real_run_as_in_a_dry_run()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var config = dir.Write("config.yaml", $"defaults:\n  cache_dir: {dir.Path}/cache\nmanifest:\n  dir: {dir.Path}/manifests\n");
        var orders = dir.Write("orders.yaml", """
            - orderid: A
              positions:
                - {name: typo, product: talos, customization: {}, version: v1.11.9}
            """);

        Task<RunResult> Run(bool dryRun) => new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            DryRun = dryRun,
            BaseDirectory = dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? fake.BaseUrl : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

        var planned = Assert.Single((await Run(dryRun: true)).Failures);
        var run = Assert.Single((await Run(dryRun: false)).Failures);

        Assert.Equal(("UnknownVersion", TalosErrorKind.ObjectNotFound), (planned.ErrorId, planned.Kind));
        Assert.Equal((planned.ErrorId, planned.Kind), (run.ErrorId, run.Kind));
        Assert.Equal("typo", run.Position);
    }
}
