using System.Text.RegularExpressions;
using System.Xml.Linq;
using TalosImage.HelpGen;
using Xunit;

namespace TalosImage.Tests.Contract;

/// <summary>
/// Every cmdlet and parameter has help (docs/help), and the built module ships it as MAML: parameter defaults from the
/// pages' "Default value:" lines, and an ERRORS section that lists every ErrorId the cmdlet can raise (written from the
/// ErrorId catalogue, TalosErrors; ErrorIdGuardTests check that the pages are current).
/// </summary>
public class HelpContractTests : IClassFixture<CmdletCatalog>
{
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private readonly CmdletCatalog _catalog;

    public HelpContractTests(CmdletCatalog catalog) => _catalog = catalog;

    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static string HelpFolder => Path.Combine(TestPaths.RepoRoot, "docs", "help");

    /// <summary>The ErrorCategory names a page may give: the ones TalosCmdlet.CategoryFor maps the kinds onto, and NotSpecified.</summary>
    private static readonly HashSet<string> Categories = new(Enum.GetNames<TalosImage.Core.TalosErrorKind>().Append("NotSpecified"), StringComparer.Ordinal);

    private IReadOnlyList<HelpMarkdown> Pages() =>
        _catalog.Cmdlets.Select(c => Path.Combine(HelpFolder, c.Name + ".md")).Where(File.Exists).Select(HelpMarkdown.Parse).ToList();

    [Fact]
    public void Every_cmdlet_and_parameter_has_help_with_two_examples()
    {
        var result = HelpGenerator.Generate(_catalog.Cmdlets, HelpFolder);
        Assert.True(result.Problems.Count == 0, "help is incomplete:\n" + string.Join("\n", result.Problems));
    }

    [Fact]
    public void The_generator_reports_a_missing_parameter_description_and_a_stale_one()
    {
        using var dir = new TempDir();
        var cmdlet = _catalog.Cmdlets.First(c => c.Parameters.Count >= 2 && File.Exists(Path.Combine(HelpFolder, c.Name + ".md")));
        var source = HelpMarkdown.Parse(Path.Combine(HelpFolder, cmdlet.Name + ".md"));
        var dropped = cmdlet.Parameters[0].Name;
        var text = File.ReadAllText(Path.Combine(HelpFolder, cmdlet.Name + ".md"))
            .Replace("### -" + dropped + "\n", "### -NoSuchParameter\n");
        dir.Write(cmdlet.Name + ".md", text);

        var problems = HelpGenerator.Generate(new[] { cmdlet }, dir.Path).Problems;

        Assert.Contains(problems, p => p.Contains($"-{dropped} has no description"));
        Assert.Contains(problems, p => p.Contains("documents -NoSuchParameter"));
        Assert.True(source.Examples.Count >= 2);
    }

    [Fact]
    public void The_built_module_ships_maml_for_every_cmdlet_with_its_syntax()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var maml = Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cmdlets", "bin", configuration, "netstandard2.0", "module", "TalosImage", "en-US", "TalosImage.Cmdlets.dll-Help.xml");
        var doc = XDocument.Load(maml);
        var commands = doc.Root!.Elements(Command + "command").ToDictionary(c => c.Element(Command + "details")!.Element(Command + "name")!.Value);

