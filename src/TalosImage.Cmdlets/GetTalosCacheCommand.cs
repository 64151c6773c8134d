using System.Linq;
using System.Management.Automation;
using TalosImage.Core.Cache;

namespace TalosImage.Cmdlets;

/// <summary>Lists the artifacts in the cache (downloaded and expanded), newest version first within each family.</summary>
[Cmdlet(VerbsCommon.Get, "TalosCache")]
[OutputType(typeof(TalosCacheEntry))]
public sealed class GetTalosCacheCommand : TalosCmdlet
{
    /// <summary>Families to list (schematic/platform-arch[-secureboot].format), wildcards allowed.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string[] Family { get; set; } = System.Array.Empty<string>();

    [Parameter]
    public string? CacheDirectory { get; set; }

    protected override void EndProcessing()
    {
        var cacheDir = CacheDirectory is null ? CachePaths.DefaultCacheDirectory() : GetUnresolvedProviderPathFromPSPath(CacheDirectory);
        var patterns = Family.Select(f => WildcardPattern.Get(f, WildcardOptions.IgnoreCase)).ToList();
        foreach (var entry in CacheInventory.List(cacheDir))
        {
            if (patterns.Count == 0 || patterns.Any(p => p.IsMatch(entry.Family)))
            {
                WriteObject(entry);
            }
        }
    }
}
