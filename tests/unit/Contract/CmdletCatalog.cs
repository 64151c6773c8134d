using Xunit;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The built TalosImage.Cmdlets.dll read with MetadataLoadContext (no PowerShell host is needed or loaded),
/// with the module manifest and format file beside the repository root.
/// </summary>
public sealed class CmdletCatalog : IDisposable
{
    private readonly MetadataLoadContext _context;

    public CmdletCatalog()
    {
        var testBin = AppContext.BaseDirectory;
        var psDir = typeof(CmdletCatalog).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PowerShellStandardDir").Value!;
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(testBin, "*.dll"))
            .Concat(new[] { Path.Combine(psDir, "System.Management.Automation.dll") })
            .GroupBy(Path.GetFileName).Select(g => g.First());
        _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        Assembly = _context.LoadFromAssemblyPath(Path.Combine(testBin, "TalosImage.Cmdlets.dll"));
        var cmdletBase = _context.LoadFromAssemblyName("System.Management.Automation").GetType("System.Management.Automation.Cmdlet")!;
        Cmdlets = Assembly.GetTypes()
            .Where(t => !t.IsAbstract && cmdletBase.IsAssignableFrom(t))
            .Select(t => new CmdletInfo(t))
            .OrderBy(c => c.Name)
            .ToList();
        ManifestText = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "TalosImage.psd1"));
        Format = XDocument.Load(Path.Combine(TestPaths.RepoRoot, "TalosImage.Format.ps1xml"));
    }

    public Assembly Assembly { get; }
    public IReadOnlyList<CmdletInfo> Cmdlets { get; }
    public string ManifestText { get; }
    public XDocument Format { get; }

    /// <summary>The names in CmdletsToExport = @(...) of TalosImage.psd1.</summary>
    public IReadOnlyList<string> ExportedCmdlets()
    {
        var m = Regex.Match(ManifestText, @"CmdletsToExport\s*=\s*@\((?<list>[^)]*)\)", RegexOptions.Singleline);
        Assert.True(m.Success, "TalosImage.psd1 has no CmdletsToExport = @(...)");
        return Regex.Matches(m.Groups["list"].Value, @"'([^']+)'").Select(x => x.Groups[1].Value).ToList();
    }

    public string? ManifestValue(string key) =>
        Regex.Match(ManifestText, key + @"\s*=\s*'([^']*)'") is { Success: true } m ? m.Groups[1].Value : null;

    public IReadOnlyList<string> ViewTypeNames() =>
        Format.Descendants("ViewSelectedBy").Elements("TypeName").Select(e => e.Value.Trim()).ToList();

    public void Dispose() => _context.Dispose();
}

/// <summary>One cmdlet class as its attributes describe it.</summary>
public sealed class CmdletInfo
{
    public CmdletInfo(Type type)
    {
        Type = type;
        var cmdlet = type.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType.Name == "CmdletAttribute");
        Verb = cmdlet?.ConstructorArguments[0].Value as string ?? "";
        Noun = cmdlet?.ConstructorArguments[1].Value as string ?? "";
        SupportsShouldProcess = cmdlet?.NamedArguments.Any(n => n.MemberName == "SupportsShouldProcess" && (bool)n.TypedValue.Value!) ?? false;
        HasCmdletAttribute = cmdlet is not null;
        OutputTypes = type.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "OutputTypeAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => x.Value) : new[] { arg.Value })
            .Select(v => v is Type t ? t.FullName! : v?.ToString() ?? "")
            .ToList();
        Parameters = type.GetProperties()
            .Select(p => (Property: p, Attributes: p.GetCustomAttributesData().Where(a => a.AttributeType.Name == "ParameterAttribute").ToList()))
            .Where(x => x.Attributes.Count > 0)
            .Select(x => new ParameterInfo(x.Property, x.Attributes))
            .ToList();
    }

    public Type Type { get; }
    public string Verb { get; }
    public string Noun { get; }
    public string Name => $"{Verb}-{Noun}";
    public bool HasCmdletAttribute { get; }
    public bool SupportsShouldProcess { get; }
    public IReadOnlyList<string> OutputTypes { get; }
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    public override string ToString() => Name;
}

public sealed class ParameterInfo
{
    public ParameterInfo(PropertyInfo property, IReadOnlyList<CustomAttributeData> attributes)
    {
        Name = property.Name;
        PropertyType = property.PropertyType;
        bool Named(string name) => attributes.Any(a => a.NamedArguments.Any(n => n.MemberName == name && n.TypedValue.Value is true));
        ValueFromPipeline = Named("ValueFromPipeline");
        ValueFromPipelineByPropertyName = Named("ValueFromPipelineByPropertyName");
        Mandatory = Named("Mandatory");
        Aliases = property.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
            .ToList();
    }

    public string Name { get; }
    public Type PropertyType { get; }
    public bool ValueFromPipeline { get; }
    public bool ValueFromPipelineByPropertyName { get; }
    public bool Mandatory { get; }
    public IReadOnlyList<string> Aliases { get; }
}
