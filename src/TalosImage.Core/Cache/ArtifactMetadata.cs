using System;
using System.Globalization;
using System.IO;
using Newtonsoft.Json;

namespace TalosImage.Core.Cache;

/// <summary>
/// What the cache records beside every artifact, in <c>&lt;file&gt;.meta.json</c>: enough to decide a cache hit
/// without reading the artifact (size and mtime unchanged, hash recorded), and to list and retain artifacts.
/// A <c>&lt;file&gt;.sha256</c> beside it holds <c>&lt;hex&gt;  &lt;name&gt;</c>, which <c>sha256sum -c</c> reads.
/// </summary>
public sealed class ArtifactMetadata
{
    public const string MetaSuffix = ".meta.json";
    public const string ShaSuffix = ".sha256";

    [JsonProperty("url")] public string Url { get; set; } = "";
    [JsonProperty("size")] public long Size { get; set; }
    [JsonProperty("sha256")] public string Sha256 { get; set; } = "";
    [JsonProperty("schematic")] public string SchematicId { get; set; } = "";
    [JsonProperty("version")] public string Version { get; set; } = "";
    [JsonProperty("asset")] public string Asset { get; set; } = "";
    [JsonProperty("platform")] public string Platform { get; set; } = "";
    [JsonProperty("arch")] public string Architecture { get; set; } = "";
    [JsonProperty("format")] public string Format { get; set; } = "";
    [JsonProperty("secureboot")] public bool SecureBoot { get; set; }
    [JsonProperty("installer_image", NullValueHandling = NullValueHandling.Ignore)] public string? InstallerImage { get; set; }
    /// <summary>Downloaded or Expanded.</summary>
    [JsonProperty("kind")] public string Kind { get; set; } = nameof(ArtifactKind.Downloaded);
    /// <summary>For an expanded image: SHA-256 of the compressed file it came from.</summary>
    [JsonProperty("source_sha256", NullValueHandling = NullValueHandling.Ignore)] public string? SourceSha256 { get; set; }
    /// <summary>For an expanded image: the decoder that expanded it (Native, Managed or Program).</summary>
    [JsonProperty("decompressor", NullValueHandling = NullValueHandling.Ignore)] public string? Decompressor { get; set; }
    /// <summary>
    /// For a download: what its sha256 was checked against, <c>factory-sha256</c> / <c>factory-sha512</c> (the factory's
    /// checksum file) or <c>local</c> (computed here only). Absent in records written before it existed: read as local.
    /// </summary>
    [JsonProperty("hash_source", NullValueHandling = NullValueHandling.Ignore)] public string? HashSource { get; set; }
    [JsonProperty("downloaded_at")] public DateTimeOffset DownloadedAt { get; set; }

    /// <summary>What a download's hash was checked against as recorded; <c>local</c> for a record written before it said so; empty for an expansion.</summary>
    public string RecordedHashSource() =>
        HashSource is { Length: > 0 } recorded ? recorded : Vocabulary.IsKind(Kind, ArtifactKind.Expanded) ? "" : TalosImage.HashSource.Local.Word();
    /// <summary>The artifact's last-write time (UTC ticks) when it was recorded; a change means the file was touched.</summary>
    [JsonProperty("mtime_ticks")] public long MtimeTicks { get; set; }

    /// <summary>The record of an artifact with <paramref name="identity"/> (its size is taken from the file when written).</summary>
    public static ArtifactMetadata For(ArtifactIdentity identity, ArtifactKind kind, string? installerImage, DateTimeOffset downloadedAt) => new()
    {
        Url = identity.Url,
        Size = identity.Size,
        Sha256 = identity.Sha256,
        SchematicId = identity.SchematicId,
        Version = identity.Version,
        Asset = identity.Asset,
        Platform = identity.Platform,
        Architecture = identity.Architecture,
        Format = identity.Format,
        SecureBoot = identity.SecureBoot,
        InstallerImage = installerImage,
        Kind = kind.ToString(),
        DownloadedAt = downloadedAt,
    };

    /// <summary>The identity this record gives (as recorded: no defaults filled in).</summary>
    public ArtifactIdentity Identity() => new()
    {
        Url = Url,
        Size = Size,
        Sha256 = Sha256,
        SchematicId = SchematicId,
        Version = Version,
        Asset = Asset,
        Platform = Platform,
        Architecture = Architecture,
        Format = Format,
        SecureBoot = SecureBoot,
    };

