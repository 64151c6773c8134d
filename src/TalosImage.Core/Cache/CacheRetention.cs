using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Cache;

/// <summary>
/// Retention and purge of <c>&lt;cache_dir&gt;/artifacts</c>. Nothing outside that tree is touched (manifests, the
/// version cache, the lock); inside it, only the cache's own files are removed: anything else is left and reported.
/// </summary>
public static class CacheRetention
{
    /// <summary>
    /// Per family (schematic, platform, arch, secureboot, format) keeps the newest <paramref name="keepVersions"/>
    /// versions by SemVer (releases and pre-releases in one order: v1.12.0 &gt; v1.12.0-beta.10 &gt; v1.12.0-beta.2),
    /// and, in addition, the version of every pinned path in its family (the current run's artifacts and expanded
    /// files). A removed version goes with its expanded image, side files and partial downloads; emptied folders
    /// are pruned. Returns the artifacts removed (State Removed) or, with <paramref name="dryRun"/>, to be removed
    /// (WouldRemove).
    /// </summary>
    public static IReadOnlyList<TalosCacheEntry> Apply(string cacheDir, int keepVersions, IReadOnlyCollection<string> pinnedPaths, bool dryRun, IEngineEvents events)
    {
        if (keepVersions < 0)
        {
            throw new TalosException(TalosErrors.InvalidKeepVersions, $"keep_versions must be 0 or more, not {keepVersions}.", keepVersions);
        }
        events ??= NullEngineEvents.Instance;
        var scan = CacheInventory.Scan(cacheDir);
        ReportForeign(scan, events);

        var comparer = OperatingSystemPaths.Comparer;
        var pinned = new HashSet<(string Family, string Version)>();
        var pinnedFull = new HashSet<string>((pinnedPaths ?? Array.Empty<string>()).Where(p => !string.IsNullOrWhiteSpace(p)).Select(Path.GetFullPath), comparer);
        foreach (var item in scan.Items.Where(i => pinnedFull.Contains(i.Entry.Path)))
        {
            pinned.Add((item.Entry.Family, item.Entry.Version));
        }
        // A pinned path not (yet) in the cache still pins its version in every family its name can belong to.
        foreach (var path in pinnedFull)
        {
            var relative = RelativeTo(scan.Root, path);
            var parts = relative?.Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
            if (parts is { Length: 3 })
            {
                foreach (var suffix in new[] { "", ".tar.gz", ".xz", ".zst", ".gz" })
                {
                    pinned.Add((parts[0] + "/" + parts[2] + suffix, parts[1]));
                }
            }
        }

        var toRemove = new List<CacheInventory.Item>();
        foreach (var family in scan.Items.GroupBy(i => i.Entry.Family, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var versions = family.Select(i => i.Entry.Version).Distinct(StringComparer.Ordinal)
                .Select(v => TalosSemVersion.Parse(v))
                .OrderByDescending(v => v)
                .Select(v => v.ToString())
                .ToList();
            var keep = new HashSet<string>(versions.Take(keepVersions), StringComparer.Ordinal);
            foreach (var version in versions.Skip(keepVersions))
            {
                if (pinned.Contains((family.Key, version)))
                {
                    keep.Add(version);
                    events.Verbose($"Retention: keeping {family.Key} {version}: the current run uses it.");
                }
            }
            toRemove.AddRange(family.Where(i => !keep.Contains(i.Entry.Version)));
        }

        return Remove(scan, toRemove, dryRun, events, "Retention");
    }

    /// <summary>
    /// Removes every artifact of the cache (downloaded and expanded, with side files and partial downloads) from
    /// <c>&lt;cache_dir&gt;/artifacts</c> and the folders that become empty. Foreign files there and everything
    /// outside it (manifests, version cache) stay.
    /// </summary>
    public static IReadOnlyList<TalosCacheEntry> Purge(string cacheDir, bool dryRun, IEngineEvents events)
    {
        events ??= NullEngineEvents.Instance;
        var scan = CacheInventory.Scan(cacheDir);
        ReportForeign(scan, events);
        var result = Remove(scan, scan.Items, dryRun, events, "Purge");
        if (!dryRun)
        {
            TryRemoveEmptyDirectory(scan.Root);
        }
        return result;
    }

    private static IReadOnlyList<TalosCacheEntry> Remove(CacheInventory.ScanResult scan, IEnumerable<CacheInventory.Item> items, bool dryRun, IEngineEvents events, string what)
    {
        var removed = new List<TalosCacheEntry>();
        var folders = new HashSet<string>(OperatingSystemPaths.Comparer);
        foreach (var item in items)
        {
            if (!dryRun)
            {
                foreach (var file in item.Files)
                {
                    try
                    {
                        if (File.Exists(file))
                        {
                            File.Delete(file);
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new TalosException(TalosErrors.CacheRemoveFailed, $"{what}: cannot remove {file}: {e.Message}", file, e);
                    }
                }
                folders.Add(Path.GetDirectoryName(item.Entry.Path)!);
            }
            if (item.IsArtifact)
            {
                events.Verbose($"{what}: {(dryRun ? "would remove" : "removed")} {item.Entry.Path}.");
                removed.Add(With(item.Entry, dryRun ? CacheEntryState.WouldRemove : CacheEntryState.Removed));
            }
            else
            {
                events.Verbose($"{what}: {(dryRun ? "would remove" : "removed")} leftover {item.Entry.Path}.");
            }
        }
        foreach (var folder in folders)
        {
            if (TryRemoveEmptyDirectory(folder))
            {
                TryRemoveEmptyDirectory(Path.GetDirectoryName(folder)!);
            }
        }
        return removed;
    }

    private static void ReportForeign(CacheInventory.ScanResult scan, IEngineEvents events)
    {
        foreach (var path in scan.Foreign)
        {
            events.Warning($"Not a cache file, left alone: {path}");
        }
    }

    private static bool TryRemoveEmptyDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Directory.Delete(dir);
                return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return false;
    }

    private static string? RelativeTo(string root, string path)
    {
        var prefix = root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, OperatingSystemPaths.Comparison) ? path.Substring(prefix.Length) : null;
    }

    private static TalosCacheEntry With(TalosCacheEntry e, CacheEntryState state) => e with { State = state.ToString() };

    /// <summary>Path comparison as the file system does it (case-insensitive on Windows).</summary>
    private static class OperatingSystemPaths
    {
        public static readonly bool Insensitive = Path.DirectorySeparatorChar == '\\';
        public static StringComparer Comparer => Insensitive ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        public static StringComparison Comparison => Insensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
    }
}
