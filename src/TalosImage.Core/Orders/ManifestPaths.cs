using System;
using System.IO;

namespace TalosImage.Core.Orders;

/// <summary>talos_order.py's manifest path rules: path_template, then dir, then path, then ./manifest-{orderid}.yaml.</summary>
public static class ManifestPaths
{
    /// <summary>The manifest path for <paramref name="orderId"/>; relative paths are relative to the current folder, as before.</summary>
    public static string For(ManifestSettings settings, string orderId, string? baseDirectory = null)
    {
        string path;
        if (!string.IsNullOrWhiteSpace(settings.PathTemplate))
        {
            path = settings.PathTemplate!.Replace("{orderid}", orderId);
        }
        else if (!string.IsNullOrWhiteSpace(settings.Dir))
        {
            path = Path.Combine(settings.Dir!, $"manifest-{orderId}.yaml");
        }
        else if (!string.IsNullOrWhiteSpace(settings.Path))
        {
            var p = settings.Path!;
            if (p.Contains("{orderid}"))
            {
                path = p.Replace("{orderid}", orderId);
            }
            else
            {
                var dir = Path.GetDirectoryName(p) ?? "";
                var ext = Path.GetExtension(p);
                var stem = Path.GetFileNameWithoutExtension(p);
                path = Path.Combine(dir, $"{stem}-{orderId}{ext}");
            }
        }
        else
        {
            path = $"manifest-{orderId}.yaml";
        }
        return Path.GetFullPath(Path.Combine(baseDirectory ?? Directory.GetCurrentDirectory(), path));
    }

    /// <summary>True when <paramref name="path"/> lies inside <paramref name="folder"/>.</summary>
    public static bool IsInside(string path, string folder)
    {
        var f = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return Path.GetFullPath(path).StartsWith(f, StringComparison.Ordinal);
    }
}
