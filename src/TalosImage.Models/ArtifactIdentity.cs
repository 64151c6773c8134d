namespace TalosImage;

/// <summary>
/// What an artifact is, independent of where it lies: the factory asset (schematic, version, platform, architecture,
/// secureboot, format, asset name, URL) and its content (SHA-256, size). Every stage carries it, and every result
/// (<see cref="TalosArtifact"/>, <see cref="TalosPublishResult"/>, <see cref="TalosCacheEntry"/>) is built from it, so
/// no stage copies these fields one by one.
/// </summary>
public sealed record ArtifactIdentity
{
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "";
    /// <summary>iso, raw, raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2 ...</summary>
    public string Format { get; init; } = "";
    public bool SecureBoot { get; init; }
    /// <summary>File name in the factory, e.g. nocloud-amd64-secureboot.raw.xz (for an expanded image: its own name).</summary>
    public string Asset { get; init; } = "";
    /// <summary>The factory URL (for an expanded image: the compressed one's URL).</summary>
    public string Url { get; init; } = "";
    /// <summary>SHA-256 of the content, lowercase hex; empty when not known yet.</summary>
    public string Sha256 { get; init; } = "";
    public long Size { get; init; }
}
