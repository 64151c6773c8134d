using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Orders;

/// <summary>
/// A dry run (Invoke-TalosOrder -WhatIf, talos-order --dry-run) checks extension names against the version's official
/// list as a real run does, so a position a real run would fail is planned with its error; offline it says in a
/// warning that they were not checked.
/// </summary>
public class DryRunExtensionTests
{
    private const string Orders = """
        - orderid: A
          positions:
            - name: typo
              product: talos
              version: v1.11.5
              customization:
                systemExtensions:
                  officialExtensions: [siderolabs/qemu-guest-agnt, siderolabs/iscsi-tools]
            - name: good
              product: talos
              version: v1.11.5
              customization:
                systemExtensions:
                  officialExtensions: [siderolabs/qemu-guest-agent]
            - name: vanilla
              product: talos
              version: v1.11.5
              customization: {}
        """;

    private static string Config(TempDir dir, string factoryUrl) => dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {dir.Path}/cache
          factory_url: {factoryUrl}
        manifest:
          dir: {dir.Path}/manifests
        """);

    private static Task<RunResult> DryRunAsync(TempDir dir, string factoryUrl, IEngineEvents events, bool offline = false) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = Config(dir, factoryUrl),
            OrdersPath = dir.Write("orders.yaml", Orders),
            DryRun = true,
            Offline = offline,
            BaseDirectory = dir.Path,
            Http = FastHttp.Options,
            Environment = _ => null,
        }, events).RunAsync(CancellationToken.None);

    [Fact]
    public async Task An_unknown_extension_name_is_planned_with_the_error_a_real_run_would_give()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var events = new RecordingEvents();

        var result = await DryRunAsync(dir, fake.BaseUrl, events);

        var positions = Assert.Single(result.Plan.Orders).Positions;
        var typo = positions.Single(p => p.Name == "typo");
        Assert.Equal("UnknownExtension", typo.ErrorId);
        Assert.Contains("'siderolabs/qemu-guest-agnt' (nearest: siderolabs/qemu-guest-agent", typo.Error);
        Assert.Null(positions.Single(p => p.Name == "good").Error);
        Assert.Null(positions.Single(p => p.Name == "vanilla").Error);
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.Equal("UnknownExtension", Assert.Single(result.Failures).ErrorId);
        var order = Assert.Single(result.Orders);
        Assert.Equal((3, 1), (order.Positions, order.Failed));
        Assert.Contains("name: typo\n  status: failed\n  error: \"position failed: Talos v1.11.5", Assert.Single(result.Manifests).Yaml);
        // One list per version, and a dry run still writes nothing.
        Assert.Equal(1, fake.Count("GET", "/version/v1.11.5/extensions/official"));
        Assert.Equal(0, fake.SchematicPosts);
        Assert.Equal(new[] { "config.yaml", "orders.yaml" }, Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Offline_the_plan_says_in_a_warning_that_extension_names_were_not_checked()
    {
        await using var fake = await FakeImageFactory.StartAsync();
        using var dir = new TempDir();
        var events = new RecordingEvents();

        var result = await DryRunAsync(dir, fake.BaseUrl, events, offline: true);

        Assert.All(result.Plan.Orders[0].Positions, p => Assert.Null(p.Error));
        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains(events.Warnings, w => w.Contains("extension names were not checked") && w.Contains("offline"));
        Assert.Empty(fake.Log);
    }

    [Fact]
    public async Task A_factory_that_cannot_be_reached_leaves_the_names_unchecked_with_a_warning_not_an_error()
    {
        using var dir = new TempDir();
        var events = new RecordingEvents();
        var closed = $"http://127.0.0.1:{SshServerFixture.FreePort()}";

        var result = await DryRunAsync(dir, closed, events);

        Assert.All(result.Plan.Orders[0].Positions, p => Assert.Null(p.Error));
        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Contains(events.Warnings, w => w.Contains("extension names were not checked") && w.Contains("v1.11.5"));
    }
}
