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
    [ArgumentCompleter(typeof(OrderIdCompleter))]
    public string[] OrderId { get; set; } = System.Array.Empty<string>();

    [Parameter]
    public SwitchParameter PurgeCache { get; set; }

    [Parameter]
    public SwitchParameter Offline { get; set; }

    [Parameter]
    public string? LogPath { get; set; }

    /// <summary>Re-hash cached artifacts instead of trusting their recorded size, time and hash.</summary>
    [Parameter]
    public SwitchParameter Verify { get; set; }

    /// <summary>Credentials of a factory behind a login: a user name and password (HTTP Basic), or the user name "bearer" with a bearer token as the password. Wins over config.yaml's defaults.factory_auth; sent only to the factory's own scheme, host and port.</summary>
    [Parameter]
    [Credential]
    public PSCredential? FactoryCredential { get; set; }

    /// <summary>Whether ShouldProcess will ask: -Confirm, or $ConfirmPreference at or below this cmdlet's impact (Medium).</summary>
    private bool WillPrompt()
    {
        if (MyInvocation.BoundParameters.TryGetValue("Confirm", out var given) && given is SwitchParameter confirm)
        {
            return confirm.IsPresent;
        }
        return LanguagePrimitives.TryConvertTo<ConfirmImpact>(SessionState.PSVariable.GetValue("ConfirmPreference"), out var preference)
            && preference != ConfirmImpact.None && preference <= ConfirmImpact.Medium;
    }

    protected override void EndProcessing()
    {
        var configPath = GetUnresolvedProviderPathFromPSPath(Config);
        var ordersPath = GetUnresolvedProviderPathFromPSPath(Orders);
        // -WhatIf makes this a dry run (Ansible's check mode); a "no" at -Confirm runs nothing.
        var proceed = ShouldProcess($"Run the orders in {ordersPath}", $"Run the orders in {ordersPath}?", "Invoke-TalosOrder", out var reason);
        if (!proceed && reason != ShouldProcessReason.WhatIf)
        {
            return;
        }
        var dryRun = !proceed;
        var options = new RunOptions
        {
            ConfigPath = configPath,
            OrdersPath = ordersPath,
            OrderIds = OrderId,
            DryRun = dryRun,
            PurgeCache = PurgeCache,
            Verify = Verify,
            Offline = Offline,
            FactoryCredential = FactoryCredential is null || ReferenceEquals(FactoryCredential, PSCredential.Empty) ? null : FactoryCredential.GetNetworkCredential(),
            LogPath = LogPath is null ? null : GetUnresolvedProviderPathFromPSPath(LogPath),
            BaseDirectory = SessionState.Path.CurrentFileSystemLocation.ProviderPath,
            Confirm = dryRun ? null : p => ShouldProcessFromEngine($"{p.OrderId}/{p.Name}", PlanReport.Actions(p)),
            // Without prompts the hosts' SSH handshakes start before planning; with them, only once a position is
            // confirmed. The engine connects to nothing in a dry run.
            ConnectEarly = !WillPrompt(),
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
                foreach (var entry in result.Removed)
                {
                    ShouldProcessFromEngine(entry.Path, "Remove from the cache");
                }
            }
            foreach (var failure in result.Failures)
            {
                EmitError(new TalosException(TalosErrors.Get(failure.ErrorId, failure.Kind), $"{failure.OrderId}/{failure.Position}: {failure.Message}"), $"{failure.OrderId}/{failure.Position}");
            }
            foreach (var order in result.Orders)
            {
                Emit(order);
            }
        }, target: ordersPath, terminating: true);
    }
}
