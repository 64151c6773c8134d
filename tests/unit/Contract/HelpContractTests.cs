using System.Text.RegularExpressions;
using System.Xml.Linq;
using TalosImage.HelpGen;
using Xunit;

namespace TalosImage.Tests.Contract;

/// <summary>Every cmdlet and parameter has help (docs/help), and the built module ships it as MAML.</summary>
public class HelpContractTests : IClassFixture<CmdletCatalog>
{
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private readonly CmdletCatalog _catalog;

    public HelpContractTests(CmdletCatalog catalog) => _catalog = catalog;

    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    private static string HelpFolder => Path.Combine(TestPaths.RepoRoot, "docs", "help");

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
    public void The_generator_carries_default_values_and_errors_into_maml()
    {
        using var dir = new TempDir();
        var cmdlet = _catalog.Cmdlets.First(c => c.Name == "Save-TalosImage");
        var text = File.ReadAllText(Path.Combine(HelpFolder, cmdlet.Name + ".md")).Replace("\r\n", "\n");
        // Platform: a default given; Version: none; the ERRORS section replaced by the test's own.
        text = Regex.Replace(text, @"### -Platform\n.*?\n\n(?=### )", "### -Platform\nThe platform.\nDefault value: `metal-test`\n\n", RegexOptions.Singleline);
        text = Regex.Replace(text, @"### -Version\n.*?\n\n(?=### )", "### -Version\nThe version.\n\n", RegexOptions.Singleline);
        text = Regex.Replace(text, @"## ERRORS\n.*?(?=\n## )", "", RegexOptions.Singleline);
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
    }
}