    public static string MetaPath(string artifactPath) => artifactPath + MetaSuffix;

    public static string ShaPath(string artifactPath) => artifactPath + ShaSuffix;

    /// <summary>The most a side file may hold; a bigger one is not ours and is not read.</summary>
    private const long MaxSideFileBytes = 1 << 20;

    /// <summary>
    /// Reads the metadata beside <paramref name="artifactPath"/>, or null when it is missing, unreadable, or not a
    /// regular file of a side file's size (a link, a FIFO, a device is never opened: <see cref="CacheFiles"/>).
    /// </summary>
    public static ArtifactMetadata? TryRead(string artifactPath)
    {
        var path = MetaPath(artifactPath);
        try
        {
            return ReadSideFile(path) is { } text ? Parse(text) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The record in <paramref name="text"/> (a <c>.meta.json</c>), read field by field with a <see cref="JsonTextReader"/>:
    /// a warm run reads one per artifact, and Newtonsoft's serializer would first build and compile a contract for the
    /// type (about 150 ms of CPU in a fresh process). Names are the <see cref="JsonPropertyAttribute"/> names; unknown
    /// names are skipped, as the serializer does; a value of the wrong type, or text that is not one JSON object, throws
    /// <see cref="JsonException"/>. Dates keep the offset they were written with.
    /// </summary>
    internal static ArtifactMetadata Parse(string text)
    {
        var m = new ArtifactMetadata();
        using var reader = new JsonTextReader(new StringReader(text)) { DateParseHandling = DateParseHandling.None, MaxDepth = 8 };
        if (!reader.Read() || reader.TokenType != JsonToken.StartObject)
        {
            throw new JsonReaderException("An artifact record is a JSON object.");
        }
        while (reader.Read() && reader.TokenType == JsonToken.PropertyName)
        {
            var name = (string)reader.Value!;
            if (!reader.Read())
            {
                break;
            }
            switch (name)
            {
                case "url": m.Url = Text(reader, name) ?? ""; break;
                case "size": m.Size = Integer(reader, name); break;
                case "sha256": m.Sha256 = Text(reader, name) ?? ""; break;
                case "schematic": m.SchematicId = Text(reader, name) ?? ""; break;
                case "version": m.Version = Text(reader, name) ?? ""; break;
                case "asset": m.Asset = Text(reader, name) ?? ""; break;
                case "platform": m.Platform = Text(reader, name) ?? ""; break;
                case "arch": m.Architecture = Text(reader, name) ?? ""; break;
                case "format": m.Format = Text(reader, name) ?? ""; break;
                case "secureboot":
                    m.SecureBoot = reader.TokenType == JsonToken.Boolean ? (bool)reader.Value! : throw Wrong(name, "true or false");
                    break;
                case "installer_image": m.InstallerImage = Text(reader, name); break;
                case "kind": m.Kind = Text(reader, name) ?? ""; break;
                case "source_sha256": m.SourceSha256 = Text(reader, name); break;
                case "decompressor": m.Decompressor = Text(reader, name); break;
                case "hash_source": m.HashSource = Text(reader, name); break;
                case "downloaded_at":
                    m.DownloadedAt = Text(reader, name) is { } when && DateTimeOffset.TryParse(when, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
                        ? at : throw Wrong(name, "a date");
                    break;
                case "mtime_ticks": m.MtimeTicks = Integer(reader, name); break;
                default: reader.Skip(); break;
            }
        }
        if (reader.TokenType != JsonToken.EndObject || reader.Read())
        {
            throw new JsonReaderException("An artifact record is one JSON object and nothing after it.");
        }
        return m;

        static string? Text(JsonTextReader r, string name) =>
            r.TokenType == JsonToken.String ? (string)r.Value! : r.TokenType == JsonToken.Null ? null : throw Wrong(name, "a string");

        static long Integer(JsonTextReader r, string name) =>
            r.TokenType == JsonToken.Integer && r.Value is long n ? n : throw Wrong(name, "an integer");

        static JsonException Wrong(string name, string expected) => new JsonSerializationException($"'{name}' is not {expected}.");
    }

    /// <summary>
    /// True when the file is exactly what was recorded: same size and last-write time as when its hash was taken.
    /// Reads no artifact bytes.
    /// </summary>
    public bool Matches(string artifactPath)
    {
        var info = new FileInfo(artifactPath);
        return info.Exists && info.Length == Size && info.LastWriteTimeUtc.Ticks == MtimeTicks && Sha256.Length == 64 &&
            CacheFiles.Problem(artifactPath, expectDirectory: false) is null;
    }

    /// <summary>The text of a side file when it is a regular file of at most 1 MiB, else null (never follows a link).</summary>
    private static string? ReadSideFile(string path)
    {
        if (CacheFiles.Problem(path, expectDirectory: false) is not null)
        {
            return null;
        }
        var info = new FileInfo(path);
        return info.Exists && info.Length <= MaxSideFileBytes ? File.ReadAllText(path) : null;
    }

    private string ShaText(string artifactPath) => string.Format(CultureInfo.InvariantCulture, "{0}  {1}\n", Sha256, Path.GetFileName(artifactPath));

    private string MetaText() => JsonConvert.SerializeObject(this, Formatting.Indented) + "\n";

    /// <summary>
    /// Records the file's current size and mtime and rewrites whichever of <c>.sha256</c> and <c>.meta.json</c> does
    /// not already say exactly that (missing, another hash or name, lost fields); returns the paths rewritten.
    /// </summary>
    public System.Collections.Generic.IReadOnlyList<string> RestoreFor(string artifactPath)
    {
        var info = new FileInfo(artifactPath);
        Size = info.Length;
        MtimeTicks = info.LastWriteTimeUtc.Ticks;
        var rewritten = new System.Collections.Generic.List<string>();
        foreach (var (path, text) in new[] { (ShaPath(artifactPath), ShaText(artifactPath)), (MetaPath(artifactPath), MetaText()) })
        {
            string? current;
            try
            {
                current = ReadSideFile(path);
                if (current is not null && path.EndsWith(MetaSuffix, StringComparison.Ordinal))
                {
                    // Compared as read back (dates go through the same parse), not byte for byte.
                    current = Parse(current).MetaText();
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
            {
                current = null;
            }
            if (!string.Equals(current, text, StringComparison.Ordinal))
            {
                AtomicFile.WriteAllText(path, text);
                rewritten.Add(path);
            }
        }
        return rewritten;
    }

    /// <summary>Records the file's current size and mtime and writes <c>.meta.json</c> and <c>.sha256</c> atomically.</summary>
    public void WriteFor(string artifactPath) => WriteFor(artifactPath, artifactPath);

    /// <summary>
    /// Writes the side files of <paramref name="artifactPath"/> for content that is still at <paramref name="contentPath"/>
    /// (a complete <c>.part</c> about to be renamed to it; a rename keeps size and mtime). Recording before the rename
    /// means a file never has its final name without its metadata, whatever stops the process or fills the disk.
    /// </summary>
    public void WriteFor(string artifactPath, string contentPath)
    {
        var info = new FileInfo(contentPath);
        Size = info.Length;
        MtimeTicks = info.LastWriteTimeUtc.Ticks;
        AtomicFile.WriteAllText(ShaPath(artifactPath), ShaText(artifactPath));
        AtomicFile.WriteAllText(MetaPath(artifactPath), MetaText());
    }

    /// <summary>
    /// The artifact this metadata describes, for a file given by path (-Path input): its identity, hash and size as
    /// recorded. <paramref name="fallbackFormat"/> serves when the metadata names none. The recorded format is taken as it
    /// is (canonical spelling, no orders-file alias: an expanded image stays raw).
    /// </summary>
    public TalosArtifact ToArtifact(string fullPath, string fallbackFormat, bool fromCache) => new(Identity() with
    {
        Format = Factory.FactoryCatalog.NormaliseFormat(Format) ?? (Format.Length > 0 ? Format : fallbackFormat),
        Asset = Asset.Length > 0 ? Asset : System.IO.Path.GetFileName(fullPath),
    })
    {
        Path = fullPath,
        InstallerImage = InstallerImage is { Length: > 0 } image ? image : Factory.FactoryCatalog.InstallerImageFromUrl(Url, Platform, SchematicId, Version, SecureBoot),
        Kind = Kind,
        FromCache = fromCache,
        HashSource = RecordedHashSource(),
    };

    /// <summary>Removes the two side files of <paramref name="artifactPath"/>.</summary>
    public static void DeleteFor(string artifactPath)
    {
        AtomicFile.TryDelete(MetaPath(artifactPath));
        AtomicFile.TryDelete(ShaPath(artifactPath));
    }
}
