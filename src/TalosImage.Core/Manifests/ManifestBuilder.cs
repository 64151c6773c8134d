using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Core.Factory;
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
            Status = failed ? Vocabulary.EntryWord.Failed : Vocabulary.EntryWord.Planned,
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
            Download = failed || !p.Download ? null : new ManifestFile { Path = p.CachePath, Done = false, FromCache = p.Cached },
            Decompressed = failed || p.ExpandedPath is null ? null : new ManifestFile { Path = p.ExpandedPath, Done = false, FromCache = p.ExpandedCached },
            Pushed = failed ? Array.Empty<ManifestPush>() : p.Targets.Select(t => new ManifestPush
            {
                Host = t.Host,
                Status = Vocabulary.EntryWord.Planned,
                Transport = t.Transport,
                Destination = t.Destination,
            }).ToList(),
            Templates = failed ? Array.Empty<ManifestTemplate>() : p.Templates.Select(t => new ManifestTemplate
            {
                Endpoint = t.Target.Host,
                Node = t.Node,
                Status = Vocabulary.EntryWord.Planned,
                VmId = t.Settings.VmId,
                Name = t.Name,
                Storage = t.Settings.Storage,
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
            Status = o.Status.Word(),
            Error = o.Error is null ? null : $"position failed at {o.FailedStage?.Word()}: {o.Error}",
            ErrorId = o.ErrorId,
            SchematicSource = p.SchematicSource,
            Download = o.Download is { } d
                ? File(d) with { DurationSeconds = o.DownloadSeconds }
                : p.Error is null && p.Download ? new ManifestFile { Path = p.CachePath } : null,
            Decompressed = o.Expanded is { } x
                ? File(x) with { DurationSeconds = o.ExpandSeconds }
                : p.Error is null && p.ExpandedPath is not null ? new ManifestFile { Path = p.ExpandedPath } : null,
            // Targets a position never reached (it failed earlier, or was declined) say so instead of "planned".
            Pushed = o.Pushes.Count > 0
                ? o.Pushes.Select(Push).ToList()
                : entry.Pushed.Select(t => t with { Status = o.Status == PositionStatus.Skipped ? Vocabulary.EntryWord.Skipped : Vocabulary.EntryWord.NotRun }).ToList(),
            Templates = o.Templates.Count > 0
                ? o.Templates.SelectMany(Templates).ToList()
                : entry.Templates.Select(t => t with { Status = o.Status == PositionStatus.Skipped ? Vocabulary.EntryWord.Skipped : Vocabulary.EntryWord.NotRun }).ToList(),
            DurationSeconds = o.Seconds,
        };
    }

    private static IEnumerable<ManifestTemplate> Templates(TemplateOutcome t)
    {
        if (t.Failed)
        {
            yield return new ManifestTemplate
            {
                Endpoint = t.Planned.Target.Host,
                Node = t.Planned.Node,
                Status = Vocabulary.EntryWord.Failed,
                VmId = t.Planned.Settings.VmId,
                Name = t.Planned.Name,
                Storage = t.Planned.Settings.Storage,
                Error = t.Error,
                DurationSeconds = t.Seconds,
            };
            yield break;
        }
        foreach (var r in t.Results)
        {
            yield return new ManifestTemplate
            {
                Endpoint = t.Planned.Target.Host,
                Node = r.Node,
                Status = r.Status.ToLowerInvariant(),
                VmId = r.VmId,
                Name = r.Name,
                Storage = r.Storage,
                SourceVolumeId = r.SourceVolumeId,
                Sha256 = r.Sha256,
                InstallerImage = r.InstallerImage,
                DurationSeconds = r.Duration,
            };
        }
    }

    private static ManifestPush Push(TalosPublishResult r) => new()
    {
        Host = r.Host,
        Status = Vocabulary.ManifestWord(r.Status),
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
    /// (Save-TalosImage | Expand-TalosImage | Publish-TalosImage | Export-TalosManifest), recorded as an order run
    /// records a position: one entry per download with its url, sha256, size, platform, arch, format and installer
    /// image, the image expanded from it and the pushes of either file. Whatever did not reach the manifest is taken
    /// from what did and from the cache's records: an expanded artifact names its source (<c>SourcePath</c>, the
    /// source's identity), a push result names its file (<c>Path</c>, <c>Sha256</c>), and a file's <c>.meta.json</c>
    /// says what it is (for an expansion: its source's URL and SHA-256, so the download is found beside it). Only the
    /// push results reach Export-TalosManifest at the end of that pipeline, and they are enough.
    /// A file that is no cache artifact gets an entry of its own, as its push names it.
    /// </summary>
    public static OrderManifest FromPipeline(string orderId, string customer, IReadOnlyList<TalosArtifact> artifacts, IReadOnlyList<TalosPublishResult> pushes, DateTimeOffset now)
    {
        var groups = new PipelineGroups();
        foreach (var a in artifacts ?? Array.Empty<TalosArtifact>())
        {
            if (a is null || string.IsNullOrEmpty(a.Path))
            {
                continue;
            }
            if (a.Is(ArtifactKind.Expanded))
            {
                groups.AddExpanded(a);
            }
            else
            {
                groups.AddDownload(a);
            }
        }
        foreach (var r in pushes ?? Array.Empty<TalosPublishResult>())
        {
            if (r is not null)
            {
                groups.AddPush(r);
            }
        }
        var entries = groups.All.Select(g => PipelineEntry(g, now)).ToList();
        return new OrderManifest
        {
            GeneratedAt = now,
            OrderId = orderId,
            Customer = customer,
            PositionsCount = entries.Count,
            Status = OrderStatus(entries),
            DurationSeconds = (artifacts ?? Array.Empty<TalosArtifact>()).Where(a => a is not null).Sum(a => a.DurationSeconds) +
                (pushes ?? Array.Empty<TalosPublishResult>()).Where(p => p is not null).Sum(p => p.Duration),
            Entries = entries,
        };
    }

    /// <summary>One download of a hand-built pipeline: the downloaded file, what was expanded from it, the pushes of either.</summary>
    private sealed class PipelineGroup
    {
        public TalosArtifact? Download { get; set; }
        /// <summary>True when the download passed by itself (its FromCache and duration are known).</summary>
        public bool DownloadSeen { get; set; }
        public TalosArtifact? Expanded { get; set; }
        public List<TalosPublishResult> Pushes { get; } = new();
        /// <summary>False for a file that is no cache artifact (no record, no expansion): as its push describes it.</summary>
        public bool Known { get; set; } = true;
    }

    private sealed class PipelineGroups
    {
        private readonly List<PipelineGroup> _groups = new();

        public IEnumerable<PipelineGroup> All => _groups;

        public void AddDownload(TalosArtifact a)
        {
            var g = ByDownload(a.Path) ?? New();
            if (!g.DownloadSeen)
            {
                g.Download = a;
                g.DownloadSeen = true;
            }
        }

        public void AddExpanded(TalosArtifact x)
        {
            var g = ByFile(x.Path);
            if (g is null)
            {
                var source = x.SourcePath is { Length: > 0 } s ? Path.GetFullPath(s) : SourceOf(x.Path)?.Path;
                g = source is not null ? ByDownload(source) : null;
                if (g is not null && g.Expanded is not null && !SamePath(g.Expanded.Path, x.Path))
                {
                    g = null; // a second expansion of one download (another destination): an entry of its own
                }
                if (g is null)
                {
                    g = New();
                    g.Download = DownloadFromExpanded(x, source);
                }
            }
            g.Expanded ??= x;
        }

        public void AddPush(TalosPublishResult r)
        {
            var g = ByFile(r.Path);
            if (g is null && !string.IsNullOrEmpty(r.Path))
            {
                var full = Path.GetFullPath(r.Path);
                var meta = ArtifactMetadata.TryRead(full) is { } m && m.Matches(full) ? m : null;
                if (meta is not null && Vocabulary.IsKind(meta.Kind, ArtifactKind.Expanded))
                {
                    AddExpanded(ExpandedFromRecord(full, meta, r));
                    g = ByFile(full);
                }
                else
                {
                    g = New();
                    g.Download = ImageExpander.DescribeSource(full, new TalosArtifact
                    {
                        Path = full, Sha256 = r.Sha256, Size = r.Size, SchematicId = r.SchematicId, Version = r.Version, Asset = r.Asset, FromCache = true,
                    });
                    g.Known = meta is not null;
                }
            }
            (g ?? New()).Pushes.Add(r);
        }

        private PipelineGroup New()
        {
            var g = new PipelineGroup();
            _groups.Add(g);
            return g;
        }

        private PipelineGroup? ByDownload(string path) => _groups.FirstOrDefault(g => g.Download is not null && SamePath(g.Download.Path, path));

        private PipelineGroup? ByFile(string path) =>
            _groups.FirstOrDefault(g => (g.Download is not null && SamePath(g.Download.Path, path)) || (g.Expanded is not null && SamePath(g.Expanded.Path, path)));
    }

    /// <summary>The expanded artifact a push of <paramref name="path"/> implies, from the expansion's own record.</summary>
    private static TalosArtifact ExpandedFromRecord(string path, ArtifactMetadata meta, TalosPublishResult r)
    {
        var source = SourceOf(path, meta);
        var artifact = meta.ToArtifact(path, "raw", fromCache: true);
        return artifact with
        {
            SchematicId = Pick(artifact.SchematicId, r.SchematicId),
            Version = Pick(artifact.Version, r.Version),
            FromCache = true,
            Kind = nameof(ArtifactKind.Expanded),
            SourcePath = source?.Path,
        };
    }

    /// <summary>
    /// The compressed file an expanded image at <paramref name="expandedPath"/> came from, beside it in the cache: the
    /// file its record's URL names, or the expanded name with a compression suffix, preferring one whose own record has
    /// the SHA-256 the expansion records as its source's. Null when the expansion has no record to say.
    /// </summary>
    private static (string Path, ArtifactMetadata? Meta)? SourceOf(string expandedPath, ArtifactMetadata? expandedMeta = null)
    {
        var full = Path.GetFullPath(expandedPath);
        expandedMeta ??= ArtifactMetadata.TryRead(full);
        if (expandedMeta is null)
        {
            return null;
        }
        var dir = Path.GetDirectoryName(full)!;
        var candidates = new List<string>();
        if (AssetOfUrl(expandedMeta.Url) is { } asset)
        {
            candidates.Add(Path.Combine(dir, asset));
        }
        candidates.AddRange(new[] { ".xz", ".zst", ".gz", ".tar.gz" }.Select(s => full + s));
        var present = candidates.Where(c => System.IO.File.Exists(c))
            .Select(c => (Path: c, Meta: ArtifactMetadata.TryRead(c) is { } m && m.Matches(c) ? m : null)).ToList();
        var verified = present.FirstOrDefault(c => c.Meta is not null && string.Equals(c.Meta.Sha256, expandedMeta.SourceSha256, StringComparison.OrdinalIgnoreCase));
        if (verified.Path is not null)
        {
            return verified;
        }
        if (present.Count > 0)
        {
            return present[0];
        }
        return candidates.Count > 0 && AssetOfUrl(expandedMeta.Url) is not null ? (candidates[0], null) : null;
    }

    /// <summary>The last segment of a factory image URL (the asset name), or null.</summary>
    private static string? AssetOfUrl(string? url)
    {
        if (string.IsNullOrEmpty(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null;
        }
        var last = uri.AbsolutePath.Substring(uri.AbsolutePath.LastIndexOf('/') + 1);
        return last.Length > 0 && last.IndexOfAny(Path.GetInvalidFileNameChars()) < 0 && last != "." && last != ".." ? Uri.UnescapeDataString(last) : null;
    }

    /// <summary>
    /// The download an expanded artifact came from, when the download itself did not pass by: its file (the artifact's
    /// SourcePath, else found beside it) described by its record, with the identity the expansion carries; its
    /// SHA-256 from the expansion's record when the file is gone.
    /// </summary>
    private static TalosArtifact? DownloadFromExpanded(TalosArtifact x, string? sourcePath)
    {
        var xMeta = ArtifactMetadata.TryRead(x.Path);
        var path = sourcePath ?? SourceOf(x.Path, xMeta)?.Path
            ?? (AssetOfUrl(x.Url) is { } asset && Path.GetDirectoryName(Path.GetFullPath(x.Path)) is { } dir ? Path.Combine(dir, asset) : null);
        if (path is null)
        {
            return null; // nothing says which download it came from: the entry carries the expansion's identity only
        }
        // The download's identity is the expansion's, but for the file itself: its name, its hash (as the expansion
        // recorded it), and no size or format until its own record says them.
        var identity = new TalosArtifact(x.GetIdentity() with
        {
            Sha256 = xMeta?.SourceSha256 ?? "",
            Size = 0,
            Format = "",
            Asset = AssetOfUrl(x.Url) ?? Path.GetFileName(path),
        })
        {
            Path = path,
            InstallerImage = x.InstallerImage,
            FromCache = true,
        };
        // A file still there is described by its own record (hash, size); a file gone keeps the expansion's word.
        return ImageExpander.DescribeSource(path, identity);
    }

    private static string Pick(string? first, string? second) => !string.IsNullOrEmpty(first) ? first! : second ?? "";

    private static ManifestEntry PipelineEntry(PipelineGroup g, DateTimeOffset now)
    {
        var d = g.Download;
        var x = g.Expanded;
        var failed = g.Pushes.Where(r => r.Is(PublishStatus.Failed)).ToList();
        var name = Pick(d?.Asset, d is null ? x?.Asset : Path.GetFileName(d.Path));
        return new ManifestEntry
        {
            Name = name.Length > 0 ? name : Path.GetFileName(x?.Path ?? ""),
            Status = (failed.Count > 0 ? PositionStatus.Failed : PositionStatus.Ok).Word(),
            Error = failed.Count > 0 ? string.Join("; ", failed.Select(f => $"push to {f.Host} failed: {f.Error}")) : null,
            ErrorId = failed.Count > 0 ? TalosErrors.PublishFailed.Id : null,
            Platform = Pick(d?.Platform, x?.Platform),
            Arch = Pick(d?.Architecture, x?.Architecture),
            Version = Pick(d?.Version, x?.Version),
            SecureBoot = d is not null && (!string.IsNullOrEmpty(d.SchematicId) || !string.IsNullOrEmpty(d.Url)) ? d.SecureBoot : x?.SecureBoot ?? d?.SecureBoot ?? false,
            ImageFormat = Pick(d?.Format, d is null ? x?.Format : FactoryCatalog.FormatOfFileName(d.Path)),
            Asset = Pick(d?.Asset, x?.Asset),
            SchematicId = Pick(d?.SchematicId, x?.SchematicId),
            Url = Pick(d?.Url, x?.Url),
            InstallerImage = Pick(d?.InstallerImage, x?.InstallerImage),
            CacheDir = CachePaths.CacheDirOf(d?.Path is { Length: > 0 } dp ? dp : x?.Path) is { } cache && (g.Known || x is not null) ? cache : "",
            Download = d is null ? null : File(d) with
            {
                FromCache = g.DownloadSeen ? d.FromCache : true,
                SizeBytes = d.Size > 0 ? d.Size : null,
                Sha256 = string.IsNullOrEmpty(d.Sha256) ? null : d.Sha256,
            },
            Decompressed = x is null ? null : File(x),
            Pushed = g.Pushes.Select(Push).ToList(),
            DurationSeconds = (g.DownloadSeen ? d!.DurationSeconds : 0) + (x?.DurationSeconds ?? 0) + g.Pushes.Sum(r => r.Duration),
            TimestampUtc = now,
        };
    }

    private static ManifestFile File(TalosArtifact a) =>
        new() { Path = a.Path, Done = true, Sha256 = a.Sha256, SizeBytes = a.Size, FromCache = a.FromCache, DurationSeconds = a.DurationSeconds, HashSource = a.HashSource is { Length: > 0 } h ? h : null };

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

    /// <summary>The manifest's record of one remote retention result (Removed, InUse or Failed).</summary>
    public static ManifestRemoval Removal(TalosPublishedImage i) => new()
    {
        Transport = i.Transport,
        Host = i.Host,
        Storage = i.Storage,
        Path = i.Path,
        Version = i.Version,
        Family = i.Family,
        SizeBytes = i.Size,
        Status = i.State switch
        {
            nameof(PublishedState.Removed) => "removed",
            nameof(PublishedState.InUse) => "in_use",
            nameof(PublishedState.WouldRemove) => "would_remove",
            nameof(PublishedState.Failed) => "failed",
            _ => "kept",
        },
        UsedBy = i.UsedBy,
        Error = i.Error,
    };

    /// <summary>Succeeded when nothing failed, Failed when everything did (of at least one), PartiallyFailed otherwise.</summary>
    public static OrderStatus OrderStatusOf(int failed, int total) =>
        failed == 0 ? TalosImage.OrderStatus.Succeeded : failed == total ? TalosImage.OrderStatus.Failed : TalosImage.OrderStatus.PartiallyFailed;

    /// <summary>Succeeded when every entry is ok or skipped, Failed when none is, PartiallyFailed otherwise.</summary>
    public static string OrderStatus(IReadOnlyList<ManifestEntry> entries)
    {
        var failed = entries.Count(e => e.Status == PositionStatus.Failed.Word());
        return OrderStatusOf(failed, entries.Count).ToString();
    }
}
