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

    /// <summary>The public factory's PXE host: it serves the iPXE scripts of <see cref="PublicFactoryUrl"/>'s images.</summary>
    public const string PublicPxeUrl = "https://pxe.talos.dev";

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
    /// The boot assets, ordered like a format: <c>kernel</c> (<c>kernel-&lt;arch&gt;</c>), <c>initramfs</c>
    /// (<c>initramfs-&lt;arch&gt;.xz</c>), <c>cmdline</c> (<c>cmdline-&lt;platform&gt;-&lt;arch&gt;[-secureboot]</c>),
    /// <c>uki</c> (<c>&lt;platform&gt;-&lt;arch&gt;-secureboot-uki.efi</c>, SecureBoot only), <c>installer</c>
    /// (<c>installer-&lt;arch&gt;[-secureboot].tar</c>) and <c>pxe</c> (the iPXE script of the factory's PXE host,
    /// kept in the cache as <c>&lt;platform&gt;-&lt;arch&gt;[-secureboot].ipxe</c>).
    /// </summary>
    public static IReadOnlyList<string> BootFormats { get; } = new[] { "kernel", "initramfs", "cmdline", "uki", "installer", "pxe" };

    /// <summary>Every format a position or Save-TalosImage can ask for: <see cref="Formats"/> and <see cref="BootFormats"/>.</summary>
    public static IReadOnlyList<string> OrderableFormats { get; } = Formats.Concat(BootFormats).ToArray();

    /// <summary>True for kernel, initramfs, cmdline, uki, installer and pxe.</summary>
    public static bool IsBootAsset(string? format) => format is not null && BootFormats.Contains(format, StringComparer.Ordinal);

    /// <summary>
    /// Orders files' spellings: talos_order.py's <c>raw</c> and <c>rawxz</c> both mean raw.xz (compatibility), so the
    /// uncompressed image is spelt <c>raw.uncompressed</c> there. Only <see cref="NormaliseOrdersFormat"/> applies
    /// them; a file name, a file's metadata, an artifact and a cmdlet parameter say exactly the format they name (a
    /// <c>.raw</c> file and <c>-Format raw</c> are raw).
    /// </summary>
    public static IReadOnlyDictionary<string, string> FormatAliases { get; } =
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["raw"] = "raw.xz", ["rawxz"] = "raw.xz", ["raw.uncompressed"] = "raw" };

    /// <summary>
    /// Formats a file name can say: <see cref="Formats"/> and the compressed ISOs Proxmox's download-url expands
    /// (iso.gz, iso.zst); longest first, so raw.tar.gz wins over raw.gz... and raw.xz over raw.
    /// </summary>
    private static readonly string[] FileFormats =
        Formats.Concat(new[] { "iso.gz", "iso.zst" }).OrderByDescending(f => f.Length).ThenBy(f => f, StringComparer.Ordinal).ToArray();

    /// <summary>The disk image format the factory's UI offers first for <paramref name="platform"/> (raw.xz when it has none).</summary>
    public static string DefaultDiskFormat(string platform) => PlatformRules.Find(platform)?.DiskImageFormat ?? "raw.xz";

    /// <summary>
    /// The canonical name of <paramref name="format"/> (trimmed, lower case) when it is one of <see cref="OrderableFormats"/>,
    /// else null. No alias is applied: <c>raw</c> is raw. For cmdlet parameters, artifacts and cache metadata.
    /// </summary>
    public static string? NormaliseFormat(string? format)
    {
        if (string.IsNullOrWhiteSpace(format))
        {
            return null;
        }
        var f = format!.Trim().ToLowerInvariant();
        return OrderableFormats.Contains(f) ? f : null;
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
        if (BootAssetPattern.Match(name) is { Success: true } boot)
        {
            return BootFormatOf(boot);
        }
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

    /// <summary>
    /// The factory's file name: <c>&lt;platform&gt;-&lt;arch&gt;[-secureboot].&lt;format&gt;</c> for ISOs and disk images,
    /// the boot assets' own names (<see cref="BootFormats"/>) otherwise. The cache keeps the file under this name.
    /// </summary>
    public static string AssetName(string platform, string architecture, bool secureBoot, string format)
    {
        var sb = secureBoot ? "-secureboot" : "";
        return format switch
        {
            "kernel" => $"kernel-{architecture}",
            "initramfs" => $"initramfs-{architecture}.xz",
            "cmdline" => $"cmdline-{platform}-{architecture}{sb}",
            "uki" => $"{platform}-{architecture}-secureboot-uki.efi",
            "installer" => $"installer-{architecture}{sb}.tar",
            "pxe" => $"{platform}-{architecture}{sb}.ipxe",
            _ => $"{platform}-{architecture}{sb}.{format}",
        };
    }

    /// <summary>
    /// Why the factory has no <paramref name="format"/> asset with (or without) SecureBoot, in one sentence; null when it
    /// has. A UKI exists only signed for SecureBoot; the kernel and the initramfs are the same for both and have no
    /// SecureBoot name.
    /// </summary>
    public static string? AssetVariantProblem(string format, bool secureBoot) => format switch
    {
        "uki" when !secureBoot => "the factory builds a UKI (<platform>-<arch>-secureboot-uki.efi) only for SecureBoot: set secureboot to true, or order kernel, initramfs and cmdline",
        "kernel" or "initramfs" when secureBoot => $"the {format} has no SecureBoot variant ({AssetName("", "<arch>", false, format)} serves both): set secureboot to false, or order the uki",
        _ => null,
    };

    // kernel-amd64, initramfs-amd64.xz, cmdline-metal-amd64[-secureboot], metal-amd64-secureboot-uki.efi,
    // installer-amd64[-secureboot].tar, metal-amd64[-secureboot].ipxe (lower case: FormatOfFileName lowers the name).
    private static readonly System.Text.RegularExpressions.Regex BootAssetPattern = new(
        @"^(?:kernel-(?<ka>amd64|arm64)|initramfs-(?<ia>amd64|arm64)\.xz|cmdline-(?<cp>[a-z][a-z0-9-]*?)-(?<ca>amd64|arm64)(?<csb>-secureboot)?" +
        @"|(?<up>[a-z][a-z0-9-]*?)-(?<ua>amd64|arm64)-secureboot-uki\.efi|installer-(?<xa>amd64|arm64)(?<xsb>-secureboot)?\.tar" +
        @"|(?<pp>[a-z][a-z0-9-]*?)-(?<pa>amd64|arm64)(?<psb>-secureboot)?\.ipxe)$",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    private static string BootFormatOf(System.Text.RegularExpressions.Match m) =>
        m.Groups["ka"].Success ? "kernel" : m.Groups["ia"].Success ? "initramfs" : m.Groups["ca"].Success ? "cmdline"
        : m.Groups["ua"].Success ? "uki" : m.Groups["xa"].Success ? "installer" : "pxe";

    /// <summary>
    /// What a boot asset's file name says: platform ("" for kernel, initramfs and installer, which name none),
    /// architecture, SecureBoot and format; null for any other name. The cache reads its folders with it.
    /// </summary>
    public static (string Platform, string Architecture, bool SecureBoot, string Format)? ParseBootAsset(string name)
    {
        var m = BootAssetPattern.Match(name ?? "");
        if (!m.Success)
        {
            return null;
        }
        var format = BootFormatOf(m);
        string G(string g) => m.Groups[g].Value;
        return format switch
        {
            "kernel" => ("", G("ka"), false, format),
            "initramfs" => ("", G("ia"), false, format),
            "cmdline" => (G("cp"), G("ca"), m.Groups["csb"].Success, format),
            "uki" => (G("up"), G("ua"), true, format),
            "installer" => ("", G("xa"), m.Groups["xsb"].Success, format),
            _ => (G("pp"), G("pa"), m.Groups["psb"].Success, format),
        };
    }

    /// <summary>
    /// The PXE host of a factory: <paramref name="pxeUrl"/> when set (defaults.pxe_url, -PxeUrl); else
    /// <see cref="PublicPxeUrl"/> for the public factory, and the factory itself for any other (a self-hosted factory
    /// serves <c>/pxe/...</c> on its own address unless its operator set http.externalPXEURL).
    /// </summary>
    public static string PxeBaseUrl(string factoryUrl, string? pxeUrl)
    {
        if (!string.IsNullOrWhiteSpace(pxeUrl))
        {
            return pxeUrl!.Trim().TrimEnd('/');
        }
        var factory = (factoryUrl ?? "").Trim().TrimEnd('/');
        return string.Equals(factory, PublicFactoryUrl, StringComparison.OrdinalIgnoreCase) ? PublicPxeUrl : factory;
    }

    /// <summary><c>{pxe host}/pxe/{schematic}/{version}/{platform}-{arch}[-secureboot]</c>: the iPXE script's URL.</summary>
    public static string PxeScriptUrl(string pxeBaseUrl, string schematicId, string version, string platform, string architecture, bool secureBoot) =>
        $"{pxeBaseUrl.TrimEnd('/')}/pxe/{schematicId}/{version}/{platform}-{architecture}{(secureBoot ? "-secureboot" : "")}";

    /// <summary>The URL of any orderable asset: <see cref="PxeScriptUrl"/> for pxe, <see cref="ImageUrl"/> for everything else.</summary>
    public static string AssetUrl(string factoryUrl, string? pxeUrl, string schematicId, string version, string platform, string architecture, bool secureBoot, string format) =>
        format == "pxe"
            ? PxeScriptUrl(PxeBaseUrl(factoryUrl, pxeUrl), schematicId, version, platform, architecture, secureBoot)
            : ImageUrl(factoryUrl, schematicId, version, AssetName(platform, architecture, secureBoot, format));

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
