using System;

namespace TalosImage.Core;

/// <summary>
/// A position's outcome in a run (<see cref="Orders.PositionOutcome.Status"/>); the manifest and the run log write
/// it in lower case (<see cref="Vocabulary.Word(PositionStatus)"/>).
/// </summary>
public enum PositionStatus
{
    Ok,
    /// <summary>Declined at -Confirm.</summary>
    Skipped,
    Failed,
}

/// <summary>The stages a position goes through; the manifest, the run log and the Unexpected&lt;Stage&gt;Error ids (TalosErrors.Unexpected) name them.</summary>
public enum PipelineStage
{
    Plan,
    Schematic,
    Download,
    Expand,
    Publish,
    /// <summary>A VM template from the published disk image (a position with template:).</summary>
    Template,
}

/// <summary>
/// The one place that turns the engine's enums into the words the records, manifests and logs carry, and back.
/// Output records keep strings (see TalosImage.Models' Vocabulary.cs for why); comparisons go through these methods.
/// </summary>
public static class Vocabulary
{
    /// <summary>The words of a manifest entry's and a push target's status, and of the run log.</summary>
    public static class EntryWord
    {
        public const string Ok = "ok";
        public const string Skipped = "skipped";
        public const string Failed = "failed";
        /// <summary>A dry run's entry or target: what a real run would do.</summary>
        public const string Planned = "planned";
        /// <summary>A push target a failed or declined position never reached.</summary>
        public const string NotRun = "not-run";
    }

    /// <summary>The status word a manifest entry and the run log use for a position (ok, skipped, failed).</summary>
    public static string Word(this PositionStatus status) => status switch
    {
        PositionStatus.Ok => EntryWord.Ok,
        PositionStatus.Skipped => EntryWord.Skipped,
        _ => EntryWord.Failed,
    };

    /// <summary>The stage's name in manifests and logs: plan, schematic, download, expand, publish.</summary>
    public static string Word(this PipelineStage stage) => stage.ToString().ToLowerInvariant();

    /// <summary>True when the result has <paramref name="status"/> (the word compared exactly, as the engine writes it).</summary>
    public static bool Is(this TalosPublishResult result, PublishStatus status) =>
        string.Equals(result.Status, status.ToString(), StringComparison.Ordinal);

    /// <summary>True when the artifact is of <paramref name="kind"/> (case-insensitive: metadata written by hand or by older versions).</summary>
    public static bool Is(this TalosArtifact artifact, ArtifactKind kind) => IsKind(artifact.Kind, kind);

    /// <summary>True when a recorded kind word (artifact, cache entry, metadata) names <paramref name="kind"/>.</summary>
    public static bool IsKind(string? word, ArtifactKind kind) =>
        string.Equals(word, kind.ToString(), StringComparison.OrdinalIgnoreCase);

    /// <summary>The manifest's word for a publish result: ok, skipped or failed.</summary>
    public static string ManifestWord(string status) =>
        status == nameof(PublishStatus.Published) ? EntryWord.Ok
        : status == nameof(PublishStatus.Skipped) ? EntryWord.Skipped
        : status == nameof(PublishStatus.Failed) ? EntryWord.Failed
        : status.ToLowerInvariant();

    /// <summary>The orders file's spelling of a Proxmox method: upload, download-url.</summary>
    public static string Word(this ProxmoxMethod method) => method == ProxmoxMethod.DownloadUrl ? "download-url" : "upload";

    /// <summary>The Proxmox methods an orders file may name, in its spelling.</summary>
    public static readonly string[] ProxmoxMethodWords = { Word(ProxmoxMethod.Upload), Word(ProxmoxMethod.DownloadUrl) };

    /// <summary>The word of a hash source: local, factory-sha256, factory-sha512.</summary>
    public static string Word(this HashSource source) => source switch
    {
        HashSource.FactorySha256 => "factory-sha256",
        HashSource.FactorySha512 => "factory-sha512",
        _ => "local",
    };

    /// <summary>The method an orders file's word names (upload unless download-url).</summary>
    public static ProxmoxMethod ProxmoxMethodOf(string? word) =>
        string.Equals(word, Word(ProxmoxMethod.DownloadUrl), StringComparison.Ordinal) ? ProxmoxMethod.DownloadUrl : ProxmoxMethod.Upload;
}
