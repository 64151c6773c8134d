using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Orders;

/// <summary>
/// Reads an input YAML file into nodes and checks values against what is expected, recording every problem
/// with file, line, column and key instead of stopping at the first. Booleans must be booleans (a quoted
/// "false" is a string, not true), numbers numbers, and unknown keys are reported with the likely intended one.
/// </summary>
internal sealed class YamlInput
{
    /// <summary>Order and config files are small; anything bigger is a mistake, not an order.</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;
    public const int MaxDepth = 64;
    public const int MaxNodes = 200_000;

    private readonly List<ValidationProblem> _problems;

    private YamlInput(string displayPath, List<ValidationProblem> problems)
    {
        File = displayPath;
        _problems = problems;
    }

    public string File { get; }

    public IReadOnlyList<ValidationProblem> Problems => _problems;

    /// <summary>Loads <paramref name="path"/>; the root node is null (with a problem recorded) when the file cannot be read or parsed.</summary>
    public static (YamlInput Input, YamlNode? Root) Load(string path, List<ValidationProblem> problems)
    {
        var input = new YamlInput(path, problems);
        string text;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                input.Add(0, 0, "", "file not found");
                return (input, null);
            }
            if (info.Length > MaxFileBytes)
            {
                input.Add(0, 0, "", $"file is {Units.Bytes(info.Length)}; order and config files are limited to {Units.Bytes(MaxFileBytes)}");
                return (input, null);
            }
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            input.Add(0, 0, "", "cannot read: " + e.Message);
            return (input, null);
        }
        return (input, input.Parse(text));
    }

    /// <summary>Parses <paramref name="text"/> (also for YAML given inline, e.g. a schematic).</summary>
    public static (YamlInput Input, YamlNode? Root) Parse(string displayName, string text, List<ValidationProblem> problems)
    {
        var input = new YamlInput(displayName, problems);
        return (input, input.Parse(text));
    }

    private YamlNode? Parse(string text)
    {
        try
        {
            // Depth and size are checked on the event stream first: the node model is built recursively and
            // aliases can make a small file describe a huge tree.
            var parser = new Parser(new StringReader(text));
            int depth = 0, nodes = 0, documents = 0;
            while (parser.MoveNext())
            {
                switch (parser.Current)
                {
                    case DocumentStart { IsImplicit: var _ }:
                        documents++;
                        if (documents > 1)
                        {
                            Add(parser.Current.Start, "", "more than one YAML document (---); expected one");
                            return null;
                        }
                        break;
                    case MappingStart or SequenceStart:
                        if (++depth > MaxDepth)
                        {
                            Add(parser.Current.Start, "", $"nested deeper than {MaxDepth} levels");
                            return null;
                        }
                        nodes++;
                        break;
                    case MappingEnd or SequenceEnd:
                        depth--;
                        break;
                    case Scalar or AnchorAlias:
                        nodes++;
                        break;
                }
                if (nodes > MaxNodes)
                {
                    Add(parser.Current!.Start, "", $"more than {MaxNodes} values; expected a small order or config file");
                    return null;
                }
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            var message = e.InnerException is not null && e.Message.StartsWith("(Line", StringComparison.Ordinal) ? e.InnerException.Message : e.Message;
            message = Regex.Replace(message, @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", "");
            Add(e.Start, "", "YAML syntax error: " + message);
            return null;
        }
    }

    public void Add(Mark mark, string key, string message) => Add((int)mark.Line, (int)mark.Column, key, message);

    public void Add(YamlNode node, string key, string message) => Add(node.Start, key, message);

    public void Add(int line, int column, string key, string message) => _problems.Add(new ValidationProblem(File, line, column, key, message));

    public static bool IsNull(YamlNode? node) =>
        node is null || (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && (s.Value is null or "" or "~" or "null" or "Null" or "NULL"));

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } s => $"the quoted string \"{Short(s.Value)}\"",
        YamlScalarNode s => $"'{Short(s.Value)}'",
        _ => "something else",
    };

    private static string Short(string? s) => s is null ? "" : s.Length > 60 ? s.Substring(0, 60) + "..." : s;

    /// <summary>
    /// The mapping at <paramref name="node"/> as key -> value; null counts as empty (talos_order.py treats a null
    /// section as empty). Unknown keys are problems with a near-miss suggestion.
    /// </summary>
    public Dictionary<string, (YamlScalarNode Key, YamlNode Value)>? Map(YamlNode? node, string path, IReadOnlyCollection<string> known)
    {
        if (IsNull(node))
        {
            return new Dictionary<string, (YamlScalarNode, YamlNode)>(StringComparer.Ordinal);
        }
        if (node is not YamlMappingNode map)
        {
            Add(node!, path, $"expected a mapping with keys {string.Join(", ", known)}; got {Describe(node!)}");
            return null;
        }
        var result = new Dictionary<string, (YamlScalarNode, YamlNode)>(StringComparer.Ordinal);
        foreach (var kv in map.Children)
        {
            if (kv.Key is not YamlScalarNode keyNode || keyNode.Value is null)
            {
                Add(kv.Key, path, "keys must be plain names");
                continue;
            }
            var name = keyNode.Value;
            var keyPath = Join(path, name);
            if (!known.Contains(name))
            {
                var hint = NearMiss.Suggest(name, known);
                Add(keyNode, keyPath, hint is not null
                    ? $"unknown key '{name}'; did you mean '{hint}'?"
                    : $"unknown key '{name}'; expected one of: {string.Join(", ", known)}");
                continue;
            }
            result[name] = (keyNode, kv.Value);
        }
        return result;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Index(string path, int i) => path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>A string value; numbers and booleans written plain are accepted as their text (e.g. a version 1.7 or a customer 42).</summary>
    public string? String(YamlNode? node, string path, bool required = false)
    {
        if (IsNull(node))
        {
            if (required)
            {
                Add(node?.Start ?? Mark.Empty, path, "is required and must not be empty");
            }
            return null;
        }
        if (node is not YamlScalarNode s)
        {
            Add(node!, path, $"expected a string; got {Describe(node!)}");
            return null;
        }
        if (required && string.IsNullOrWhiteSpace(s.Value))
        {
            Add(node, path, "is required and must not be empty");
            return null;
        }
        return s.Value;
    }

    private static readonly string[] TrueWords = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
    private static readonly string[] FalseWords = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

    /// <summary>A boolean written plain (true/false; yes/no/on/off as YAML 1.1 and talos_order.py read them). A quoted string is an error.</summary>
    public bool? Bool(YamlNode? node, string path)
    {
        if (IsNull(node))
        {
            return null;
        }
        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s)
        {
            if (TrueWords.Contains(s.Value))
            {
                return true;
            }
            if (FalseWords.Contains(s.Value))
            {
                return false;
            }
        }
        Add(node!, path, $"expected true or false; got {Describe(node!)}" +
            (node is YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } ? " (remove the quotes: a quoted value is a string)" : ""));
        return null;
    }

    /// <summary>A whole number within [min, max], written plain.</summary>
    public long? Integer(YamlNode? node, string path, long min, long max)
    {
        if (IsNull(node))
        {
            return null;
        }
        if (node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && TryInteger(s.Value, out var value))
        {
            if (value < min || value > max)
            {
                Add(node, path, $"expected a whole number from {min} to {max}; got {value}");
                return null;
            }
            return value;
        }
        Add(node!, path, $"expected a whole number from {min} to {max}; got {Describe(node!)}");
        return null;
    }

    internal static bool TryInteger(string? text, out long value)
    {
        value = 0;
        if (text is null)
        {
            return false;
        }
        var t = text.Replace("_", "");
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return long.TryParse(t.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        return long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>The items of a list; null counts as empty.</summary>
    public IReadOnlyList<YamlNode>? List(YamlNode? node, string path, string itemDescription)
    {
        if (IsNull(node))
        {
            return Array.Empty<YamlNode>();
        }
        if (node is not YamlSequenceNode seq)
        {
            Add(node!, path, $"expected a list of {itemDescription}; got {Describe(node!)}");
            return null;
        }
        return seq.Children.ToList();
    }

    /// <summary>A list of strings.</summary>
    public IReadOnlyList<string>? StringList(YamlNode? node, string path)
    {
        var items = List(node, path, "strings");
        if (items is null)
        {
            return null;
        }
        var result = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is YamlScalarNode s && !IsNull(s))
            {
                result.Add(s.Value!);
            }
            else
            {
                Add(items[i], Index(path, i), $"expected a string; got {(IsNull(items[i]) ? "nothing" : Describe(items[i]))}");
            }
        }
        return result;
    }

    /// <summary>Free-form data (overlay options) as plain objects: strings, booleans, longs, doubles, lists, maps.</summary>
    public object? Data(YamlNode node, string path, ref int budget)
    {
        if (--budget < 0)
        {
            Add(node, path, "too large (aliases expand to more values than allowed)");
            return null;
        }
        switch (node)
        {
            case YamlMappingNode map:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var kv in map.Children)
                {
                    var key = (kv.Key as YamlScalarNode)?.Value ?? "";
                    dict[key] = Data(kv.Value, Join(path, key), ref budget);
                }
                return dict;
            case YamlSequenceNode seq:
                var list = new List<object?>();
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    list.Add(Data(seq.Children[i], Index(path, i), ref budget));
                }
                return list;
            case YamlScalarNode s when s.Style is ScalarStyle.Plain or ScalarStyle.Any:
                if (IsNull(s))
                {
                    return null;
                }
                if (TrueWords.Take(3).Contains(s.Value))
                {
                    return true;
                }
                if (FalseWords.Take(3).Contains(s.Value))
                {
                    return false;
                }
                if (TryInteger(s.Value, out var l))
                {
                    return l;
                }
                if (double.TryParse(s.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                {
                    return d;
                }
                return s.Value;
            case YamlScalarNode s:
                return s.Value;
            default:
                return null;
        }
    }
}
