using System.Reflection;
using System.Runtime.Loader;
using TalosImage.Loader;
using Xunit;

namespace TalosImage.Tests.Module;

/// <summary>
/// The module as the build assembles it (src/TalosImage.Cmdlets/bin/CONFIG/netstandard2.0/module/TalosImage), and the
/// private load context PowerShell 7 uses for the engine: real AssemblyLoadContexts on this runtime.
/// </summary>
public class IsolationTests
{
    private static string ModuleDir
    {
        get
        {
            // tests/unit/bin/<Configuration>/net10.0/
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
            return Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cmdlets", "bin", configuration, "netstandard2.0", "module", "TalosImage");
        }
    }

    private static string Dependencies => Path.Combine(ModuleDir, "dependencies");

    /// <summary>
    /// The platform as pwsh has it: the .NET runtime (pwsh adds its own libraries, which do not include YamlDotNet).
    /// This test host's own trusted list also names the test's dependencies, which a PowerShell session would not.
    /// </summary>
    private static Dictionary<string, string> RuntimePlatform() =>
        Directory.GetFiles(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => f, StringComparer.OrdinalIgnoreCase);

    [Fact]
    public void The_module_top_holds_only_manifest_views_and_cmdlets()
    {
        var top = Directory.GetFiles(ModuleDir).Select(Path.GetFileName).OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "TalosImage.Cmdlets.dll", "TalosImage.Format.ps1xml", "TalosImage.psd1" }, top);
        foreach (var dll in new[] { "TalosImage.Core.dll", "YamlDotNet.dll", "Newtonsoft.Json.dll", "TalosImage.Loader.dll" })
        {
            Assert.True(File.Exists(Path.Combine(Dependencies, dll)), dll + " is not in dependencies/");
        }
        Assert.False(File.Exists(Path.Combine(Dependencies, "System.Management.Automation.dll")), "PowerShell's own assembly must not ship");
    }

    [Fact]
    public void The_engine_and_YamlDotNet_load_privately_beside_the_sessions_own_copies()
    {
        var context = new EngineLoadContext(Dependencies, RuntimePlatform());
        var core = context.LoadFromAssemblyName(new AssemblyName(EngineLoadContext.EngineAssemblyName));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(core));
        Assert.Equal(Path.Combine(Dependencies, "TalosImage.Core.dll"), core.Location);
        // This test process has its own TalosImage.Core and YamlDotNet in the default context, as another module's would be.
        Assert.NotSame(typeof(TalosImage.TalosArtifact).Assembly, core);

        var yaml = context.LoadFromAssemblyName(new AssemblyName("YamlDotNet"));
        Assert.NotSame(typeof(YamlDotNet.Core.Parser).Assembly, yaml);
        Assert.Same(context, AssemblyLoadContext.GetLoadContext(yaml));
        Assert.StartsWith(Dependencies, yaml.Location, StringComparison.Ordinal);

        // The private engine works with its private YamlDotNet: it loads talos_order.py's files.
        var loader = core.GetType("TalosImage.Core.Orders.OrderLoader", throwOnError: true)!;
        var load = loader.GetMethods().Single(m => m.Name == "Load" && m.GetParameters().Length == 3);
        Func<string, string?> noEnvironment = _ => null;
        var input = load.Invoke(null, new object?[] { TestPaths.Compat("talos_order-config.yaml"), TestPaths.Compat("talos_order-orders.yaml"), noEnvironment })!;
        var orders = (System.Collections.IEnumerable)input.GetType().GetProperty("Orders")!.GetValue(input)!;
        Assert.Single(orders.Cast<object>());
        Assert.Same(yaml, AssemblyLoadContext.GetLoadContext(core)!.Assemblies.Single(a => a.GetName().Name == "YamlDotNet"));
    }

    [Fact]
    public void Assemblies_the_platform_provides_come_from_the_platform()
    {
        var shipped = Path.Combine(Dependencies, "System.Memory.dll");
        Assert.True(File.Exists(shipped), "the netstandard2.0 polyfill System.Memory.dll is expected in dependencies/");
        var context = new EngineLoadContext(Dependencies, RuntimePlatform());

        var memory = context.LoadFromAssemblyName(new AssemblyName("System.Memory"));

        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(memory));
        Assert.NotEqual(shipped, memory.Location);
    }

    [Fact]
    public void A_shipped_assembly_newer_than_the_platforms_loads_privately()
    {
        // A platform list that claims an old Newtonsoft.Json: the module's own copy must win.
        var old = Path.Combine(Path.GetTempPath(), "talosimage-no-such-platform", "Newtonsoft.Json.dll");
        var context = new EngineLoadContext(Dependencies, new Dictionary<string, string> { ["Newtonsoft.Json"] = old });

        var json = context.LoadFromAssemblyName(new AssemblyName("Newtonsoft.Json"));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(json));
    }

    [Fact]
    public void The_default_context_is_answered_only_for_the_engine_and_install_is_idempotent()
    {
        EngineLoadContext.Install(Dependencies);
        EngineLoadContext.Install(Dependencies);
        try
        {
            var core = EngineLoadContext.ResolveEngine(AssemblyLoadContext.Default, new AssemblyName("TalosImage.Core"));
            var again = EngineLoadContext.ResolveEngine(AssemblyLoadContext.Default, new AssemblyName("TalosImage.Core"));
            Assert.NotNull(core);
            Assert.Same(core, again);
            Assert.IsType<EngineLoadContext>(AssemblyLoadContext.GetLoadContext(core!));
            Assert.Null(EngineLoadContext.ResolveEngine(AssemblyLoadContext.Default, new AssemblyName("YamlDotNet")));
        }
        finally
        {
            EngineLoadContext.Uninstall();
        }
    }
}
