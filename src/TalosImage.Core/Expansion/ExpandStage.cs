using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;

namespace TalosImage.Core.Expansion;

/// <summary>
/// The expansion stage's one entry point, for Expand-TalosImage and the order runner alike: <see cref="Plan"/>
/// describes the source, names the destination and finds a verified expansion of this very source (the cache-hit
/// answer, taken unless Force); <see cref="RunAsync"/> returns it, or expands while holding the lock of the cache the
/// source or the destination lies in (as <see cref="CacheAccess"/> says; a file outside any cache needs none).
/// </summary>
public sealed class ExpandStage
{
    private readonly IEngineEvents _events;
    private readonly ExpandOptions _options;
    private readonly CacheAccess _access;
    private readonly ImageExpander _expander;

    public ExpandStage(IEngineEvents events, ExpandOptions? options = null, CacheAccess? access = null)
    {
        _events = events ?? NullEngineEvents.Instance;
        _options = options ?? new ExpandOptions();
        _access = access ?? CacheAccess.PerCall();
        _expander = new ImageExpander(_events, _options);
    }

    /// <summary>
    /// What expanding <paramref name="source"/> into <paramref name="destination"/> (default: beside it) means. Reads
    /// no image bytes except to hash a source whose SHA-256 nothing records, when an earlier expansion may match it.
    /// </summary>
    public ExpandStep Plan(TalosArtifact source, string? destination, CancellationToken ct)
    {
        var format = string.IsNullOrEmpty(source.Format) ? ImageExpander.FormatOf(source.Path) : source.Format;
        var target = destination ?? (format is null ? source.Path + " (expanded)" : ImageExpander.DefaultDestination(source.Path, format));
        var existing = _options.Force ? null : ImageExpander.FindExpanded(source, destination, ct);
        return new ExpandStep(source, destination, target, existing);
    }

    /// <summary>
    /// An expansion of <paramref name="sourcePath"/> (being downloaded, <paramref name="format"/>) into
    /// <paramref name="destination"/> that takes the download's body as it arrives, for <see cref="Artifacts.SaveOptions"/>;
    /// null when it cannot (see <see cref="ImageExpander.TryOverlap"/>) or Force is set. The caller holds the cache lock.
    /// </summary>
    internal OverlappedExpansion? Overlap(string format, string sourcePath, string destination) =>
        _options.Force ? null : _expander.TryOverlap(format, sourcePath, destination);

    /// <summary>The expanded artifact of <paramref name="step"/>: the verified expansion as planned, else a new one.</summary>
    public async Task<TalosArtifact> RunAsync(ExpandStep step, CancellationToken ct)
    {
        if (step.Existing is { } existing)
        {
            _events.Verbose($"{existing.Path}: already expanded from {existing.SourcePath} (SHA-256 {existing.Sha256}).");
            return existing;
        }
        var cacheDir = CachePaths.CacheDirOf(step.Source.Path) ?? CachePaths.CacheDirOf(step.Target);
        if (cacheDir is null || !Directory.Exists(cacheDir))
        {
            return await _expander.ExpandAsync(step.Source, step.Destination, ct).ConfigureAwait(false);
        }
        using var held = await _access.EnterAsync(cacheDir, _events, ct).ConfigureAwait(false);
        return await _expander.ExpandAsync(step.Source, step.Destination, ct).ConfigureAwait(false);
    }
}

/// <summary>
/// A planned expansion: the source, the destination asked for (null: beside the source), the path it will have, and
/// a verified earlier expansion of the same source when that is the answer.
/// </summary>
public sealed record ExpandStep(TalosArtifact Source, string? Destination, string Target, TalosArtifact? Existing)
{
    /// <summary>What a run would do, for -WhatIf and -Confirm.</summary>
    public string Action => $"Expand {Path.GetFileName(Source.Path)}";
}
