using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using TalosImage.Core.Cache;
using TalosImage.Core.Completion;
using TalosImage.Core.Factory;

namespace TalosImage.Cmdlets;

/// <summary>Shared by the completers: turning values into CompletionResults and reading the parameters typed so far.</summary>
public abstract class TalosCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        return Values(word, fakeBoundParameters ?? new Hashtable())
            .Select(v => new CompletionResult(v.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', ',', ';', '(', ')', '{', '}', '@', '#' }) >= 0 ? "'" + v.Replace("'", "''") + "'" : v, v, CompletionResultType.ParameterValue, v));
    }

    protected abstract IEnumerable<string> Values(string word, IDictionary bound);

    /// <summary>-CacheDirectory as typed so far, else the per-user cache folder.</summary>
    protected static string CacheDirectory(IDictionary bound) =>
        bound["CacheDirectory"] is string dir && dir.Length > 0 ? FileSystemPath(dir) : CachePaths.DefaultCacheDirectory();

    /// <summary>A path as typed, relative to the session's current folder (not the process's).</summary>
    protected static string FileSystemPath(string path)
    {
        if (Path.IsPathRooted(path))
        {
            return path;
        }
        return Path.Combine(CurrentFileSystemLocation() ?? Environment.CurrentDirectory, path);
    }

    /// <summary>
    /// The session's current file system folder. A completer runs on the pipeline thread while TabExpansion2's
    /// pipeline is running, where Runspace.SessionStateProxy refuses ("A pipeline is already running"); a script block
    /// invoked here runs in that pipeline and may ask.
    /// </summary>
    private static string? CurrentFileSystemLocation()
    {
        try
        {
            var result = ScriptBlock.Create("$ExecutionContext.SessionState.Path.CurrentFileSystemLocation.ProviderPath").Invoke();
            return result.Count == 1 && result[0]?.BaseObject is string folder && folder.Length > 0 ? folder : null;
        }
        catch (Exception e) when (e is RuntimeException or PSInvalidOperationException)
        {
            return null;
        }
    }
}

public sealed class PlatformCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.Platforms(word);
}

public sealed class ArchitectureCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.Architectures(word);
}

public sealed class FormatCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.Formats(word);
}

/// <summary>Versions from the cached version lists (Resolve-TalosVersion fills them).</summary>
public sealed class VersionCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.Versions(CacheDirectory(bound), word);
}

public sealed class MinorCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.Minors(CacheDirectory(bound), word);
}

/// <summary>Schematic IDs that have artifacts in the cache.</summary>
public sealed class SchematicIdCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) => CompletionValues.SchematicIds(CacheDirectory(bound), word);
}

/// <summary>The orderids of the file given to -Orders.</summary>
public sealed class OrderIdCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound) =>
        bound["Orders"] is string orders && orders.Length > 0 ? CompletionValues.OrderIds(FileSystemPath(orders), word) : Array.Empty<string>();
}

/// <summary>Official extensions of -Version (or the newest cached release), from the cache or, once, from the factory.</summary>
public sealed class ExtensionCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound)
    {
        var factory = bound["FactoryUrl"] is string url && url.Length > 0 ? url : FactoryClient.DefaultUrl();
        return CompletionValues.ExtensionsAsync(CacheDirectory(bound), factory, bound["Version"] as string, word, TimeSpan.FromSeconds(3), CancellationToken.None)
            .GetAwaiter().GetResult();
    }
}

/// <summary>Official overlay names of -Version (or the newest cached release), from the cache or, once, from the factory.</summary>
public sealed class OverlayCompleter : TalosCompleter
{
    protected override IEnumerable<string> Values(string word, IDictionary bound)
    {
        var factory = bound["FactoryUrl"] is string url && url.Length > 0 ? url : FactoryClient.DefaultUrl();
        return CompletionValues.OverlaysAsync(CacheDirectory(bound), factory, bound["Version"] as string, word, TimeSpan.FromSeconds(3), CancellationToken.None)
            .GetAwaiter().GetResult();
    }
}
