using System.Text;
using System.Text.RegularExpressions;

namespace TalosImage.HelpGen;

/// <summary>One example: a title, the code and the remarks after it.</summary>
public sealed record HelpExample(string Title, string Code, string Remarks);

/// <summary>A section keyed by a name (an input or output type, a parameter).</summary>
public sealed record HelpItem(string Name, string Text);

/// <summary>One line of ## ERRORS: "- `ErrorId` (Category): when it happens".</summary>
public sealed record HelpError(string Id, string Category, string Text);

/// <summary>
/// A cmdlet's help as written in docs/help/Verb-Noun.md, in the shape platyPS uses: "# Verb-Noun", then "## SYNOPSIS",
/// "## DESCRIPTION", "## EXAMPLES" ("### Example N: title", a fenced code block, remarks), "## PARAMETERS"
/// ("### -Name", its description; a fenced block there is ignored: types and sets come from the DLL; a line
/// "Default value: TEXT" is the parameter's default, taken out of the description), "## INPUTS" and "## OUTPUTS"
/// ("### TypeName", text), "## NOTES", "## ERRORS" (text, then one line "- `ErrorId` (Category): when it happens" per
/// ErrorId the cmdlet can emit; indented lines continue the one before), "## RELATED LINKS" (markdown links).
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
    /// <summary>The "Default value:" line of a parameter's section, by parameter name; absent when there is none.</summary>
    public Dictionary<string, string> Defaults { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>True when the page has a ## ERRORS section (it may list no id: a cmdlet that emits none says so).</summary>
    public bool HasErrors { get; private set; }
    /// <summary>The text of ## ERRORS that is not a list line.</summary>
    public string ErrorsText { get; private set; } = "";
    public List<HelpError> Errors { get; } = new();
    /// <summary>Lines of ## ERRORS that start like a list line but are not "- `ErrorId` (Category): text".</summary>
    public List<string> MalformedErrors { get; } = new();
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
                case "PARAMETERS" when item is not null:
                    var (description, defaultValue) = WithoutDefault(WithoutFences(text));
                    help.Parameters[item.TrimStart('-')] = description;
                    if (defaultValue is not null)
                    {
                        help.Defaults[item.TrimStart('-')] = defaultValue;
                    }
                    break;
                case "ERRORS":
                    help.HasErrors = true;
                    help.ReadErrors(text);
                    break;
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

    private static readonly Regex DefaultLine = new(@"^[ \t]*Default value:[ \t]*(?<v>.*?)[ \t]*$", RegexOptions.Multiline | RegexOptions.IgnoreCase);
    private static readonly Regex HtmlComment = new(@"^\s*<!--.*-->\s*$");
    private static readonly Regex ErrorLine = new(@"^- `(?<id>[^`\s]+)` \((?<cat>[^()]+)\): (?<text>\S.*)$");

    /// <summary>The description without its "Default value:" line, and that line's value (null when there is none).</summary>
    private static (string Text, string? Default) WithoutDefault(string text)
    {
        var m = DefaultLine.Match(text);
        return m.Success ? (DefaultLine.Replace(text, "").Trim(), m.Groups["v"].Value) : (text, null);
    }

    private void ReadErrors(string text)
    {
        // A list line and the indented lines after it are one item; everything else is prose.
        var items = new List<string>();
        var prose = new List<string>();
        var inItem = false;
        foreach (var line in text.Replace("\r", "").Split('\n'))
        {
            if (HtmlComment.IsMatch(line))
            {
                continue; // the markers around the list written from the catalogue (ErrorsSection)
            }
            if (line.StartsWith("- ", StringComparison.Ordinal) || line.StartsWith("* ", StringComparison.Ordinal))
            {
                items.Add(line.TrimEnd());
                inItem = true;
            }
            else if (inItem && line.Trim().Length > 0 && char.IsWhiteSpace(line[0]))
            {
                items[items.Count - 1] += " " + line.Trim();
            }
            else
            {
                inItem = false;
                prose.Add(line);
            }
        }
        foreach (var item in items)
        {
            var m = ErrorLine.Match(item);
            if (m.Success)
            {
                Errors.Add(new HelpError(m.Groups["id"].Value, m.Groups["cat"].Value.Trim(), m.Groups["text"].Value.Trim()));
            }
            else
            {
                MalformedErrors.Add(item);
            }
        }
        ErrorsText = string.Join("\n", prose).Trim();
    }

    private static string WithoutFences(string text) => Regex.Replace(text, @"```.*?```", "", RegexOptions.Singleline).Trim();

    /// <summary>Text split into paragraphs at blank lines, each paragraph's lines joined.</summary>
    public static IEnumerable<string> Paragraphs(string text) =>
        Regex.Split(text.Replace("\r", ""), @"\n\s*\n")
            .Select(p => string.Join(" ", p.Split('\n').Select(l => l.Trim())).Trim())
            .Where(p => p.Length > 0)
            .Select(StripMarkdown);

    public static string StripMarkdown(string s) =>
        Regex.Replace(Regex.Replace(s, @"\[(?<t>[^\]]+)\]\([^)]*\)", "${t}"), @"(`|\*\*)", "");
}
