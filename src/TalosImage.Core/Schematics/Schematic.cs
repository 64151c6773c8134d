using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Schematics;

/// <summary>A Talos Image Factory schematic: an optional overlay and a customization (see shared/reference/image-factory.md).</summary>
public sealed record Schematic
{
    public SchematicOverlay? Overlay { get; init; }
    public SchematicCustomization Customization { get; init; } = new();

    /// <summary>The canonical YAML the factory hashes.</summary>
    public string ToCanonicalYaml() => SchematicYaml.Write(this);

    /// <summary>The schematic ID: lowercase hex SHA-256 of the canonical YAML.</summary>
    public string ComputeId() => SchematicYaml.ComputeId(ToCanonicalYaml());
}

/// <summary>An SBC overlay: image, name and free-form options.</summary>
public sealed record SchematicOverlay
{
    public string Image { get; init; } = "";
    public string Name { get; init; } = "";
    /// <summary>Free-form options: strings, booleans, integers, doubles, lists and string-keyed maps of those.</summary>
    public IReadOnlyDictionary<string, object?> Options { get; init; } = new Dictionary<string, object?>();

    public bool IsEmpty => Image.Length == 0 && Name.Length == 0 && Options.Count == 0;
}

/// <summary>One META partition value: a key from 0 to 255 and a string.</summary>
public sealed record SchematicMeta(int Key, string Value);

/// <summary>The customization part, in the factory's field order.</summary>
public sealed record SchematicCustomization
{
    /// <summary>Talos 1.12 and later.</summary>
    public string? EmbeddedMachineConfiguration { get; init; }
    public IReadOnlyList<string> ExtraKernelArgs { get; init; } = Array.Empty<string>();
    public IReadOnlyList<SchematicMeta> Meta { get; init; } = Array.Empty<SchematicMeta>();
    /// <summary>Official extension names, e.g. siderolabs/qemu-guest-agent. Order matters to the ID.</summary>
    public IReadOnlyList<string> OfficialExtensions { get; init; } = Array.Empty<string>();
    /// <summary>dual-boot, sd-boot or grub; null or none is the default and is omitted.</summary>
    public string? Bootloader { get; init; }
    /// <summary>off, manual, if-safe or force.</summary>
    public string? SecureBootEnrollKeys { get; init; }
    public bool SecureBootIncludeWellKnownCertificates { get; init; }
    public uint? DiskImageSectorSize { get; init; }

    public static IReadOnlyList<string> Bootloaders { get; } = new[] { "none", "dual-boot", "sd-boot", "grub" };
    public static IReadOnlyList<string> EnrollKeysModes { get; } = new[] { "off", "manual", "if-safe", "force" };

    public bool Equals(SchematicCustomization? other) =>
        other is not null && EmbeddedMachineConfiguration == other.EmbeddedMachineConfiguration
        && ExtraKernelArgs.SequenceEqual(other.ExtraKernelArgs) && Meta.SequenceEqual(other.Meta)
        && OfficialExtensions.SequenceEqual(other.OfficialExtensions) && Bootloader == other.Bootloader
        && SecureBootEnrollKeys == other.SecureBootEnrollKeys
        && SecureBootIncludeWellKnownCertificates == other.SecureBootIncludeWellKnownCertificates
        && DiskImageSectorSize == other.DiskImageSectorSize;

    public override int GetHashCode() => SchematicYaml.Write(new Schematic { Customization = this }).GetHashCode();
}
