using System;
using System.Collections.Generic;
using System.Linq;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Factory;

/// <summary>
/// What the Image Factory offers and how its names are formed: platforms, architectures, disk formats, asset
/// names, download URLs and installer image references (see shared/reference/image-factory.md).
/// </summary>
public static class FactoryCatalog
{
    public const string PublicFactoryUrl = "https://factory.talos.dev";
    public const string PublicGitHubApiUrl = "https://api.github.com";

    /// <summary>Every platform of Talos's platform table (<see cref="PlatformRules"/>).</summary>
    public static IReadOnlyList<string> Platforms { get; } = PlatformRules.All.Select(r => r.Name).ToArray();

    /// <summary>Platforms for which the factory builds SecureBoot images.</summary>
    public static IReadOnlyList<string> SecureBootPlatforms { get; } = PlatformRules.All.Where(r => r.SecureBoot).Select(r => r.Name).ToArray();

    public static IReadOnlyList<string> Architectures { get; } = new[] { "amd64", "arm64" };

    private static readonly string[] DiskKinds = { "raw", "qcow2", "vhd", "ova" };
    private static readonly string[] Compressions = { "", ".xz", ".zst", ".gz", ".tar.gz" };

    /// <summary>iso and every disk image format: raw, raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2, qcow2.xz ...</summary>
    public static IReadOnlyList<string> Formats { get; } =
        new[] { "iso" }.Concat(DiskKinds.SelectMany(k => Compressions.Select(c => k + c))).ToArray();

    /// <summary>
    /// talos_order.py's spellings in orders files: <c>raw</c> and <c>rawxz</c> both mean raw.xz. Only
    /// <see cref="NormaliseOrdersFormat"/> applies them; a file name, a file's metadata, an artifact and a cmdlet
    /// parameter say exactly the format they name (a <c>.raw</c> file is raw).
    /// </summary>
    public static IReadOnlyDictionary<string, string> FormatAliases { get; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["raw"] = "raw.xz", ["rawxz"] = "raw.xz" };

    /// <summary>
    /// Formats a file name can say: <see cref="Formats"/> and the compressed ISOs Proxmox's download-url expands
    /// (iso.gz, iso.zst); longest first, so raw.tar.gz wins over raw.gz... and raw.xz over raw.
    /// </summary>
    private static readonly string[] FileFormats =
        Formats.Concat(new[] { "iso.gz", "iso.zst" }).OrderByDescending(f => f.Length).ThenBy(f => f, StringComparer.Ordinal).ToArray();

    /// <summary>The disk image format the factory's UI offers first for <paramref name="platform"/> (raw.xz when it has none).</summary>
    public static string DefaultDiskFormat(string platform) => PlatformRules.Find(platform)?.DiskImageFormat ?? "raw.xz";

    /// <summary>
    /// The canonical name of <paramref name="format"/> (trimmed, lower case) when it is one of <see cref="Formats"/>,
    /// else null. No alias is applied: <c>raw</c> is raw. For cmdlet parameters, artifacts and cache metadata.
    /// </summary>
    public static string? NormaliseFormat(string? format)
    {
        if (string.IsNullOrWhiteSpace(format))
        {
            return null;
        }
        var f = format!.Trim().ToLowerInvariant();
        return Formats.Contains(f) ? f : null;
    }

    /// <summary>
    /// An orders file's <c>image_format</c>: talos_order.py's aliases resolved (<c>raw</c> and <c>rawxz</c> = raw.xz), then
    /// <see cref="NormaliseFormat"/>. Only the orders loader calls it.
    /// </summary>
    public static string? NormaliseOrdersFormat(string? format) =>
        string.IsNullOrWhiteSpace(format) ? null
        : FormatAliases.TryGetValue(format!.Trim(), out var alias) ? alias
        : NormaliseFormat(format);

