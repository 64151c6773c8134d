using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace TalosImage.Core.Orders;

/// <summary>A manifest as written (or, in a dry run, as it would be written).</summary>
public sealed record ManifestOutput(string Path, string Yaml);

/// <summary>A position that failed: the cmdlet writes one ErrorRecord for each.</summary>
public sealed record PositionFailure(string OrderId, string Position, string ErrorId, string Message, TalosErrorKind Kind = TalosErrorKind.InvalidOperation);

/// <summary>What a run did: the plan, one result per order, the manifests and the exit code talos-order returns.</summary>
public sealed record RunResult
{
    public Plan Plan { get; init; } = new();
    public bool DryRun { get; init; }
    public IReadOnlyList<TalosOrderResult> Orders { get; init; } = Array.Empty<TalosOrderResult>();
    public IReadOnlyList<ManifestOutput> Manifests { get; init; } = Array.Empty<ManifestOutput>();
    /// <summary>Cache entries removed (or, in a dry run, that would be removed) by purge and retention.</summary>
    public IReadOnlyList<TalosCacheEntry> Removed { get; init; } = Array.Empty<TalosCacheEntry>();
    public IReadOnlyList<PositionFailure> Failures { get; init; } = Array.Empty<PositionFailure>();
    public int ExitCode { get; init; }
}

/// <summary>Texts for people about a run.</summary>
public static class RunReport
{
    /// <summary>The plan as flat rows (talos-order --dry-run --json).</summary>
    public static IReadOnlyList<IDictionary<string, object?>> PlanRows(Plan plan) =>
        plan.Orders.SelectMany(o => o.Positions.Select(p => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["order"] = o.Order.OrderId,
            ["position"] = p.Index + 1,
            ["name"] = p.Name,
            ["version"] = p.Version,
            ["version_source"] = p.VersionSource,
            ["asset"] = p.Asset,
            ["schematic_id"] = p.SchematicId,
            ["schematic_source"] = p.SchematicSource,
            ["url"] = p.Url,
            ["installer_image"] = p.InstallerImage,
            ["cache_path"] = p.CachePath,
            ["expanded_path"] = p.ExpandedPath,
            ["targets"] = p.Targets.Select(t => t.ToString()).ToList(),
            ["manifest"] = o.ManifestPath,
            ["error"] = p.Error,
            ["warnings"] = p.Warnings,
        })).ToList();

    /// <summary>The end-of-run summary: per order its status, positions ok/failed, bytes and time.</summary>
    public static string Summary(RunResult result)
    {
        var sb = new StringBuilder();
        foreach (var o in result.Orders)
        {
            sb.AppendFormat(CultureInfo.InvariantCulture, "{0}: {1} ({2} ok, {3} failed of {4}); downloaded {5}, pushed {6}, {7}{8}; manifest {9}\n",
                o.OrderId, o.Status, o.Succeeded, o.Failed, o.Positions, Units.Bytes(o.BytesDownloaded), Units.Bytes(o.BytesPushed),
                Units.Duration(TimeSpan.FromSeconds(o.Duration)), o.Changed ? "" : ", nothing changed", o.ManifestPath);
            foreach (var f in result.Failures.Where(f => f.OrderId == o.OrderId))
            {
                sb.AppendFormat(CultureInfo.InvariantCulture, "  failed: {0}: {1}\n", SafeText.ForMessage(f.Position, 200), SafeText.Printable(f.Message));
            }
        }
        if (result.Removed.Count > 0)
        {
            sb.AppendFormat(CultureInfo.InvariantCulture, "cache: removed {0} file(s), {1}\n", result.Removed.Count, Units.Bytes(result.Removed.Sum(r => r.Size)));
        }
        return sb.ToString();
    }
}
