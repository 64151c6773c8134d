using System.Linq;
using System.Management.Automation;
using TalosImage.Core;
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
    [ValidateNotNullOrEmpty]
    public string? CacheDirectory { get; set; }

    protected override void EndProcessing()
    {
        var cacheDir = CacheDirectory is null ? CachePaths.DefaultCacheDirectory() : GetUnresolvedProviderPathFromPSPath(CacheDirectory);
        var patterns = Family.Select(Pattern).ToList();
        foreach (var entry in CacheInventory.List(cacheDir))
        {
            if (patterns.Count == 0 || patterns.Any(p => p.IsMatch(entry.Family)))
            {
                WriteObject(entry);
            }
        }
    }

    /// <summary>
    /// The wildcard pattern of <paramref name="family"/>, checked now: WildcardPattern parses lazily, so a malformed one
    /// ('[abc') would otherwise throw its own exception from the first match, with no ErrorId and no target.
    /// </summary>
    private WildcardPattern Pattern(string family)
    {
        var pattern = WildcardPattern.Get(family, WildcardOptions.IgnoreCase);
        try
        {
            pattern.IsMatch(string.Empty);
        }
        catch (WildcardPatternException e)
        {
            ThrowTerminatingError(ErrorRecordFor(new TalosException(TalosErrors.InvalidFamilyPattern,
                $"-Family '{family}' is not a valid wildcard pattern ({e.Message}); a family is <schematic>/<platform>-<arch>[-secureboot].<format>, with * and ? as wildcards and [ ] for a set (write `[ for a literal bracket).", family, e), family));
        }
        return pattern;
    }
}
