using System.Text;
using System.Text.RegularExpressions;
using TalosImage.Core;

namespace TalosImage.HelpGen;

/// <summary>
/// The ERRORS list of a help page, written from the ErrorId catalogue (TalosImage.Core's <see cref="TalosErrors"/>):
/// every entry the page's cmdlet can raise, in the catalogue's order, as "- `Id` (Category): meaning" with the
/// category and the meaning (or the cmdlet's own wording) of the entry. The page keeps its own intro text; the list sits
/// between two marker comments that <see cref="Update"/> rewrites (<c>talos-helpgen --update-docs</c>).
/// </summary>
public static class ErrorsSection
{
    public const string Begin = "<!-- ERRORS list: written from src/TalosImage.Core/Common/TalosErrors.cs by `dotnet run --project tools/TalosImage.HelpGen -- --update-docs`; edit it there. -->";
    public const string End = "<!-- end of the ERRORS list -->";

    /// <summary>Lines are wrapped at this width; continuation lines are indented by two spaces.</summary>
    public const int Width = 120;

    /// <summary>The catalogue's entries that <paramref name="cmdlet"/> can raise, in order.</summary>
    public static IReadOnlyList<TalosError> For(string cmdlet) =>
        TalosErrors.All.Where(e => e.RaisedBy.Any(s => s.Host == cmdlet)).ToList();

    /// <summary>The list as the page has it: one wrapped item per entry.</summary>
    public static IEnumerable<string> Lines(string cmdlet) =>
        For(cmdlet).SelectMany(e => Wrap($"- `{e.Id}` ({e.Category}): {e.MeaningFor(cmdlet)}"));

    /// <summary>
    /// <paramref name="page"/> (a docs/help/Verb-Noun.md text) with its ERRORS list written from the catalogue: the
    /// text between the markers is replaced; a page without them loses its hand-written list items (the prose stays)
    /// and gets the markers after its prose. A page without an ERRORS section is returned as it is.
    /// </summary>
    public static string Update(string page, string cmdlet)
    {
        var newline = page.Contains("\r\n") ? "\r\n" : "\n";
        var lines = page.Replace("\r\n", "\n").Split('\n').ToList();
        var start = lines.FindIndex(l => l.TrimEnd() == "## ERRORS");
        if (start < 0)
        {
            return page;
        }
        var end = lines.FindIndex(start + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        if (end < 0)
        {
            end = lines.Count;
        }
        var section = lines.GetRange(start + 1, end - start - 1);
        var prose = new List<string>();
        var inItem = false;
        var inList = false;
        foreach (var line in section)
        {
            if (line.Trim() == Begin)
            {
                inList = true;
                continue;
            }
            if (line.Trim() == End)
            {
                inList = false;
                continue;
            }
            if (inList)
            {
                continue;
            }
            if (line.StartsWith("- ", StringComparison.Ordinal) || line.StartsWith("* ", StringComparison.Ordinal))
            {
                inItem = true;
                continue;
            }
            if (inItem && line.Trim().Length > 0 && char.IsWhiteSpace(line[0]))
            {
                continue;
            }
            inItem = false;
            prose.Add(line);
        }
        while (prose.Count > 0 && prose[prose.Count - 1].Trim().Length == 0)
        {
            prose.RemoveAt(prose.Count - 1);
        }
        var list = Lines(cmdlet).ToList();
        var written = new List<string>(prose);
        if (written.Count > 0)
        {
            written.Add("");
        }
        written.Add(Begin);
        written.AddRange(list);
        written.Add(End);
        if (end < lines.Count)
        {
            written.Add("");
        }
        lines.RemoveRange(start + 1, end - start - 1);
        lines.InsertRange(start + 1, written);
        return string.Join(newline, lines);
    }

    /// <summary>The pages of <paramref name="folder"/> (Verb-Noun.md) whose ERRORS list is not the catalogue's.</summary>
    public static IReadOnlyList<string> Stale(string folder) =>
        Pages(folder).Where(p => File.ReadAllText(p.File) != Update(File.ReadAllText(p.File), p.Cmdlet)).Select(p => p.File).ToList();

    /// <summary>Rewrites the ERRORS lists of <paramref name="folder"/>'s pages; returns the files it changed.</summary>
    public static IReadOnlyList<string> UpdateFolder(string folder)
    {
        var changed = new List<string>();
        foreach (var (file, cmdlet) in Pages(folder))
        {
            var text = File.ReadAllText(file);
            var updated = Update(text, cmdlet);
            if (updated != text)
            {
                File.WriteAllText(file, updated, new UTF8Encoding(false));
                changed.Add(file);
            }
        }
        return changed;
    }

    private static IEnumerable<(string File, string Cmdlet)> Pages(string folder) =>
        Directory.GetFiles(folder, "*-*.md").OrderBy(f => f, StringComparer.Ordinal).Select(f => (f, Path.GetFileNameWithoutExtension(f)));

    /// <summary>One list item wrapped at <see cref="Width"/> at spaces (the parser joins the lines with one space).</summary>
    internal static IEnumerable<string> Wrap(string item)
    {
        var words = Regex.Split(item, " +");
        var line = new StringBuilder();
        foreach (var word in words)
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > Width)
            {
                yield return line.ToString();
                line.Clear().Append("  ");
            }
            else if (line.Length > 0 && line.ToString() != "  ")
            {
                line.Append(' ');
            }
            line.Append(word);
        }
        if (line.Length > 0)
        {
            yield return line.ToString();
        }
    }
}
