using System;
using System.Collections.Generic;
using System.Linq;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Factory;

/// <summary>How a platform's machines boot Talos: which kinds of factory asset it has.</summary>
public enum BootMethod
{
    /// <summary>A disk image (raw, qcow2, vhd, ova, compressed or not).</summary>
    DiskImage,
    /// <summary>An ISO image.</summary>
    Iso,
    /// <summary>Network boot (kernel, initramfs, an iPXE script).</summary>
    Pxe,
}

/// <summary>
/// One platform of Talos's platform table: the architectures, boot methods and SecureBoot the factory builds for it,
/// the first Talos version that has it, and the disk image format the factory offers first.
/// </summary>
public sealed record PlatformRule(
    string Name,
    string Label,
    IReadOnlyList<string> Architectures,
    IReadOnlyList<BootMethod> BootMethods,
    bool SecureBoot,
    string? MinVersion,
    string? DiskImageFormat);

/// <summary>
/// Talos's platform table (siderolabs/talos, pkg/machinery/platforms: metal and the cloud platforms), the one source
/// of <see cref="FactoryCatalog.Platforms"/>, its SecureBoot platforms and default disk formats, and of the check a
/// position or a Save-TalosImage request passes before anything is asked: <see cref="Check"/>.
/// </summary>
public static class PlatformRules
{
    private static readonly string[] Both = { "amd64", "arm64" };
    private static readonly string[] Amd64 = { "amd64" };
    private static readonly BootMethod[] DiskOnly = { BootMethod.DiskImage };
    private static readonly BootMethod[] DiskIso = { BootMethod.DiskImage, BootMethod.Iso };
    private static readonly BootMethod[] Every = { BootMethod.Iso, BootMethod.DiskImage, BootMethod.Pxe };

    /// <summary>In the order the engine has always listed platforms (messages name them in this order).</summary>
    public static IReadOnlyList<PlatformRule> All { get; } = new[]
    {
        new PlatformRule("metal", "Bare Metal", Both, Every, true, null, "raw.zst"),
        new PlatformRule("nocloud", "Nocloud", Both, Every, true, null, "raw.xz"),
        new PlatformRule("aws", "Amazon Web Services (AWS)", Both, DiskOnly, false, null, "raw.xz"),
        new PlatformRule("azure", "Microsoft Azure", Both, DiskOnly, true, null, "vhd.xz"),
        new PlatformRule("gcp", "Google Cloud (GCP)", Both, DiskOnly, false, null, "raw.tar.gz"),
        new PlatformRule("digital-ocean", "Digital Ocean", Amd64, DiskOnly, false, null, "raw.gz"),
        new PlatformRule("hcloud", "Hetzner", Amd64, DiskOnly, false, null, "raw.xz"),
        new PlatformRule("openstack", "OpenStack", Both, Every, false, null, "raw.xz"),
        new PlatformRule("oracle", "Oracle Cloud", Both, DiskOnly, false, null, "qcow2"),
        new PlatformRule("exoscale", "Exoscale", Both, DiskOnly, false, "v1.3.0", "qcow2"),
        new PlatformRule("opennebula", "OpenNebula", Both, DiskIso, false, "v1.7.0", "raw.zst"),
        new PlatformRule("scaleway", "Scaleway", Both, DiskIso, false, null, "raw.zst"),
        new PlatformRule("upcloud", "UpCloud", Amd64, DiskOnly, false, null, "raw.xz"),
        new PlatformRule("vultr", "Vultr", Amd64, new[] { BootMethod.Iso, BootMethod.Pxe }, false, null, null),
        new PlatformRule("vmware", "VMWare", Both, DiskIso, false, null, "ova"),
        new PlatformRule("akamai", "Akamai", Amd64, DiskOnly, false, "v1.7.0", "raw.gz"),
        new PlatformRule("cloudstack", "Apache CloudStack", Both, DiskOnly, true, "v1.8.0-alpha.2", "raw.gz"),
        new PlatformRule("equinixMetal", "Equinix Metal", Both, new[] { BootMethod.Pxe }, false, null, null),
    };

    private static readonly Dictionary<string, PlatformRule> ByName = All.ToDictionary(r => r.Name, StringComparer.Ordinal);

    /// <summary>The rule of <paramref name="platform"/> (exact name), or null for a name the table does not have.</summary>
    public static PlatformRule? Find(string? platform) => platform is not null && ByName.TryGetValue(platform, out var r) ? r : null;

    /// <summary>The boot method a format serves: ISO images boot as ISO, the boot assets (kernel, initramfs, cmdline, uki, installer, pxe) by network, everything else is a disk image.</summary>
    public static BootMethod BootMethodOf(string format) =>
        format.StartsWith("iso", StringComparison.Ordinal) ? BootMethod.Iso : FactoryCatalog.IsBootAsset(format) ? BootMethod.Pxe : BootMethod.DiskImage;

    private static string Word(BootMethod method) => method switch
    {
        BootMethod.DiskImage => "disk images",
        BootMethod.Iso => "ISO images",
        _ => "PXE boot",
    };

    /// <summary>
    /// Null when the factory builds <paramref name="format"/> for <paramref name="platform"/> on
    /// <paramref name="architecture"/> (with SecureBoot when asked) in <paramref name="version"/> (null: not known yet),
    /// else one sentence saying what the platform has. A platform the table does not know is not checked (a self-hosted
    /// factory may have more).
    /// </summary>
    public static string? Check(string platform, string architecture, string format, bool secureBoot, string? version)
    {
        if (Find(platform) is not { } rule)
        {
            return null;
        }
        if (!rule.Architectures.Contains(architecture, StringComparer.Ordinal))
        {
            return $"the factory builds {platform} images for {string.Join(" and ", rule.Architectures)} only, not {architecture}";
        }
        var method = BootMethodOf(format);
        // The kernel, initramfs, cmdline, UKI and installer exist for every platform; the iPXE script needs PXE boot.
        if ((!FactoryCatalog.IsBootAsset(format) || format == "pxe") && !rule.BootMethods.Contains(method))
        {
            return $"{platform} has no {Word(method)} ({format}): it boots from {string.Join(" or ", rule.BootMethods.Select(Word))}" +
                (rule.DiskImageFormat is { } disk && method != BootMethod.DiskImage ? $"; its disk image is {disk}" : "");
        }
        if (secureBoot && !rule.SecureBoot)
        {
            return $"the factory builds no SecureBoot images for {platform}; SecureBoot is offered for {string.Join(", ", All.Where(r => r.SecureBoot).Select(r => r.Name))}";
        }
        if (rule.MinVersion is { } min && version is not null && TalosSemVersion.TryParse(version, out var v) &&
            v.CompareTo(TalosSemVersion.Parse(min)) < 0)
        {
            return $"{platform} images exist from Talos {min}, not in {version}";
        }
        return null;
    }
}
