using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;

namespace TalosImage.Core.Publishing;

/// <summary>Turns a plain file into a <see cref="TalosArtifact"/> for publishing, and hashes files.</summary>
public static class LocalArtifact
{
    // Longest first.
    private static readonly string[] Formats = { "raw.tar.gz", "raw.xz", "raw.zst", "raw.gz", "iso.gz", "iso.zst", "qcow2", "raw", "iso" };

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
            throw new TalosException("ArtifactFileMissing", TalosErrorKind.ObjectNotFound, $"{full} does not exist.", full);
        }
        var meta = ArtifactMetadata.TryRead(full);
        if (meta is not null && meta.Matches(full))
        {
            return new TalosArtifact
            {
                Path = full,
                Url = meta.Url,
                Sha256 = meta.Sha256,
                Size = meta.Size,
                SchematicId = meta.SchematicId,
                Version = meta.Version,
                Platform = meta.Platform,
                Architecture = meta.Architecture,
                Format = meta.Format.Length > 0 ? meta.Format : FormatOf(full),
                SecureBoot = meta.SecureBoot,
                Asset = meta.Asset.Length > 0 ? meta.Asset : info.Name,
                Kind = meta.Kind,
                FromCache = true,
            };
        }
        return new TalosArtifact { Path = full, Size = info.Length, Format = FormatOf(full), Asset = info.Name, FromCache = true };
    }

    /// <summary>The format a file name says (iso, raw, raw.xz, ...), or "" when it says none.</summary>
    public static string FormatOf(string fileName)
    {
        var name = Path.GetFileName(fileName ?? "").ToLowerInvariant();
        return Formats.FirstOrDefault(f => name.EndsWith("." + f, StringComparison.Ordinal)) is { } format ? format : "";
    }

    /// <summary>SHA-256 of a file, lowercase hex; reads it once in 1 MiB blocks.</summary>
    public static async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        using var sha = SHA256.Create();
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = await stream.ReadAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false)) > 0)
        {
            sha.TransformBlock(buffer, 0, n, null, 0);
        }
        sha.TransformFinalBlock(buffer, 0, 0);
        return string.Concat(sha.Hash!.Select(b => b.ToString("x2")));
    }

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
        return new TalosArtifact
        {
            Path = artifact.Path,
            Url = artifact.Url,
            Sha256 = sha,
            Size = artifact.Size > 0 ? artifact.Size : new FileInfo(artifact.Path).Length,
            SchematicId = artifact.SchematicId,
            Version = artifact.Version,
            Platform = artifact.Platform,
            Architecture = artifact.Architecture,
            Format = artifact.Format,
            SecureBoot = artifact.SecureBoot,
            Asset = artifact.Asset,
            InstallerImage = artifact.InstallerImage,
            FromCache = artifact.FromCache,
            Kind = artifact.Kind,
            SourcePath = artifact.SourcePath,
            DurationSeconds = artifact.DurationSeconds,
            ExpandedSha256 = artifact.ExpandedSha256,
        };
    }

    /// <summary>True for 64 hex digits.</summary>
    public static bool IsSha256(string? value) => value is { Length: 64 } && value.All(Uri.IsHexDigit);
}
