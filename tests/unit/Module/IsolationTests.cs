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

    /// <summary>Issue 16's libraries and what they bring (SSH.NET: BouncyCastle, Microsoft.Extensions.*.Abstractions).</summary>
    public static readonly TheoryData<string> NewLibraries = new()
    {
        "Octokit", "SharpCompress", "Renci.SshNet", "BouncyCastle.Cryptography",
        "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions",
    };

    [Theory]
    [MemberData(nameof(NewLibraries))]
    public void The_new_libraries_and_theirs_load_privately_from_bin_and_not_as_this_process_copy(string name)
    {
        var context = new ModuleLoadContext(Bin, ModuleLoadContext.RuntimeAssemblies());

        var own = context.LoadFromAssemblyName(new AssemblyName(name));

        Assert.Same(context, AssemblyLoadContext.GetLoadContext(own));
        Assert.Equal(Path.Combine(Bin, name + ".dll"), own.Location);
        // This test process has its own copy in the default context (the engine's references), as another module would.
        var theirs = AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(name));
        Assert.NotSame(theirs, own);
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(theirs));
    }

    [Fact]
    public void Every_shipped_library_loads_privately_unless_the_runtime_has_it_at_the_same_version_or_newer()
    {
        var runtime = ModuleLoadContext.RuntimeAssemblies();
        var context = new ModuleLoadContext(Bin, runtime);
        var problems = new List<string>();
        foreach (var file in Directory.GetFiles(Bin, "*.dll").OrderBy(f => f, StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (name is ModuleLoadContext.SharedAssemblyName or "TalosImage.Loader")
            {
                continue; // the default context's by design (the Polyfills and records tests above)
            }
            var shipped = AssemblyName.GetAssemblyName(file).Version!;
            var fromRuntime = runtime.TryGetValue(name, out var runtimePath) && AssemblyName.GetAssemblyName(runtimePath).Version! >= shipped;
            var loaded = context.LoadFromAssemblyName(new AssemblyName(name));
            var where = AssemblyLoadContext.GetLoadContext(loaded);
            if (fromRuntime ? !ReferenceEquals(where, AssemblyLoadContext.Default) : !ReferenceEquals(where, context) || loaded.Location != file)
            {
                problems.Add($"{name} {shipped}: loaded in {where?.Name} from {loaded.Location}, expected {(fromRuntime ? "the runtime's copy" : "bin/ in the private context")}");
            }
        }
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    [Fact]
    public async Task The_private_engine_lists_GitHub_releases_with_its_own_Octokit()
    {
        await using var fake = await TalosImage.Tests.Servers.FakeImageFactory.StartAsync();
        fake.Releases = TalosImage.Tests.Servers.FakeImageFactory.ReleasesOf("v1.10.7", "v1.11.5", "v1.12.0-beta.1");
        var context = new ModuleLoadContext(Bin, ModuleLoadContext.RuntimeAssemblies());
        var core = context.LoadFromAssemblyName(new AssemblyName("TalosImage.Core"));
        var optionsType = core.GetType("TalosImage.Core.Versions.VersionSourceOptions", throwOnError: true)!;
        var options = Activator.CreateInstance(optionsType)!;
        Func<string, string?> noEnvironment = _ => null;
        foreach (var (property, value) in new (string, object)[] { ("Source", "github"), ("GitHubApiUrl", fake.BaseUrl), ("Environment", noEnvironment) })
        {
            optionsType.GetProperty(property)!.SetValue(options, value);
        }
        var events = core.GetType("TalosImage.Core.NullEngineEvents", throwOnError: true)!.GetField("Instance")!.GetValue(null);
        var resolverType = core.GetType("TalosImage.Core.Versions.VersionResolver", throwOnError: true)!;
        var resolver = Activator.CreateInstance(resolverType, options, events)!;

        var task = (Task)resolverType.GetMethod("ListAsync")!.Invoke(resolver, new object[] { true, CancellationToken.None })!;
        await task;
        var list = (IReadOnlyList<TalosImage.TalosVersion>)task.GetType().GetProperty("Result")!.GetValue(task)!;

        Assert.Equal(new[] { "v1.12.0-beta.1", "v1.11.5", "v1.10.7" }, list.Select(v => v.Version));
        Assert.All(list, v => Assert.Equal("GitHub", v.Source));
        Assert.True(fake.GitHubRequests >= 2); // 2 a page: pages were followed
        var octokit = Assert.Single(context.Assemblies, a => a.GetName().Name == "Octokit");
        Assert.Equal(Path.Combine(Bin, "Octokit.dll"), octokit.Location);
        Assert.NotSame(typeof(Octokit.GitHubClient).Assembly, octokit);
    }
}
