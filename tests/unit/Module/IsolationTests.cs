using System.Reflection;
using System.Runtime.Loader;
using TalosImage.Loader;
using Xunit;

namespace TalosImage.Tests.Module;

/// <summary>
/// The module as the build assembles it (src/TalosImage.Cmdlets/bin/CONFIG/netstandard2.0/module/TalosImage), and the
/// private load context PowerShell 7 uses for it: real AssemblyLoadContexts on this runtime. tests/pester/Module.Tests.ps1
/// proves the same in real pwsh sessions.
/// </summary>
public class IsolationTests
{
    public static string ModuleDir
    {
        get
        {
            // tests/unit/bin/<Configuration>/net10.0/
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cmdlets", "bin", configuration, "netstandard2.0", "module", "TalosImage");
        }
    }

    public static string Bin => Path.Combine(ModuleDir, "bin");

    [Fact]
    public void The_module_top_holds_the_manifest_root_module_views_and_documents_and_bin_holds_every_assembly()
    {
        var top = Directory.GetFiles(ModuleDir).Select(Path.GetFileName).OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "CHANGELOG.md", "LICENSE", "README.md", "TalosImage.Format.ps1xml", "TalosImage.psd1", "TalosImage.psm1" }, top);
        foreach (var dll in new[] { "TalosImage.Cmdlets.dll", "TalosImage.Models.dll", "TalosImage.Core.dll", "YamlDotNet.dll", "Newtonsoft.Json.dll", "TalosImage.Loader.dll" })
        {
            Assert.True(File.Exists(Path.Combine(Bin, dll)), dll + " is not in bin/");
        }
        Assert.False(File.Exists(Path.Combine(Bin, "System.Management.Automation.dll")), "PowerShell's own assembly must not ship");
        Assert.True(File.Exists(Path.Combine(ModuleDir, "en-US", "TalosImage.Cmdlets.dll-Help.xml")));
    }

    [Fact]
    public void The_cmdlets_engine_and_YamlDotNet_load_privately_and_the_records_are_shared_with_the_default_context()
    {
        var context = new ModuleLoadContext(Bin, ModuleLoadContext.RuntimeAssemblies());
        var cmdlets = context.LoadFromAssemblyName(new AssemblyName(ModuleLoadContext.CmdletAssemblyName));
        var core = context.LoadFromAssemblyName(new AssemblyName("TalosImage.Core"));
        var yaml = context.LoadFromAssemblyName(new AssemblyName("YamlDotNet"));
        var models = context.LoadFromAssemblyName(new AssemblyName(ModuleLoadContext.SharedAssemblyName));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(cmdlets));
        Assert.Equal(Path.Combine(Bin, "TalosImage.Cmdlets.dll"), cmdlets.Location);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(core));
        // This test process has its own TalosImage.Core and YamlDotNet in the default context, as another module's would be.
        Assert.NotSame(typeof(TalosImage.Core.TalosException).Assembly, core);
        Assert.NotSame(typeof(YamlDotNet.Core.Parser).Assembly, yaml);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(yaml));
        Assert.StartsWith(Bin, yaml.Location, StringComparison.Ordinal);
        // The records are the default context's: what the cmdlets emit is the type scripts name.
        Assert.Same(typeof(TalosImage.TalosArtifact).Assembly, models);

        // The private engine works with its private YamlDotNet: it loads talos_order.py's files.
        var loader = core.GetType("TalosImage.Core.Orders.OrderLoader", throwOnError: true)!;
        var load = loader.GetMethods().Single(m => m.Name == "Load" && m.GetParameters().Length == 3);
        Func<string, string?> noEnvironment = _ => null;
        var input = load.Invoke(null, new object?[] { TestPaths.Compat("talos_order-config.yaml"), TestPaths.Compat("talos_order-orders.yaml"), noEnvironment })!;
        var orders = (System.Collections.IEnumerable)input.GetType().GetProperty("Orders")!.GetValue(input)!;
        Assert.Single(orders.Cast<object>());
        Assert.Same(yaml, context.Assemblies.Single(a => a.GetName().Name == "YamlDotNet"));
    }

    [Fact]
    public void Polyfills_the_runtime_provides_come_from_the_runtime()
    {
        var shipped = Path.Combine(Bin, "System.Memory.dll");
        Assert.True(File.Exists(shipped), "the netstandard2.0 polyfill System.Memory.dll is expected in bin/");
        var context = new ModuleLoadContext(Bin, ModuleLoadContext.RuntimeAssemblies());

        var memory = context.LoadFromAssemblyName(new AssemblyName("System.Memory"));

        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(memory));
        Assert.NotEqual(shipped, memory.Location);
    }

    [Fact]
    public void Newtonsoft_Json_loads_privately_although_PowerShell_ships_its_own()
    {
        // Only the .NET runtime's folder counts as the platform; PowerShell's own Newtonsoft.Json (beside pwsh) is
        // another library of the same name, and the engine keeps the copy it was built and tested with.
        var context = new ModuleLoadContext(Bin, ModuleLoadContext.RuntimeAssemblies());
        Assert.DoesNotContain("Newtonsoft.Json", ModuleLoadContext.RuntimeAssemblies().Keys);

        var json = context.LoadFromAssemblyName(new AssemblyName("Newtonsoft.Json"));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(json));
        Assert.Equal(Path.Combine(Bin, "Newtonsoft.Json.dll"), json.Location);
    }

    [Fact]
    public void A_shipped_library_older_than_the_runtimes_copy_gives_way_and_a_newer_one_loads_privately()
    {
        var memory = Path.Combine(Bin, "System.Memory.dll");
        var older = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["System.Memory"] = Path.Combine(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "System.Memory.dll") };
        var none = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(new ModuleLoadContext(Bin, older).LoadFromAssemblyName(new AssemblyName("System.Memory"))));
        var own = new ModuleLoadContext(Bin, none).LoadFromAssemblyName(new AssemblyName("System.Memory"));
        Assert.Equal(memory, own.Location);
    }

    [Fact]
    public void Initialize_creates_one_context_per_process_and_returns_the_same_cmdlet_assembly()
    {
        var first = ModuleLoadContext.Initialize(Bin);
        var again = ModuleLoadContext.Initialize(Bin);

        Assert.Same(first, again);
        Assert.Equal(ModuleLoadContext.CmdletAssemblyName, first.GetName().Name);
        Assert.IsType<ModuleLoadContext>(AssemblyLoadContext.GetLoadContext(first));
    }
}
