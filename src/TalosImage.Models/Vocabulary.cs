namespace TalosImage;

// The words the output records carry. The records keep them as strings (TalosArtifact.Kind, TalosPublishResult.Status
// and .Transport, TalosCacheEntry.Kind and .State): ConvertTo-Json and Ansible's win_powershell turn an enum into a
// number or an object, and scripts compare these properties with the words. The engine uses the enums and writes
// their names (Enum.ToString()), so the words are spelled once, here.

/// <summary>What a cached artifact is (<see cref="TalosArtifact.Kind"/>, <see cref="TalosCacheEntry.Kind"/>).</summary>
public enum ArtifactKind
{
    /// <summary>A factory asset as the factory served it.</summary>
    Downloaded,
    /// <summary>A disk image expanded beside its compressed source.</summary>
    Expanded,
    /// <summary>A cache file whose artifact is gone: a partial download, a side file, a temporary file (Get-TalosCache only).</summary>
    Leftover,
}

/// <summary>The outcome of one publish (<see cref="TalosPublishResult.Status"/>).</summary>
public enum PublishStatus
{
    /// <summary>Sent (or fetched by the node) and verified.</summary>
    Published,
    /// <summary>Already there and identical: nothing sent.</summary>
    Skipped,
    /// <summary>Not published; Error and ErrorId say why.</summary>
    Failed,
}

/// <summary>How a result was published (<see cref="TalosPublishResult.Transport"/>).</summary>
public enum PublishTransport
{
    /// <summary>ssh and rsync.</summary>
    Ssh,
    /// <summary>The Proxmox VE API.</summary>
    ProxmoxApi,
}

/// <summary>A cache entry's state (<see cref="TalosCacheEntry.State"/>).</summary>
public enum CacheEntryState
{
    Cached,
    Removed,
    WouldRemove,
}

/// <summary>An image TalosImage published on a remote target (<see cref="TalosPublishedImage.State"/>).</summary>
public enum PublishedState
{
    /// <summary>There, and retention would keep it (or no retention was asked).</summary>
    Published,
    /// <summary>Older than the versions kept, but a VM or template uses it (or its use could not be read): kept.</summary>
    InUse,
    Removed,
    /// <summary>-WhatIf, or declined at -Confirm: would be removed.</summary>
    WouldRemove,
    /// <summary>The removal failed (<see cref="TalosPublishedImage.Error"/>).</summary>
    Failed,
}

/// <summary>How an order went (<see cref="TalosOrderResult.Status"/>, and a manifest's status).</summary>
public enum OrderStatus
{
    /// <summary>A dry run with no position failing its planning: nothing was done.</summary>
    Planned,
    /// <summary>Every position ok or skipped.</summary>
    Succeeded,
    /// <summary>Some positions failed, not all.</summary>
    PartiallyFailed,
    /// <summary>Every position failed.</summary>
    Failed,
}

/// <summary>What happened to a VM template (<see cref="TalosVMTemplate.Status"/>).</summary>
public enum TemplateStatus
{
    /// <summary>Made now from the image.</summary>
    Created,
    /// <summary>Already there, recording the same image (SHA-256): returned, not made again.</summary>
    Found,
    /// <summary>An older template of the same family removed by keep-N.</summary>
    Retired,
}

/// <summary>
/// What a downloaded artifact's SHA-256 was checked against (<see cref="TalosArtifact.HashSource"/>, a manifest's
/// download <c>hash_source</c>, the <c>.meta.json</c>'s <c>hash_source</c>). The records carry the word
/// (<c>factory-sha256</c>, <c>factory-sha512</c>, <c>local</c>) that the engine's Vocabulary.Word writes.
/// </summary>
public enum HashSource
{
    /// <summary>Computed here while downloading; the factory serves no checksum (the public one answers 402, others 404).</summary>
    Local,
    /// <summary>Verified against the factory's <c>&lt;asset&gt;.sha256</c> (enterprise factories).</summary>
    FactorySha256,
    /// <summary>Verified against the factory's <c>&lt;asset&gt;.sha512</c> (enterprise factories).</summary>
    FactorySha512,
}
