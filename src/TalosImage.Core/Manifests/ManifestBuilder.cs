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
            Download = failed ? null : new ManifestFile { Path = p.CachePath, Done = false, FromCache = p.Cached },
            Decompressed = failed || p.ExpandedPath is null ? null : new ManifestFile { Path = p.ExpandedPath, Done = false, FromCache = p.ExpandedCached },
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

    /// <summary>The entry of a position after a real run: what was downloaded, expanded and pushed, and how it ended.</summary>
    public static ManifestEntry Completed(PositionOutcome o, TalosConfig config, DateTimeOffset now)
    {
        var p = o.Planned;
        var entry = Planned(p, config, now);
        return entry with
        {
            Status = o.Status,
            Error = o.Error is null ? null : $"position failed at {o.FailedStage}: {o.Error}",
            ErrorId = o.ErrorId,
            SchematicSource = p.SchematicSource,
            Download = o.Download is { } d
                ? File(d) with { DurationSeconds = o.DownloadSeconds }
                : p.Error is null ? new ManifestFile { Path = p.CachePath } : null,
            Decompressed = o.Expanded is { } x
                ? File(x) with { DurationSeconds = o.ExpandSeconds }
                : p.Error is null && p.ExpandedPath is not null ? new ManifestFile { Path = p.ExpandedPath } : null,
            // Targets a position never reached (it failed earlier, or was declined) say so instead of "planned".
            Pushed = o.Pushes.Count > 0
                ? o.Pushes.Select(Push).ToList()
                : entry.Pushed.Select(t => t with { Status = o.Status == "skipped" ? "skipped" : "not-run" }).ToList(),
            DurationSeconds = o.Seconds,
        };
    }

    private static ManifestPush Push(TalosPublishResult r) => new()
    {
        Host = r.Host,
        Status = r.Status switch { "Published" => "ok", "Skipped" => "skipped", "Failed" => "failed", _ => r.Status.ToLowerInvariant() },
        Transport = r.Transport,
        Destination = r.Destination,
        VolumeId = r.VolumeId,
        BytesSent = r.BytesSent,
        Verified = r.Verified,
        DurationSeconds = r.Duration,
        Stderr = r.Error,
    };

    /// <summary>
    /// A manifest in the order manifest's format from the objects a hand-built pipeline produced
    /// (Save-TalosImage | Expand-TalosImage | Publish-TalosImage | Export-TalosManifest): one entry per downloaded
    /// artifact, with the image expanded from it and the pushes of either file. An expanded image or a push whose source
    /// never passed by gets an entry of its own.
    /// </summary>
    public static OrderManifest FromPipeline(string orderId, string customer, IReadOnlyList<TalosArtifact> artifacts, IReadOnlyList<TalosPublishResult> pushes, DateTimeOffset now)
    {
        var entries = new List<ManifestEntry>();
        var used = new HashSet<object>(); // TalosArtifact and TalosPublishResult compare by reference
        var downloads = artifacts.Where(a => a.Kind != "Expanded").ToList();
        foreach (var d in downloads)
        {
            var expanded = artifacts.FirstOrDefault(a => a.Kind == "Expanded" && !used.Contains(a) && SamePath(a.SourcePath, d.Path));
            entries.Add(PipelineEntry(d, expanded, pushes, used, now));
        }
        foreach (var x in artifacts.Where(a => a.Kind == "Expanded" && !used.Contains(a)).ToList())
        {
            entries.Add(PipelineEntry(null, x, pushes, used, now));
        }
        foreach (var orphan in pushes.Where(r => !used.Contains(r)).GroupBy(r => r.Path, StringComparer.Ordinal))
        {
            var first = orphan.First();
            var source = new TalosArtifact
            {
                Path = first.Path, Sha256 = first.Sha256, Size = first.Size, SchematicId = first.SchematicId, Version = first.Version, Asset = first.Asset,
            };
            entries.Add(PipelineEntry(source, null, orphan.ToList(), used, now) with { Download = new ManifestFile { Path = first.Path, Done = true, Sha256 = first.Sha256, SizeBytes = first.Size, FromCache = true } });
        }
        return new OrderManifest
        {
            GeneratedAt = now,
            OrderId = orderId,
            Customer = customer,
            PositionsCount = entries.Count,
            Status = OrderStatus(entries),
            DurationSeconds = artifacts.Sum(a => a.DurationSeconds) + pushes.Sum(p => p.Duration),
            Entries = entries,
        };
    }

    private static ManifestEntry PipelineEntry(TalosArtifact? download, TalosArtifact? expanded, IReadOnlyList<TalosPublishResult> pushes, HashSet<object> used, DateTimeOffset now)
    {
        var a = download ?? expanded!;
        var mine = pushes.Where(r => !used.Contains(r) && (SamePath(r.Path, download?.Path) || SamePath(r.Path, expanded?.Path))).ToList();
        foreach (var o in new object?[] { download, expanded }.Concat(mine))
        {
            if (o is not null)
            {
                used.Add(o);
            }
        }
        var failed = mine.Where(r => r.Status == "Failed").ToList();
        return new ManifestEntry
        {
            Name = a.Asset.Length > 0 ? a.Asset : Path.GetFileName(a.Path),
            Status = failed.Count > 0 ? "failed" : "ok",
            Error = failed.Count > 0 ? string.Join("; ", failed.Select(f => $"push to {f.Host} failed: {f.Error}")) : null,
            ErrorId = failed.Count > 0 ? "PublishFailed" : null,
            Platform = a.Platform,
            Arch = a.Architecture,
            Version = a.Version,
            SecureBoot = a.SecureBoot,
            ImageFormat = download?.Format ?? a.Format,
            Asset = a.Asset,
            SchematicId = a.SchematicId,
            Url = a.Url,
            InstallerImage = a.InstallerImage,
            CacheDir = "",
            Download = download is null ? null : File(download),
            Decompressed = expanded is null ? null : File(expanded),
            Pushed = mine.Select(Push).ToList(),
            DurationSeconds = (download?.DurationSeconds ?? 0) + (expanded?.DurationSeconds ?? 0) + mine.Sum(r => r.Duration),
            TimestampUtc = now,
        };
    }

    private static ManifestFile File(TalosArtifact a) =>
        new() { Path = a.Path, Done = true, Sha256 = a.Sha256, SizeBytes = a.Size, FromCache = a.FromCache, DurationSeconds = a.DurationSeconds };

    private static bool SamePath(string? a, string? b) =>
        !string.IsNullOrEmpty(a) && !string.IsNullOrEmpty(b) && string.Equals(Path.GetFullPath(a!), Path.GetFullPath(b!), StringComparison.Ordinal);

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
