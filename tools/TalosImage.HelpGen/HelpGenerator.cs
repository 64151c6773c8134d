using System.Xml.Linq;

namespace TalosImage.HelpGen;

/// <summary>
/// Writes MAML help for every cmdlet of a module DLL from its docs/help/Verb-Noun.md, and lists what is missing:
/// a cmdlet without a page, a synopsis, two examples or an ERRORS section; a parameter without a description; a
/// documented parameter that does not exist; an ERRORS line that is not "- `ErrorId` (Category): text".
/// A parameter's "Default value:" line becomes its dev:defaultValue ("None" without one); the ERRORS section becomes a
/// second alertSet titled ERRORS, which Get-Help -Full prints after the NOTES.
/// </summary>
public static class HelpGenerator
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public sealed record Result(XDocument Maml, IReadOnlyList<string> Problems);

    public static Result Generate(IReadOnlyList<CmdletInfo> cmdlets, string markdownFolder)
    {
        var problems = new List<string>();
        var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"));
        foreach (var cmdlet in cmdlets)
        {
            var file = Path.Combine(markdownFolder, cmdlet.Name + ".md");
            if (!File.Exists(file))
            {
                problems.Add($"{cmdlet.Name}: no help page {file}");
                continue;
            }
            var help = HelpMarkdown.Parse(file);
            Check(cmdlet, help, problems);
            root.Add(CommandElement(cmdlet, help));
        }
        foreach (var page in Directory.GetFiles(markdownFolder, "*-*.md"))
        {
            var name = Path.GetFileNameWithoutExtension(page);
            if (cmdlets.All(c => c.Name != name))
            {
                problems.Add($"{page}: a help page for {name}, which the module does not have");
            }
        }
        return new Result(new XDocument(new XDeclaration("1.0", "utf-8", null), root), problems);
    }

    private static void Check(CmdletInfo cmdlet, HelpMarkdown help, List<string> problems)
    {
        var where = $"{cmdlet.Name} ({help.File})";
        if (!string.Equals(help.Name, cmdlet.Name, StringComparison.Ordinal))
        {
            problems.Add($"{where}: the title is '# {help.Name}'");
        }
        if (help.Synopsis.Length == 0)
        {
            problems.Add($"{where}: no SYNOPSIS");
        }
        if (help.Description.Length == 0)
        {
            problems.Add($"{where}: no DESCRIPTION");
        }
        if (help.Examples.Count(e => e.Code.Length > 0) < 2)
        {
            problems.Add($"{where}: fewer than two EXAMPLES with code");
        }
        if (help.Outputs.Count == 0)
        {
            problems.Add($"{where}: no OUTPUTS");
        }
        if (!help.HasErrors)
        {
            problems.Add($"{where}: no ERRORS section");
        }
        else if (help.Errors.Count == 0 && help.ErrorsText.Length == 0)
        {
            problems.Add($"{where}: the ERRORS section is empty (say so when the cmdlet emits no ErrorId of its own)");
        }
        foreach (var line in help.MalformedErrors)
        {
            problems.Add($"{where}: ERRORS line '{line}' is not \"- `ErrorId` (Category): when it happens\"");
        }
        foreach (var twice in help.Errors.GroupBy(e => e.Id, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{where}: ERRORS lists {twice.Key} more than once");
        }
        foreach (var d in help.Defaults.Where(d => d.Value.Length == 0))
        {
            problems.Add($"{where}: parameter -{d.Key} has an empty 'Default value:' line");
        }
        foreach (var p in cmdlet.Parameters)
        {
            if (!help.Parameters.TryGetValue(p.Name, out var text) || text.Length == 0)
            {
                problems.Add($"{where}: parameter -{p.Name} has no description");
            }
        }
        foreach (var documented in help.Parameters.Keys)
        {
            if (cmdlet.Parameters.All(p => !string.Equals(p.Name, documented, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"{where}: documents -{documented}, which the cmdlet does not have");
            }
        }
    }

    private static XElement CommandElement(CmdletInfo cmdlet, HelpMarkdown help) =>
        new(Command + "command",
            new XAttribute(XNamespace.Xmlns + "maml", Maml),
            new XAttribute(XNamespace.Xmlns + "command", Command),
            new XAttribute(XNamespace.Xmlns + "dev", Dev),
            new XElement(Command + "details",
                new XElement(Command + "name", cmdlet.Name),
                new XElement(Command + "verb", cmdlet.Verb),
                new XElement(Command + "noun", cmdlet.Noun),
                Description(help.Synopsis)),
            Description(help.Description),
            new XElement(Command + "syntax", cmdlet.ParameterSets.Select(set =>
                new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", cmdlet.Name),
                    cmdlet.Parameters.Where(p => p.In(set) is not null).Select(p => Parameter(p, p.In(set)!, help, withValue: true))))),
            new XElement(Command + "parameters", cmdlet.Parameters.Select(p =>
                Parameter(p, p.Sets.FirstOrDefault(s => s.Mandatory) ?? p.Sets[0], help, withValue: true))),
            new XElement(Command + "inputTypes", help.Inputs.Select(i =>
                new XElement(Command + "inputType", Type(i.Name), Description(i.Text)))),
            new XElement(Command + "returnValues", help.Outputs.Select(o =>
                new XElement(Command + "returnValue", Type(o.Name), Description(o.Text)))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(help.Notes))),
            help.HasErrors
                ? new XElement(Maml + "alertSet",
                    new XElement(Maml + "title", "ERRORS"),
                    new XElement(Maml + "alert", Paragraphs(help.ErrorsText), help.Errors.Select(e => new XElement(Maml + "para", ErrorText(e)))))
                : null,
            new XElement(Command + "examples", help.Examples.Select(e =>
                new XElement(Command + "example",
                    new XElement(Maml + "title", $"-------------------------- {e.Title} --------------------------"),
                    new XElement(Dev + "code", e.Code),
                    new XElement(Dev + "remarks", Paragraphs(e.Remarks))))),
            new XElement(Command + "relatedLinks", help.Links.Select(l =>
                new XElement(Maml + "navigationLink", new XElement(Maml + "linkText", l.Text), new XElement(Maml + "uri", l.Uri)))));

    private static XElement Parameter(ParameterInfo p, ParameterSetMembership m, HelpMarkdown help, bool withValue)
    {
        var pipeline = p.ValueFromPipeline && p.ValueFromPipelineByPropertyName ? "True (ByValue, ByPropertyName)"
            : p.ValueFromPipeline ? "True (ByValue)" : p.ValueFromPipelineByPropertyName ? "True (ByPropertyName)" : "False";
        var element = new XElement(Command + "parameter",
            new XAttribute("required", m.Mandatory ? "true" : "false"),
            new XAttribute("variableLength", p.TypeName.EndsWith("[]", StringComparison.Ordinal) ? "true" : "false"),
            new XAttribute("globbing", "false"),
            new XAttribute("pipelineInput", pipeline),
            new XAttribute("position", m.Position?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "named"),
            new XAttribute("aliases", p.Aliases.Count > 0 ? string.Join(", ", p.Aliases) : "none"),
            new XElement(Maml + "name", p.Name),
            Description(help.Parameters.TryGetValue(p.Name, out var text) ? text : ""));
        if (p.ValidValues.Count > 0)
        {
            element.Add(new XElement(Command + "parameterValueGroup", p.ValidValues.Select(v =>
                new XElement(Command + "parameterValue", new XAttribute("required", "false"), new XAttribute("variableLength", "false"), v))));
        }
        if (withValue && !p.IsSwitch)
        {
            element.Add(new XElement(Command + "parameterValue", new XAttribute("required", "true"), new XAttribute("variableLength", "false"), p.TypeName));
        }
        var defaultValue = help.Defaults.TryGetValue(p.Name, out var d) && d.Length > 0 ? HelpMarkdown.StripMarkdown(d) : "None";
        element.Add(Type(p.TypeName), new XElement(Dev + "defaultValue", defaultValue));
        return element;
    }

    /// <summary>One ERRORS line as Get-Help prints it: "- ErrorId (Category): when it happens".</summary>
    public static string ErrorText(HelpError e) => HelpMarkdown.StripMarkdown($"- {e.Id} ({e.Category}): {e.Text}");

    private static XElement Type(string name) => new(Dev + "type", new XElement(Maml + "name", name), new XElement(Maml + "uri"));

    private static XElement Description(string text) => new(Maml + "description", Paragraphs(text));

    private static IEnumerable<XElement> Paragraphs(string text) => HelpMarkdown.Paragraphs(text).Select(p => new XElement(Maml + "para", p));
}
