using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Artifacts;

/// <summary>
/// Something that takes a download's body as it arrives (an expansion overlapped with the download,
/// <see cref="Expansion.OverlappedExpansion"/>). The downloader calls, in order: <see cref="Begin"/> when a body from
/// byte 0 starts, <see cref="AppendAsync"/> for each block received, <see cref="EndOfBody"/> when every announced
/// byte arrived, then, once the download is verified and before either file gets its final name,
/// <see cref="FinishAsync"/>; after the download got its final name, <see cref="Commit"/>. Any failure, cancellation,
/// restart or resume of the transfer calls <see cref="Abandon"/> instead, which leaves nothing of the observer's.
/// </summary>
internal interface IBodyObserver
{
    /// <summary>A body from byte 0 begins (<paramref name="total"/>: its announced length). False: the observer does not take it (it took one before).</summary>
    bool Begin(long? total);

    /// <summary>The next <paramref name="count"/> bytes of the body (copied before it returns; may wait while the observer is behind).</summary>
    ValueTask AppendAsync(byte[] buffer, int count, CancellationToken ct);

    /// <summary>Every byte of the body arrived (its length as announced).</summary>
    void EndOfBody();

    /// <summary>
    /// The download is verified (length, SHA-256 <paramref name="sha256"/>): completes the observer's work under a
    /// temporary name. False when it has none (abandoned, or it could not use this body); then nothing of it stays.
    /// </summary>
    Task<bool> FinishAsync(string sha256, long size, CancellationToken ct);

    /// <summary>The download has its final name and record (<paramref name="downloaded"/>): the observer's result gets its own.</summary>
    void Commit(TalosArtifact downloaded);

    /// <summary>Stops and removes whatever the observer wrote; <paramref name="why"/> for the verbose stream. Safe to call more than once.</summary>
    void Abandon(string why);
}
