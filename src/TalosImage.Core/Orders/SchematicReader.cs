using System;
using System.Collections.Generic;
using System.Linq;
using TalosImage.Core.Schematics;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Orders;

/// <summary>
/// Reads a schematic's customization and overlay from YAML with the factory's own field names and rules, so
/// that a mistake is reported with its line before any request (the factory answers 400 on unknown fields).
/// </summary>
public static class SchematicReader
{
    private static readonly string[] TopKeys = { "overlay", "customization" };
    private static readonly string[] CustomizationKeys =
    {
        "embeddedMachineConfiguration", "extraKernelArgs", "meta", "systemExtensions", "bootloader", "secureboot", "diskImage",
    };
    private static readonly string[] OverlayKeys = { "image", "name", "options" };
    private static readonly string[] MetaKeys = { "key", "value" };
    private static readonly string[] SystemExtensionKeys = { "officialExtensions" };
    private static readonly string[] SecureBootKeys = { "enrollKeys", "includeWellKnownCertificates" };
    private static readonly string[] DiskImageKeys = { "sectorSize" };

    /// <summary>Reads a schematic file (schematic.yaml as the factory takes it).</summary>
    public static Schematic Load(string path)
    {
        var problems = new List<ValidationProblem>();
        var (y, root) = YamlInput.Load(path, problems);
        var schematic = root is null ? new Schematic() : Read(y, root);
        if (problems.Count > 0)
        {
            throw new TalosValidationException(problems);
        }
        return schematic;
    }

    /// <summary>Reads a schematic given as text (<paramref name="displayName"/> names it in errors).</summary>
    public static Schematic Parse(string displayName, string yaml)
    {
        var problems = new List<ValidationProblem>();
        var (y, root) = YamlInput.Parse(displayName, yaml, problems);
        var schematic = root is null ? new Schematic() : Read(y, root);
        if (problems.Count > 0)
        {
            throw new TalosValidationException(problems);
        }
        return schematic;
    }

    internal static Schematic Read(YamlInput y, YamlNode root)
    {
        var top = y.Map(root, "", TopKeys);
        if (top is null)
        {
            return new Schematic();
        }
        return new Schematic
        {
            Customization = top.TryGetValue("customization", out var c) ? Customization(y, c.Value, "customization") : new SchematicCustomization(),
            Overlay = top.TryGetValue("overlay", out var o) ? Overlay(y, o.Value, "overlay") : null,
        };
    }

