using Xunit;

namespace TalosImage.Tests.Cli;

public class TalosOrderCliTests
{
    private static string Example(string name) => Path.Combine(TestPaths.RepoRoot, "examples", name);

    [Fact]
    public async Task Dry_run_prints_the_plan_and_manifest_and_writes_nothing()
    {
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", Example("config.yaml"), "--orders", Example("orders.yaml"), "--dry-run", "--offline");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("Order EXAMPLE-0001", r.Stdout);
        Assert.Contains("# manifest that would be written to " + Path.Combine(dir.Path, "out", "example-manifests", "manifest-EXAMPLE-0001.yaml"), r.Stdout);
        Assert.Contains("installer_image: 127.0.0.1:9/nocloud-installer/", r.Stdout);
        Assert.Contains("not checked against a version source", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task A_dry_run_without_network_plans_exact_versions_unchecked()
    {
        // No --offline: the factory (a closed loopback port here, as on a machine without network) cannot be asked.
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", Example("config.yaml"), "--orders", Example("orders.yaml"), "--dry-run");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("v1.11.5 (unchecked)", r.Stdout);
        Assert.Contains("warning:", r.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public async Task Json_output_is_machine_readable()
    {
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", Example("config.yaml"), "--orders", Example("orders.yaml"), "--dry-run", "--offline", "--json");
        Assert.Equal(0, r.ExitCode);
        var json = Newtonsoft.Json.Linq.JObject.Parse(r.Stdout);
        Assert.Equal("EXAMPLE-0001", (string?)json["orders"]![0]!["OrderId"]);
        Assert.Equal(3, json["plan"]!.Count());
        Assert.Equal(0, (int)json["exit_code"]!);
    }

    public static TheoryData<string, string> BadOrders => new()
    {
        { "- orderid: ../../etc/cron.d/x\n", "cannot be used in a file name" },
        { "- orderid: A\n  positions:\n    - {product: talos, customization: {}, platfrom: metal}\n", "did you mean 'platform'?" },
        { "- orderid: A\n  positions:\n    - {product: talos, customization: {}, secureboot: \"false\"}\n", "expected true or false" },
        { "- orderid: A\n  positions: [\n", "YAML syntax error" },
        { "- orderid: A\n  positions:\n    - {product: talos, customization: {}, version: {type: exact, value: 1.x}}\n", "is not a Talos version" },
    };

    [Theory]
    [MemberData(nameof(BadOrders))]
    public async Task Bad_orders_exit_2_with_one_clear_message_and_no_stack_trace(string orders, string expected)
    {
        using var dir = new TempDir();
        var o = dir.Write("orders.yaml", orders);
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", Example("config.yaml"), "--orders", o, "--dry-run", "--offline");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.Contains(o + ":", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: "));
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("--orders", "x.yaml")]
    [InlineData("--config", "c.yaml", "--orders", "o.yaml", "--dryrun")]
    [InlineData("--config", "c.yaml", "--orders")]
    public async Task Usage_errors_exit_2_and_show_usage(params string[] args)
    {
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, args);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("usage: talos-order", r.Stderr);
    }

    [Fact]
    public async Task An_unknown_flag_gets_the_likely_intended_one()
    {
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", "c", "--orders", "o", "--dryrun");
        Assert.Contains("did you mean --dry-run?", r.Stderr);
    }

    [Fact]
    public async Task A_missing_file_exits_2_and_names_it()
    {
        using var dir = new TempDir();
        var r = await TalosOrderProcess.RunAsync(dir.Path, null, "--config", Example("config.yaml"), "--orders", dir.File("nope.yaml"), "--dry-run");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(dir.File("nope.yaml") + ": file not found", r.Stderr);
    }
}
