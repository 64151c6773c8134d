using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Cache;

/// <summary>What a clearing removes: every artifact, or what is beyond the newest versions per family.</summary>
public sealed record CacheClearing
{
    /// <summary>Every artifact (Clear-TalosCache -All, --purge-cache, cache_policy.purge_before).</summary>
    public bool All { get; init; }

    /// <summary>Versions kept per family when not <see cref="All"/>.</summary>
    public int KeepVersions { get; init; } = 3;

    /// <summary>Paths never removed (an order run's own artifacts).</summary>
    public IReadOnlyCollection<string> Pinned { get; init; } = Array.Empty<string>();

    /// <summary>Report what would be removed (WouldRemove) and remove nothing; takes no lock.</summary>
    public bool DryRun { get; init; }
}

/// <summary>
/// The retention stage's one entry point, for Clear-TalosCache and the order runner alike: purge or retention
/// (<see cref="CacheRetention"/>) under the cache lock as <see cref="CacheAccess"/> says (a dry run reads only).
/// </summary>
public static class CacheCleaner
{
    public static async Task<IReadOnlyList<TalosCacheEntry>> ClearAsync(string cacheDir, CacheClearing clearing, CacheAccess access, IEngineEvents events, CancellationToken ct)
    {
        events ??= NullEngineEvents.Instance;
        if (clearing.DryRun)
        {
            return Preview(cacheDir, clearing, events);
        }
        using var held = await access.EnterAsync(cacheDir, events, ct).ConfigureAwait(false);
        return Run(cacheDir, clearing, events);
    }

    /// <summary>What <see cref="ClearAsync"/> would remove (WouldRemove), reading only: no lock is needed.</summary>
    public static IReadOnlyList<TalosCacheEntry> Preview(string cacheDir, CacheClearing clearing, IEngineEvents events) =>
        Run(cacheDir, clearing with { DryRun = true }, events ?? NullEngineEvents.Instance);

    private static IReadOnlyList<TalosCacheEntry> Run(string cacheDir, CacheClearing clearing, IEngineEvents events) =>
        clearing.All
            ? CacheRetention.Purge(cacheDir, clearing.DryRun, events)
            : CacheRetention.Apply(cacheDir, clearing.KeepVersions, clearing.Pinned, clearing.DryRun, events);
}