    /// <summary>
    /// The format a file name says (raw.xz, raw.zst, raw.tar.gz, qcow2.xz, vhd.xz, iso, iso.zst, raw ...), by its longest
    /// matching suffix, case-insensitive; null when it says none. The one rule for every file read from disk (-Path
    /// input, cache entries, expansion): <c>nocloud-amd64.raw</c> is raw, never raw.xz.
    /// </summary>
    public static string? FormatOfFileName(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }
        var slash = Math.Max(path!.LastIndexOf('/'), path.LastIndexOf('\\'));
        var name = path.Substring(slash + 1).ToLowerInvariant();
        return FileFormats.FirstOrDefault(f => name.Length > f.Length + 1 && name.EndsWith("." + f, StringComparison.Ordinal));
    }

    public static bool IsPlatform(string platform) => Platforms.Contains(platform, StringComparer.Ordinal);

    public static bool SupportsSecureBoot(string platform) => SecureBootPlatforms.Contains(platform, StringComparer.Ordinal);

    /// <summary>True for disk images that are compressed (raw.xz, raw.zst, raw.gz, raw.tar.gz ...).</summary>
    public static bool IsCompressed(string format) => Compressions.Skip(1).Any(c => format.EndsWith(c, StringComparison.Ordinal));

    /// <summary>The format after expansion: raw.xz -> raw, qcow2.zst -> qcow2; the format itself when not compressed.</summary>
    public static string ExpandedFormat(string format)
    {
        foreach (var c in new[] { ".tar.gz", ".xz", ".zst", ".gz" })
        {
            if (format.EndsWith(c, StringComparison.Ordinal))
            {
                return format.Substring(0, format.Length - c.Length);
            }
        }
        return format;
    }

    /// <summary>The factory's file name: <c>&lt;platform&gt;-&lt;arch&gt;[-secureboot].&lt;format&gt;</c>.</summary>
    public static string AssetName(string platform, string architecture, bool secureBoot, string format) =>
        $"{platform}-{architecture}{(secureBoot ? "-secureboot" : "")}.{format}";

    /// <summary><c>{factory}/image/{schematic}/{version}/{asset}</c></summary>
    public static string ImageUrl(string factoryUrl, string schematicId, string version, string asset) =>
        $"{factoryUrl.TrimEnd('/')}/image/{schematicId}/{version}/{asset}";

    /// <summary>
    /// The installer image for machine.install.image: <c>host/&lt;platform&gt;-installer[-secureboot]/&lt;schematic&gt;:&lt;version&gt;</c>
    /// for Talos 1.10 and later, <c>host/installer[-secureboot]/&lt;schematic&gt;:&lt;version&gt;</c> before.
    /// The host is the factory's own (self-hosted factories serve their own registry).
    /// </summary>
    public static string InstallerImage(string factoryUrl, string platform, string schematicId, string version, bool secureBoot)
    {
        var uri = new Uri(factoryUrl);
        var host = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        var v = TalosSemVersion.Parse(version);
        var modern = v.Major > 1 || (v.Major == 1 && v.Minor >= 10);
        var repo = (modern ? platform + "-installer" : "installer") + (secureBoot ? "-secureboot" : "");
        return $"{host}/{repo}/{schematicId}:{v}";
    }

    /// <summary>
    /// The installer image of an artifact known only by its recorded download URL (<c>{factory}/image/...</c>) and
    /// identity, as <see cref="InstallerImage"/> gives it for that factory; "" when the URL is no factory image URL or
    /// the identity is incomplete.
    /// </summary>
    public static string InstallerImageFromUrl(string? url, string? platform, string? schematicId, string? version, bool secureBoot)
    {
        if (string.IsNullOrEmpty(url) || string.IsNullOrEmpty(platform) || string.IsNullOrEmpty(schematicId) || string.IsNullOrEmpty(version))
        {
            return "";
        }
        var at = url!.LastIndexOf("/image/", StringComparison.Ordinal);
        if (at <= 0 || !Uri.TryCreate(url.Substring(0, at), UriKind.Absolute, out var factory) || (factory.Scheme != "http" && factory.Scheme != "https") ||
            !TalosSemVersion.TryParse(version!, out _))
        {
            return "";
        }
        return InstallerImage(factory.ToString(), platform!, schematicId!, version!, secureBoot);
    }
}
