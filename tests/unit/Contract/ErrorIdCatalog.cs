using System.Text.RegularExpressions;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The ErrorId literals the engine and the cmdlets raise, collected from src/**/*.cs (not src/TalosImage.Cli: the console
/// host's own id, Usage, is no cmdlet's) by the forms the code uses to raise them: <c>new TalosException("X"</c>,
/// <c>new("X", TalosErrorKind.</c>, <c>: base("X", TalosErrorKind.</c>, <c>new ErrorRecord(e, "X"</c>,
/// <c>ErrorId = ... "X"</c>, <c>ErrorId ?? "X"</c>, <c>Fail(outcome, stage, "X"</c>, a failed publish result's last
/// argument (<c>Result(PublishStatus.Failed, ..., "X")</c>, <c>push.Failed(message, "X")</c>), an id chosen by a ternary (<c>var id = c ? "X" : "Y"</c>),
/// <c>new PositionFailure(order, position, "X"</c>, and two computed forms: <c>"Http" + code</c> (documented as
/// <c>Http&lt;status&gt;</c>: Http401, Http404, Http500 ...) and <c>"Unexpected" + Stage + "Error"</c> (one id per stage
/// the file assigns).
/// </summary>
public static class ErrorIdCatalog
{
    /// <summary>The computed HTTP ids: "Http" + the status code.</summary>
    public const string HttpStatusForm = "Http<status>";

    public static readonly Regex HttpStatusId = new(@"^Http(\d{3}|<status>)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Ids the source names that no cmdlet can raise, each with the reason. They need not be listed in a help page (a
    /// page that lists one is still right: it exists in the source).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Unreachable = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["FactoryUnavailable"] = "SchematicService.GetOfficialExtensionsAsync without a factory: CheckExtensionsAsync returns before it when there is none, and Get-TalosExtension always has one",
        ["UnknownVersionSource"] = "Resolve-TalosVersion -Source is a ValidateSet (Factory, GitHub), and the order loader accepts only factory and github as defaults.version_source",
        ["InvalidKeepVersions"] = "Clear-TalosCache -KeepVersions has ValidateRange(0, ...), and the order loader takes keep_versions from 1 to 10000",
        ["InvalidCacheDirectory"] = "the cmdlets resolve -CacheDirectory to a full path (an empty one is the current location), and the order loader refuses an empty cache_dir",
        ["PositionFailed"] = "OrderRunner's fallback for a failed position without an ErrorId; PositionPipeline.Fail always records one",
        ["VersionUnresolved"] = "the fallback for a position whose planning failed without an ErrorId; the planner always records the resolver's",
    };

    private sealed record Rule(string Name, Regex Pattern, Func<string, bool>? Applies = null);

    private const string Pascal = @"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+";

    private static readonly Rule[] Rules =
    {
        new("new TalosException(\"X\"", new Regex(@"new\s+TalosException\(\s*""(?<id>[^""]+)""\s*,")),
        new("new(\"X\", TalosErrorKind.", new Regex(@"(?<![\w.>\]])new\(\s*""(?<id>[^""]+)""\s*,\s*TalosErrorKind\.")),
        new(": base(\"X\", TalosErrorKind.", new Regex(@":\s*base\(\s*""(?<id>[^""]+)""\s*,\s*TalosErrorKind\.")),
        new("new ErrorRecord(e, \"X\"", new Regex(@"new\s+ErrorRecord\([^,;]+,\s*""(?<id>[^""]+)""")),
        new("ErrorId ?? \"X\"", new Regex(@"ErrorId\s*\?\?\s*""(?<id>[^""]+)""")),
        new("ErrorId = ... \"X\"", new Regex(@"ErrorId\s*=(?!=)[^;,\n]*?""(?<id>" + Pascal + @")""")),
        new("Fail(outcome, stage, \"X\"", new Regex(@"\bFail\(\s*\w+\s*,\s*(?:\w+|""[a-z]+"")\s*,\s*""(?<id>" + Pascal + @")""")),
        new("Result(PublishStatus.Failed, ..., \"X\")", new Regex(@",\s*""(?<id>" + Pascal + @")""\s*\)"),
            s => s.Contains("PublishStatus.Failed") && Regex.IsMatch(s, @"[Rr]esult\(")),
        new("push.Failed(message, \"X\"", new Regex(@"\.Failed\((?s:.*?),\s*""(?<id>" + Pascal + @")""\s*(?:,\s*\w+\s*)?\)")),
        new("c ? \"X\" : \"Y\"", new Regex(@"\?\s*""(?<id>" + Pascal + @")""\s*:\s*""(?<id2>" + Pascal + @")"""),
            s => s.Contains("new TalosException(") || Regex.IsMatch(s, @"\bvar\s+id\s*=")),
        new("new PositionFailure(o, p, \"X\"", new Regex(@"new\s+PositionFailure\((?:[^,;]+,){2}\s*""(?<id>" + Pascal + @")""")),
    };

    private static readonly Regex HttpPlusCode = new(@"""Http""\s*\+\s*\w+");
    private static readonly Regex UnexpectedPlusStage = new(@"""Unexpected""\s*\+[^;]*\+\s*""Error""");
    private static readonly Regex StageAssignment = new(@"\bstage\s*=\s*PipelineStage\.(?<s>[A-Z][a-z]+)");

    /// <summary>Statement ends: a ';' at the end of a line (a ';' inside a string literal is not at a line's end).</summary>
    private static readonly Regex StatementEnd = new(@";[ \t]*(?://[^\n]*)?\r?\n");
    private static readonly Regex LineComment = new(@"^[ \t]*//.*$", RegexOptions.Multiline);

    public sealed record Occurrence(string Id, string File, int Line, string Rule);

    /// <summary>Every occurrence of an ErrorId in the sources, and how many each rule found.</summary>
    public static (IReadOnlyList<Occurrence> Ids, IReadOnlyDictionary<string, int> RuleHits) Collect(string repoRoot)
    {
        var src = Path.Combine(repoRoot, "src");
        var found = new List<Occurrence>();
        var hits = Rules.Select(r => r.Name).Concat(new[] { "\"Http\" + code", "\"Unexpected\" + Stage + \"Error\"" }).ToDictionary(n => n, _ => 0);
        var files = Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Segments(Path.GetRelativePath(src, f)).Any(s => s is "bin" or "obj" or "TalosImage.Cli"))
            .OrderBy(f => f, StringComparer.Ordinal);
        foreach (var file in files)
        {
            var text = LineComment.Replace(File.ReadAllText(file).Replace("\r\n", "\n"), "");
            var relative = Path.GetRelativePath(repoRoot, file).Replace('\\', '/');
            var offset = 0;
            foreach (var statement in StatementEnd.Split(text))
            {
                foreach (var rule in Rules.Where(r => r.Applies?.Invoke(statement) ?? true))
                {
                    foreach (Match m in rule.Pattern.Matches(statement))
                    {
                        foreach (var group in new[] { "id", "id2" }.Where(g => m.Groups[g].Success))
                        {
                            found.Add(new Occurrence(m.Groups[group].Value, relative, LineOf(text, offset + m.Groups[group].Index), rule.Name));
                            hits[rule.Name]++;
                        }
                    }
                }
                if (HttpPlusCode.Match(statement) is { Success: true } http)
                {
                    found.Add(new Occurrence(HttpStatusForm, relative, LineOf(text, offset + http.Index), "\"Http\" + code"));
                    hits["\"Http\" + code"]++;
                }
                if (UnexpectedPlusStage.Match(statement) is { Success: true } unexpected)
                {
                    foreach (var stage in StageAssignment.Matches(text).Select(s => s.Groups["s"].Value).Distinct())
                    {
                        found.Add(new Occurrence("Unexpected" + stage + "Error", relative,
                            LineOf(text, offset + unexpected.Index), "\"Unexpected\" + Stage + \"Error\""));
                        hits["\"Unexpected\" + Stage + \"Error\""]++;
                    }
                }
                offset += statement.Length;
                var end = StatementEnd.Match(text, Math.Min(offset, text.Length));
                if (end.Success && end.Index == offset)
                {
                    offset += end.Length;
                }
            }
        }
        return (found, hits);
    }

    private static IEnumerable<string> Segments(string relative) => relative.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);

    private static int LineOf(string text, int index) => 1 + text.Take(Math.Min(index, text.Length)).Count(c => c == '\n');
}
