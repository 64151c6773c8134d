using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TalosImage.Tests.Module;
using Xunit;

namespace TalosImage.Tests.Contract;

/// <summary>
/// The rule the module's loading relies on (docs/ARCHITECTURE.md, "Loading"), checked on the assembled module with
/// MetadataLoadContext. The default load context gets only TalosImage.Models (the records) and TalosImage.Loader; both
/// must need nothing the module isolates, or the session would load YamlDotNet, Newtonsoft.Json or the engine into the
/// default context after all. Everything a script can see of a cmdlet (its output types, its parameter types) must be a
/// type the default context resolves by name: the runtime's, PowerShell's, or a record of TalosImage.Models.
/// </summary>
public sealed class LoadingRuleTests : IDisposable
{
    private static readonly string[] DefaultContextAssemblies = { "TalosImage.Models", "TalosImage.Loader" };

    private readonly MetadataLoadContext _context;
    private readonly HashSet<string> _shipped;
    private readonly HashSet<string> _runtime;

    public LoadingRuleTests()
    {
        var psDir = typeof(TalosImage.HelpGen.CmdletMetadata).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PowerShellStandardDir").Value!;
        var runtime = Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll");
        var shipped = Directory.GetFiles(IsolationTests.Bin, "*.dll");
        _shipped = shipped.Select(Path.GetFileNameWithoutExtension).ToHashSet(StringComparer.OrdinalIgnoreCase)!;
        _runtime = runtime.Select(Path.GetFileNameWithoutExtension).Append("netstandard").ToHashSet(StringComparer.OrdinalIgnoreCase)!;
        var paths = runtime.Concat(shipped).Append(Path.Combine(psDir, "System.Management.Automation.dll")).GroupBy(Path.GetFileName).Select(g => g.First());
        _context = new MetadataLoadContext(new PathAssemblyResolver(paths));
    }

    public void Dispose() => _context.Dispose();

    private Assembly Shipped(string name) => _context.LoadFromAssemblyPath(Path.Combine(IsolationTests.Bin, name + ".dll"));

    [Theory]
    [InlineData("TalosImage.Models")]
    [InlineData("TalosImage.Loader")]
    public void Assemblies_of_the_default_context_reference_only_the_runtime(string name)
    {
        var offending = Shipped(name).GetReferencedAssemblies()
            .Where(r => !_runtime.Contains(r.Name!) || _shipped.Contains(r.Name!))
            .Select(r => r.FullName).ToList();
        Assert.True(offending.Count == 0, $"{name} is loaded into the default context and must reference only the .NET runtime; it references: {string.Join(", ", offending)}");
    }

    [Fact]
    public void Every_reference_of_a_shipped_assembly_is_shipped_or_the_runtimes_at_a_version_that_satisfies_it()
    {
        // What the private context resolves (ModuleLoadContext.Load): bin/'s copy, unless the runtime's is as new or
        // newer. A reference to a version higher than that copy, or to something neither has, fails only when the code
        // that needs it runs (SSH.NET's BouncyCastle, Octokit's, SharpCompress's polyfills ...): found here instead.
        var problems = new List<string>();
        foreach (var file in Directory.GetFiles(IsolationTests.Bin, "*.dll").OrderBy(f => f, StringComparer.Ordinal))
        {
            var assembly = _context.LoadFromAssemblyPath(file);
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                var name = reference.Name!;
                if (name is "netstandard" or "mscorlib" || (name == "System.Management.Automation" && assembly.GetName().Name == "TalosImage.Cmdlets"))
                {
                    continue;
                }
                var shipped = _shipped.Contains(name) ? AssemblyName.GetAssemblyName(Path.Combine(IsolationTests.Bin, name + ".dll")).Version : null;
                var runtimePath = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), name + ".dll");
                var runtime = File.Exists(runtimePath) ? AssemblyName.GetAssemblyName(runtimePath).Version : null;
                var resolved = runtime is not null && (shipped is null || runtime >= shipped) ? runtime : shipped;
                if (resolved is null)
                {
                    problems.Add($"{assembly.GetName().Name} references {reference.FullName}, which is neither in bin/ nor the runtime's");
                }
                else if (reference.Version is { } wanted && resolved < wanted)
                {
                    problems.Add($"{assembly.GetName().Name} references {name} {wanted}, but the private context would load {resolved}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    [Fact]
    public void The_manifest_loads_only_the_records_before_the_root_module()
    {
        var manifest = File.ReadAllText(Path.Combine(IsolationTests.ModuleDir, "TalosImage.psd1"));
        Assert.Matches(new Regex(@"RootModule\s*=\s*'TalosImage\.psm1'"), manifest);
        var required = Regex.Match(manifest, @"RequiredAssemblies\s*=\s*@\((?<list>[^)]*)\)");
        Assert.True(required.Success, "TalosImage.psd1 has no RequiredAssemblies = @(...)");
        Assert.Equal(new[] { "bin/TalosImage.Models.dll" }, Regex.Matches(required.Groups["list"].Value, "'([^']+)'").Select(m => m.Groups[1].Value));
        Assert.DoesNotMatch(new Regex(@"NestedModules\s*=\s*@\([^)]*\S"), manifest);
    }

    [Fact]
    public void Everything_a_script_sees_of_a_cmdlet_resolves_in_the_default_context()
    {
        var cmdlets = Shipped("TalosImage.Cmdlets");
        var cmdletBase = _context.LoadFromAssemblyName("System.Management.Automation").GetType("System.Management.Automation.Cmdlet")!;
        var problems = new List<string>();
        foreach (var type in cmdlets.GetTypes().Where(t => t.IsPublic && !t.IsAbstract && cmdletBase.IsAssignableFrom(t)))
        {
            var info = new TalosImage.HelpGen.CmdletInfo(type);
            foreach (var output in type.GetCustomAttributesData().Where(a => a.AttributeType.Name == "OutputTypeAttribute")
                         .SelectMany(a => a.ConstructorArguments)
                         .SelectMany(arg => arg.Value is IEnumerable<CustomAttributeTypedArgument> many ? many.Select(x => x.Value) : new[] { arg.Value })
                         .OfType<Type>())
            {
                Check(output, $"{info.Name} [OutputType]");
            }
            foreach (var p in info.Parameters)
            {
                Check(p.PropertyType, $"{info.Name} -{p.Name}");
            }
        }
        Assert.True(problems.Count == 0, "types a script cannot name on PowerShell 7 (they live in the module's private context): " + string.Join("; ", problems));

        void Check(Type t, string where)
        {
            while (t.HasElementType)
            {
                t = t.GetElementType()!;
            }
            if (t.IsGenericType)
            {
                foreach (var argument in t.GetGenericArguments())
                {
                    Check(argument, where);
                }
                t = t.GetGenericTypeDefinition();
            }
            var assembly = t.Assembly.GetName().Name!;
            var visible = assembly == "System.Management.Automation" || (_runtime.Contains(assembly) && !_shipped.Contains(assembly)) || DefaultContextAssemblies.Contains(assembly);
            if (!visible)
            {
                problems.Add($"{where}: {t.FullName} ({assembly})");
            }
        }
    }
}
