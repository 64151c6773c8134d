using System.IO;
using System.Management.Automation;
using TalosImage.Core;
using TalosImage.Core.Orders;

namespace TalosImage.Cmdlets;

/// <summary>
/// Runs orders end to end: plan, resolve, schematic, download, expand, publish, retention, manifest.
/// -WhatIf is a dry run (Ansible's check mode): it shows each position's actions and writes nothing.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "TalosOrder", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TalosOrderResult))]
public sealed class InvokeTalosOrderCommand : TalosCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("ConfigPath")]
    public string Config { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("OrdersPath")]
    public string Orders { get; set; } = "";

    [Parameter]
    public string[] OrderId { get; set; } = System.Array.Empty<string>();

    [Parameter]
    public SwitchParameter PurgeCache { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    public string? LogPath { get; set; }

    protected override void EndProcessing()
    {
        var configPath = GetUnresolvedProviderPathFromPSPath(Config);
        var ordersPath = GetUnresolvedProviderPathFromPSPath(Orders);
        var dryRun = !ShouldProcess(ordersPath, "Invoke Talos orders");
        var options = new RunOptions
        {
            ConfigPath = configPath,
            OrdersPath = ordersPath,
            OrderIds = OrderId,
            DryRun = dryRun,
            PurgeCache = PurgeCache,
            Offline = Offline,
            LogPath = LogPath is null ? null : GetUnresolvedProviderPathFromPSPath(LogPath),
            BaseDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            Confirm = dryRun ? null : p => ShouldProcessFromEngine($"{p.OrderId}/{p.Name}", PlanReport.Actions(p)),
        };
        RunEngine(async (events, token) =>
        {
            var result = await new OrderRunner(options, events).RunAsync(token).ConfigureAwait(false);
            if (result.DryRun)
            {
                foreach (var order in result.Plan.Orders)
                {
                    foreach (var p in order.Positions)
                    {
                        // Under -WhatIf this prints "What if: ..." for every position and returns false.
                        ShouldProcessFromEngine($"{p.OrderId}/{p.Name}", p.Error is null ? PlanReport.Actions(p) : "fails: " + p.Error);
                    }
                }
            }
            foreach (var failure in result.Failures)
            {
                EmitError(new TalosException(failure.ErrorId, TalosErrorKind.InvalidOperation, $"{failure.OrderId}/{failure.Position}: {failure.Message}"), failure.OrderId);
            }
            foreach (var order in result.Orders)
            {
                Emit(order);
            }
        });
    }
}
