using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Cache;

/// <summary>
/// Where the cache keeps things: <c>artifacts/</c> (managed by retention and purge), <c>versions/</c> (version lists),
/// and the per-user default folder the cmdlets use when no folder is given.
/// </summary>
public static class CachePaths
{
    public const string ArtifactFolder = "artifacts";
    public const string PartSuffix = ".part";

    /// <summary><c>&lt;cache_dir&gt;/artifacts</c>: downloaded and expanded artifacts, keyed by schematic, version and asset.</summary>
    public static string ArtifactRoot(string cacheDir) => Path.Combine(Path.GetFullPath(cacheDir), ArtifactFolder);

    /// <summary><c>&lt;cache_dir&gt;/artifacts/&lt;schematic&gt;/&lt;version&gt;/&lt;asset&gt;</c></summary>
    public static string ArtifactPath(string cacheDir, string schematicId, string version, string asset) =>
        Path.Combine(ArtifactRoot(cacheDir), schematicId, version, asset);

    /// <summary>
    /// The cache folder that holds <paramref name="artifactPath"/> when the path has the cache's layout
    /// (<c>&lt;cache_dir&gt;/artifacts/&lt;64-hex schematic&gt;/&lt;version&gt;/&lt;asset&gt;</c>), else null.
    /// </summary>
    public static string? CacheDirOf(string? artifactPath)
    {
        if (string.IsNullOrWhiteSpace(artifactPath))
        {
            return null;
        }
        var version = Path.GetDirectoryName(Path.GetFullPath(artifactPath!));
        var schematic = version is null ? null : Path.GetDirectoryName(version);
        var artifacts = schematic is null ? null : Path.GetDirectoryName(schematic);
        if (artifacts is null || !string.Equals(Path.GetFileName(artifacts), ArtifactFolder, StringComparison.Ordinal) ||
            !Versions.TalosSemVersion.TryParse(Path.GetFileName(version), out _) ||
            !System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(schematic)!, "^[0-9a-f]{64}$"))
        {
            return null;
        }
        return Path.GetDirectoryName(artifacts);
    }

    /// <summary>The version list cache of one source: &lt;cacheDir&gt;/versions/&lt;source&gt;.json.</summary>
    public static string VersionList(string cacheDirectory, string source) =>
        Path.Combine(cacheDirectory, "versions", source.ToLowerInvariant() + ".json");

    /// <summary>
    /// The per-user cache folder: Windows <c>%LOCALAPPDATA%\TalosImage</c>; elsewhere <c>$XDG_CACHE_HOME/talosimage</c>,
    /// or <c>~/.cache/talosimage</c> when XDG_CACHE_HOME is unset or not absolute. <paramref name="environment"/> looks
    /// up variables (tests pass their own).
    /// </summary>
    public static string DefaultCacheDirectory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            var local = environment("LOCALAPPDATA");
            if (string.IsNullOrEmpty(local))
            {
                local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            }
            return Path.Combine(local!, "TalosImage");
        }
        var xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg!, "talosimage");
        }
        var home = environment("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }
        return Path.Combine(home!, ".cache", "talosimage");
    }
}
