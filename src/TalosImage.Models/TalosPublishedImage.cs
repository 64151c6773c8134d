using System;

namespace TalosImage;

/// <summary>
/// One image TalosImage published on a remote target (Get-TalosPublished), or one removed or kept by remote retention
/// (Clear-TalosPublished, push.retention). Recognised only by TalosImage's own naming
/// (<c>talos-&lt;schematic12&gt;-&lt;version&gt;-&lt;platform&gt;-&lt;arch&gt;[-secureboot].&lt;ext&gt;</c>) and, over SSH,
/// its <c>.sha256</c> sidecar.
/// </summary>
public sealed record TalosPublishedImage
{
    /// <summary>ProxmoxApi or Ssh (<see cref="PublishTransport"/>).</summary>
    public string Transport { get; init; } = "";
    /// <summary>The Proxmox API endpoint (scheme://host:port), or the SSH host.</summary>
    public string Endpoint { get; init; } = "";
    /// <summary>The Proxmox node listed through (for a shared storage: the first one), or the SSH host.</summary>
    public string Host { get; init; } = "";
    /// <summary>The Proxmox storage id, or the remote folder.</summary>
    public string Storage { get; init; } = "";
    /// <summary>True for a Proxmox storage shared by the cluster's nodes (handled once).</summary>
    public bool Shared { get; init; }
    /// <summary>The Proxmox volume id (<c>local:iso/talos-....iso</c>), or the remote path.</summary>
    public string Path { get; init; } = "";
    public string Name { get; init; } = "";
    public string Version { get; init; } = "";
    /// <summary>The first 12 characters of the schematic ID (what the name carries).</summary>
    public string SchematicId { get; init; } = "";
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "";
    public bool SecureBoot { get; init; }
    /// <summary>iso, raw or qcow2.</summary>
    public string Format { get; init; } = "";
    /// <summary>schematic12/platform-arch[-secureboot].format: retention keeps the newest N versions of each.</summary>
    public string Family { get; init; } = "";
    public long Size { get; init; }
    /// <summary>From the sidecar over SSH; empty over the API (Proxmox reports no checksum of a stored volume).</summary>
    public string Sha256 { get; init; } = "";
    /// <summary>The VMs and templates whose configuration references it (<c>pve1/100 (VM name, ide2)</c>, or a .conf path over SSH).</summary>
    public string[] UsedBy { get; init; } = Array.Empty<string>();
    /// <summary>Published, InUse, Removed, WouldRemove or Failed (<see cref="PublishedState"/>).</summary>
    public string State { get; init; } = nameof(PublishedState.Published);
    public string? Error { get; init; }
    public string? ErrorId { get; init; }

    public override string ToString() => Path;
}
