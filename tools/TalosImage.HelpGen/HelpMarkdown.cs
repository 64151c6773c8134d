using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.HelpGen;

/// <summary>One example: a title, the code and the remarks after it.</summary>
public sealed record HelpExample(string Title, string Code, string Remarks);

/// <summary>A section keyed by a name (an input or output type, a parameter).</summary>
public sealed record HelpItem(string Name, string Text);

/// <summary>
/// A cmdlet's help as written in docs/help/Verb-Noun.md, in the shape platyPS uses: "# Verb-Noun", then "## SYNOPSIS",
/// "## DESCRIPTION", "## EXAMPLES" ("### Example N: title", a fenced code block, remarks), "## PARAMETERS"
/// ("### -Name", its description; a fenced block there is ignored: types and sets come from the DLL), "## INPUTS" and
/// "## OUTPUTS" ("### TypeName", text), "## NOTES", "## RELATED LINKS" (markdown links).
/// </summary>
public sealed class HelpMarkdown
{
    public string File { get; private init; } = "";
    public string Name { get; private init; } = "";
    public string Synopsis { get; private set; } = "";
    public string Description { get; private set; } = "";
    public List<HelpExample> Examples { get; } = new();
    public Dictionary<string, string> Parameters { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<HelpItem> Inputs { get; } = new();
    public List<HelpItem> Outputs { get; } = new();
    public string Notes { get; private set; } = "";
    public List<(string Text, string Uri)> Links { get; } = new();

    public static HelpMarkdown Parse(string file)
    {
        var lines = System.IO.File.ReadAllLines(file);
        var i = 0;
        if (lines.Length > 0 && lines[0].Trim() == "---")
        {
            i = Array.FindIndex(lines, 1, l => l.Trim() == "---") + 1;
        }
        var title = lines.Skip(i).FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal));
        var help = new HelpMarkdown { File = file, Name = title?.Substring(2).Trim() ?? "" };

        string? section = null;
        string? item = null;
        var buffer = new List<string>();
        void Flush()
        {
            var text = string.Join("\n", buffer).Trim();
            buffer.Clear();
            switch (section)
            {
                case "SYNOPSIS": help.Synopsis = text; break;
                case "DESCRIPTION": help.Description = text; break;
                case "NOTES": help.Notes = text; break;
                case "EXAMPLES" when item is not null: help.Examples.Add(Example(item, text)); break;
                case "PARAMETERS" when item is not null: help.Parameters[item.TrimStart('-')] = WithoutFences(text); break;
                case "INPUTS" when item is not null: help.Inputs.Add(new HelpItem(item, text)); break;
                case "OUTPUTS" when item is not null: help.Outputs.Add(new HelpItem(item, text)); break;
                case "RELATED LINKS":
                    foreach (Match m in Regex.Matches(text, @"\[(?<t>[^\]]+)\]\((?<u>[^)]*)\)"))
                    {
                        help.Links.Add((m.Groups["t"].Value, m.Groups["u"].Value));
                    }
                    break;
            }
        }
        for (; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                Flush();
                section = line.Substring(3).Trim().ToUpperInvariant();
                item = null;
            }
            else if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                Flush();
                item = line.Substring(4).Trim();
            }
            else if (!line.StartsWith("# ", StringComparison.Ordinal))
            {
                buffer.Add(line);
            }
        }
        Flush();
        return help;
    }

    private static HelpExample Example(string title, string text)
    {
        var m = Regex.Match(text, @"```[A-Za-z]*\n(?<code>.*?)\n```", RegexOptions.Singleline);
        var code = m.Success ? m.Groups["code"].Value : "";
        var remarks = m.Success ? text.Remove(m.Index, m.Length).Trim() : text;
        return new HelpExample(title, code, remarks);
    }

    private static string WithoutFences(string text) => Regex.Replace(text, @"```.*?```", "", RegexOptions.Singleline).Trim();

    /// <summary>Text split into paragraphs at blank lines, each paragraph's lines joined.</summary>
    public static IEnumerable<string> Paragraphs(string text) =>
        Regex.Split(text.Replace("\r", ""), @"\n\s*\n")
            .Select(p => string.Join(" ", p.Split('\n').Select(l => l.Trim())).Trim())
            .Where(p => p.Length > 0)
            .Select(StripMarkdown);

    private static string StripMarkdown(string s) =>
        Regex.Replace(Regex.Replace(s, @"\[(?<t>[^\]]+)\]\([^)]*\)", "${t}"), @"(`|\*\*)", "");
}
