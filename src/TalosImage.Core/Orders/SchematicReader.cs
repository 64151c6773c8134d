using System;
using System.Collections.Generic;
using System.Linq;
using TalosImage.Core.Schematics;
using YamlDotNet.Core;
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
                overlay = overlay with { Options = (Dictionary<string, object?>)OptionValue(y, opt.Value, path + ".options", ref budget)! };
            }
        }
        if (!overlay.IsEmpty && (overlay.Image.Length == 0 || overlay.Name.Length == 0))
        {
            y.Add(node, path, "an overlay needs both image (e.g. siderolabs/sbc-raspberrypi) and name (e.g. rpi_generic)");
        }
        return overlay;
    }

    /// <summary>
    /// An overlay option's value as the factory's Go yaml decodes it into <c>map[string]any</c>, so that the schematic
    /// ID computed here is the factory's: mappings (string keys, as written), lists, and plain scalars resolved as
    /// yaml.v3 resolves them: <c>~</c>, <c>null</c> and empty are null; <c>true</c>/<c>false</c> (also True, TRUE ...)
    /// are booleans (YAML 1.1's yes/no/on/off stay strings); integers as Go's <c>strconv.ParseInt(s, 0, 64)</c> reads
    /// them after removing <c>_</c> (decimal, <c>0x</c>, <c>0o</c>, <c>0b</c>, and a leading <c>0</c> meaning octal), then
    /// unsigned 64-bit; floats in YAML's float syntax and <c>.inf</c>/<c>.nan</c>; everything else, and every quoted
    /// scalar, is a string. A date stays a string (yaml.v3 keeps timestamps decoded into <c>any</c> as text).
    /// </summary>
    private static object? OptionValue(YamlInput y, YamlNode node, string path, ref int budget)
    {
        if (--budget < 0)
        {
            y.Add(node, path, "too large (aliases expand to more values than allowed)");
            return null;
        }
        switch (node)
        {
            case YamlMappingNode map:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var kv in map.Children)
                {
                    if (kv.Key is not YamlScalarNode { Value: { } key } || key.IndexOf('\n') >= 0)
                    {
                        y.Add(kv.Key, path, "an option name must be a single-line text");
                        continue;
                    }
                    if (dict.ContainsKey(key))
                    {
                        y.Add(kv.Key, YamlInput.Join(path, key), "is given twice");
                        continue;
                    }
                    dict[key] = OptionValue(y, kv.Value, YamlInput.Join(path, key), ref budget);
                }
                return dict;
            case YamlSequenceNode seq:
                var list = new List<object?>();
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    list.Add(OptionValue(y, seq.Children[i], YamlInput.Index(path, i), ref budget));
                }
                return list;
            case YamlScalarNode s when s.Style is ScalarStyle.Plain or ScalarStyle.Any:
                // An explicit !!str keeps the text; any other plain scalar is resolved.
                return !s.Tag.IsEmpty && s.Tag.Value is "tag:yaml.org,2002:str" or "!!str" ? s.Value ?? "" : ResolvePlain(s.Value ?? "");
            case YamlScalarNode s:
                return s.Value ?? "";
            default:
                return null;
        }
    }

    private static readonly System.Text.RegularExpressions.Regex GoFloatSyntax =
        new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>A plain scalar as yaml.v3's resolver types it (see <see cref="OptionValue"/>).</summary>
    internal static object? ResolvePlain(string text)
    {
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF":
                return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF":
                return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN":
                return double.NaN;
        }
        var c = text[0];
        if (!(c is '-' or '+' or '.' || (c >= '0' && c <= '9')))
        {
            return text;
        }
        var plain = text.Replace("_", "");
        if (GoParseInt(plain, out var magnitude, out var negative))
        {
            if (!negative && magnitude <= long.MaxValue)
            {
                return (long)magnitude;
            }
            if (negative && magnitude <= (ulong)long.MaxValue + 1)
            {
                return magnitude == (ulong)long.MaxValue + 1 ? long.MinValue : -(long)magnitude;
            }
            if (!negative)
            {
                return magnitude;
            }
        }
        if (GoFloatSyntax.IsMatch(plain) && double.TryParse(plain, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d))
        {
            return d;
        }
        return text;
    }

    /// <summary>Go's <c>strconv.ParseUint</c> with base 0 and an optional sign: 0x/0X hex, 0o/0O and a leading 0 octal, 0b/0B binary.</summary>
    private static bool GoParseInt(string s, out ulong value, out bool negative)
    {
        value = 0;
        negative = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            negative = s[0] == '-';
            s = s.Substring(1);
        }
        if (s.Length == 0)
        {
            return false;
        }
        var radix = 10;
        if (s.Length > 1 && s[0] == '0')
        {
            switch (s[1])
            {
                case 'x' or 'X': radix = 16; s = s.Substring(2); break;
                case 'o' or 'O': radix = 8; s = s.Substring(2); break;
                case 'b' or 'B': radix = 2; s = s.Substring(2); break;
                default: radix = 8; s = s.Substring(1); break;
            }
            if (s.Length == 0)
            {
                return false;
            }
        }
        foreach (var ch in s)
        {
            var digit = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : 99;
            if (digit >= radix)
            {
                return false;
            }
            var next = unchecked(value * (ulong)radix + (ulong)digit);
            if ((next - (ulong)digit) / (ulong)radix != value)
            {
                return false;
            }
            value = next;
        }
        return true;
    }
}
