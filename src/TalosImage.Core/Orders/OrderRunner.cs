using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Manifests;

namespace TalosImage.Core.Orders;

/// <summary>
/// The whole order flow behind Invoke-TalosOrder and talos-order: load, plan, then (unless a dry run) resolve,
/// create schematics, download, expand, publish, apply retention and write one manifest per order.
/// </summary>
public sealed class OrderRunner
{
    private readonly RunOptions _options;
    private readonly IEngineEvents _events;

    public OrderRunner(RunOptions options, IEngineEvents events)
    {
        _options = options;
        _events = events;
    }

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        var input = OrderLoader.Load(_options.ConfigPath, _options.OrdersPath, _options.Environment);
        var plan = await Planner.PlanAsync(input, new PlanOptions
        {
            OrderIds = _options.OrderIds,
            Resolver = CreateResolver(input.Config),
            BaseDirectory = _options.BaseDirectory,
        }, _events, cancellationToken).ConfigureAwait(false);

        if (_options.DryRun)
        {
            return DryRun(plan);
        }
        throw new TalosException("NotAvailable", TalosErrorKind.InvalidOperation, "only --dry-run is available in this build");
    }

    private Versions.IVersionResolver CreateResolver(TalosConfig config) => new Versions.VersionResolver(new Versions.VersionSourceOptions
    {
        Source = config.VersionSource,
        FactoryUrl = config.FactoryUrl,
        GitHubApiUrl = config.GitHubApiUrl,
        GitHubToken = _options.GitHubToken,
        Environment = _options.Environment,
        CacheDir = config.CacheDir,
        Ttl = config.VersionCacheTtl,
        Offline = _options.Offline,
        ReadOnlyCache = _options.DryRun,
        Http = _options.Http,
    }, _events);

    private static RunResult DryRun(Plan plan)
    {
        var now = DateTimeOffset.UtcNow;
        var manifests = new List<ManifestOutput>();
        var results = new List<TalosOrderResult>();
        foreach (var order in plan.Orders)
        {
            var entries = order.Positions.Select(p => ManifestBuilder.Planned(p, plan.Config, now)).ToList();
            var failed = entries.Count(e => e.Status == "failed");
            var status = failed == 0 ? "Planned" : ManifestBuilder.OrderStatus(entries);
            manifests.Add(new ManifestOutput(order.ManifestPath, ManifestWriter.ToYaml(ManifestBuilder.ForOrder(plan, order, entries, status, dryRun: true, 0, now))));
            results.Add(new TalosOrderResult
            {
                OrderId = order.Order.OrderId,
                Customer = order.Order.Customer,
                Status = status,
                Positions = entries.Count,
                Succeeded = entries.Count - failed,
                Failed = failed,
                ManifestPath = order.ManifestPath,
                DryRun = true,
            });
        }
        return new RunResult
        {
            Plan = plan,
            DryRun = true,
            Orders = results,
            Manifests = manifests,
            ExitCode = results.Any(r => r.Failed > 0) ? ExitCodes.Failed : ExitCodes.Success,
        };
    }
}
