using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TalosImage.Core.Orders;

namespace TalosImage.Core.Manifests;

/// <summary>Builds manifest records from the plan and from what a run did.</summary>
public static class ManifestBuilder
{
    /// <summary>The entry of a position as planned (dry run) or failed before it started.</summary>
    public static ManifestEntry Planned(PlannedPosition p, TalosConfig config, DateTimeOffset now)
    {
        var failed = p.Error is not null;
        return new ManifestEntry
        {
            Name = p.Name,
            Status = failed ? "failed" : "planned",
            Error = failed ? "position failed: " + p.Error : null,
            ErrorId = p.ErrorId,
            Platform = p.Platform,
            Arch = p.Arch,
            Version = p.Version,
            VersionSource = p.VersionSource,
            VersionRequest = p.Request.ToString(),
            SecureBoot = p.SecureBoot,
            ImageFormat = p.Format,
            Asset = p.Asset,
            SchematicId = p.SchematicId,
            SchematicSource = p.SchematicSource,
            Url = p.Url,
            InstallerImage = p.InstallerImage,
            CacheDir = Path.GetFullPath(config.CacheDir),
            Download = failed ? null : new ManifestFile { Path = p.CachePath, Done = false },
            Decompressed = failed || p.ExpandedPath is null ? null : new ManifestFile { Path = p.ExpandedPath, Done = false },
            Pushed = failed ? Array.Empty<ManifestPush>() : p.Targets.Select(t => new ManifestPush
            {
                Host = t.Host,
                Status = "planned",
                Transport = t.Transport,
                Destination = t.Destination,
            }).ToList(),
            Extensions = p.Extensions,
            Warnings = p.Warnings,
            TimestampUtc = now,
        };
    }

    public static OrderManifest ForOrder(Plan plan, PlannedOrder order, IReadOnlyList<ManifestEntry> entries, string status, bool dryRun, double durationSeconds, DateTimeOffset now) => new()
    {
        GeneratedAt = now,
        OrderId = order.Order.OrderId,
        Customer = order.Order.Customer,
        PositionsCount = order.Positions.Count,
        SourceConfig = plan.Config.SourcePath,
        SourceOrders = plan.Input.OrdersPath,
        CachePolicyEnabled = plan.Config.CachePolicy.Enabled,
        CachePolicyKeepVersions = plan.Config.CachePolicy.KeepVersions,
        CachePolicyPurgeBefore = plan.Config.CachePolicy.PurgeBefore,
        Status = status,
        DryRun = dryRun,
        DurationSeconds = durationSeconds,
        Entries = entries,
    };

    /// <summary>Succeeded when every entry is ok or skipped, Failed when none is, PartiallyFailed otherwise.</summary>
    public static string OrderStatus(IReadOnlyList<ManifestEntry> entries)
    {
        var failed = entries.Count(e => e.Status == "failed");
        return failed == 0 ? "Succeeded" : failed == entries.Count ? "Failed" : "PartiallyFailed";
    }
}
