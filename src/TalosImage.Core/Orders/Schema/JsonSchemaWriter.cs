using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace TalosImage.Core.Orders.Schema;

/// <summary>
/// Writes <see cref="InputSchema"/> as JSON Schema (draft 2020-12) for editors: descriptions, defaults, enums, patterns
/// and additionalProperties:false wherever the loader refuses unknown keys. The ids are URNs: the schemas are files
/// shipped with the module and the tool, not documents on a web server, and no domain is claimed for them.
/// </summary>
public static class JsonSchemaWriter
{
    public const string ConfigId = "urn:talosimage:schema:config";
    public const string OrdersId = "urn:talosimage:schema:orders";
    public const string ConfigFileName = "talos-config.schema.json";
    public const string OrdersFileName = "talos-orders.schema.json";

    private const string Dialect = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>schemas/talos-config.schema.json.</summary>
    public static string Config()
    {
        var root = new JObject
        {
            ["$schema"] = Dialect,
            ["$id"] = ConfigId,
            ["title"] = "TalosImage config.yaml",
        };
        Merge(root, Node(InputSchema.Config));
        return Text(root);
    }

    /// <summary>schemas/talos-orders.schema.json: a list of orders, or a mapping with the key orders.</summary>
    public static string Orders()
    {
        var top = Node(InputSchema.OrdersFile);
        top["properties"]!["orders"] = new JObject { ["$ref"] = "#/$defs/orders" };
        top["type"] = "object";
        var root = new JObject
        {
            ["$schema"] = Dialect,
            ["$id"] = OrdersId,
            ["title"] = "TalosImage orders.yaml",
            ["description"] = Plain(InputSchema.OrdersFile.Description) + ": a list of orders, or a mapping with the key orders",
            ["anyOf"] = new JArray(new JObject { ["$ref"] = "#/$defs/orders" }, top),
            ["$defs"] = new JObject { ["orders"] = Node(InputSchema.OrderList) },
        };
        return Text(root);
    }

    private static string Text(JObject o)
    {
        var sb = new StringBuilder();
        using (var w = new System.IO.StringWriter(sb) { NewLine = "\n" })
        using (var j = new JsonTextWriter(w) { Formatting = Formatting.Indented, Indentation = 2 })
        {
            o.WriteTo(j);
        }
        return sb.Replace("\r\n", "\n").Append('\n').ToString();
    }

    private static void Merge(JObject target, JObject source)
    {
        foreach (var p in source.Properties())
        {
            target[p.Name] = p.Value;
        }
    }

    private static JObject Node(SchemaNode node)
    {
        var o = new JObject();
        Describe(o, node);
        switch (node)
        {
            case ObjectSchema obj:
                o["type"] = Types(node, "object");
                if (obj.Open)
                {
                    break;
                }
                var props = new JObject();
                foreach (var p in obj.Properties)
                {
                    props[p.Name] = Node(p.Node);
                }
                o["properties"] = props;
                o["additionalProperties"] = false;
                var required = obj.Properties.Where(p => p.Required).Select(p => p.Name).ToArray();
                if (required.Length > 0)
                {
                    o["required"] = new JArray(required);
                }
                if (obj.Rules.Count > 0)
                {
                    o["allOf"] = new JArray(obj.Rules.Select(r => Rule(obj, r)));
                }
                break;
            case ListSchema list:
                o["type"] = Types(node, "array");
                o["items"] = Node(list.Item);
                if (list.Unique)
                {
                    o["uniqueItems"] = true;
                }
                break;
            case MapSchema map:
                o["type"] = Types(node, "object");
                o["propertyNames"] = new JObject { ["pattern"] = map.NamePattern };
                o["additionalProperties"] = Node(map.Value);
                break;
            case ChoiceSchema choice:
                var alternatives = new JArray(choice.Alternatives.Select(Node));
                if (node.Nullable)
                {
                    alternatives.Add(new JObject { ["type"] = "null" });
                }
                o["anyOf"] = alternatives;
                break;
            case ScalarSchema s:
                Scalar(o, s);
                break;
        }
        return o;
    }

    private static void Describe(JObject o, SchemaNode node)
    {
        var text = new List<string>();
        if (node.Description.Length > 0)
        {
            text.Add(node.Description);
        }
        if (node.DefaultText is { } d && node.Default is null)
        {
            text.Add(d == "required" ? "Required." : "Default: " + d + ".");
        }
        if (node.Compat is { } compat)
        {
            text.Add("talos_order.py: " + compat + ".");
        }
        var markdown = (node.New ? "(new) " : "") + string.Join(" ", text.Select(t => t.Length > 0 && !t.EndsWith(".", StringComparison.Ordinal) ? t + "." : t));
        if (markdown.Length > 0)
        {
            o["description"] = Plain(markdown);
            o["markdownDescription"] = markdown;
        }
        if (node.Default is { } value)
        {
            o["default"] = JToken.FromObject(value);
        }
    }

