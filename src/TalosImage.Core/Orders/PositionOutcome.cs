using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Orders;

/// <summary>What a real run did for one position: its artifacts, pushes, times and whether it failed.</summary>
public sealed record PositionOutcome
{
    /// <summary>The plan of the position, with the factory's schematic ID and paths where the factory's answer differed.</summary>
    public PlannedPosition Planned { get; init; } = new();
    /// <summary>Ok, Skipped (declined at -Confirm) or Failed; written in lower case (<see cref="Vocabulary.Word(PositionStatus)"/>).</summary>
    public PositionStatus Status { get; init; } = PositionStatus.Ok;
    public string? Error { get; init; }
    public string? ErrorId { get; init; }
    public TalosErrorKind ErrorKind { get; init; } = TalosErrorKind.InvalidOperation;
    /// <summary>The stage that failed.</summary>
    public PipelineStage? FailedStage { get; init; }
    public TalosArtifact? Download { get; init; }
    public double DownloadSeconds { get; init; }
    public TalosArtifact? Expanded { get; init; }
    public double ExpandSeconds { get; init; }
    public IReadOnlyList<TalosPublishResult> Pushes { get; init; } = Array.Empty<TalosPublishResult>();
    /// <summary>The position's VM templates, one per planned template (a failed one with its error).</summary>
    public IReadOnlyList<TemplateOutcome> Templates { get; init; } = Array.Empty<TemplateOutcome>();
    public double Seconds { get; init; }

    public bool Failed => Status == PositionStatus.Failed;

    /// <summary>
    /// Bytes fetched from the factory for this position: the file's size when this position's save started the
    /// transfer; 0 on a cache hit and for positions that shared another position's transfer (counted once).
    /// </summary>
    public long BytesDownloaded { get; init; }

    public long BytesPushed => Pushes.Sum(p => p.BytesSent);

    /// <summary>True when this position downloaded, expanded or published anything.</summary>
    public bool Changed =>
        Download is { FromCache: false } || Expanded is { FromCache: false } || Pushes.Any(p => p.Is(PublishStatus.Published)) ||
        Templates.Any(t => t.Results.Any(r => r.Status != nameof(TemplateStatus.Found)));

    /// <summary>Every cache file this position uses: retention never removes them in the same run.</summary>
    public IEnumerable<string> CacheFiles()
    {
        foreach (var path in new[] { Planned.CachePath, Planned.ExpandedPath, Download?.Path, Expanded?.Path })
        {
            if (!string.IsNullOrEmpty(path))
            {
                yield return path!;
            }
        }
    }
}

/// <summary>What the template stage did on one endpoint: the template (Created or Found) and what keep-N retired, or the failure.</summary>
public sealed record TemplateOutcome
{
    public PlannedTemplate Planned { get; init; } = new();
    /// <summary>The template first, then the retired ones; empty when it failed.</summary>
    public IReadOnlyList<TalosVMTemplate> Results { get; init; } = Array.Empty<TalosVMTemplate>();
    public string? Error { get; init; }
    public string? ErrorId { get; init; }
    public double Seconds { get; init; }
    public bool Failed => Error is not null;
}