        foreach (var cmdlet in _catalog.Cmdlets)
        {
            Assert.True(commands.TryGetValue(cmdlet.Name, out var command), cmdlet.Name + " has no MAML entry");
            var synopsis = command!.Element(Command + "details")!.Element(Maml + "description")!.Value;
            Assert.False(string.IsNullOrWhiteSpace(synopsis), cmdlet.Name + " has no synopsis");
            var documented = command.Element(Command + "parameters")!.Elements(Command + "parameter").Select(p => p.Element(Maml + "name")!.Value).ToList();
            Assert.Equal(cmdlet.Parameters.Select(p => p.Name).OrderBy(x => x), documented.OrderBy(x => x));
            Assert.True(command.Element(Command + "examples")!.Elements().Count() >= 2, cmdlet.Name + " has fewer than two examples");
            Assert.NotEmpty(command.Element(Command + "syntax")!.Elements(Command + "syntaxItem"));
        }
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(maml)!, "about_TalosImage.help.txt")), "about_TalosImage is not shipped");
    }

    [Fact]
    public void Every_error_id_the_catalogue_has_a_host_for_is_listed_in_the_errors_of_its_page()
    {
        // The ids raised in src/ are the catalogue's (ErrorIdGuardTests); the pages list them from it.
        var pages = Pages().ToDictionary(p => p.Name);
        var missing = new List<string>();
        foreach (var entry in TalosImage.Core.TalosErrors.All)
        {
            foreach (var host in entry.RaisedBy.Select(s => s.Host).Where(h => h != TalosImage.Core.TalosErrors.Hosts.TalosOrder))
            {
                if (!pages.TryGetValue(host, out var page) || page.Errors.All(e => e.Id != entry.Id))
                {
                    missing.Add($"{entry.Id}: {host}'s page does not list it");
                }
            }
            if (entry.RaisedBy.Count == 0 && entry.Unreachable is null)
            {
                missing.Add($"{entry.Id}: no host and no reason why none can raise it");
            }
        }
        Assert.True(missing.Count == 0, "ErrorIds no help page's ERRORS lists:\n" + string.Join("\n", missing));
        Assert.True(TalosImage.Core.TalosErrors.All.Count(e => e.RaisedBy.Count > 0) >= 60, "fewer ErrorIds than expected have a host");
    }

    [Fact]
    public void Every_error_id_a_page_lists_is_in_the_catalogue_with_a_known_category()
    {
        var problems = new List<string>();
        foreach (var page in Pages())
        {
            var name = Path.GetFileName(page.File);
            foreach (var e in page.Errors)
            {
                if (TalosImage.Core.TalosErrors.Find(e.Id) is not { } entry)
                {
                    problems.Add($"{name}: {e.Id} is not in the ErrorId catalogue");
                }
                else if (entry.RaisedBy.All(s => s.Host != page.Name))
                {
                    problems.Add($"{name}: {e.Id} is listed, but the catalogue does not say {page.Name} raises it");
                }
                var category = Regex.Match(e.Category, @"^\w+").Value;
                if (!Categories.Contains(category))
                {
                    problems.Add($"{name}: {e.Id} has the category '{e.Category}', which does not start with an ErrorCategory the cmdlets use ({string.Join(", ", Categories)})");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void The_generator_carries_default_values_and_errors_into_maml()
    {
        using var dir = new TempDir();
        var cmdlet = _catalog.Cmdlets.First(c => c.Name == "Save-TalosImage");
        var text = File.ReadAllText(Path.Combine(HelpFolder, cmdlet.Name + ".md")).Replace("\r\n", "\n");
        // Platform: a default given; Version: none; the ERRORS section replaced by the test's own.
        text = Regex.Replace(text, @"### -Platform\n.*?\n\n(?=### )", "### -Platform\nThe platform.\nDefault value: `metal-test`\n\n", RegexOptions.Singleline);
        text = Regex.Replace(text, @"### -Version\n.*?\n\n(?=### )", "### -Version\nThe version.\n\n", RegexOptions.Singleline);
        text = Regex.Replace(text, @"## ERRORS\n.*?(?=\n## )", "", RegexOptions.Singleline);
        var withoutErrors = text;
        text = text.Replace("## RELATED LINKS", "## ERRORS\nWhat goes wrong.\n\n- `NoSuchThing` (ObjectNotFound): the test's\n  own id.\n- `Http404` (ObjectNotFound): not there.\n\n## RELATED LINKS");
        dir.Write(cmdlet.Name + ".md", text);

        var result = HelpGenerator.Generate(new[] { cmdlet }, dir.Path);
        var command = result.Maml.Root!.Element(Command + "command")!;
        string DefaultOf(string parameter) => command.Element(Command + "parameters")!.Elements(Command + "parameter")
            .Single(p => p.Element(Maml + "name")!.Value == parameter).Element(Dev + "defaultValue")!.Value;
        string DescriptionOf(string parameter) => command.Element(Command + "parameters")!.Elements(Command + "parameter")
            .Single(p => p.Element(Maml + "name")!.Value == parameter).Element(Maml + "description")!.Value;

        Assert.Equal("metal-test", DefaultOf("Platform"));
        Assert.DoesNotContain("Default value", DescriptionOf("Platform"));
        Assert.Equal("None", DefaultOf("Version"));
        var errors = command.Elements(Maml + "alertSet").Single(a => a.Element(Maml + "title")?.Value == "ERRORS");
        var paras = errors.Descendants(Maml + "para").Select(p => p.Value).ToList();
        Assert.Equal(new[] { "What goes wrong.", "- NoSuchThing (ObjectNotFound): the test's own id.", "- Http404 (ObjectNotFound): not there." }, paras);

        dir.Write(cmdlet.Name + ".md", Regex.Replace(text, "- `Http404` \\(ObjectNotFound\\)", "- Http404 ObjectNotFound"));
        Assert.Contains(HelpGenerator.Generate(new[] { cmdlet }, dir.Path).Problems, p => p.Contains("ERRORS line '- Http404 ObjectNotFound"));
        dir.Write(cmdlet.Name + ".md", withoutErrors);
        Assert.Contains(HelpGenerator.Generate(new[] { cmdlet }, dir.Path).Problems, p => p.Contains("no ERRORS section"));
    }

    [Fact]
    public void The_built_module_ships_the_pages_defaults_and_errors()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var maml = Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cmdlets", "bin", configuration, "netstandard2.0", "module", "TalosImage", "en-US", "TalosImage.Cmdlets.dll-Help.xml");
        var commands = XDocument.Load(maml).Root!.Elements(Command + "command").ToDictionary(c => c.Element(Command + "details")!.Element(Command + "name")!.Value);
        foreach (var page in Pages())
        {
            var command = commands[page.Name];
            foreach (var p in command.Element(Command + "parameters")!.Elements(Command + "parameter"))
            {
                var name = p.Element(Maml + "name")!.Value;
                var expected = page.Defaults.TryGetValue(name, out var d) ? HelpMarkdown.StripMarkdown(d) : "None";
                Assert.True(expected == p.Element(Dev + "defaultValue")!.Value, $"{page.Name} -{name}: the MAML default is '{p.Element(Dev + "defaultValue")!.Value}', the page says '{expected}'");
            }
            var errors = command.Elements(Maml + "alertSet").SingleOrDefault(a => a.Element(Maml + "title")?.Value == "ERRORS");
            Assert.True(errors is not null, page.Name + " has no ERRORS in its MAML");
            var paras = errors!.Descendants(Maml + "para").Select(x => x.Value).ToList();
            Assert.All(page.Errors, e => Assert.Contains(HelpGenerator.ErrorText(e), paras));
        }
    }
}
