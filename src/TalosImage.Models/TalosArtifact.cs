namespace TalosImage;

/// <summary>
/// A file in the verified cache: a downloaded factory asset (Save-TalosImage) or an expanded disk image
/// (Expand-TalosImage). Its properties bind by name to Expand-TalosImage and Publish-TalosImage.
/// </summary>
public sealed record TalosArtifact
{
    /// <summary>An empty artifact (for <c>[TalosImage.TalosArtifact]@{ ... }</c> and object initialisers).</summary>
    public TalosArtifact()
    {
    }

    /// <summary>An artifact with the identity fields of <paramref name="identity"/>.</summary>
    public TalosArtifact(ArtifactIdentity identity)
    {
        SchematicId = identity.SchematicId;
        Version = identity.Version;
        Platform = identity.Platform;
        Architecture = identity.Architecture;
        Format = identity.Format;
        SecureBoot = identity.SecureBoot;
        Asset = identity.Asset;
        Url = identity.Url;
        Sha256 = identity.Sha256;
        Size = identity.Size;
    }

    /// <summary>The artifact's identity (what it is, not where it lies).</summary>
    public ArtifactIdentity GetIdentity() => new()
    {
        SchematicId = SchematicId,
        Version = Version,
        Platform = Platform,
        Architecture = Architecture,
        Format = Format,
        SecureBoot = SecureBoot,
        Asset = Asset,
        Url = Url,
        Sha256 = Sha256,
        Size = Size,
    };

    public string Path { get; init; } = "";
    /// <summary>The factory URL the artifact came from (for an expanded image: the compressed one's URL).</summary>
    public string Url { get; init; } = "";
    public string Sha256 { get; init; } = "";
    public long Size { get; init; }
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "";
    /// <summary>iso, raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2 ...; raw for an expanded image.</summary>
    public string Format { get; init; } = "";
    public bool SecureBoot { get; init; }
    /// <summary>File name in the factory, e.g. nocloud-amd64-secureboot.raw.xz.</summary>
    public string Asset { get; init; } = "";
    public string InstallerImage { get; init; } = "";
    /// <summary>True when nothing was downloaded or expanded because a verified file was already there.</summary>
    public bool FromCache { get; init; }
    /// <summary>Downloaded or Expanded (<see cref="ArtifactKind"/>).</summary>
    public string Kind { get; init; } = nameof(ArtifactKind.Downloaded);
    /// <summary>For an expanded image: the compressed artifact it came from.</summary>
    public string? SourcePath { get; init; }
    public double DurationSeconds { get; init; }
    /// <summary>
    /// For a compressed disk image (raw.xz, raw.zst, raw.gz): the SHA-256 of the raw image inside it, when known
    /// (an expansion recorded it). Lets Publish-TalosImage -RemoteExpand verify what the host expanded.
    /// </summary>
    public string? ExpandedSha256 { get; init; }
    /// <summary>
    /// For an expanded image: the decoder that expanded it, Native (liblzma / libzstd), Managed (SharpCompress, or .NET
    /// for gz) or Program (xz / zstd); for a skipped expansion the one its record names. Empty for a download.
    /// </summary>
    public string Decompressor { get; init; } = "";
    /// <summary>
    /// For a download: what its Sha256 was checked against: factory-sha256 or factory-sha512 (the factory's own
    /// checksum file, served by enterprise factories) or local (computed while downloading; the factory serves none).
    /// A cache hit says what was recorded. Empty for an expanded image.
    /// </summary>
    public string HashSource { get; init; } = "";

    public override string ToString() => Path;
}
