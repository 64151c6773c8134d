using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace TalosImage.Core.Orders.Schema;

/// <summary>
/// docs/CONFIGURATION.md's key tables, written from <see cref="InputSchema"/>. Each table stands between
/// <c>&lt;!-- generated: NAME ... --&gt;</c> and <c>&lt;!-- end generated: NAME --&gt;</c>; the prose around them is the docs' own.
/// </summary>
public static class SchemaDocs
{
    public const string Command = "dotnet run --project tools/TalosImage.SchemaGen";

    /// <summary>The generated tables by name.</summary>
    public static IReadOnlyList<(string Name, string Table)> Tables() => new[]
    {
        ("config-keys", Table(Rows(InputSchema.Config, "", ""))),
        ("proxmox-keys", Table(Rows(InputSchema.ProxmoxEndpoint, "proxmox.<name>.", ""))),
        ("orders-keys", Table(Rows(InputSchema.Order, "", "").Concat(Rows(InputSchema.Position, "", "position ")))),
    };

    /// <summary><paramref name="markdown"/> with every generated table replaced by the current one; throws when a marker is missing.</summary>
    public static string Apply(string markdown)
    {
        var nl = markdown.Contains("\r\n") ? "\r\n" : "\n";
        foreach (var (name, table) in Tables())
        {
            var begin = $"<!-- generated: {name} ({Command}); edit Orders/Schema/InputSchema.cs, not this table -->";
            var end = $"<!-- end generated: {name} -->";
            var b = markdown.IndexOf(begin, StringComparison.Ordinal);
            var e = markdown.IndexOf(end, StringComparison.Ordinal);
            if (b < 0 || e < b)
            {
                throw new InvalidOperationException($"docs/CONFIGURATION.md has no markers for the table '{name}': {begin} ... {end}");
            }
            markdown = markdown.Substring(0, b) + begin + nl + table.Replace("\n", nl) + markdown.Substring(e);
        }
        return markdown;
    }

    private static string Table(IEnumerable<(string Key, string Default, string Meaning)> rows)
    {
        var sb = new StringBuilder("| key | default | meaning |\n|---|---|---|\n");
        foreach (var (key, @default, meaning) in rows)
        {
            sb.Append('|').Append(Cell(key)).Append('|').Append(Cell(@default)).Append('|').Append(Cell(meaning)).Append("|\n");
        }
        return sb.ToString();
    }

    private static string Cell(string text) => text.Length == 0 ? " " : " " + text + " ";

    private static IEnumerable<(string, string, string)> Rows(ObjectSchema obj, string prefix, string word)
    {
        foreach (var p in obj.Properties)
        {
            var path = prefix + p.Name;
            var node = p.Node;
            if (node is ObjectSchema inner && !inner.DocsOneRow && !ReferenceEquals(inner, InputSchema.Position))
            {
                foreach (var row in Rows(inner, path + ".", word))
                {
                    yield return row;
                }
                continue;
            }
            if (node is MapSchema map)
            {
                yield return ($"{word}`{path}.{map.NameText}`" + (node.New ? " **new**" : ""), Default(node), node.Description);
                continue;
            }
            yield return ($"{word}`{path}`" + (node.New ? " **new**" : ""), Default(node), node.Description);
        }
        foreach (var row in obj.DocsRows)
        {
            yield return (row.Key, row.Default, row.Meaning);
        }
    }

    private static string Default(SchemaNode node) => node.DefaultText ?? node.Default switch
    {
        null => "",
        bool b => b ? "`true`" : "`false`",
        "" => "`\"\"`",
        var v => $"`{v}`",
    };
}