    private static void Scalar(JObject o, ScalarSchema s)
    {
        var type = s.Type switch
        {
            ScalarType.Boolean => "boolean",
            ScalarType.Integer => "integer",
            _ => "string",
        };
        var types = new List<string> { type };
        if (s.NumbersAsText)
        {
            types.Add("number");
        }
        if (s.Nullable)
        {
            types.Add("null");
        }
        o["type"] = types.Count == 1 ? type : new JArray(types);
        if (s.Type == ScalarType.Integer)
        {
            if (s.Min != long.MinValue)
            {
                o["minimum"] = s.Min;
            }
            if (s.Max != long.MaxValue)
            {
                o["maximum"] = s.Max;
            }
        }
        if (s.Enum is { } values)
        {
            var all = values.Concat(s.Aliases).Select(v => (JToken)v).ToList();
            if (s.Nullable)
            {
                all.Add(JValue.CreateNull());
            }
            if (s.IgnoreCase)
            {
                // The loader ignores case: the enum is what editors complete, the pattern what they accept.
                o["anyOf"] = new JArray(
                    new JObject { ["enum"] = new JArray(all) },
                    new JObject { ["type"] = "string", ["pattern"] = "^(?:" + string.Join("|", values.Concat(s.Aliases).Select(AnyCase)) + ")$" });
            }
            else
            {
                o["enum"] = new JArray(all);
            }
        }
        var patterns = new List<string>();
        if (s.Pattern is { } pattern)
        {
            patterns.Add(pattern);
        }
        patterns.AddRange(s.JsonPatterns);
        switch (s.Format)
        {
            case ValueFormat.LocalPath:
                // No NUL; ~name (another user's home) is refused; a value that is only blanks is refused unless it counts as unset.
                patterns.Add(s.BlankIsUnset ? @"^(?!~[^/\\])[^\u0000]*$" : @"^(?!~[^/\\])(?=[^\u0000]*\S)[^\u0000]*$");
                break;
            case ValueFormat.RemoteDir:
                patterns.Add(InputSchema.RemoteDirJsonPattern);
                o["maxLength"] = 1024;
                break;
            case ValueFormat.HttpUrl:
                patterns.Add(@"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+(?:/[^?#]*)?(?:#.*)?$");
                break;
            case ValueFormat.HttpsUrl:
                patterns.Add(@"^[Hh][Tt][Tt][Pp][Ss]://[^/?#@\s]+(?:/[^?#]*)?(?:#.*)?$");
                break;
            case ValueFormat.SshOptions or ValueFormat.RsyncOptions:
                patterns.Add(@"^[^\u0000-\u0008\u000A-\u001F\u007F]*$");
                break;
            case ValueFormat.Host:
                patterns.Add(InputSchema.HostJsonPattern);
                o["maxLength"] = 320;
                break;
        }
        if (patterns.Count == 1)
        {
            o["pattern"] = patterns[0];
        }
        else if (patterns.Count > 1)
        {
            o["allOf"] = new JArray(patterns.Select(p => new JObject { ["pattern"] = p }));
        }
        if (s.MaxLength is { } max)
        {
            o["maxLength"] = max;
        }
        if (s.Examples.Count > 0)
        {
            o["examples"] = new JArray(s.Examples);
        }
    }

    private static JObject Rule(ObjectSchema obj, SchemaRule rule)
    {
        JObject Set(string key) => obj[key].Node is ListSchema ? new JObject { ["type"] = "array", ["minItems"] = 1 } : new JObject { ["not"] = new JObject { ["type"] = "null" } };
        JObject Present(string key, bool set) => set
            ? new JObject { ["required"] = new JArray(key), ["properties"] = new JObject { [key] = Set(key) } }
            : new JObject { ["required"] = new JArray(key) };

        var o = new JObject { ["$comment"] = rule.Description };
        switch (rule)
        {
            case AnyOfKeysRule any:
                var branches = any.Keys.Select(k => Present(k, any.CountOnlyWhenSet.Contains(k))).ToArray();
                if (branches.Length == 1)
                {
                    Merge(o, branches[0]);
                }
                else
                {
                    o["anyOf"] = new JArray(branches);
                }
                break;
            case ExcludesRule ex:
                o["if"] = Present(ex.Key, set: true);
                o["then"] = new JObject { ["properties"] = new JObject(ex.Excluded.Select(k => new JProperty(k, new JObject { ["type"] = "null" }))) };
                break;
            case WhenRule w:
                var match = w.Value is string text && w.IgnoreCase
                    ? new JObject { ["type"] = "string", ["pattern"] = "^" + AnyCase(text) + "$" }
                    : new JObject { ["const"] = JToken.FromObject(w.Value) };
                o["if"] = new JObject { ["required"] = new JArray(w.Key), ["properties"] = new JObject { [w.Key] = match } };
                var then = new JObject();
                if (w.Required.Count > 0)
                {
                    then["required"] = new JArray(w.Required);
                    then["properties"] = new JObject(w.Required.Select(k => new JProperty(k, Set(k))));
                }
                if (w.LimitedKey is { } limited)
                {
                    then["properties"] ??= new JObject();
                    ((JObject)then["properties"]!)[limited] = new JObject { ["enum"] = new JArray(w.LimitedTo) };
                }
                o["then"] = then;
                break;
            case RequiredTogetherRule together:
                o["if"] = new JObject { ["anyOf"] = new JArray(together.When.Select(k => new JObject { ["required"] = new JArray(k) })) };
                o["then"] = new JObject
                {
                    ["required"] = new JArray(together.Required),
                    ["properties"] = new JObject(together.Required.Select(k => new JProperty(k, new JObject { ["type"] = "string", ["minLength"] = 1 }))),
                };
                break;
        }
        return o;
    }

    private static JToken Types(SchemaNode node, string type) => node.Nullable ? new JArray(type, "null") : type;

    /// <summary>A regular expression matching <paramref name="text"/> in any case, without the i flag JSON Schema lacks.</summary>
    private static string AnyCase(string text) =>
        string.Concat(text.Select(c => char.IsLetter(c) ? $"[{char.ToUpperInvariant(c)}{char.ToLowerInvariant(c)}]" : Regex.Escape(c.ToString())));

    /// <summary>Markdown as plain text: no backticks, no bold, links as their text.</summary>
    internal static string Plain(string markdown) =>
        Regex.Replace(markdown.Replace("`", "").Replace("**", ""), @"\[([^\]]+)\]\([^)]*\)", "$1");
}
