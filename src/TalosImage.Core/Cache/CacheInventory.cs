using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Factory;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Cache;

/// <summary>
/// What is in <c>&lt;cache_dir&gt;/artifacts</c>: every downloaded and expanded artifact, described by its
/// <c>.meta.json</c> (or, when that is missing, by its path <c>&lt;schematic&gt;/&lt;version&gt;/&lt;asset&gt;</c>).
/// </summary>
public static class CacheInventory
{
    /// <summary>Every artifact, ordered by family and then newest version first.</summary>
    public static IReadOnlyList<TalosCacheEntry> List(string cacheDir) =>
        Scan(cacheDir).Items.Where(i => i.IsArtifact).Select(i => i.Entry)
            .OrderBy(e => e.Family, StringComparer.Ordinal)
            .ThenByDescending(e => TalosSemVersion.TryParse(e.Version, out var v) ? v : null)
            .ThenBy(e => e.Path, StringComparer.Ordinal)
            .ToList();

    private static readonly Regex AssetPattern = new(
        @"^(?<platform>[A-Za-z][A-Za-z0-9-]*?)-(?<arch>amd64|arm64)(?<sb>-secureboot)?\.(?<format>[a-z0-9.]+)$", RegexOptions.CultureInvariant);

    private static readonly Regex SchematicPattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

    private static readonly Regex AtomicTempPattern = new(@"^\..+\.[0-9a-f]{8}\.tmp$", RegexOptions.CultureInvariant);

    private static readonly string[] CompressionSuffixes = { ".tar.gz", ".xz", ".zst", ".gz" };

    /// <summary>A file of ours in the artifact tree: an artifact, or a leftover (.part, orphaned side file, temp file).</summary>
    internal sealed class Item
    {
        public TalosCacheEntry Entry { get; set; } = new();
        public bool IsArtifact { get; set; }
        /// <summary>Files that go when this item goes: the file itself and its side files.</summary>
        public List<string> Files { get; } = new();
    }

    internal sealed class ScanResult
    {
        public string Root { get; set; } = "";
        public List<Item> Items { get; } = new();
        /// <summary>Files (and folders) under the artifact tree that are not the cache's own.</summary>
        public List<string> Foreign { get; } = new();
    }

    /// <summary>
    /// Classifies every file under the artifact tree. Only files in <c>&lt;64-hex schematic&gt;/&lt;semver&gt;/</c> folders
    /// whose names are factory assets (or their side files) are the cache's own; anything else is foreign.
    /// </summary>
    internal static ScanResult Scan(string cacheDir)
    {
        var result = new ScanResult { Root = CachePaths.ArtifactRoot(cacheDir) };
        if (!Directory.Exists(result.Root))
        {
            return result;
        }
        foreach (var file in Directory.GetFiles(result.Root))
        {
            result.Foreign.Add(file);
        }
        foreach (var schematicDir in Directory.GetDirectories(result.Root).OrderBy(d => d, StringComparer.Ordinal))
        {
            var schematic = Path.GetFileName(schematicDir);
            if (!SchematicPattern.IsMatch(schematic) || IsLink(schematicDir))
            {
                result.Foreign.Add(schematicDir);
                continue;
            }
            foreach (var file in Directory.GetFiles(schematicDir))
            {
                result.Foreign.Add(file);
            }
            foreach (var versionDir in Directory.GetDirectories(schematicDir).OrderBy(d => d, StringComparer.Ordinal))
            {
                var versionName = Path.GetFileName(versionDir);
                if (!TalosSemVersion.TryParse(versionName, out var version) || version.ToString() != versionName || IsLink(versionDir))
                {
                    result.Foreign.Add(versionDir);
                    continue;
                }
                foreach (var sub in Directory.GetDirectories(versionDir))
                {
                    result.Foreign.Add(sub);
                }
                ScanVersion(result, schematic, versionName, versionDir);
            }
        }
        return result;
    }

