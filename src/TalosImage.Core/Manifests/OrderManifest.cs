using System;
using System.Collections.Generic;

namespace TalosImage.Core.Manifests;

/// <summary>One order's manifest: talos_order.py's fields plus status, installer image, asset, durations and the tool version.</summary>
public sealed record OrderManifest
{
    public DateTimeOffset GeneratedAt { get; init; }
    public string OrderId { get; init; } = "";
    public string Customer { get; init; } = "";
    public int PositionsCount { get; init; }
    public string? SourceConfig { get; init; }
    public string? SourceOrders { get; init; }
    public bool CachePolicyEnabled { get; init; }
    public int CachePolicyKeepVersions { get; init; }
    public bool CachePolicyPurgeBefore { get; init; }
    /// <summary>Succeeded, PartiallyFailed, Failed or Planned.</summary>
    public string Status { get; init; } = "";
    public bool DryRun { get; init; }
    public double DurationSeconds { get; init; }
    public IReadOnlyList<ManifestEntry> Entries { get; init; } = Array.Empty<ManifestEntry>();
    /// <summary>Remote retention after the order's publishes (push.retention): each image removed, kept in use, or failed; written only when any.</summary>
    public IReadOnlyList<ManifestRemoval> RemoteRetention { get; init; } = Array.Empty<ManifestRemoval>();
}

/// <summary>One image remote retention removed (or kept because a VM uses it, or failed to remove).</summary>
public sealed record ManifestRemoval
{
    public string Transport { get; init; } = "";
    public string Host { get; init; } = "";
    public string Storage { get; init; } = "";
    /// <summary>Proxmox volume id or remote path.</summary>
    public string Path { get; init; } = "";
    public string Version { get; init; } = "";
    public string Family { get; init; } = "";
    public long SizeBytes { get; init; }
    /// <summary>removed, in_use or failed.</summary>
    public string Status { get; init; } = "";
    public IReadOnlyList<string> UsedBy { get; init; } = Array.Empty<string>();
    public string? Error { get; init; }
}

/// <summary>One position in a manifest.</summary>
public sealed record ManifestEntry
{
    public string Name { get; init; } = "";
    /// <summary>ok, skipped, failed, or planned (dry run).</summary>
    public string Status { get; init; } = "";
    public string? Error { get; init; }
    public string? ErrorId { get; init; }
    public string Product { get; init; } = "talos";
    public string Platform { get; init; } = "";
    public string Arch { get; init; } = "";
    public string? Version { get; init; }
    public string VersionSource { get; init; } = "";
    public string VersionRequest { get; init; } = "";
    public bool SecureBoot { get; init; }
    public string ImageFormat { get; init; } = "";
    public string Asset { get; init; } = "";
    public string SchematicId { get; init; } = "";
    public string SchematicSource { get; init; } = "";
    public string Url { get; init; } = "";
    public string InstallerImage { get; init; } = "";
    public string CacheDir { get; init; } = "";
    public ManifestFile? Download { get; init; }
    public ManifestFile? Decompressed { get; init; }
    public IReadOnlyList<ManifestPush> Pushed { get; init; } = Array.Empty<ManifestPush>();
    /// <summary>VM templates of the position (its template:), one per endpoint, then what keep-N retired; empty without template:.</summary>
    public IReadOnlyList<ManifestTemplate> Templates { get; init; } = Array.Empty<ManifestTemplate>();
    public IReadOnlyList<string> Extensions { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    /// <summary>Time the position took in a real run, all stages.</summary>
    public double DurationSeconds { get; init; }
    public DateTimeOffset TimestampUtc { get; init; }
}

/// <summary>A downloaded or expanded file.</summary>
public sealed record ManifestFile
{
    public string Path { get; init; } = "";
    public bool Done { get; init; }
    public string? Sha256 { get; init; }
    public long? SizeBytes { get; init; }
    public bool FromCache { get; init; }
    public double DurationSeconds { get; init; }
    /// <summary>
    /// For a download: what Sha256 was checked against, factory-sha256 / factory-sha512 (the factory's checksum file)
    /// or local (computed here only); null when not known (a planned entry, an expansion).
    /// </summary>
    public string? HashSource { get; init; }
}

/// <summary>A push to one host or storage.</summary>
public sealed record ManifestPush
{
    public string Host { get; init; } = "";
    /// <summary>ok, skipped (already there), failed, or planned.</summary>
    public string Status { get; init; } = "";
    public string Transport { get; init; } = "";
    public string Destination { get; init; } = "";
    public string? VolumeId { get; init; }
    public long BytesSent { get; init; }
    public bool Verified { get; init; }
    public double DurationSeconds { get; init; }
    public string? Stderr { get; init; }
}

/// <summary>A VM template made, found or retired on one Proxmox endpoint (or planned, not run, failed).</summary>
public sealed record ManifestTemplate
{
    /// <summary>The config.yaml proxmox endpoint name.</summary>
    public string Endpoint { get; init; } = "";
    public string Node { get; init; } = "";
    /// <summary>created, found, retired, failed, planned or not-run.</summary>
    public string Status { get; init; } = "";
    public int? VmId { get; init; }
    public string Name { get; init; } = "";
    public string Storage { get; init; } = "";
    public string? SourceVolumeId { get; init; }
    public string? Sha256 { get; init; }
    public string? InstallerImage { get; init; }
    public string? Error { get; init; }
    public double DurationSeconds { get; init; }
}
