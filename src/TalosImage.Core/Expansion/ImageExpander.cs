using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;

namespace TalosImage.Core.Expansion;

/// <summary>
/// Which decoder expands xz and zstd (<c>-Decompressor</c>, <c>defaults.decompressor</c>, <c>TALOSIMAGE_DECOMPRESSOR</c>;
/// see <see cref="DecompressorChoice"/>): Auto = the system's liblzma / libzstd when it loads, else the managed
/// decoder; Native = the library only; Managed = SharpCompress (in the module, nothing to install); Program = the
/// xz / zstd programs on PATH only. gz and tar.gz are always decoded by .NET (System.IO.Compression): Managed.
/// </summary>
public enum ExpansionBackend
{
    Auto,
    Native,
    Managed,
    Program,
}

public sealed record ExpandOptions
{
    /// <summary>Decoder threads for xz (block-parallel workers, liblzma's multi-threaded decoder, or <c>xz -T</c>); 0 = one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Expand even when a verified expansion of the same source is already there.</summary>
    public bool Force { get; init; }

    /// <summary>The decoder (<see cref="ExpansionBackend"/>); hosts resolve it with <see cref="DecompressorChoice.Resolve"/>.</summary>
    public ExpansionBackend Backend { get; init; } = ExpansionBackend.Auto;

    /// <summary>For tests: behave as on a host where liblzma and libzstd do not load.</summary>
    internal bool WithoutNativeLibraries { get; init; }
}

/// <summary>
/// Expands compressed disk images (raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2.xz, vhd.xz ...) beside them:
/// decoded by the system's liblzma / libzstd (or the xz / zstd programs), checked against the container's own
/// integrity data, written sparse to <c>&lt;dest&gt;.part</c> while hashed, renamed into place when complete, and
/// recorded with <see cref="ArtifactMetadata"/> (Kind Expanded, SourceSha256) so the next run skips it.
/// See docs/EXPANSION.md.
/// </summary>
public sealed class ImageExpander
{
    public const string PartSuffix = ".part";

    private const int ChunkSize = 4 << 20;
    private const int ChunkCount = 6;

    private static int _nextActivityId = 5000;

    private readonly IEngineEvents _events;
    private readonly ExpandOptions _options;

    public ImageExpander(IEngineEvents events, ExpandOptions? options = null)
    {
        _events = events;
        _options = options ?? new ExpandOptions();
    }

    /// <summary>
    /// Where an image is expanded by default: beside the source, without the compression suffix
    /// (nocloud-amd64.raw.xz -> nocloud-amd64.raw, gcp-amd64.raw.tar.gz -> gcp-amd64.raw).
    /// </summary>
    public static string DefaultDestination(string sourcePath, string format)
    {
        var full = Path.GetFullPath(sourcePath);
        var dir = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        var expanded = FactoryCatalog.ExpandedFormat(format);
        if (name.EndsWith("." + format, StringComparison.OrdinalIgnoreCase))
        {
            return Path.Combine(dir, name.Substring(0, name.Length - format.Length) + expanded);
        }
        var suffix = format.Substring(expanded.Length); // ".xz", ".tar.gz" ...
        if (suffix.Length > 0 && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && name.Length > suffix.Length)
        {
            return Path.Combine(dir, name.Substring(0, name.Length - suffix.Length));
        }
        return Path.Combine(dir, name + "." + expanded);
    }

    /// <summary>
    /// The format a file name says (raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2.xz, iso, raw ...), or null
    /// (<see cref="FactoryCatalog.FormatOfFileName"/>: a <c>.raw</c> file is raw).
    /// </summary>
    public static string? FormatOf(string path) => FactoryCatalog.FormatOfFileName(path);

    /// <summary>
    /// A TalosArtifact for a plain file (Expand-TalosImage -Path): the format from its name, and the identity
    /// (URL, schematic, version, platform, SHA-256 ...) from its .meta.json when that still matches the file.
    /// Same as <c>DescribeSource(path, null)</c>.
    /// </summary>
    public static TalosArtifact ArtifactFor(string path) => DescribeSource(path, null);

