using System.Reflection;
using System.Text.RegularExpressions;
using TalosImage.Core;

namespace TalosImage.Tests.Contract;

/// <summary>
/// What src/**/*.cs says about ErrorIds, now that they live in one catalogue (src/TalosImage.Core/Common/TalosErrors.cs):
/// where an id is still written as a string (a literal equal to a catalogue id, or a literal at one of the forms that
/// raise an error), and which catalogue entries the code names (<c>TalosErrors.X</c>, and the computed families through
/// <c>TalosErrors.Http(</c> and <c>TalosErrors.Unexpected(</c>). Comment lines are left out.
/// </summary>
public static class ErrorIdCatalog
{
    /// <summary>
    /// Files another change of issue 15 rewrites; their raise sites are converted to catalogue entries after that is
    /// merged (python3 tools/convert-errorids.py FILE...). Until then they may still name ids as strings.
    /// Empty since issue 15's changes were merged: every file of src/ names entries.
    /// </summary>
    public static readonly IReadOnlyList<string> NotYetConverted = Array.Empty<string>();

    /// <summary>The catalogue itself and the exception's definition: the only places that may spell an id or decide a kind.</summary>
    public static readonly IReadOnlyList<string> Catalogue = new[]
    {
        "src/TalosImage.Core/Common/TalosErrors.cs",
        "src/TalosImage.Core/Common/TalosException.cs",
    };

    public sealed record Finding(string File, int Line, string What, string Text);

    /// <summary>
    /// The forms that raise or compare an ErrorId given as a string (whether or not the catalogue has it), and a kind
    /// decided beside a literal id.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, Regex Pattern)> RaiseForms = new (string, Regex)[]
    {
        ("new TalosException(\"X\"", new Regex(@"new\s+TalosException\(\s*""")),
        ("new TalosException(c ? \"X\" : \"Y\"", new Regex(@"new\s+TalosException\([^;]*?\?\s*""\w+""\s*:\s*""\w+""\s*,")),
        ("new(\"X\", TalosErrorKind.", new Regex(@"(?<![\w.>\]])new\(\s*""[^""]*""\s*,\s*TalosErrorKind\.")),
        (": base(\"X\", TalosErrorKind.", new Regex(@":\s*base\(\s*""[^""]*""\s*,\s*TalosErrorKind\.")),
        ("new TalosException(id, kind", new Regex(@"new\s+TalosException\([^,;()]+,\s*(?:[\w.]+\.Kind|TalosErrorKind\.\w+|PublishErrors\.KindOf\([^)]*\))\s*,")),
        ("new ErrorRecord(e, \"X\"", new Regex(@"new\s+ErrorRecord\([^,;]+,\s*""")),
        ("\"Http\" + code", new Regex(@"""Http""\s*\+")),
        ("\"Unexpected\" + stage", new Regex(@"""Unexpected""\s*\+")),
        ("ErrorId ?? \"X\"", new Regex(@"ErrorId\s*\?\?\s*""")),
        ("ErrorId == \"X\"", new Regex(@"ErrorId\s*[!=]=\s*""")),
        ("ErrorId is \"X\"", new Regex(@"ErrorId\s+is\s+(?:not\s+)?""")),
        ("PublishErrors.KindOf", new Regex(@"\bPublishErrors\.KindOf\b")),
    };

    private static readonly Regex Literal = new(@"(?<![\w@$""])""(?<s>[^""\\\n]*)""");
    private static readonly Regex Reference = new(@"\bTalosErrors\.(?<m>\w+)\b");

    /// <summary>The catalogue's entries by the name of their static member.</summary>
    public static IReadOnlyDictionary<string, TalosError> Members { get; } = typeof(TalosErrors)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(TalosError))
        .ToDictionary(f => f.Name, f => (TalosError)f.GetValue(null)!);

    /// <summary>The C# files of <paramref name="srcRoot"/> (bin and obj left out), as paths relative to <paramref name="repoRoot"/>.</summary>
    public static IEnumerable<(string Relative, string Text)> Sources(string repoRoot, string? srcRoot = null)
    {
        var src = srcRoot ?? Path.Combine(repoRoot, "src");
        return Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(src, f).Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(s => s is "bin" or "obj"))
            .OrderBy(f => f, StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(repoRoot, f).Replace('\\', '/'), File.ReadAllText(f).Replace("\r\n", "\n")));
    }

    /// <summary>The text with its comment lines blanked (line numbers stay).</summary>
    public static string WithoutComments(string text) =>
        string.Join("\n", text.Split('\n').Select(l => l.TrimStart() is var t && (t.StartsWith("//", StringComparison.Ordinal) || t.StartsWith("*", StringComparison.Ordinal) || t.StartsWith("/*", StringComparison.Ordinal)) ? "" : l));

    /// <summary>Every ErrorId written as a string in <paramref name="text"/>: a literal that is a catalogue id, or a raise form.</summary>
    public static IEnumerable<Finding> StringIds(string file, string text)
    {
        var code = WithoutComments(text);
        var ids = new HashSet<string>(TalosErrors.All.Select(e => e.Id), StringComparer.Ordinal);
        foreach (Match m in Literal.Matches(code))
        {
            var s = m.Groups["s"].Value;
            if (ids.Contains(s) || Regex.IsMatch(s, @"^Http\d{3}$") || Regex.IsMatch(s, @"^Unexpected[A-Z][a-z]+Error$"))
            {
                yield return new Finding(file, LineOf(code, m.Index), "a catalogue id as a string literal", m.Value);
            }
        }
        foreach (var (name, pattern) in RaiseForms)
        {
            foreach (Match m in pattern.Matches(code))
            {
                yield return new Finding(file, LineOf(code, m.Index), name, m.Value);
            }
        }
    }

    /// <summary>The catalogue members <paramref name="text"/> names (<c>TalosErrors.X</c>), comment lines left out.</summary>
    public static IEnumerable<string> References(string text) =>
        Reference.Matches(WithoutComments(text)).Select(m => m.Groups["m"].Value);

    private static int LineOf(string text, int index) => 1 + text.Take(Math.Min(index, text.Length)).Count(c => c == '\n');
}
