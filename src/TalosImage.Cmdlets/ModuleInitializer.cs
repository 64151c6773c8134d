using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace TalosImage.Cmdlets;

/// <summary>
/// Windows PowerShell 5.1 only (PowerShell 7 loads the module through TalosImage.Loader's private context, set up by
/// TalosImage.psm1 before this assembly is read). .NET Framework has no load contexts: the libraries lie beside this
/// assembly in bin/, where its LoadFrom context probes, and this handler answers the requests that probing cannot,
/// those for another version than the one shipped (System.Memory asks for a System.Runtime.CompilerServices.Unsafe
/// older than the one Microsoft.Bcl.AsyncInterfaces needs; a Windows PowerShell module has no binding redirects).
/// It names no engine type, so nothing here needs the engine before the handler is in place.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    private static readonly string Directory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".";

    public void OnImport()
    {
        if (IsNetFramework)
        {
            AppDomain.CurrentDomain.AssemblyResolve -= ResolveShipped;
            AppDomain.CurrentDomain.AssemblyResolve += ResolveShipped;
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (IsNetFramework)
        {
            AppDomain.CurrentDomain.AssemblyResolve -= ResolveShipped;
        }
    }

    private static bool IsNetFramework =>
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

    /// <summary>An assembly the module ships, whatever version was asked for.</summary>
    private static Assembly? ResolveShipped(object? sender, ResolveEventArgs args)
    {
        var path = Path.Combine(Directory, new AssemblyName(args.Name).Name + ".dll");
        return File.Exists(path) ? Assembly.LoadFrom(path) : null;
    }
}
