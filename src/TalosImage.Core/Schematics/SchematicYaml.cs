using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Schematics;

/// <summary>
/// Writes a schematic as the factory's canonical YAML (Go yaml.v3 output of its struct): fields in struct order,
/// empty ones omitted, 4-space indentation, strings quoted only when plain would read back as another type.
/// Its SHA-256 is the schematic ID.
/// </summary>
public static class SchematicYaml
{
    private const int Indent = 4;

    public static string ComputeId(string canonicalYaml)
    {
        using var sha = SHA256.Create();
        var hash = sha.ComputeHash(new UTF8Encoding(false).GetBytes(canonicalYaml));
        var sb = new StringBuilder(64);
        foreach (var b in hash)
        {
            sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public static string Write(Schematic schematic)
    {
        var w = new StringBuilder();
        if (schematic.Overlay is { IsEmpty: false } overlay)
        {
            w.Append("overlay:\n");
            WriteKeyScalar(w, 1, "image", overlay.Image);
            WriteKeyScalar(w, 1, "name", overlay.Name);
            if (overlay.Options.Count > 0)
            {
                WriteKeyValue(w, 1, "options", overlay.Options);
            }
        }

        var c = schematic.Customization;
        var body = new StringBuilder();
        if (!string.IsNullOrEmpty(c.EmbeddedMachineConfiguration))
        {
            WriteKeyScalar(body, 1, "embeddedMachineConfiguration", c.EmbeddedMachineConfiguration!);
        }
        if (c.ExtraKernelArgs.Count > 0)
        {
            WriteKeyValue(body, 1, "extraKernelArgs", c.ExtraKernelArgs);
        }
        if (c.Meta.Count > 0)
        {
            body.Append(Pad(1)).Append("meta:\n");
            foreach (var m in c.Meta)
            {
                body.Append(Pad(2)).Append("- key: ").Append(m.Key.ToString(CultureInfo.InvariantCulture)).Append('\n');
                body.Append(Pad(2)).Append("  value: ").Append(Scalar(m.Value, 2 * Indent + 2)).Append('\n');
            }
        }
        if (c.OfficialExtensions.Count > 0)
        {
            body.Append(Pad(1)).Append("systemExtensions:\n");
            WriteKeyValue(body, 2, "officialExtensions", c.OfficialExtensions);
        }
        if (!string.IsNullOrEmpty(c.Bootloader) && c.Bootloader != "none")
        {
            WriteKeyScalar(body, 1, "bootloader", c.Bootloader!);
        }
        if (!string.IsNullOrEmpty(c.SecureBootEnrollKeys) || c.SecureBootIncludeWellKnownCertificates)
        {
            body.Append(Pad(1)).Append("secureboot:\n");
            if (!string.IsNullOrEmpty(c.SecureBootEnrollKeys))
            {
                WriteKeyScalar(body, 2, "enrollKeys", c.SecureBootEnrollKeys!);
            }
            if (c.SecureBootIncludeWellKnownCertificates)
            {
                body.Append(Pad(2)).Append("includeWellKnownCertificates: true\n");
            }
        }
        if (c.DiskImageSectorSize is { } sector and > 0)
        {
            body.Append(Pad(1)).Append("diskImage:\n");
            body.Append(Pad(2)).Append("sectorSize: ").Append(sector.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        w.Append(body.Length == 0 ? "customization: {}\n" : "customization:\n" + body);
        return w.ToString();
    }

    private static string Pad(int level) => new(' ', level * Indent);

    private static void WriteKeyScalar(StringBuilder w, int level, string key, string value)
    {
        w.Append(Pad(level)).Append(key).Append(": ").Append(Scalar(value, level * Indent)).Append('\n');
    }

    /// <summary>Writes <c>key: value</c> for any value the overlay options may hold (maps with sorted keys, as Go does).</summary>
    private static void WriteKeyValue(StringBuilder w, int level, string key, object? value)
    {
        switch (value)
        {
            case IDictionary<string, object?> map when map.Count > 0:
                w.Append(Pad(level)).Append(Key(key)).Append(":\n");
                foreach (var kv in map.OrderBy(kv => kv.Key, GoKeyComparer.Instance))
                {
                    WriteKeyValue(w, level + 1, kv.Key, kv.Value);
                }
                break;
            case IReadOnlyDictionary<string, object?> map when map.Count > 0:
                WriteKeyValue(w, level, key, map.ToDictionary(kv => kv.Key, kv => kv.Value));
                break;
            case IEnumerable list when value is not string && list.Cast<object?>().Any():
                w.Append(Pad(level)).Append(Key(key)).Append(":\n");
                foreach (var item in list)
                {
                    WriteSequenceItem(w, level + 1, item);
                }
                break;
            case IDictionary<string, object?>:
            case IReadOnlyDictionary<string, object?>:
                w.Append(Pad(level)).Append(Key(key)).Append(": {}\n");
                break;
            case IEnumerable when value is not string:
                w.Append(Pad(level)).Append(Key(key)).Append(": []\n");
                break;
            default:
                w.Append(Pad(level)).Append(Key(key)).Append(": ").Append(ScalarOf(value, level * Indent)).Append('\n');
                break;
        }
    }

    private static void WriteSequenceItem(StringBuilder w, int level, object? item)
    {
        switch (item)
        {
            // A Dictionary is both: only a read-only map that is not an IDictionary is copied (else this would recurse).
            case IReadOnlyDictionary<string, object?> ro when item is not IDictionary<string, object?>:
                WriteSequenceItem(w, level, ro.ToDictionary(kv => kv.Key, kv => kv.Value));
                break;
            case IDictionary<string, object?> map when map.Count > 0:
                var first = true;
                foreach (var kv in map.OrderBy(kv => kv.Key, GoKeyComparer.Instance))
                {
                    // The first key follows "- "; later keys align two columns after the dash.
                    var sb = new StringBuilder();
                    WriteKeyValue(sb, 0, kv.Key, kv.Value);
                    var lines = sb.ToString().TrimEnd('\n').Split('\n');
                    for (var i = 0; i < lines.Length; i++)
                    {
                        var prefix = first && i == 0 ? Pad(level) + "- " : Pad(level) + "  ";
                        w.Append(prefix).Append(lines[i]).Append('\n');
                    }
                    first = false;
                }
                break;
            case IDictionary<string, object?>:
                w.Append(Pad(level)).Append("- {}\n");
                break;
            case IEnumerable empty when item is not string && !empty.Cast<object?>().Any():
                w.Append(Pad(level)).Append("- []\n");
                break;
            case IEnumerable list when item is not string:
                var nested = new StringBuilder();
                foreach (var inner in list)
                {
                    WriteSequenceItem(nested, 0, inner);
                }
                var nestedLines = nested.ToString().TrimEnd('\n').Split('\n');
                for (var i = 0; i < nestedLines.Length; i++)
                {
                    w.Append(Pad(level)).Append(i == 0 ? "- " : "  ").Append(nestedLines[i]).Append('\n');
                }
                break;
            default:
                w.Append(Pad(level)).Append("- ").Append(ScalarOf(item, level * Indent + 2)).Append('\n');
                break;
        }
    }

    /// <summary>
    /// A mapping key as yaml.v3 writes a string key: by the same rules as a string value (so an option named
    /// <c>yes</c> or <c>1</c> is double-quoted, as the factory's map[string]any writes it).
    /// </summary>
    private static string Key(string key) => Scalar(key, 0);

    private static string ScalarOf(object? value, int column) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => Scalar(s, column),
        double d => GoFloat(d),
        float f => GoFloat(f),
        decimal m => GoFloat((double)m),
        IFormattable n => n.ToString(null, CultureInfo.InvariantCulture),
        _ => Scalar(value.ToString() ?? "", column),
    };

    private static readonly Regex IntPattern = new(@"^[-+]?(0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$", RegexOptions.CultureInvariant);
    private static readonly Regex FloatPattern = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);
    private static readonly Regex Base60Pattern = new(@"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$", RegexOptions.CultureInvariant);
    private static readonly Regex TimestampPattern = new(@"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?$", RegexOptions.CultureInvariant);

    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN", "<<",
        // YAML 1.1 booleans, which yaml.v3 still quotes
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    };

    /// <summary>True when <paramref name="s"/> written plain would read back as null, a boolean, a number or a date.</summary>
    public static bool ReadsAsNonString(string s) =>
        Reserved.Contains(s) || IntPattern.IsMatch(s) || FloatPattern.IsMatch(s) || Base60Pattern.IsMatch(s) || TimestampPattern.IsMatch(s);

    /// <summary>A string as yaml.v3 writes it: plain, double-quoted, single-quoted or a literal block.</summary>
    internal static string Scalar(string s, int column)
    {
        if (s.IndexOf('\n') >= 0)
        {
            return Literal(s, column);
        }
        if (ReadsAsNonString(s))
        {
            return DoubleQuoted(s);
        }
        if (s.Any(ch => NeedsEscape(ch)))
        {
            return DoubleQuoted(s);
        }
        return PlainAllowed(s) ? s : "'" + s.Replace("'", "''") + "'";
    }

    private static bool NeedsEscape(char ch) =>
        (ch < 0x20 && ch != '\t') || ch == 0x7f || (ch >= 0x80 && ch <= 0x9f) || ch == '\ufeff' || ch == '\u2028' || ch == '\u2029';

    /// <summary>libyaml's analysis of whether a scalar may be written plain in block context.</summary>
    private static bool PlainAllowed(string s)
    {
        if (s.StartsWith("---", StringComparison.Ordinal) || s.StartsWith("...", StringComparison.Ordinal))
        {
            return false;
        }
        if (s[0] == ' ' || s[s.Length - 1] == ' ' || s[0] == '\t' || s[s.Length - 1] == '\t')
        {
            return false;
        }
        for (var i = 0; i < s.Length; i++)
        {
            var ch = s[i];
            var next = i + 1 < s.Length ? s[i + 1] : '\0';
            var followedByBlank = i + 1 >= s.Length || next == ' ' || next == '\t';
            if (i == 0)
            {
                if ("#,[]{}&*!|>'\"%@`".IndexOf(ch) >= 0)
                {
                    return false;
                }
                if ((ch == '?' || ch == ':' || ch == '-') && followedByBlank)
                {
                    return false;
                }
            }
            else
            {
                if (ch == ':' && followedByBlank)
                {
                    return false;
                }
                if (ch == '#' && (s[i - 1] == ' ' || s[i - 1] == '\t'))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private static string DoubleQuoted(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\0': sb.Append("\\0"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\t': sb.Append("\\t"); break;
                case '\n': sb.Append("\\n"); break;
                case '\v': sb.Append("\\v"); break;
                case '\f': sb.Append("\\f"); break;
                case '\r': sb.Append("\\r"); break;
                case '\u001b': sb.Append("\\e"); break;
                case '\u0085': sb.Append("\\N"); break;
                case '\u00a0': sb.Append("\\_"); break;
                case '\u2028': sb.Append("\\L"); break;
                case '\u2029': sb.Append("\\P"); break;
                default:
                    if (NeedsEscape(ch))
                    {
                        sb.Append(ch <= 0xff ? "\\x" + ((int)ch).ToString("X2", CultureInfo.InvariantCulture) : "\\u" + ((int)ch).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(ch);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A literal block (<c>|</c>, <c>|-</c> or <c>|+</c>) indented one level below <paramref name="column"/>.</summary>
    private static string Literal(string s, int column)
    {
        var chomp = s.EndsWith("\n\n", StringComparison.Ordinal) ? "+" : s.EndsWith("\n", StringComparison.Ordinal) ? "" : "-";
        var indicator = s.Length > 0 && (s[0] == ' ' || s[0] == '\n') ? Indent.ToString(CultureInfo.InvariantCulture) : "";
        var content = s.EndsWith("\n", StringComparison.Ordinal) ? s.Substring(0, s.Length - 1) : s;
        var pad = new string(' ', (column / Indent + 1) * Indent);
        var sb = new StringBuilder("|").Append(indicator).Append(chomp);
        foreach (var line in content.Split('\n'))
        {
            sb.Append('\n');
            if (line.Length > 0)
            {
                sb.Append(pad).Append(line);
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// A float as yaml.v3 writes it: Go's <c>strconv.FormatFloat(f, 'g', -1, 64)</c> (the shortest digits that read
    /// back; the exponent form <c>d[.ddd]e±XX</c>, at least two exponent digits, when the decimal exponent is below -4
    /// or at least 6, else plain decimals without a trailing <c>.0</c>), and <c>.inf</c>, <c>-.inf</c>, <c>.nan</c>.
    /// </summary>
    internal static string GoFloat(double d)
    {
        if (double.IsNaN(d))
        {
            return ".nan";
        }
        if (double.IsInfinity(d))
        {
            return d > 0 ? ".inf" : "-.inf";
        }
        var negative = d < 0 || (d == 0 && 1 / d < 0);
        if (d == 0)
        {
            return negative ? "-0" : "0";
        }
        // The shortest round-trip digits and the decimal exponent, from .NET's "R" (shortest on .NET Core 3.0+).
        var r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = r.IndexOfAny(new[] { 'E', 'e' });
        if (e >= 0)
        {
            exponent = int.Parse(r.Substring(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r.Substring(0, e);
        }
        var dot = r.IndexOf('.');
        var intPart = dot < 0 ? r : r.Substring(0, dot);
        var fracPart = dot < 0 ? "" : r.Substring(dot + 1);
        var all = intPart + fracPart;
        var leading = all.Length - all.TrimStart('0').Length;
        var digits = all.Trim('0');
        // dp: where the decimal point goes relative to the first significant digit.
        var dp = intPart.Length - leading + exponent;
        var sb = new StringBuilder(negative ? "-" : "");
        var x = dp - 1;
        if (x < -4 || x >= 6)
        {
            sb.Append(digits[0]);
            if (digits.Length > 1)
            {
                sb.Append('.').Append(digits, 1, digits.Length - 1);
            }
            sb.Append('e').Append(x < 0 ? '-' : '+');
            var ax = Math.Abs(x);
            sb.Append(ax < 10 ? "0" : "").Append(ax.ToString(CultureInfo.InvariantCulture));
            return sb.ToString();
        }
        if (dp <= 0)
        {
            return sb.Append("0.").Append('0', -dp).Append(digits).ToString();
        }
        if (dp >= digits.Length)
        {
            return sb.Append(digits).Append('0', dp - digits.Length).ToString();
        }
        return sb.Append(digits, 0, dp).Append('.').Append(digits, dp, digits.Length - dp).ToString();
    }

    /// <summary>
    /// yaml.v3's ordering of string map keys (its <c>keyList.Less</c>; go.yaml.in/yaml/v4, which the factory uses, has
    /// the same rule), compared code point by code point. At the first difference: two letters compare by code point; a
    /// letter and a non-letter put the non-letter first, unless the code point before was a digit, then the letter goes
    /// first; two non-letters compare as the digit runs starting there, by value (a run that continues a number that
    /// is not zero keeps its leading zeros significant), then the shorter run, then the code points. A key that is a
    /// prefix of the other sorts first. So <c>a2 &lt; a10</c>, <c>a_b &lt; ab</c>, <c>B &lt; a</c>.
    /// </summary>
    internal sealed class GoKeyComparer : IComparer<string>
    {
        public static readonly GoKeyComparer Instance = new();

        public int Compare(string? a, string? b)
        {
            var x = CodePoints(a ?? "");
            var y = CodePoints(b ?? "");
            if (Less(x, y))
            {
                return -1;
            }
            return Less(y, x) ? 1 : 0;
        }

        private static int[] CodePoints(string s)
        {
            var list = new List<int>(s.Length);
            for (var i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    list.Add(char.ConvertToUtf32(s[i], s[i + 1]));
                    i++;
                }
                else
                {
                    list.Add(s[i]);
                }
            }
            return list.ToArray();
        }

        private static bool IsLetter(int cp) => cp <= 0xffff ? char.IsLetter((char)cp) : char.IsLetter(char.ConvertFromUtf32(cp), 0);

        private static bool IsDigit(int cp) => cp <= 0xffff ? char.IsDigit((char)cp) : char.IsDigit(char.ConvertFromUtf32(cp), 0);

        private static bool Less(int[] ar, int[] br)
        {
            var digits = false;
            for (var i = 0; i < ar.Length && i < br.Length; i++)
            {
                if (ar[i] == br[i])
                {
                    digits = IsDigit(ar[i]);
                    continue;
                }
                var al = IsLetter(ar[i]);
                var bl = IsLetter(br[i]);
                if (al && bl)
                {
                    return ar[i] < br[i];
                }
                if (al || bl)
                {
                    return digits ? al : bl;
                }
                long an = 0, bn = 0;
                if (ar[i] == '0' || br[i] == '0')
                {
                    for (var j = i - 1; j >= 0 && IsDigit(ar[j]); j--)
                    {
                        if (ar[j] != '0')
                        {
                            an = 1;
                            bn = 1;
                            break;
                        }
                    }
                }
                int ai, bi;
                for (ai = i; ai < ar.Length && IsDigit(ar[ai]); ai++)
                {
                    an = unchecked(an * 10 + (ar[ai] - '0'));
                }
                for (bi = i; bi < br.Length && IsDigit(br[bi]); bi++)
                {
                    bn = unchecked(bn * 10 + (br[bi] - '0'));
                }
                if (an != bn)
                {
                    return an < bn;
                }
                if (ai != bi)
                {
                    return ai < bi;
                }
                return ar[i] < br[i];
            }
            return ar.Length < br.Length;
        }
    }
}
