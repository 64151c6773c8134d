using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace TalosImage.Loader;

/// <summary>
/// The module's private load context on PowerShell 7. It holds TalosImage.Core and every assembly the module ships in
/// its <c>dependencies</c> folder (YamlDotNet, Newtonsoft.Json ...), so another module's copy of those in the same
/// session (powershell-yaml ships its own YamlDotNet) never meets ours. Assemblies the platform already provides in
/// the same or a higher version (the .NET runtime, PowerShell's own) come from the default context, as they would
/// without isolation. Only the engine, TalosImage.Core, is handed to the default context: the cmdlets bind to it there.
/// </summary>
public sealed class EngineLoadContext : AssemblyLoadContext
{
    public const string EngineAssemblyName = "TalosImage.Core";

    private static readonly object Gate = new();
    private static EngineLoadContext? _instance;
    private static bool _hooked;

    private readonly string _dependencyDirectory;
    private readonly IReadOnlyDictionary<string, string> _platform;

    /// <param name="platformAssemblies">Simple name -> path of the assemblies the platform provides; null: this process' trusted platform assemblies.</param>
    public EngineLoadContext(string dependencyDirectory, IReadOnlyDictionary<string, string>? platformAssemblies = null)
        : base("TalosImage", isCollectible: false)
    {
        _dependencyDirectory = Path.GetFullPath(dependencyDirectory);
        _platform = platformAssemblies ?? PlatformAssemblies();
    }

    public string DependencyDirectory => _dependencyDirectory;

    /// <summary>
    /// Creates the module's context once per process and answers the default context's requests for TalosImage.Core
    /// from it. Called by the module initializer on every Import-Module (also with -Force): idempotent.
    /// </summary>
    public static void Install(string dependencyDirectory)
    {
        lock (Gate)
        {
            _instance ??= new EngineLoadContext(dependencyDirectory);
            if (!_hooked)
            {
                Default.Resolving += ResolveEngine;
                _hooked = true;
            }
        }
    }

    /// <summary>Stops answering for the engine (Remove-Module). Assemblies already loaded stay loaded, as .NET requires.</summary>
    public static void Uninstall()
    {
        lock (Gate)
        {
            if (_hooked)
            {
                Default.Resolving -= ResolveEngine;
                _hooked = false;
            }
        }
    }

    /// <summary>The default context's Resolving handler: TalosImage.Core from the private context, nothing else.</summary>
    public static Assembly? ResolveEngine(AssemblyLoadContext requester, AssemblyName name) =>
        _instance is { } context && string.Equals(name.Name, EngineAssemblyName, StringComparison.OrdinalIgnoreCase)
            ? context.LoadFromAssemblyName(name)
            : null;

    protected override Assembly? Load(AssemblyName name)
    {
        if (name.Name is null)
        {
            return null;
        }
        var path = Path.Combine(_dependencyDirectory, name.Name + ".dll");
        if (!File.Exists(path))
        {
            return null;
        }
        // The platform's copy wins when it is at least as new: the shipped netstandard2.0 polyfills
        // (System.Memory, System.Threading.Channels ...) must not shadow the runtime's own types.
        if (!string.Equals(name.Name, EngineAssemblyName, StringComparison.OrdinalIgnoreCase)
            && _platform.TryGetValue(name.Name, out var platformPath)
            && VersionOf(platformPath) >= VersionOf(path))
        {
            return null;
        }
        return LoadFromAssemblyPath(path);
    }

    /// <summary>The trusted platform assemblies of this process (runtime and host): simple name -> path. Reads no file.</summary>
    public static IReadOnlyDictionary<string, string> PlatformAssemblies()
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? "";
        foreach (var file in tpa.Split(Path.PathSeparator).Where(f => f.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)))
        {
            result[Path.GetFileNameWithoutExtension(file)] = file;
        }
        return result;
    }

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
