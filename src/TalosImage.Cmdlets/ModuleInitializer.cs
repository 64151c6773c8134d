using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace TalosImage.Cmdlets;

/// <summary>
/// Makes the engine and its dependencies load from the module's <c>dependencies</c> folder. On PowerShell 7 they go
/// into a private AssemblyLoadContext (TalosImage.Loader.dll), so another module's YamlDotNet or Newtonsoft.Json in the
/// same session does not collide with ours. Windows PowerShell 5.1 has no load contexts: there the folder is searched
/// through AppDomain.AssemblyResolve, and .NET Framework's rules apply (docs/INSTALL.md says what that means).
/// This class names no engine type, so nothing here needs the engine before the hook is in place.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public const string DependencyFolder = "dependencies";
    private const string LoaderType = "TalosImage.Loader.EngineLoadContext";

    private static readonly string DependencyDirectory =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", DependencyFolder);

    public void OnImport()
    {
        if (!Directory.Exists(DependencyDirectory))
        {
            // A development build (bin/) keeps everything side by side: nothing to redirect.
            return;
        }
        if (IsNetFramework)
        {
            AppDomain.CurrentDomain.AssemblyResolve -= ResolveFromDependencies;
            AppDomain.CurrentDomain.AssemblyResolve += ResolveFromDependencies;
            return;
        }
        Loader()?.GetMethod("Install", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, new object[] { DependencyDirectory });
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (IsNetFramework)
        {
            AppDomain.CurrentDomain.AssemblyResolve -= ResolveFromDependencies;
            return;
        }
        Loader()?.GetMethod("Uninstall", BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null);
    }

    private static bool IsNetFramework =>
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

    private static Type? Loader()
    {
        var path = Path.Combine(DependencyDirectory, "TalosImage.Loader.dll");
        return File.Exists(path) ? Assembly.LoadFrom(path).GetType(LoaderType, throwOnError: true) : null;
    }

    /// <summary>Windows PowerShell: an assembly the module ships, from its dependencies folder.</summary>
    private static Assembly? ResolveFromDependencies(object? sender, ResolveEventArgs args)
    {
        var name = new AssemblyName(args.Name).Name;
        var path = Path.Combine(DependencyDirectory, name + ".dll");
        return File.Exists(path) ? Assembly.LoadFrom(path) : null;
    }
}