    private static void ScanVersion(ScanResult result, string schematic, string version, string dir)
    {
        var names = new HashSet<string>(Directory.GetFiles(dir).Select(f => Path.GetFileName(f)!), StringComparer.Ordinal);
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var artifacts = new List<(string Name, ArtifactMetadata? Meta)>();

        foreach (var name in names.OrderBy(n => n, StringComparer.Ordinal))
        {
            if (IsSideName(name) || AtomicTempPattern.IsMatch(name))
            {
                continue;
            }
            var meta = ArtifactMetadata.TryRead(Path.Combine(dir, name));
            if (meta is not null || ParseAsset(name) is not null)
            {
                artifacts.Add((name, meta));
            }
        }

        foreach (var (name, meta) in artifacts)
        {
            var path = Path.Combine(dir, name);
            var parsed = ParseAsset(name);
            var expanded = meta is not null ? Vocabulary.IsKind(meta.Kind, ArtifactKind.Expanded) : SourceOf(name, names) is not null;
            var familyAsset = expanded ? SourceOf(name, names) ?? name : (meta is { Asset.Length: > 0 } ? meta.Asset : name);
            var sha = meta?.Sha256 ?? ReadShaFile(path);
            var entry = new TalosCacheEntry
            {
                Path = path,
                SchematicId = meta is { SchematicId.Length: > 0 } ? meta.SchematicId : schematic,
                Version = meta is { Version.Length: > 0 } ? meta.Version : version,
                Asset = name,
                Platform = meta is { Platform.Length: > 0 } ? meta.Platform : parsed?.Platform ?? "",
                Architecture = meta is { Architecture.Length: > 0 } ? meta.Architecture : parsed?.Architecture ?? "",
                Format = expanded && parsed is not null ? parsed.Value.Format : meta is { Format.Length: > 0 } ? meta.Format : parsed?.Format ?? "",
                SecureBoot = meta?.SecureBoot ?? parsed?.SecureBoot ?? false,
                Size = SafeLength(path),
                Sha256 = sha,
                DownloadedAt = meta?.DownloadedAt,
                Family = schematic + "/" + familyAsset,
                Kind = (expanded ? ArtifactKind.Expanded : ArtifactKind.Downloaded).ToString(),
                State = nameof(CacheEntryState.Cached),
            };
            var item = new Item { Entry = entry, IsArtifact = true };
            item.Files.Add(path);
            claimed.Add(name);
            foreach (var side in new[] { ArtifactMetadata.MetaSuffix, ArtifactMetadata.ShaSuffix, CachePaths.PartSuffix })
            {
                if (names.Contains(name + side))
                {
                    item.Files.Add(path + side);
                    claimed.Add(name + side);
                }
            }
            result.Items.Add(item);
        }

        // Leftovers: .part files and side files whose artifact is gone, and AtomicFile temp files.
        foreach (var name in names.Where(n => !claimed.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            var path = Path.Combine(dir, name);
            var baseName = StripSide(name);
            if (AtomicTempPattern.IsMatch(name))
            {
                baseName = StripSide(name.Substring(1, name.Length - 1 - ".12345678.tmp".Length));
            }
            if (baseName is not null && ParseAsset(baseName) is not null)
            {
                var source = SourceOf(baseName, names);
                var item = new Item
                {
                    Entry = new TalosCacheEntry
                    {
                        Path = path,
                        SchematicId = schematic,
                        Version = version,
                        Asset = baseName,
                        Size = SafeLength(path),
                        Family = schematic + "/" + (source ?? baseName),
                        Kind = nameof(ArtifactKind.Leftover),
                        State = nameof(CacheEntryState.Cached),
                    },
                    IsArtifact = false,
                };
                item.Files.Add(path);
                result.Items.Add(item);
            }
            else
            {
                result.Foreign.Add(path);
            }
        }
    }

    /// <summary>For an expanded name (nocloud-amd64.raw), the compressed sibling it came from, if present.</summary>
    private static string? SourceOf(string name, HashSet<string> names)
    {
        foreach (var suffix in CompressionSuffixes)
        {
            if (names.Contains(name + suffix))
            {
                return name + suffix;
            }
        }
        return null;
    }

    private static bool IsSideName(string name) =>
        name.EndsWith(ArtifactMetadata.MetaSuffix, StringComparison.Ordinal) || name.EndsWith(ArtifactMetadata.ShaSuffix, StringComparison.Ordinal) ||
        name.EndsWith(CachePaths.PartSuffix, StringComparison.Ordinal);

    private static string? StripSide(string name)
    {
        foreach (var suffix in new[] { ArtifactMetadata.MetaSuffix, ArtifactMetadata.ShaSuffix, CachePaths.PartSuffix })
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return name.Substring(0, name.Length - suffix.Length);
            }
        }
        return name;
    }

    internal static (string Platform, string Architecture, bool SecureBoot, string Format)? ParseAsset(string name)
    {
        if (FactoryCatalog.ParseBootAsset(name) is { } boot)
        {
            return boot;
        }
        var m = AssetPattern.Match(name);
        if (!m.Success || !FactoryCatalog.Formats.Contains(m.Groups["format"].Value))
        {
            return null;
        }
        return (m.Groups["platform"].Value, m.Groups["arch"].Value, m.Groups["sb"].Success, m.Groups["format"].Value);
    }

    private static string ReadShaFile(string path)
    {
        try
        {
            var sha = ArtifactMetadata.ShaPath(path);
            if (!File.Exists(sha))
            {
                return "";
            }
            var first = File.ReadAllText(sha).Split(new[] { ' ', '\t', '\n' }, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
            return Regex.IsMatch(first, "^[0-9a-fA-F]{64}$") ? first.ToLowerInvariant() : "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static long SafeLength(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static bool IsLink(string dir) => (File.GetAttributes(dir) & FileAttributes.ReparsePoint) != 0;
}
