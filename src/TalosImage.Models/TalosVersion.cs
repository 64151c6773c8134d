using System;

namespace TalosImage;

/// <summary>A resolved Talos version (Resolve-TalosVersion). <see cref="Version"/> binds to the next stage's -Version.</summary>
public sealed class TalosVersion
{
    /// <summary>Normalised tag, e.g. v1.11.5 or v1.12.0-beta.1.</summary>
    public string Version { get; init; } = "";
    /// <summary>Factory, GitHub, or Unchecked (an exact version planned without asking a source).</summary>
    public string Source { get; init; } = "";
    /// <summary>What was asked for: exact, latest or latest-in-minor (with its argument).</summary>
    public string Request { get; init; } = "";
    public bool IsPrerelease { get; init; }
    /// <summary>vMAJOR.MINOR</summary>
    public string Minor { get; init; } = "";
    /// <summary>True when the answer came from the on-disk version cache because the source was unreachable.</summary>
    public bool FromCache { get; init; }
    public DateTimeOffset? PublishedAt { get; init; }

    public override string ToString() => Version;
}
