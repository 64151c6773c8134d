using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Cache;

/// <summary>Where the cache keeps things. Only <see cref="ArtifactRoot"/> is managed by retention and purge.</summary>
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
    /// The per-user cache folder: Windows <c>%LOCALAPPDATA%\TalosImage</c>; elsewhere <c>$XDG_CACHE_HOME/talosimage</c>,
    /// or <c>~/.cache/talosimage</c> when XDG_CACHE_HOME is unset or not absolute.
    /// </summary>
    public static string DefaultCacheDirectory()
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            if (string.IsNullOrEmpty(local))
            {
                local = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), "AppData", "Local");
            }
            return Path.Combine(local, "TalosImage");
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "talosimage");
        }
        var home = Environment.GetEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }
        return Path.Combine(home!, ".cache", "talosimage");
    }
}
