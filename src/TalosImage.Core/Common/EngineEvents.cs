using System;

namespace TalosImage.Core;

/// <summary>A progress report from long engine work (one per activity id).</summary>
public sealed record EngineProgress
{
    public int ActivityId { get; init; }
    public int? ParentActivityId { get; init; }
    public string Activity { get; init; } = "";
    public string Status { get; init; } = "";
    /// <summary>0..100, or -1 when unknown.</summary>
    public int PercentComplete { get; init; } = -1;
    public int SecondsRemaining { get; init; } = -1;
    public bool Completed { get; init; }
    public long BytesDone { get; init; }
    public long? BytesTotal { get; init; }
}

/// <summary>
/// How the engine reports what happens while it works. The cmdlets pump these onto the pipeline thread;
/// talos-order writes them to stderr. Implementations must be thread-safe: engine work runs in parallel.
/// </summary>
public interface IEngineEvents
{
    void Progress(EngineProgress progress);
    void Verbose(string message);
    void Warning(string message);
}

/// <summary>Discards every event.</summary>
public sealed class NullEngineEvents : IEngineEvents
{
    public static readonly NullEngineEvents Instance = new();
    public void Progress(EngineProgress progress) { }
    public void Verbose(string message) { }
    public void Warning(string message) { }
}

/// <summary>Formats progress for people: sizes, rates and times.</summary>
public static class Units
{
    public static string Bytes(long bytes)
    {
        string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1)
        {
            v /= 1024;
            u++;
        }
        return u == 0 ? $"{bytes} B" : $"{v:0.0} {units[u]}";
    }

    public static string Duration(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{t.TotalSeconds:0.0}s";
}
