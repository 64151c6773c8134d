namespace TalosImage;

/// <summary>The outcome of publishing one artifact to one host or storage (Publish-TalosImage).</summary>
public sealed class TalosPublishResult
{
    /// <summary>An empty result (for <c>[TalosImage.TalosPublishResult]@{ ... }</c> and object initialisers).</summary>
    public TalosPublishResult()
    {
    }

    /// <summary>A result for the local file <paramref name="path"/> with the identity <paramref name="identity"/>.</summary>
    public TalosPublishResult(ArtifactIdentity identity, string path)
    {
        Path = path;
        Sha256 = identity.Sha256;
        Size = identity.Size;
        SchematicId = identity.SchematicId;
        Version = identity.Version;
        Asset = identity.Asset;
    }

    public string Host { get; init; } = "";
    /// <summary>Remote path (SSH) or storage (API).</summary>
    public string Destination { get; init; } = "";
    /// <summary>Published, Skipped (already there and identical) or Failed (<see cref="PublishStatus"/>). -WhatIf writes no result: it says what it would publish.</summary>
    public string Status { get; init; } = "";
    public long BytesSent { get; init; }
    public double Duration { get; init; }
    public bool Verified { get; init; }
    public string? Error { get; init; }
    /// <summary>For a Failed result: the stable id of the failure (e.g. SshConnectionFailed, RemoteDecompressorMissing).</summary>
    public string? ErrorId { get; init; }
    /// <summary>Ssh or ProxmoxApi (<see cref="PublishTransport"/>).</summary>
    public string Transport { get; init; } = "";
    /// <summary>Proxmox volume id, e.g. local:iso/nocloud-amd64.iso.</summary>
    public string? VolumeId { get; init; }
    /// <summary>The local file that was published.</summary>
    public string Path { get; init; } = "";
    public string Sha256 { get; init; } = "";
    public long Size { get; init; }
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Asset { get; init; } = "";
    /// <summary>True when the remote side was expanded from a compressed push.</summary>
    public bool RemoteExpanded { get; init; }

    public override string ToString() => $"{Host}:{Destination}";
}
