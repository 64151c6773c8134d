using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
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
    /// <summary>Characters of all values together after alias expansion: 4 times what the largest file can hold without aliases.</summary>
    public const long MaxExpandedChars = 4 * MaxFileBytes;
    /// <summary>Aliases (*name, also in merge keys) in one file.</summary>
    public const int MaxAliases = 10_000;

    private readonly List<ValidationProblem> _problems;

    private YamlInput(string displayPath, List<ValidationProblem> problems)
    {
        File = displayPath;
        _problems = problems;
    }

    public string File { get; }

    public IReadOnlyList<ValidationProblem> Problems => _problems;

    /// <summary>
    /// Loads <paramref name="path"/>; the root node is null (with a problem recorded) when the file cannot be read or
    /// parsed. At most <see cref="MaxFileBytes"/> are read whatever the file claims to be (a device such as /dev/zero
    /// or a pipe has no length); a FIFO without a writer waits for one, as <c>cat</c> would.
    /// </summary>
    public static (YamlInput Input, YamlNode? Root) Load(string path, List<ValidationProblem> problems)
    {
        var input = new YamlInput(path, problems);
        byte[] bytes;
        try
        {
            if (Directory.Exists(path))
            {
                input.Add(0, 0, "", "is a directory; expected an order or config file");
                return (input, null);
            }
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
            bytes = ReadBounded(path, out var endless);
            if (endless)
            {
                input.Add(0, 0, "", $"more than {Units.Bytes(MaxFileBytes)} read and the file has not ended; order and config files are limited to {Units.Bytes(MaxFileBytes)}");
                return (input, null);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            input.Add(0, 0, "", "cannot read: " + e.Message);
            return (input, null);
        }
        var text = Decode(bytes, out var invalid);
        return (input, input.Parse(text, invalid));
    }

    /// <summary>At most <see cref="MaxFileBytes"/> + 1 bytes of <paramref name="path"/>; <paramref name="tooLong"/>: there were more.</summary>
    private static byte[] ReadBounded(string path, out bool tooLong)
    {
        tooLong = false;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var n = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, MaxFileBytes + 1 - buffer.Length));
            if (n <= 0)
            {
                break;
            }
            buffer.Write(chunk, 0, n);
            if (buffer.Length > MaxFileBytes)
            {
                tooLong = true;
                break;
            }
        }
        return buffer.ToArray();
    }

    /// <summary>A byte sequence that is not UTF-8: where it is in the decoded text (as U+FFFD) and what it was.</summary>
    private readonly struct InvalidByte
    {
        public InvalidByte(int charIndex, byte value)
        {
            CharIndex = charIndex;
            Value = value;
        }

        public int CharIndex { get; }
        public byte Value { get; }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// UTF-8 (with or without a byte order mark; UTF-16 with its mark as YAML allows). Every byte that does not start a
    /// well-formed UTF-8 sequence becomes U+FFFD and is recorded: the caller reports it with its line and column.
    /// </summary>
    private static string Decode(byte[] bytes, out List<InvalidByte> invalid)
    {
        invalid = new List<InvalidByte>();
        if (bytes.Length >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)))
        {
            return new UnicodeEncoding(bigEndian: bytes[0] == 0xFE, byteOrderMark: true).GetString(bytes, 2, bytes.Length - 2);
        }
        var i = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        try
        {
            return StrictUtf8.GetString(bytes, i, bytes.Length - i); // the usual case, and fast
        }
        catch (DecoderFallbackException)
        {
            // Not UTF-8: decoded below byte by byte to know where.
        }
        var sb = new StringBuilder(bytes.Length);
        while (i < bytes.Length)
        {
            var b = bytes[i];
            if (b < 0x80)
            {
                sb.Append((char)b);
                i++;
                continue;
            }
            // Well-formed sequences (Unicode, table 3-7): lead byte, then the range of the second byte.
            int length;
            byte low = 0x80, high = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) { length = 2; }
            else if (b == 0xE0) { length = 3; low = 0xA0; }
            else if (b >= 0xE1 && b <= 0xEC) { length = 3; }
            else if (b == 0xED) { length = 3; high = 0x9F; }
            else if (b >= 0xEE && b <= 0xEF) { length = 3; }
            else if (b == 0xF0) { length = 4; low = 0x90; }
            else if (b >= 0xF1 && b <= 0xF3) { length = 4; }
            else if (b == 0xF4) { length = 4; high = 0x8F; }
            else { length = 0; }
            var ok = length > 0 && i + length <= bytes.Length && bytes[i + 1] >= low && bytes[i + 1] <= high;
            for (var k = 2; ok && k < length; k++)
            {
                ok = bytes[i + k] >= 0x80 && bytes[i + k] <= 0xBF;
            }
            if (!ok)
            {
                invalid.Add(new InvalidByte(sb.Length, b));
                sb.Append('\uFFFD');
                i++;
                continue;
            }
            var cp = b & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
            for (var k = 1; k < length; k++)
            {
                cp = (cp << 6) | (bytes[i + k] & 0x3F);
            }
            sb.Append(char.ConvertFromUtf32(cp));
            i += length;
        }
        return sb.ToString();
    }

    /// <summary>Parses <paramref name="text"/> (also for YAML given inline, e.g. a schematic).</summary>
    public static (YamlInput Input, YamlNode? Root) Parse(string displayName, string text, List<ValidationProblem> problems)
    {
        var input = new YamlInput(displayName, problems);
        return (input, input.Parse(text, null));
    }

    /// <summary>A mapping or list open in the event stream: where it is, and what it expands to so far.</summary>
    private sealed class Frame
    {
        public bool Mapping;
        public string Path = "";
        public string? Anchor;
        public bool ExpectKey = true;
        public string Key = "";
        public int Index;
        public long Chars;
        public long Nodes;
    }

    private YamlNode? Parse(string text, List<InvalidByte>? invalid)
    {
        try
        {
            // Depth and size are checked on the event stream first: the node model is built recursively and
            // aliases can make a small file describe a huge tree. Sizes count every alias as what it expands to.
            var parser = new Parser(new StringReader(text));
            int depth = 0, documents = 0, aliases = 0;
            long nodes = 0, chars = 0;
            var stack = new Stack<Frame>();
            var anchors = new Dictionary<string, (long Chars, long Nodes)>(StringComparer.Ordinal);
            var open = new HashSet<string>(StringComparer.Ordinal);
            var invalidKeys = new Dictionary<int, string>();
            var nextInvalid = 0;

            string PathHere(string? keyText = null)
            {
                if (stack.Count == 0)
                {
                    return "";
                }
                var f = stack.Peek();
                return f.Mapping ? (f.ExpectKey ? Join(f.Path, Short(keyText ?? "?")) : Join(f.Path, f.Key)) : Index(f.Path, f.Index);
            }

            void Complete(long c, long n, string? anchor, string? keyText)
            {
                if (!string.IsNullOrEmpty(anchor))
                {
                    anchors[anchor!] = (c, n);
                }
                if (stack.Count == 0)
                {
                    return;
                }
                var f = stack.Peek();
                f.Chars += c;
                f.Nodes += n;
                if (!f.Mapping)
                {
                    f.Index++;
                }
                else if (f.ExpectKey)
                {
                    f.Key = Short(keyText ?? "?"); // a path is built for every node below it: never a 3 MB key
                    f.ExpectKey = false;
                }
                else
                {
                    f.ExpectKey = true;
                }
            }

            while (parser.MoveNext())
            {
                var current = parser.Current!;
                switch (current)
                {
                    case DocumentStart:
                        documents++;
                        if (documents > 1)
                        {
                            Add(current.Start, "", "more than one YAML document (---); expected one");
                            return null;
                        }
                        break;
                    case MappingStart or SequenceStart:
                        if (++depth > MaxDepth)
                        {
                            Add(current.Start, "", $"nested deeper than {MaxDepth} levels");
                            return null;
                        }
                        var anchor = ((NodeEvent)current).Anchor.IsEmpty ? null : ((NodeEvent)current).Anchor.Value;
                        stack.Push(new Frame { Mapping = current is MappingStart, Path = PathHere(), Anchor = anchor });
                        if (anchor is not null)
                        {
                            open.Add(anchor);
                        }
                        nodes++;
                        break;
                    case MappingEnd or SequenceEnd:
                        depth--;
                        var done = stack.Pop();
                        if (done.Anchor is not null)
                        {
                            open.Remove(done.Anchor);
                        }
                        Complete(done.Chars, done.Nodes + 1, done.Anchor, null);
                        break;
                    case Scalar scalar:
                        nodes++;
                        chars += scalar.Value.Length;
                        if (invalid is { Count: > 0 })
                        {
                            var keyPath = PathHere(scalar.Value);
                            while (nextInvalid < invalid.Count && invalid[nextInvalid].CharIndex < scalar.End.Index)
                            {
                                if (invalid[nextInvalid].CharIndex >= scalar.Start.Index)
                                {
                                    invalidKeys[nextInvalid] = keyPath;
                                }
                                nextInvalid++;
                            }
                        }
                        Complete(scalar.Value.Length, 1, scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value, scalar.Value);
                        break;
                    case AnchorAlias alias:
                        var name = alias.Value.Value;
                        if (open.Contains(name))
                        {
                            Add(current.Start, PathHere(), $"the alias *{name} is inside the node it names (&{name}); a recursive structure is not an order");
                            return null;
                        }
                        if (++aliases > MaxAliases)
                        {
                            Add(current.Start, PathHere(), $"more than {MaxAliases} aliases (*name); order and config files are limited to {MaxAliases}");
                            return null;
                        }
                        var size = anchors.TryGetValue(name, out var known) ? known : (0, 1);
                        nodes += size.Nodes;
                        chars += size.Chars;
                        if (chars > MaxExpandedChars)
                        {
                            Add(current.Start, PathHere(), $"aliases expand the values to more than {Units.Bytes(MaxExpandedChars)} (*{name} is {Units.Bytes(size.Chars)}); order and config files are limited to {Units.Bytes(MaxExpandedChars)} of values after alias expansion");
                            return null;
                        }
                        if (nodes > MaxNodes)
                        {
                            Add(current.Start, PathHere(), $"aliases expand to more than {MaxNodes} values; expected a small order or config file");
                            return null;
                        }
                        Complete(size.Chars, size.Nodes, null, "*" + name);
                        break;
                }
                if (nodes > MaxNodes)
                {
                    Add(current.Start, "", $"more than {MaxNodes} values; expected a small order or config file");
                    return null;
                }
            }

            if (invalid is { Count: > 0 })
            {
                AddInvalid(text, invalid, invalidKeys);
                return null;
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
            {
                return null;
            }
            var root = stream.Documents[0].RootNode;
            ResolveMerges(root);
            return root;
        }
        catch (YamlException e)
        {
            if (invalid is { Count: > 0 })
            {
                AddInvalid(text, invalid, new Dictionary<int, string>());
                return null;
            }
            var message = e.InnerException is not null && e.Message.StartsWith("(Line", StringComparison.Ordinal) ? e.InnerException.Message : e.Message;
            message = Regex.Replace(message, @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ", "");
            Add(e.Start, "", "YAML syntax error: " + message);
            return null;
        }
    }

    /// <summary>One problem per byte that is not UTF-8, with its line, column and (inside a value or key) the key.</summary>
    private void AddInvalid(string text, List<InvalidByte> invalid, Dictionary<int, string> keys)
    {
        const int MaxReported = 20;
        int line = 1, column = 1, next = 0;
        for (var i = 0; i < text.Length && next < invalid.Count && next < MaxReported; i++)
        {
            if (i == invalid[next].CharIndex)
            {
                Add(line, column, keys.TryGetValue(next, out var key) ? key : "",
                    $"byte 0x{invalid[next].Value:X2} is not valid UTF-8; save the file as UTF-8 (it looks like Latin-1 or another legacy encoding)");
                next++;
            }
            var c = text[i];
            if (c == '\n' || (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n')))
            {
                line++;
                column = 1;
            }
            else if (!char.IsLowSurrogate(c))
            {
                column++;
            }
        }
        if (invalid.Count > MaxReported)
        {
            Add(0, 0, "", $"{invalid.Count - MaxReported} more bytes that are not valid UTF-8");
        }
    }

    /// <summary>
    /// YAML 1.1 merge keys as PyYAML (talos_order.py) resolves them: <c>&lt;&lt;: *base</c> or <c>&lt;&lt;: [*a, *b]</c>
    /// adds the keys of the merged mappings that the mapping does not have itself; in a list, an earlier mapping wins
    /// over a later one. The merged key and value nodes are the anchor's own, so an error in a merged value names
    /// the line and column where it is written. Resolved in place, every mapping once.
    /// </summary>
    private void ResolveMerges(YamlNode root)
    {
        var visited = new HashSet<YamlNode>(ReferenceComparer.Instance);
        var pending = new Stack<(YamlNode Node, string Path, bool Exit)>();
        pending.Push((root, "", false));
        while (pending.Count > 0)
        {
            var (node, path, exit) = pending.Pop();
            if (exit)
            {
                Merge((YamlMappingNode)node, path);
                continue;
            }
            if (!visited.Add(node))
            {
                continue;
            }
            switch (node)
            {
                case YamlSequenceNode seq:
                    for (var i = seq.Children.Count - 1; i >= 0; i--)
                    {
                        pending.Push((seq.Children[i], Index(path, i), false));
                    }
                    break;
                case YamlMappingNode map:
                    // Children (and the merged mappings) first, then this mapping: nested merges are resolved before they are copied.
                    pending.Push((map, path, true));
                    foreach (var kv in map.Children.Reverse())
                    {
                        var key = Short((kv.Key as YamlScalarNode)?.Value ?? "?");
                        pending.Push((kv.Value, Join(path, key), false));
                    }
                    break;
            }
        }
    }

    private static bool IsMergeKey(YamlNode key) => key is YamlScalarNode { Value: "<<", Style: ScalarStyle.Plain or ScalarStyle.Any };

    private void Merge(YamlMappingNode map, string path)
    {
        if (!map.Children.Keys.Any(IsMergeKey))
        {
            return;
        }
        // PyYAML's flatten_mapping: the merged entries (the last mapping of a list first), then the mapping's own;
        // a later entry replaces the value of an earlier one with the same key but keeps its place.
        var merged = new List<KeyValuePair<YamlNode, YamlNode>>();
        var own = new List<KeyValuePair<YamlNode, YamlNode>>();
        foreach (var kv in map.Children)
        {
            if (!IsMergeKey(kv.Key))
            {
                own.Add(kv);
                continue;
            }
            var sources = kv.Value switch
            {
                YamlMappingNode m => new List<YamlMappingNode> { m },
                YamlSequenceNode s when s.Children.All(c => c is YamlMappingNode) => s.Children.Cast<YamlMappingNode>().ToList(),
                _ => null,
            };
            if (sources is null)
            {
                Add(kv.Value, Join(path, "<<"), $"a merge key (<<) takes a mapping or a list of mappings (usually aliases: <<: *base or <<: [*a, *b]); got {Describe(kv.Value)}");
                continue;
            }
            for (var i = sources.Count - 1; i >= 0; i--)
            {
                merged.AddRange(sources[i].Children);
            }
        }
        var result = new List<KeyValuePair<YamlNode, YamlNode>>();
        var positions = new Dictionary<object, int>();
        foreach (var kv in merged.Concat(own))
        {
            object id = kv.Key is YamlScalarNode sk ? "s:" + sk.Value : kv.Key;
            if (positions.TryGetValue(id, out var at))
            {
                result[at] = kv;
            }
            else
            {
                positions[id] = result.Count;
                result.Add(kv);
            }
        }
        map.Children.Clear();
        foreach (var kv in result)
        {
            map.Children.Add(kv.Key, kv.Value);
        }
    }

    private sealed class ReferenceComparer : IEqualityComparer<YamlNode>
    {
        public static readonly ReferenceComparer Instance = new();

        public bool Equals(YamlNode? x, YamlNode? y) => ReferenceEquals(x, y);

        public int GetHashCode(YamlNode obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
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
