using System;
using System.IO;
using System.Runtime.InteropServices;

namespace TalosImage.Core.Cache;

/// <summary>Where the cmdlets keep their cache when no folder is given.</summary>
public static class CachePaths
{
    /// <summary>
    /// A per-user folder: %LOCALAPPDATA%\TalosImage on Windows, $XDG_CACHE_HOME/talosimage or ~/.cache/talosimage
    /// elsewhere. <paramref name="environment"/> looks up variables (tests pass their own).
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

    /// <summary>The version list cache of one source: &lt;cacheDir&gt;/versions/&lt;source&gt;.json.</summary>
    public static string VersionList(string cacheDirectory, string source) =>
        Path.Combine(cacheDirectory, "versions", source.ToLowerInvariant() + ".json");
}
