using System;

namespace TalosImage;

/// <summary>One artifact in the cache (Get-TalosCache), or one removed or to be removed (Clear-TalosCache).</summary>
public sealed class TalosCacheEntry
{
    public string Path { get; init; } = "";
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Asset { get; init; } = "";
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "";
    public string Format { get; init; } = "";
    public bool SecureBoot { get; init; }
    public long Size { get; init; }
    public string Sha256 { get; init; } = "";
    public DateTimeOffset? DownloadedAt { get; init; }
    /// <summary>schematic/platform-arch[-secureboot].format: retention keeps the newest N versions of each.</summary>
    public string Family { get; init; } = "";
    /// <summary>Downloaded (a factory asset) or Expanded (a disk image expanded beside its compressed source).</summary>
    public string Kind { get; init; } = "Downloaded";
    /// <summary>Cached, Removed or WouldRemove.</summary>
    public string State { get; init; } = "Cached";

    public override string ToString() => Path;
}
