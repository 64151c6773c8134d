using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Tests.Orders;

/// <summary>
/// YAML to JSON as the loader reads YAML (PyYAML's YAML 1.1, like talos_order.py): plain null/~ are null, plain
/// true/yes/on and false/no/off booleans, plain integers (also 0x.. and 1_000) and floats numbers, quoted values
/// strings; aliases are resolved and merge keys (&lt;&lt;) merged, the mapping's own keys winning.
/// </summary>
public static class YamlJson
{
    private static readonly string[] TrueWords = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
    private static readonly string[] FalseWords = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

    public static JsonNode? Convert(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? null : Node(stream.Documents[0].RootNode);
    }

    private static JsonNode? Node(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var o = new JsonObject();
                var merged = new List<KeyValuePair<YamlNode, YamlNode>>();
                foreach (var kv in map.Children)
                {
                    if (kv.Key is YamlScalarNode { Value: "<<", Style: ScalarStyle.Plain or ScalarStyle.Any })
                    {
                        var sources = kv.Value is YamlSequenceNode seq ? seq.Children.Cast<YamlMappingNode>().ToList() : new List<YamlMappingNode> { (YamlMappingNode)kv.Value };
                        merged.AddRange(sources.SelectMany(s => s.Children));
                        continue;
                    }
                    o[((YamlScalarNode)kv.Key).Value!] = Node(kv.Value);
                }
                foreach (var kv in merged)
                {
                    var key = ((YamlScalarNode)kv.Key).Value!;
                    if (!o.ContainsKey(key))
                    {
                        o[key] = Node(kv.Value);
                    }
                }
                return o;
            case YamlSequenceNode list:
                return new JsonArray(list.Children.Select(Node).ToArray());
            case YamlScalarNode s when s.Style is ScalarStyle.Plain or ScalarStyle.Any:
                var v = s.Value ?? "";
                if (v is "" or "~" or "null" or "Null" or "NULL")
                {
                    return null;
                }
                if (TrueWords.Contains(v))
                {
                    return JsonValue.Create(true);
                }
                if (FalseWords.Contains(v))
                {
                    return JsonValue.Create(false);
                }
                var t = v.Replace("_", "");
                if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && long.TryParse(t.Substring(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
                {
                    return JsonValue.Create(hex);
                }
                if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    return JsonValue.Create(l);
                }
                if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    return JsonValue.Create(d);
                }
                return JsonValue.Create(v);
            case YamlScalarNode s:
                return JsonValue.Create(s.Value ?? "");
            default:
                return null;
        }
    }
}
