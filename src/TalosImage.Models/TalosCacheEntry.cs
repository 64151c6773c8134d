using System;

namespace TalosImage;

/// <summary>One artifact in the cache (Get-TalosCache), or one removed or to be removed (Clear-TalosCache).</summary>
public sealed record TalosCacheEntry
{
    /// <summary>An empty entry.</summary>
    public TalosCacheEntry()
    {
    }

    /// <summary>An entry for <paramref name="path"/> with the identity fields of <paramref name="identity"/> (all but the URL).</summary>
    public TalosCacheEntry(ArtifactIdentity identity, string path)
    {
        Path = path;
        SchematicId = identity.SchematicId;
        Version = identity.Version;
        Asset = identity.Asset;
        Platform = identity.Platform;
        Architecture = identity.Architecture;
        Format = identity.Format;
        SecureBoot = identity.SecureBoot;
        Size = identity.Size;
        Sha256 = identity.Sha256;
    }

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
    /// <summary>Downloaded (a factory asset), Expanded (a disk image expanded beside its compressed source) or Leftover (<see cref="ArtifactKind"/>).</summary>
    public string Kind { get; init; } = nameof(ArtifactKind.Downloaded);
    /// <summary>Cached, Removed or WouldRemove (<see cref="CacheEntryState"/>).</summary>
    public string State { get; init; } = nameof(CacheEntryState.Cached);

    public override string ToString() => Path;
}
