using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace TalosImage.Loader;

/// <summary>
/// The module's private load context on PowerShell 7. TalosImage.psm1 calls <see cref="Initialize"/> before anything
/// of the module is loaded; it loads the cmdlet assembly into this context and hands it to
/// <c>Import-Module -Assembly</c>. Every assembly the cmdlets need is then resolved here first, so PowerShell's
/// enumeration of the cmdlet types (which happens before any module initializer could run) already finds the engine,
/// YamlDotNet and Newtonsoft.Json in the module's <c>bin</c> folder, privately, whatever copies another module put in
/// the default context. Two assemblies are deliberately shared with the default context:
/// <list type="bullet">
/// <item>TalosImage.Models, the output records, so that scripts resolve <c>[TalosImage.TalosArtifact]</c> by name and
/// the cmdlets and the session mean the same type (it references nothing but the runtime);</item>
/// <item>this loader itself.</item>
/// </list>
/// Assemblies the .NET runtime provides in the same or a higher version (the netstandard2.0 polyfills the module ships,
/// System.Memory ...) come from the runtime, and PowerShell's own (System.Management.Automation) from PowerShell,
/// because the module does not ship them.
/// </summary>
public sealed class ModuleLoadContext : AssemblyLoadContext
{
    public const string CmdletAssemblyName = "TalosImage.Cmdlets";
    public const string SharedAssemblyName = "TalosImage.Models";

    private static readonly object Gate = new();
    private static ModuleLoadContext? _instance;

    private readonly string _directory;
    private readonly IReadOnlyDictionary<string, string> _runtime;
    private readonly string _loaderName = typeof(ModuleLoadContext).Assembly.GetName().Name!;

    /// <param name="directory">The module's bin folder.</param>
    /// <param name="runtimeAssemblies">Simple name -> path of what the runtime provides; null: this process's runtime folder.</param>
    public ModuleLoadContext(string directory, IReadOnlyDictionary<string, string>? runtimeAssemblies = null)
        : base("TalosImage", isCollectible: false)
    {
        _directory = Path.GetFullPath(directory);
        _runtime = runtimeAssemblies ?? RuntimeAssemblies();
    }

    public string Directory => _directory;

    /// <summary>
    /// The cmdlet assembly, loaded into the module's context (created once per process: .NET cannot unload it, so
    /// Import-Module -Force and a re-import after Remove-Module get the same context and the same assembly).
    /// </summary>
    public static Assembly Initialize(string directory)
    {
        lock (Gate)
        {
            _instance ??= new ModuleLoadContext(directory);
            return _instance.LoadFromAssemblyName(new AssemblyName(CmdletAssemblyName));
        }
    }

    protected override Assembly? Load(AssemblyName name)
    {
        if (name.Name is not { } simple)
        {
            return null;
        }
        if (string.Equals(simple, _loaderName, StringComparison.OrdinalIgnoreCase))
        {
            return typeof(ModuleLoadContext).Assembly;
        }
        var path = Path.Combine(_directory, simple + ".dll");
        if (string.Equals(simple, SharedAssemblyName, StringComparison.OrdinalIgnoreCase))
        {
            return Shared(path);
        }
        if (!File.Exists(path))
        {
            return null;
        }
        if (_runtime.TryGetValue(simple, out var runtimePath) && VersionOf(runtimePath) >= VersionOf(path))
        {
            return null;
        }
        return LoadFromAssemblyPath(path);
    }

    /// <summary>The output records: the default context's copy (TalosImage.psd1's RequiredAssemblies loads it there).</summary>
    private static Assembly Shared(string path) =>
        Default.Assemblies.FirstOrDefault(a => string.Equals(a.GetName().Name, SharedAssemblyName, StringComparison.OrdinalIgnoreCase))
        ?? Default.LoadFromAssemblyPath(path);

    /// <summary>The assemblies of the .NET runtime this process runs on (not PowerShell's own folder): simple name -> path.</summary>
    public static IReadOnlyDictionary<string, string> RuntimeAssemblies() =>
        System.IO.Directory.GetFiles(RuntimeEnvironment.GetRuntimeDirectory(), "*.dll")
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f), f => f, StringComparer.OrdinalIgnoreCase);

    private static Version VersionOf(string path)
    {
        try
        {
            return AssemblyName.GetAssemblyName(path).Version ?? new Version(0, 0);
        }
        catch (Exception e) when (e is BadImageFormatException or IOException)
        {
            return new Version(0, 0);
        }
    }
}
