using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;

namespace TalosImage.Core.Publishing;

/// <summary>Turns a plain file into a <see cref="TalosArtifact"/> for publishing, and hashes files.</summary>
public static class LocalArtifact
{
    /// <summary>
    /// The artifact for <paramref name="path"/>: from its cache metadata (<c>.meta.json</c>) when that still matches the
    /// file (hash included), else from its name (format by suffix; no hash: publishers hash it when they need to).
    /// Fails with ErrorId ArtifactFileMissing when the file does not exist.
    /// </summary>
    public static TalosArtifact FromFile(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists)
        {
            throw new TalosException(TalosErrors.ArtifactFileMissing, $"{full} does not exist.", full);
        }
        var meta = ArtifactMetadata.TryRead(full);
        if (meta is not null && meta.Matches(full))
        {
            return meta.ToArtifact(full, FormatOf(full), fromCache: true);
        }
        return new TalosArtifact { Path = full, Size = info.Length, Format = FormatOf(full), Asset = info.Name, FromCache = true };
    }

    /// <summary>The format a file name says (iso, raw, raw.xz, ...), or "" when it says none (<see cref="FactoryCatalog.FormatOfFileName"/>).</summary>
    public static string FormatOf(string fileName) => FactoryCatalog.FormatOfFileName(fileName) ?? "";

    /// <summary>SHA-256 of a file, lowercase hex.</summary>
    public static Task<string> Sha256Async(string path, CancellationToken ct) => FileHash.Sha256Async(path, null, ct);

    /// <summary>
    /// <paramref name="artifact"/> with its SHA-256 filled in: as it is when it has one, else hashed from its file
    /// (for -Path input without cache metadata).
    /// </summary>
    public static async Task<TalosArtifact> WithSha256Async(TalosArtifact artifact, CancellationToken ct)
    {
        if (IsSha256(artifact.Sha256))
        {
            return artifact;
        }
        var sha = await Sha256Async(artifact.Path, ct).ConfigureAwait(false);
        return artifact with { Sha256 = sha, Size = artifact.Size > 0 ? artifact.Size : new FileInfo(artifact.Path).Length };
    }

    /// <summary>True for 64 hex digits.</summary>
    public static bool IsSha256(string? value) => value is { Length: 64 } && value.All(Uri.IsHexDigit);
}
