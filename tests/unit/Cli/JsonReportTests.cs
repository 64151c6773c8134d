using Newtonsoft.Json;
using TalosImage.Cli;
using TalosImage.Core;
using TalosImage.Core.Orders;
using Xunit;

namespace TalosImage.Tests.Cli;

/// <summary>talos-order --json is written by hand (JsonReport); it must stay the text Newtonsoft's serializer writes.</summary>
public class JsonReportTests
{
    private static string Example(string name) => Path.Combine(TestPaths.RepoRoot, "examples", name);

    /// <summary>What talos-order printed before JsonReport: the serializer over an anonymous object.</summary>
    private static string BySerializer(RunResult result) => JsonConvert.SerializeObject(new
    {
        orders = result.Orders,
        plan = result.DryRun ? RunReport.PlanRows(result.Plan) : null,
        manifests = result.DryRun ? result.Manifests : null,
        removed = result.Removed.Select(r => r.Path).ToList(),
        exit_code = result.ExitCode,
    }, Formatting.Indented);

    [Fact]
    public async Task A_dry_run_of_the_examples_reads_as_the_serializer_wrote_it()
    {
        using var dir = new TempDir();
        var result = await new OrderRunner(new RunOptions
        {
            ConfigPath = Example("config.yaml"),
            OrdersPath = Example("orders.yaml"),
            DryRun = true,
            Offline = true,
            BaseDirectory = dir.Path,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

        Assert.True(result.DryRun);
        Assert.NotEmpty(result.Manifests);
        var text = JsonReport.Format(result);
        Assert.Equal(BySerializer(result), text);
        Assert.Contains("\"plan\": [", text);
        Assert.Contains("\"warnings\": [", text);
    }

    [Fact]
    public void A_run_result_with_quotes_controls_whole_and_fractional_numbers_reads_as_the_serializer_wrote_it()
    {
        var result = new RunResult
        {
            Orders = new[]
            {
                new TalosOrderResult { OrderId = "A-1", Customer = "Q \"quoted\" \\ back\tslash\u0001", Status = "Failed", Positions = 3, Succeeded = 1, Failed = 2, Changed = true, ManifestPath = "/m/manifest-A-1.yaml", BytesDownloaded = 5_000_000_000, BytesPushed = 0, Duration = 12.0 },
                new TalosOrderResult { OrderId = "B-2", Customer = "Ünïcødé ✓", Status = "Succeeded", Positions = 1, Succeeded = 1, Duration = 0.642, DryRun = false },
            },
            Removed = new[] { new TalosCacheEntry { Path = "/cache/artifacts/x/v1.11.5/metal-amd64.iso" } },
            ExitCode = 1,
        };
        var text = JsonReport.Format(result);
        Assert.Equal(BySerializer(result), text);
        Assert.Contains("\"Duration\": 12.0,", text);
        Assert.Contains("\"plan\": null", text);
    }
}