    /// <summary>
    /// The file at <paramref name="path"/> described for expansion from what the pipeline says of it
    /// (<paramref name="piped"/>: a TalosArtifact from Save-TalosImage, or one built from bound properties; may be null)
    /// and from its cache metadata (<c>.meta.json</c>, used only while it still matches the file's size and mtime).
    /// The metadata wins for what it knows of the file itself: SHA-256, size and kind. For the identity (URL,
    /// schematic, version, platform, arch, SecureBoot, installer image, asset, format) what the pipe says wins and the
    /// metadata fills what it leaves empty; the format falls back to the file name
    /// (<see cref="FactoryCatalog.FormatOfFileName"/>), the installer image to the one the recorded URL implies.
    /// A piped hash, size or expanded hash is used only when the piped artifact names the same file.
    /// Reads no artifact bytes; a missing file is reported by <see cref="ExpandAsync"/> (SourceNotFound).
    /// </summary>
    public static TalosArtifact DescribeSource(string path, TalosArtifact? piped)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            path = piped?.Path ?? "";
        }
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new TalosException(TalosErrors.SourceNotFound, "No image to expand was given (no path).", path);
        }
        var full = Path.GetFullPath(path);
        var meta = ArtifactMetadata.TryRead(full) is { } m && m.Matches(full) ? m : null;
        var sameFile = piped is not null && (string.IsNullOrEmpty(piped.Path) || SamePath(piped.Path, full));
        var p = piped ?? new TalosArtifact();
        static string Pick(string? first, string? second) => !string.IsNullOrEmpty(first) ? first! : second ?? "";

        var url = Pick(p.Url, meta?.Url);
        var platform = Pick(p.Platform, meta?.Platform);
        var schematic = Pick(p.SchematicId, meta?.SchematicId);
        var version = Pick(p.Version, meta?.Version);
        // SecureBoot is a plain bool: a pipe that names the file's identity says it, else the record does.
        var secureBoot = !string.IsNullOrEmpty(p.SchematicId) || !string.IsNullOrEmpty(p.Url) || meta is null ? p.SecureBoot : meta.SecureBoot;
        var length = File.Exists(full) ? new FileInfo(full).Length : 0;
        var identity = new ArtifactIdentity
        {
            Url = url,
            Sha256 = meta?.Sha256 ?? (sameFile && IsSha256(p.Sha256) ? p.Sha256!.ToLowerInvariant() : ""),
            Size = meta?.Size ?? (length > 0 ? length : sameFile ? p.Size : 0),
            SchematicId = schematic,
            Version = version,
            Platform = platform,
            Architecture = Pick(p.Architecture, meta?.Architecture),
            Format = FactoryCatalog.NormaliseFormat(p.Format) ?? FactoryCatalog.NormaliseFormat(meta?.Format) ?? FormatOf(full) ?? p.Format ?? "",
            SecureBoot = secureBoot,
            Asset = Pick(p.Asset, Pick(meta?.Asset, Path.GetFileName(full))),
        };
        return new TalosArtifact(identity)
        {
            Path = full,
            InstallerImage = Pick(p.InstallerImage, Pick(meta?.InstallerImage, FactoryCatalog.InstallerImageFromUrl(url, platform, schematic, version, secureBoot))),
            FromCache = piped?.FromCache ?? false,
            Kind = meta is { Kind.Length: > 0 } ? meta.Kind : Pick(p.Kind, nameof(ArtifactKind.Downloaded)),
            SourcePath = p.SourcePath,
            DurationSeconds = p.DurationSeconds,
            ExpandedSha256 = sameFile ? p.ExpandedSha256 : null,
        };
    }

    private static bool IsSha256(string? value) => value is { Length: 64 } && value.All(Uri.IsHexDigit);

    private static bool SamePath(string a, string b)
    {
        try
        {
            return string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), Path.DirectorySeparatorChar == '\\' ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return false;
        }
    }

    /// <summary>
    /// The verified expansion of <paramref name="source"/> that <see cref="ExpandAsync"/> would return without
    /// expanding anything (its record matches the file and names this source's SHA-256), or null when an expansion
    /// would have to run. Reads, never writes: Expand-TalosImage -WhatIf passes it on. Hashes the source only when
    /// neither the artifact nor its record knows its SHA-256.
    /// </summary>
    public static TalosArtifact? FindExpanded(TalosArtifact source, string? destinationPath, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(source.Path) || !File.Exists(source.Path))
        {
            return null;
        }
        var sourcePath = Path.GetFullPath(source.Path);
        source = DescribeSource(sourcePath, source);
        var format = FactoryCatalog.NormaliseFormat(source.Format) ?? FormatOf(sourcePath);
        if (format is null || format.StartsWith("iso", StringComparison.Ordinal) || !FactoryCatalog.IsCompressed(format))
        {
            return null;
        }
        var destination = Path.GetFullPath(destinationPath ?? DefaultDestination(sourcePath, format));
        return Verified(source, sourcePath, destination, format, KnownSha256(source, sourcePath), ct, Stopwatch.StartNew());
    }

    private static TalosArtifact? Verified(TalosArtifact source, string sourcePath, string destination, string format, string? sourceSha, CancellationToken ct, Stopwatch started)
    {
        if (ArtifactMetadata.TryRead(destination) is not { Kind: nameof(ArtifactKind.Expanded), SourceSha256: { Length: 64 } recordedSource } meta || !meta.Matches(destination))
        {
            return null;
        }
        sourceSha ??= HashFile(sourcePath, ct);
        return string.Equals(recordedSource, sourceSha, StringComparison.OrdinalIgnoreCase)
            ? Result(WithIdentityOf(source, meta), sourcePath, destination, FactoryCatalog.ExpandedFormat(format), meta.Sha256, meta.Size, fromCache: true, started, meta.Decompressor ?? "")
            : null;
    }

    public Task<TalosArtifact> ExpandAsync(TalosArtifact source, string? destinationPath, CancellationToken ct) =>
        Task.Factory.StartNew(() => Expand(source, destinationPath, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>
    /// One expansion: <see cref="Prepare"/> (what the source is and where it goes), a verified earlier expansion taken
    /// unless Force, then <see cref="Write"/> (decode, hash and record into the destination).
    /// </summary>
    private TalosArtifact Expand(TalosArtifact source, string? destinationPath, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        var job = Prepare(source, destinationPath);
        var sourceSha = KnownSha256(job.Source, job.SourcePath);
        if (!_options.Force && Verified(job.Source, job.SourcePath, job.Destination, job.Format, sourceSha, ct, started) is { } done)
        {
            _events.Verbose($"{job.Destination}: already expanded from this {job.Format} (SHA-256 {done.Sha256}); skipped.");
            return done;
        }
        var (sha, size, decompressor) = Write(job, sourceSha, ct);
        return Result(job.Source, job.SourcePath, job.Destination, job.ExpandedFormat, sha, size, fromCache: false, started, decompressor);
    }

    /// <summary>An expansion to run: the described source, its path and format, the destination and the expanded format.</summary>
    private sealed record Job(TalosArtifact Source, string SourcePath, string Format, string Destination, string ExpandedFormat);

    /// <summary>
    /// Checks that <paramref name="source"/> exists and is a compressed image of a known format and that the
    /// destination is not the source; fills what the artifact leaves empty from the file's record.
    /// </summary>
    private static Job Prepare(TalosArtifact source, string? destinationPath)
    {
        if (string.IsNullOrEmpty(source.Path) || !File.Exists(source.Path))
        {
            throw new TalosException(TalosErrors.SourceNotFound, $"The image to expand does not exist: '{source.Path}'.", source.Path);
        }
        var sourcePath = Path.GetFullPath(source.Path);
        // What the file's record knows fills what the artifact leaves empty (a piped artifact built from a path only).
        source = DescribeSource(sourcePath, source);
        // The artifact's own format when it names one (no orders-file alias: raw is raw), else the file name's.
        var format = FactoryCatalog.NormaliseFormat(source.Format) ?? FormatOf(sourcePath);
        if (format is null)
        {
            throw new TalosException(TalosErrors.UnknownFormat,
                $"Cannot tell the format of '{sourcePath}' from its name; expected a name ending in .raw.xz, .raw.zst, .raw.gz, .raw.tar.gz, .qcow2.xz ...", sourcePath);
        }
        if (format.StartsWith("iso", StringComparison.Ordinal))
        {
            throw new TalosException(TalosErrors.NotCompressed,
                $"'{sourcePath}' is {format}, an ISO image: there is nothing to expand (Expand-TalosImage expands compressed disk images; a compressed ISO is published as it is).", sourcePath);
        }
        if (!FactoryCatalog.IsCompressed(format))
        {
            throw new TalosException(TalosErrors.NotCompressed,
                $"'{sourcePath}' is {format}, which is not compressed: there is nothing to expand (compressed formats end in .xz, .zst, .gz or .tar.gz).", sourcePath);
        }
        var destination = Path.GetFullPath(destinationPath ?? DefaultDestination(sourcePath, format));
        if (string.Equals(destination, sourcePath, StringComparison.OrdinalIgnoreCase))
        {
            throw new TalosException(TalosErrors.InvalidDestination, $"The destination is the source itself: '{destination}'.", destination);
        }
        return new Job(source, sourcePath, format, destination, FactoryCatalog.ExpandedFormat(format));
    }

    /// <summary>
    /// Decodes the source into <c>&lt;destination&gt;.part</c> (sparse, hashed), records it (metadata first) and gives it
    /// its final name; on any failure nothing of this expansion stays, and an older expansion whose record was
    /// touched goes too. Returns the expanded image's SHA-256 and size.
    /// </summary>
    private (string Sha256, long Size, string Decompressor) Write(Job job, string? sourceSha, CancellationToken ct)
    {
        var (source, sourcePath, format, destination) = (job.Source, job.SourcePath, job.Format, job.Destination);
        var (decoder, kind) = ChooseDecoder(format, sourcePath);
        if (decoder is XzBlockParallelDecoder)
        {
            sourceSha ??= HashFile(sourcePath, ct); // it reads blocks out of order: the source is hashed first
        }
        _events.Verbose($"Expanding {sourcePath} -> {destination} with the {kind} decompressor: {decoder.Description}.");
        var part = destination + PartSuffix;
        CacheFiles.RefuseUnlessFileOrAbsent(part); // a planted link is refused, not followed nor removed
        string sha;
        long size;
        string? inputSha;
        try
        {
            var total = new FileInfo(sourcePath).Length;
            var progress = new ExpandProgress(_events, Interlocked.Increment(ref _nextActivityId), $"Expanding {Path.GetFileName(sourcePath)}", total);
            using var input = new InputStream(new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan), sourceSha is null, progress.Report);
            (sha, size) = Run(decoder, input, part, ct);
            progress.Done(size);
            inputSha = input.Sha256();
        }
        catch (Exception e)
        {
            AtomicFile.TryDelete(part);
            throw Translate(e, sourcePath, destination, part, recording: false);
        }
        Record(job, part, sha, size, sourceSha ?? inputSha!, kind);
        return (sha, size, kind.ToString());
    }

    /// <summary>
    /// Records the complete expansion in <paramref name="part"/> (metadata first: source SHA-256, decoder) and gives it
    /// its final name; on failure nothing of it stays, and an older expansion whose record was touched goes too.
    /// </summary>
    private static void Record(Job job, string part, string sha, long size, string sourceSha, ExpansionBackend kind)
    {
        var (source, sourcePath, destination) = (job.Source, job.SourcePath, job.Destination);
        var recording = false;
        try
        {
            var record = ArtifactMetadata.For(ExpandedIdentity(source, destination, job.ExpandedFormat, sha, size), ArtifactKind.Expanded,
                source.InstallerImage.Length > 0 ? source.InstallerImage : null, DateTimeOffset.UtcNow);
            record.SourceSha256 = sourceSha;
            record.Decompressor = kind.ToString();
            // The record first, then the final name: a file never has its final name without a record that matches it.
            recording = true;
            record.WriteFor(destination, part);
            AtomicFile.Replace(part, destination);
            if (!record.Matches(destination))
            {
                record.WriteFor(destination); // a file system whose rename touched the mtime
            }
        }
        catch (Exception e)
        {
            AtomicFile.TryDelete(part);
            if (recording)
            {
                // The older expansion's record is gone or overwritten: it goes too.
                ArtifactMetadata.DeleteFor(destination);
                AtomicFile.TryDelete(destination);
            }
            throw Translate(e, sourcePath, destination, part, recording);
        }
    }

    private static Exception Translate(Exception e, string sourcePath, string destination, string part, bool recording) => e switch
    {
        CorruptDataException => new TalosException(TalosErrors.CorruptImage,
            $"'{sourcePath}' is corrupt or truncated: {e.Message}. Nothing was written to '{destination}'; download it again.", sourcePath, e),
        TarMemberMissingException => new TalosException(TalosErrors.DiskImageMissing,
            $"'{sourcePath}' cannot be expanded: {e.Message}.", sourcePath, e),
        DecoderFailedException => new TalosException(TalosErrors.ExpansionFailed, $"Expanding '{sourcePath}' failed: {e.Message}", sourcePath, e),
        IOException or UnauthorizedAccessException => new TalosException(TalosErrors.ExpansionWriteFailed,
            $"Could not write '{(recording ? destination : part)}': {e.Message}", destination, e),
        _ => e,
    };

    private static TalosArtifact Result(TalosArtifact source, string sourcePath, string destination, string format, string sha, long size, bool fromCache, Stopwatch started, string decompressor) =>
        new(ExpandedIdentity(source, destination, format, sha, size))
        {
            Path = destination,
            InstallerImage = source.InstallerImage,
            FromCache = fromCache,
            Kind = nameof(ArtifactKind.Expanded),
            SourcePath = sourcePath,
            DurationSeconds = started.Elapsed.TotalSeconds,
            Decompressor = decompressor,
        };

    /// <summary>The identity of the image expanded from <paramref name="source"/> into <paramref name="destination"/>: the source's, with the expanded file's name, format, hash and size.</summary>
    private static ArtifactIdentity ExpandedIdentity(TalosArtifact source, string destination, string format, string sha, long size) =>
        source.GetIdentity() with { Asset = Path.GetFileName(destination), Format = format, Sha256 = sha, Size = size };

    /// <summary>
    /// <paramref name="source"/> with the identity an earlier expansion recorded (<paramref name="expanded"/>, a verified
    /// record of the same source's expansion) filled in where the source says nothing.
    /// </summary>
    private static TalosArtifact WithIdentityOf(TalosArtifact source, ArtifactMetadata expanded)
    {
        if (!string.IsNullOrEmpty(source.SchematicId) || !string.IsNullOrEmpty(source.Url))
        {
            return source;
        }
        static string Pick(string first, string? second) => first.Length > 0 ? first : second ?? "";
        var platform = Pick(source.Platform, expanded.Platform);
        var version = Pick(source.Version, expanded.Version);
        return source with
        {
            Url = expanded.Url,
            SchematicId = expanded.SchematicId,
            Version = version,
            Platform = platform,
            Architecture = Pick(source.Architecture, expanded.Architecture),
            SecureBoot = expanded.SecureBoot,
            InstallerImage = Pick(source.InstallerImage, Pick(expanded.InstallerImage ?? "",
                FactoryCatalog.InstallerImageFromUrl(expanded.Url, platform, expanded.SchematicId, version, expanded.SecureBoot))),
        };
    }

    /// <summary>The source's SHA-256 from the artifact, else from its verified .meta.json; null when neither has it.</summary>
    private static string? KnownSha256(TalosArtifact source, string sourcePath)
    {
        if (source.Sha256 is { Length: 64 })
        {
            return source.Sha256.ToLowerInvariant();
        }
        return ArtifactMetadata.TryRead(sourcePath) is { } meta && meta.Matches(sourcePath) ? meta.Sha256.ToLowerInvariant() : null;
    }

    private static string HashFile(string path, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        int n;
        while ((n = file.Read(buffer, 0, buffer.Length)) > 0)
        {
            ct.ThrowIfCancellationRequested();
            sha.AppendData(buffer, 0, n);
        }
        return InputStream.Hex(sha.GetHashAndReset());
    }

    /// <summary>
    /// An expansion of the download to <paramref name="sourcePath"/> (format <paramref name="format"/>) into
    /// <paramref name="destination"/> that takes the body as it arrives (<see cref="OverlappedExpansion"/>), or null
    /// when this format or decoder cannot stream (gz and tar.gz, a missing library: the expansion after the download
    /// reports that), or a verified expansion may already be there (the expansion after the download decides).
    /// The decoder is of the kind a local expansion of the complete file would choose (Native, Managed or Program).
    /// </summary>
    internal OverlappedExpansion? TryOverlap(string format, string sourcePath, string destination)
    {
        format = FactoryCatalog.NormaliseFormat(format) ?? format;
        if (!FactoryCatalog.IsCompressed(format) || format.StartsWith("iso", StringComparison.Ordinal) || format.EndsWith(".gz", StringComparison.Ordinal))
        {
            return null;
        }
        destination = Path.GetFullPath(destination);
        if (string.Equals(destination, Path.GetFullPath(sourcePath), StringComparison.OrdinalIgnoreCase)
            || ArtifactMetadata.TryRead(destination) is { Kind: nameof(ArtifactKind.Expanded) })
        {
            return null;
        }
        var xz = format.EndsWith(".xz", StringComparison.Ordinal);
        if (!xz && !format.EndsWith(".zst", StringComparison.Ordinal))
        {
            return null;
        }
        IDecoder? decoder = null;
        var kind = ExpansionBackend.Native;
        if (_options.Backend is ExpansionBackend.Auto or ExpansionBackend.Native && !_options.WithoutNativeLibraries)
        {
            decoder = xz
                ? LzmaLibrary.Instance is { } lzma ? LzmaBlockDecoder.ForStream(lzma, Math.Max(2, Threads)) : null
                : ZstdLibrary.Instance is { } zstd ? new ZstdDecoder(zstd) : null;
        }
        if (decoder is null && _options.Backend is ExpansionBackend.Auto or ExpansionBackend.Managed)
        {
            decoder = xz ? ManagedXzBlockDecoder.ForStream(Threads) : new ManagedZstdDecoder();
            kind = ExpansionBackend.Managed;
        }
        if (decoder is null && _options.Backend == ExpansionBackend.Program && ProgramDecoder.FindOnPath(xz ? "xz" : "zstd") is { } program)
        {
            decoder = new ProgramDecoder(program, xz ? $"-dc -T{Threads}" : "-dc");
            kind = ExpansionBackend.Program;
        }
        return decoder is null ? null : new OverlappedExpansion(_events, this, decoder, kind, format, Path.GetFullPath(sourcePath), destination);
    }

    /// <summary>
    /// Records an expansion made while downloading (complete in <paramref name="part"/>) as <see cref="Write"/> records
    /// one: the source described from the downloaded artifact and its record, the same identity, source SHA-256 and
    /// decoder kind; then gives it its final name.
    /// </summary>
    internal TalosArtifact RecordOverlapped(TalosArtifact downloaded, string destination, string part, string sha, long size, string sourceSha, ExpansionBackend kind, Stopwatch started)
    {
        var job = Prepare(downloaded, destination);
        Record(job, part, sha, size, sourceSha, kind);
        return Result(job.Source, job.SourcePath, job.Destination, job.ExpandedFormat, sha, size, fromCache: false, started, kind.ToString());
    }

    private int Threads => _options.Threads > 0 ? _options.Threads : Environment.ProcessorCount;

    /// <summary>
    /// The decoder for <paramref name="format"/> and the kind that it is (Native, Managed or Program, never Auto):
    /// Auto takes the library when it loads, else the managed decoder; the programs run only when asked for.
    /// </summary>
    private (IDecoder Decoder, ExpansionBackend Kind) ChooseDecoder(string format, string sourcePath)
    {
        if (format.EndsWith(".tar.gz", StringComparison.Ordinal))
        {
            return (new TarGzDecoder(sourcePath, "disk." + FactoryCatalog.ExpandedFormat(format)), ExpansionBackend.Managed);
        }
        if (format.EndsWith(".gz", StringComparison.Ordinal))
        {
            return (new GzipDecoder(sourcePath), ExpansionBackend.Managed);
        }
        var xz = format.EndsWith(".xz", StringComparison.Ordinal);
        var backend = _options.Backend;
        if (backend is ExpansionBackend.Auto or ExpansionBackend.Native)
        {
            IDecoder? native = _options.WithoutNativeLibraries ? null
                : xz
                ? LzmaLibrary.Instance is { } lzma ? (IDecoder?)LzmaBlockDecoder.TryCreate(lzma, sourcePath, Threads) ?? new LzmaDecoder(lzma, Threads) : null
                : ZstdLibrary.Instance is { } zstd ? new ZstdDecoder(zstd) : null;
            if (native is not null)
            {
                return (native, ExpansionBackend.Native);
            }
            if (backend == ExpansionBackend.Native)
            {
                throw Missing(xz, sourcePath, libraryOnly: true);
            }
            _events.Verbose($"{(xz ? "liblzma" : "libzstd")} did not load ({string.Join(", ", xz ? LzmaLibrary.Candidates : ZstdLibrary.Candidates)}): the managed decoder expands {Path.GetFileName(sourcePath)}.");
        }
        if (backend != ExpansionBackend.Program)
        {
            IDecoder managed = xz
                ? (IDecoder?)ManagedXzBlockDecoder.TryCreate(sourcePath, Threads) ?? new ManagedXzDecoder()
                : new ManagedZstdDecoder();
            return (managed, ExpansionBackend.Managed);
        }
        var program = xz ? "xz" : "zstd";
        var path = ProgramDecoder.FindOnPath(program);
        if (path is null)
        {
            throw Missing(xz, sourcePath, libraryOnly: false);
        }
        return (new ProgramDecoder(path, xz ? $"-dc -T{Threads}" : "-dc"), ExpansionBackend.Program);
    }

    private static TalosException Missing(bool xz, string sourcePath, bool libraryOnly)
    {
        var libraries = string.Join(", ", xz ? LzmaLibrary.Candidates : ZstdLibrary.Candidates);
        var what = libraryOnly ? $"the {(xz ? "liblzma" : "libzstd")} library ({libraries})" : $"the '{(xz ? "xz" : "zstd")}' program (asked for with the Program decompressor) on PATH";
        var install = xz
            ? "Install xz: Debian/Ubuntu 'apt-get install xz-utils' (liblzma5), RHEL/Fedora 'dnf install xz', Alpine 'apk add xz', macOS 'brew install xz', Windows 'winget install tukaani.xz' or put liblzma.dll / xz.exe on PATH."
            : "Install zstd: Debian/Ubuntu 'apt-get install zstd' (libzstd1), RHEL/Fedora 'dnf install zstd', Alpine 'apk add zstd', macOS 'brew install zstd', Windows 'winget install Meta.Zstandard' or put libzstd.dll / zstd.exe on PATH.";
        return new TalosException(TalosErrors.DecompressorMissing, $"Cannot expand '{sourcePath}': {what} was not found. {install} Or expand with the managed decoder (-Decompressor Managed, or Auto).", sourcePath);
    }

    /// <summary>Decodes <paramref name="input"/> into <paramref name="part"/> (sparse) while hashing the output; returns its SHA-256 and length.</summary>
    internal (string Sha256, long Size) Run(IDecoder decoder, Stream input, string part, CancellationToken ct)
    {
        using var pipeline = new ChunkPipeline(ChunkSize, decoder is XzBlockParallelDecoder blocks ? Math.Max(ChunkCount, blocks.BufferCount) : ChunkCount, ct);
        // three stages: the decoder thread fills chunks; this thread writes them sparsely; a third hashes them
        // (SHA-256 runs at about 1.8 GB/s, as fast as zstd decodes, so it gets a core of its own) and gives them back.
        string sha;
        long length;
        using var hashQueue = new BlockingCollection<Chunk>();
        using (var file = CacheFiles.CreateNew(part))
        {
            var writer = new SparseWriter(file);
            var decode = Task.Factory.StartNew(() =>
            {
                try
                {
                    decoder.Decode(input, pipeline);
                    pipeline.Complete();
                }
                catch
                {
                    pipeline.Abort();
                    throw;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var hash = Task.Factory.StartNew(() =>
            {
                using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                try
                {
                    foreach (var chunk in hashQueue.GetConsumingEnumerable(pipeline.Token))
                    {
                        if (chunk.Zero)
                        {
                            HashZeros(sha256, chunk.Count);
                        }
                        else
                        {
                            sha256.AppendData(chunk.Buffer, 0, chunk.Count);
                        }
                        pipeline.Return(chunk.Buffer);
                    }
                }
                catch
                {
                    pipeline.Abort();
                    throw;
                }
                return InputStream.Hex(sha256.GetHashAndReset());
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            try
            {
                foreach (var chunk in pipeline.Chunks())
                {
                    writer.Write(chunk);
                    hashQueue.Add(chunk);
                }
                hashQueue.CompleteAdding();
                // the loop only ends this way when the decoder completed cleanly: set the length and flush to
                // disk now, while the hash thread finishes its last chunks
                writer.Finish();
            }
            catch (OperationCanceledException) when (decode.IsFaulted || !decode.IsCompleted || hash.IsFaulted)
            {
                // the decoder failed (its exception is the one that matters) or the caller cancelled
                pipeline.Abort();
            }
            catch
            {
                pipeline.Abort();
                WaitQuietly(decode);
                WaitQuietly(hash);
                throw;
            }
            try
            {
                decode.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                pipeline.Abort();
                WaitQuietly(hash);
                if (e is OperationCanceledException)
                {
                    ct.ThrowIfCancellationRequested();
                }
                throw;
            }
            sha = hash.GetAwaiter().GetResult();
            ct.ThrowIfCancellationRequested();
            length = writer.Length;
        }
        if (decoder is XzBlockParallelDecoder { DeduplicatedBlocks: > 0 } deduplicated)
        {
            _events.Verbose($"{deduplicated.DeduplicatedBlocks} xz blocks were repeats of an all-zero block and were not decoded again.");
        }
        if (decoder is XzBlockParallelDecoder { ReusedBlocks: > 0 } reused)
        {
            _events.Verbose($"{reused.ReusedBlocks} xz blocks were repeats of an earlier (non-zero) block and were copied, not decoded again.");
        }
        return (sha, length);
    }

    /// <summary>256 KiB of zeros (it stays in the cache) for hashing zero chunks.</summary>
    private static readonly byte[] Zeros = new byte[256 << 10];

    private static void HashZeros(IncrementalHash sha256, int count)
    {
        for (var left = count; left > 0; left -= Zeros.Length)
        {
            sha256.AppendData(Zeros, 0, Math.Min(left, Zeros.Length));
        }
    }

    private static void WaitQuietly(Task task)
    {
        try
        {
            task.Wait();
        }
        catch (AggregateException)
        {
        }
    }

    /// <summary>Progress by compressed bytes read: percent, rate and time left, at most about 4 times a second.</summary>
    private sealed class ExpandProgress
    {
        private readonly IEngineEvents _events;
        private readonly int _id;
        private readonly string _activity;
        private readonly long _total;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastReport = long.MinValue;

        public ExpandProgress(IEngineEvents events, int id, string activity, long total)
        {
            _events = events;
            _id = id;
            _activity = activity;
            _total = total;
        }

        public void Report(long done)
        {
            var now = _clock.ElapsedMilliseconds;
            if (now - _lastReport < 250 && done < _total)
            {
                return;
            }
            _lastReport = now;
            var seconds = Math.Max(now / 1000.0, 0.001);
            var rate = done / seconds;
            var remaining = rate > 0 ? (int)Math.Ceiling((_total - done) / rate) : -1;
            _events.Progress(new EngineProgress
            {
                ActivityId = _id,
                Activity = _activity,
                Status = $"{Units.Bytes(done)} of {Units.Bytes(_total)} read, {Units.Bytes((long)rate)}/s",
                PercentComplete = _total > 0 ? (int)Math.Min(100, done * 100 / _total) : -1,
                SecondsRemaining = remaining,
                BytesDone = done,
                BytesTotal = _total,
            });
        }

        public void Done(long expanded) => _events.Progress(new EngineProgress
        {
            ActivityId = _id,
            Activity = _activity,
            Status = $"expanded to {Units.Bytes(expanded)}",
            PercentComplete = 100,
            Completed = true,
            BytesDone = _total,
            BytesTotal = _total,
        });
    }
}

/// <summary>
/// gzip with the BCL GZipStream, which verifies the CRC-32 when it reaches the trailer but returns a silent end of
/// data when the input stops early. So the trailer is checked too: the file's last 4 bytes (ISIZE) must equal the
/// decompressed length mod 2^32, which a truncated file fails (but for a 1 in 2^32 chance). One gzip member is
/// expected (gzip, pigz and the factory write one); concatenated members fail this check.
/// </summary>
internal class GzipDecoder : IDecoder
{
    private readonly string _path;

    public GzipDecoder(string path) => _path = path;

    public virtual string Description => "GZipStream (BCL)";

    public void Decode(Stream input, ChunkPipeline output)
    {
        try
        {
            using var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
            using var counted = new InputStream(gzip, hash: false, _ => { });
            DecodeGzipData(counted, output);
            CheckTrailer(counted.BytesRead);
        }
        catch (InvalidDataException e)
        {
            throw new CorruptDataException("gzip: " + e.Message, e);
        }
    }

    /// <summary>Turns the decompressed gzip data into output chunks.</summary>
    protected virtual void DecodeGzipData(Stream data, ChunkPipeline output) => StreamChunks.Copy(data, output);

    private void CheckTrailer(long decompressed)
    {
        var trailer = new byte[4];
        using (var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1))
        {
            if (file.Length < 18)
            {
                throw new CorruptDataException("gzip: the file is too short to be gzip data");
            }
            file.Seek(-4, SeekOrigin.End);
            if (file.Read(trailer, 0, 4) != 4)
            {
                throw new CorruptDataException("gzip: cannot read the trailer");
            }
        }
        var isize = (uint)(trailer[0] | trailer[1] << 8 | trailer[2] << 16 | trailer[3] << 24);
        if (isize != (uint)decompressed)
        {
            throw new CorruptDataException($"gzip: unexpected end of input: the trailer says {isize} bytes (mod 2^32) but {decompressed} came out; the file is truncated (or holds several gzip members)");
        }
    }
}

/// <summary>A tar inside gzip (the factory's raw.tar.gz): extracts one member, reads the archive to its end.</summary>
internal sealed class TarGzDecoder : GzipDecoder
{
    private readonly string _member;

    public TarGzDecoder(string path, string member)
        : base(path) => _member = member;

    public override string Description => $"GZipStream (BCL) + tar, member {_member}";

    protected override void DecodeGzipData(Stream data, ChunkPipeline output)
    {
        var tar = new TarReader(data);
        var seen = new System.Collections.Generic.List<string>();
        while (tar.Next() is { } entry)
        {
            var name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name.Substring(2) : entry.Name;
            if (name == _member)
            {
                StreamChunks.Copy(tar.OpenMember(), output, entry.Size);
                tar.Drain();
                return;
            }
            seen.Add(entry.Name);
        }
        throw new TarMemberMissingException(_member, seen);
    }
}

internal sealed class TarMemberMissingException : Exception
{
    public TarMemberMissingException(string member, System.Collections.Generic.IReadOnlyList<string> seen)
        : base($"the archive has no '{member}' member (it holds: {(seen.Count == 0 ? "no files" : string.Join(", ", seen.Take(10)))})")
    {
    }
}