    internal static SchematicCustomization Customization(YamlInput y, YamlNode node, string path)
    {
        var m = y.Map(node, path, CustomizationKeys);
        if (m is null)
        {
            return new SchematicCustomization();
        }
        var result = new SchematicCustomization();
        if (m.TryGetValue("embeddedMachineConfiguration", out var emc))
        {
            result = result with { EmbeddedMachineConfiguration = y.String(emc.Value, path + ".embeddedMachineConfiguration") };
        }
        if (m.TryGetValue("extraKernelArgs", out var args))
        {
            result = result with { ExtraKernelArgs = y.StringList(args.Value, path + ".extraKernelArgs") ?? Array.Empty<string>() };
        }
        if (m.TryGetValue("meta", out var meta))
        {
            var items = y.List(meta.Value, path + ".meta", "{key: 0..255, value: string}") ?? Array.Empty<YamlNode>();
            var values = new List<SchematicMeta>();
            for (var i = 0; i < items.Count; i++)
            {
                var ip = YamlInput.Index(path + ".meta", i);
                if (y.Map(items[i], ip, MetaKeys) is not { } mm)
                {
                    continue;
                }
                var key = mm.TryGetValue("key", out var k) ? y.Integer(k.Value, ip + ".key", 0, 255) : null;
                if (!mm.ContainsKey("key"))
                {
                    y.Add(items[i], ip + ".key", "is required (0..255)");
                }
                var value = mm.TryGetValue("value", out var v) ? y.String(v.Value, ip + ".value") : null;
                if (key is not null)
                {
                    values.Add(new SchematicMeta((int)key.Value, value ?? ""));
                }
            }
            result = result with { Meta = values };
        }
        if (m.TryGetValue("systemExtensions", out var ext))
        {
            if (ext.Value is YamlSequenceNode)
            {
                y.Add(ext.Value, path + ".systemExtensions",
                    "expected a mapping: write systemExtensions: {officialExtensions: [siderolabs/...]} (the factory rejects a bare list)");
            }
            else if (y.Map(ext.Value, path + ".systemExtensions", SystemExtensionKeys) is { } em && em.TryGetValue("officialExtensions", out var off))
            {
                var names = y.StringList(off.Value, path + ".systemExtensions.officialExtensions") ?? Array.Empty<string>();
                for (var i = 0; i < names.Count; i++)
                {
                    if (names[i].Trim().Length == 0 || names[i].Any(char.IsWhiteSpace))
                    {
                        y.Add(off.Value, YamlInput.Index(path + ".systemExtensions.officialExtensions", i), $"'{names[i]}' is not an extension name (e.g. siderolabs/qemu-guest-agent)");
                    }
                }
                foreach (var (index, first, name) in Factory.ExtensionAliases.Duplicates(names))
                {
                    y.Add(off.Value, YamlInput.Index(path + ".systemExtensions.officialExtensions", index),
                        names[index] == name
                            ? $"'{name}' is listed twice (also at [{first}]); list each extension once"
                            : $"'{names[index]}' is the factory's alias of '{Factory.ExtensionAliases.Target(names[index])}', which [{first}] already orders as '{name}'; list each extension once");
                }
                result = result with { OfficialExtensions = names };
            }
        }
        if (m.TryGetValue("bootloader", out var boot))
        {
            var b = y.String(boot.Value, path + ".bootloader");
            if (b is not null && !SchematicCustomization.Bootloaders.Contains(b))
            {
                y.Add(boot.Value, path + ".bootloader", $"'{b}' is not a bootloader; expected one of: {string.Join(", ", SchematicCustomization.Bootloaders)}");
            }
            else
            {
                result = result with { Bootloader = b };
            }
        }
        if (m.TryGetValue("secureboot", out var sb) && y.Map(sb.Value, path + ".secureboot", SecureBootKeys) is { } sm)
        {
            if (sm.TryGetValue("enrollKeys", out var ek))
            {
                var mode = y.String(ek.Value, path + ".secureboot.enrollKeys");
                if (mode is not null && !SchematicCustomization.EnrollKeysModes.Contains(mode))
                {
                    y.Add(ek.Value, path + ".secureboot.enrollKeys", $"'{mode}' is not allowed; expected one of: {string.Join(", ", SchematicCustomization.EnrollKeysModes)}");
                }
                else
                {
                    result = result with { SecureBootEnrollKeys = mode };
                }
            }
            if (sm.TryGetValue("includeWellKnownCertificates", out var wk))
            {
                result = result with { SecureBootIncludeWellKnownCertificates = y.Bool(wk.Value, path + ".secureboot.includeWellKnownCertificates") ?? false };
            }
        }
        if (m.TryGetValue("diskImage", out var di) && y.Map(di.Value, path + ".diskImage", DiskImageKeys) is { } dm && dm.TryGetValue("sectorSize", out var ss))
        {
            var size = y.Integer(ss.Value, path + ".diskImage.sectorSize", 0, uint.MaxValue);
            result = result with { DiskImageSectorSize = size is null ? null : (uint)size.Value };
        }
        return result;
    }

    internal static SchematicOverlay? Overlay(YamlInput y, YamlNode node, string path)
    {
        var m = y.Map(node, path, OverlayKeys);
        if (m is null)
        {
            return null;
        }
        var overlay = new SchematicOverlay
        {
            Image = m.TryGetValue("image", out var img) ? y.String(img.Value, path + ".image") ?? "" : "",
            Name = m.TryGetValue("name", out var name) ? y.String(name.Value, path + ".name") ?? "" : "",
        };
        if (m.TryGetValue("options", out var opt) && !YamlInput.IsNull(opt.Value))
        {
            if (opt.Value is not YamlMappingNode)
            {
                y.Add(opt.Value, path + ".options", "expected a mapping of option names to values");
            }
            else
            {
                var budget = 10_000;
                overlay = overlay with { Options = (Dictionary<string, object?>)y.Data(opt.Value, path + ".options", ref budget)! };
            }
        }
        if (!overlay.IsEmpty && (overlay.Image.Length == 0 || overlay.Name.Length == 0))
        {
            y.Add(node, path, "an overlay needs both image (e.g. siderolabs/sbc-raspberrypi) and name (e.g. rpi_generic)");
        }
        return overlay;
    }
}
