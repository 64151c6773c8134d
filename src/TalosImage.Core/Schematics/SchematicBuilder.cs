using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TalosImage.Core.Orders;

namespace TalosImage.Core.Schematics;

/// <summary>What New-TalosSchematic's parameters describe; <see cref="SchematicBuilder.Build"/> checks it and makes a <see cref="Schematic"/>.</summary>
public sealed record SchematicParameters
{
    public IReadOnlyList<string> SystemExtensions { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> KernelArgs { get; init; } = Array.Empty<string>();
    /// <summary>META key (0..255, a number or numeric text) to value.</summary>
    public IReadOnlyList<KeyValuePair<object, object?>> Meta { get; init; } = Array.Empty<KeyValuePair<object, object?>>();
    public string? OverlayImage { get; init; }
    public string? OverlayName { get; init; }
    /// <summary>Overlay options: text, numbers, booleans, lists and maps of those.</summary>
    public IDictionary? OverlayOptions { get; init; }
    public string? Bootloader { get; init; }
    public string? SecureBootEnrollKeys { get; init; }
    public bool SecureBootIncludeWellKnownCertificates { get; init; }
    public uint? SectorSize { get; init; }
    public string? EmbeddedMachineConfiguration { get; init; }
}

/// <summary>Builds a schematic from parameters with the same rules the YAML reader applies, naming the parameter at fault.</summary>
public static class SchematicBuilder
{
    public static Schematic Build(SchematicParameters p)
    {
        var problems = new List<string>();
        var extensions = Clean(p.SystemExtensions);
        foreach (var e in extensions.Where(e => e.Any(char.IsWhiteSpace)))
        {
            problems.Add($"-SystemExtension '{e}' is not an extension name (e.g. siderolabs/qemu-guest-agent)");
        }
        var meta = new List<SchematicMeta>();
        foreach (var kv in p.Meta)
        {
            if (!TryMetaKey(kv.Key, out var key))
            {
                problems.Add($"-Meta key '{kv.Key}' is not a META key: expected a number from 0 to 255");
                continue;
            }
            meta.Add(new SchematicMeta(key, Convert.ToString(kv.Value, CultureInfo.InvariantCulture) ?? ""));
        }
        // A hashtable has no order, and the order changes the ID: sort by key so the same values give the same ID.
        meta = meta.OrderBy(m => m.Key).ToList();
        foreach (var dup in meta.GroupBy(m => m.Key).Where(g => g.Count() > 1))
        {
            problems.Add($"-Meta key {dup.Key} is given more than once");
        }
        if (p.Bootloader is { Length: > 0 } boot && !SchematicCustomization.Bootloaders.Contains(boot))
        {
            problems.Add($"-Bootloader '{boot}' is not a bootloader; expected one of: {string.Join(", ", SchematicCustomization.Bootloaders)}");
        }
        if (p.SecureBootEnrollKeys is { Length: > 0 } mode && !SchematicCustomization.EnrollKeysModes.Contains(mode))
        {
            problems.Add($"-SecureBootEnrollKeys '{mode}' is not allowed; expected one of: {string.Join(", ", SchematicCustomization.EnrollKeysModes)}");
        }
        SchematicOverlay? overlay = null;
        var options = p.OverlayOptions is { Count: > 0 } ? (Dictionary<string, object?>)Option(p.OverlayOptions, "-OverlayOption", problems)! : new Dictionary<string, object?>();
        if (!string.IsNullOrEmpty(p.OverlayImage) || !string.IsNullOrEmpty(p.OverlayName) || options.Count > 0)
        {
            overlay = new SchematicOverlay { Image = p.OverlayImage ?? "", Name = p.OverlayName ?? "", Options = options };
            if (overlay.Image.Length == 0 || overlay.Name.Length == 0)
            {
                problems.Add("an overlay needs both -OverlayImage (e.g. siderolabs/sbc-raspberrypi) and -OverlayName (e.g. rpi_generic)");
            }
        }
        if (problems.Count > 0)
        {
            throw new TalosException(TalosErrors.InvalidSchematic, string.Join("; ", problems));
        }
        return new Schematic
        {
            Overlay = overlay,
            Customization = new SchematicCustomization
            {
                EmbeddedMachineConfiguration = string.IsNullOrEmpty(p.EmbeddedMachineConfiguration) ? null : p.EmbeddedMachineConfiguration,
                ExtraKernelArgs = Clean(p.KernelArgs),
                Meta = meta,
                OfficialExtensions = extensions,
                Bootloader = string.IsNullOrEmpty(p.Bootloader) || p.Bootloader == "none" ? null : p.Bootloader,
                SecureBootEnrollKeys = string.IsNullOrEmpty(p.SecureBootEnrollKeys) ? null : p.SecureBootEnrollKeys,
                SecureBootIncludeWellKnownCertificates = p.SecureBootIncludeWellKnownCertificates,
                DiskImageSectorSize = p.SectorSize is 0 ? null : p.SectorSize,
            },
        };
    }

    private static IReadOnlyList<string> Clean(IReadOnlyList<string> values) =>
        values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim()).ToList();

    private static bool TryMetaKey(object key, out int value)
    {
        value = 0;
        switch (key)
        {
            case int i when i is >= 0 and <= 255:
                value = i;
                return true;
            case long l when l is >= 0 and <= 255:
                value = (int)l;
                return true;
            case byte b:
                value = b;
                return true;
            case string s when YamlInput.TryInteger(s.Trim(), out var n) && n is >= 0 and <= 255:
                value = (int)n;
                return true;
            default:
                return false;
        }
    }

    /// <summary>An overlay option value as SchematicYaml writes it: maps to string-keyed dictionaries, lists to lists.</summary>
    private static object? Option(object? value, string path, List<string> problems)
    {
        switch (value)
        {
            case null or string or bool or int or long or double or float or decimal or uint or ulong or short or byte:
                return value;
            case IDictionary map:
                var result = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry e in map)
                {
                    var key = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                    result[key] = Option(e.Value, path + "." + key, problems);
                }
                return result;
            case IEnumerable list:
                return list.Cast<object?>().Select((v, i) => Option(v, $"{path}[{i}]", problems)).ToList();
            default:
                problems.Add($"{path}: a {value.GetType().Name} cannot be written into a schematic; use text, numbers, booleans, lists or hashtables");
                return null;
        }
    }
}
