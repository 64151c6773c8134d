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
}
