namespace TalosImage;

/// <summary>The outcome of one order (Invoke-TalosOrder, talos-order).</summary>
public sealed class TalosOrderResult
{
    public string OrderId { get; init; } = "";
    public string Customer { get; init; } = "";
    /// <summary>Succeeded, PartiallyFailed, Failed, or Planned (dry run).</summary>
    public string Status { get; init; } = "";
    public int Positions { get; init; }
    public int Succeeded { get; init; }
    public int Failed { get; init; }
    public int Skipped { get; init; }
    /// <summary>True when anything was downloaded, expanded, published or removed.</summary>
    public bool Changed { get; init; }
    public string ManifestPath { get; init; } = "";
    public long BytesDownloaded { get; init; }
    public long BytesPushed { get; init; }
    public double Duration { get; init; }
    public bool DryRun { get; init; }

    public override string ToString() => $"{OrderId}: {Status}";
}
