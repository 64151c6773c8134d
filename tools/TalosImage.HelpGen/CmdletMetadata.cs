using System.Reflection;
using System.Runtime.InteropServices;

namespace TalosImage.HelpGen;

/// <summary>
/// The cmdlets of a built module DLL, read with MetadataLoadContext: no PowerShell host is loaded or needed. Used by
/// the help generator and by the module contract checks.
/// </summary>
public sealed class CmdletMetadata : IDisposable
{
    private readonly MetadataLoadContext _context;

    public CmdletMetadata(string cmdletsDll)
    {
        var psDir = typeof(CmdletMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PowerShellStandardDir").Value!;
        var folder = Path.GetDirectoryName(Path.GetFullPath(cmdletsDll))!;
        // The module's bin/ holds the cmdlets beside every assembly they need.
        var paths = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .Concat(Directory.GetFiles(folder, "*.dll"))
            .Concat(new[] { Path.Combine(psDir, "System.Management.Automation.dll") })
            .GroupBy(Path.GetFileName).Select(g => g.First());
        _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
        Assembly = _context.LoadFromAssemblyPath(Path.GetFullPath(cmdletsDll));
        var cmdletBase = _context.LoadFromAssemblyName("System.Management.Automation").GetType("System.Management.Automation.Cmdlet")!;
        Cmdlets = Assembly.GetTypes()
            .Where(t => !t.IsAbstract && cmdletBase.IsAssignableFrom(t))
            .Select(t => new CmdletInfo(t))
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
    }

    public Assembly Assembly { get; }
    public IReadOnlyList<CmdletInfo> Cmdlets { get; }

    public void Dispose() => _context.Dispose();
}

/// <summary>One cmdlet class as its attributes describe it.</summary>
public sealed class CmdletInfo
{
    public const string AllParameterSets = "__AllParameterSets";

    public CmdletInfo(Type type)
    {
        Type = type;
        var cmdlet = type.GetCustomAttributesData().SingleOrDefault(a => a.AttributeType.Name == "CmdletAttribute");
        Verb = cmdlet?.ConstructorArguments[0].Value as string ?? "";
        Noun = cmdlet?.ConstructorArguments[1].Value as string ?? "";
        SupportsShouldProcess = cmdlet?.NamedArguments.Any(n => n.MemberName == "SupportsShouldProcess" && (bool)n.TypedValue.Value!) ?? false;
        DefaultParameterSet = cmdlet?.NamedArguments.FirstOrDefault(n => n.MemberName == "DefaultParameterSetName").TypedValue.Value as string;
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
    public string? DefaultParameterSet { get; }
    public IReadOnlyList<string> OutputTypes { get; }
    public IReadOnlyList<ParameterInfo> Parameters { get; }

    /// <summary>The named parameter sets, or the one implicit set when none is named.</summary>
    public IReadOnlyList<string> ParameterSets
    {
        get
        {
            var named = Parameters.SelectMany(p => p.Sets.Select(s => s.Name)).Where(n => n != AllParameterSets).Distinct().ToList();
            if (DefaultParameterSet is { } d && named.Remove(d))
            {
                named.Insert(0, d);
            }
            return named.Count > 0 ? named : new[] { AllParameterSets };
        }
    }

    public override string ToString() => Name;
}

/// <summary>A parameter's membership of one parameter set.</summary>
public sealed record ParameterSetMembership(string Name, bool Mandatory, int? Position, bool ValueFromPipeline, bool ValueFromPipelineByPropertyName);

public sealed class ParameterInfo
{
    public ParameterInfo(PropertyInfo property, IReadOnlyList<CustomAttributeData> attributes)
    {
        Name = property.Name;
        PropertyType = property.PropertyType;
        Sets = attributes.Select(a =>
        {
            object? Named(string name) => a.NamedArguments.FirstOrDefault(n => n.MemberName == name).TypedValue.Value;
            var position = Named("Position") is int p && p != int.MinValue ? p : (int?)null;
            return new ParameterSetMembership(
                Named("ParameterSetName") as string ?? CmdletInfo.AllParameterSets,
                Named("Mandatory") is true,
                position,
                Named("ValueFromPipeline") is true,
                Named("ValueFromPipelineByPropertyName") is true);
        }).ToList();
        Aliases = property.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "AliasAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
            .ToList();
        Completer = property.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "ArgumentCompleterAttribute")
            .Select(a => a.ConstructorArguments.FirstOrDefault().Value as Type)
            .FirstOrDefault()?.Name;
        ValidValues = property.GetCustomAttributesData()
            .Where(a => a.AttributeType.Name == "ValidateSetAttribute")
            .SelectMany(a => a.ConstructorArguments)
            .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => (string)x.Value!) : new[] { (string)arg.Value! })
            .ToList();
    }

    public string Name { get; }
    public Type PropertyType { get; }
    public IReadOnlyList<ParameterSetMembership> Sets { get; }
    public bool ValueFromPipeline => Sets.Any(s => s.ValueFromPipeline);
    public bool ValueFromPipelineByPropertyName => Sets.Any(s => s.ValueFromPipelineByPropertyName);
    public bool Mandatory => Sets.Any(s => s.Mandatory);
    public IReadOnlyList<string> Aliases { get; }
    public IReadOnlyList<string> ValidValues { get; }
    /// <summary>The type named by [ArgumentCompleter(typeof(...))], or null.</summary>
    public string? Completer { get; }
    public bool IsSwitch => PropertyType.Name == "SwitchParameter";

    /// <summary>The type as help shows it: String, String[], SwitchParameter, TalosArtifact ...</summary>
    public string TypeName
    {
        get
        {
            var t = PropertyType;
            if (t.IsGenericType && t.GetGenericTypeDefinition().FullName == "System.Nullable`1")
            {
                t = t.GetGenericArguments()[0];
            }
            return t.Name;
        }
    }

    public ParameterSetMembership? In(string set) =>
        Sets.FirstOrDefault(s => s.Name == set) ?? Sets.FirstOrDefault(s => s.Name == CmdletInfo.AllParameterSets);
}
