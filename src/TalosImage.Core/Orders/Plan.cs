using System;
using System.Collections.Generic;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Orders;

/// <summary>Where and how a position's file goes: an SSH host folder or a Proxmox API storage.</summary>
public sealed record PlannedTarget
{
    /// <summary>Ssh or ProxmoxApi.</summary>
    public string Transport { get; init; } = "Ssh";
    /// <summary>Host name (SSH) or endpoint name (API).</summary>
    public string Host { get; init; } = "";
    /// <summary>Remote folder (SSH) or storage (API).</summary>
    public string Destination { get; init; } = "";
    public PushHost? SshHost { get; init; }
    public ProxmoxEndpointConfig? Proxmox { get; init; }

    public override string ToString() => Transport == "Ssh" ? $"{Host}:{Destination}" : $"{Host}/{Destination}";
}

/// <summary>A VM template a position asks for on one push.proxmox endpoint (issue 19): made after the publish, on <see cref="Node"/>.</summary>
public sealed record PlannedTemplate
{
    /// <summary>The push target (a ProxmoxApi one) whose published disk image the template is made from.</summary>
    public PlannedTarget Target { get; init; } = new();
    public string Node { get; init; } = "";
    public Publishing.Proxmox.TemplateSettings Settings { get; init; } = new();
    /// <summary>The VM name it gets (the given one, or the default for the position's version); "" when the version is not known.</summary>
    public string Name { get; init; } = "";

    public override string ToString() => $"{Target.Host}/{Node}";
}

/// <summary>Everything decided about one position before anything is fetched. Immutable.</summary>
public sealed record PlannedPosition
{
    public string OrderId { get; init; } = "";
    public int Index { get; init; }
    public string Name { get; init; } = "";
    public Position Position { get; init; } = new();
    public VersionRequest Request { get; init; } = VersionRequest.Latest;
    /// <summary>The resolved version, or null when it could not be resolved (see <see cref="Error"/>).</summary>
    public string? Version { get; init; }
    /// <summary>Factory, GitHub, Unchecked (an exact version not checked against a source) or Cache.</summary>
    public string VersionSource { get; init; } = "";
    public string SchematicId { get; init; } = "";
    /// <summary>given (schematic_id), local (computed from the customization) or factory (created there).</summary>
    public string SchematicSource { get; init; } = "";
    public Schematic? Schematic { get; init; }
    public string Platform { get; init; } = "";
    public string Arch { get; init; } = "";
    public string Format { get; init; } = "";
    public bool SecureBoot { get; init; }
    public string Asset { get; init; } = "";
    public string Url { get; init; } = "";
    public string InstallerImage { get; init; } = "";
    /// <summary>Where the artifact is (or will be) in the cache.</summary>
    public string CachePath { get; init; } = "";
    /// <summary>Set when the image is expanded locally (decompress_raw, or prefer_decompressed for a push).</summary>
    public string? ExpandedPath { get; init; }
    /// <summary>False for a pxe position without <c>download: true</c>: its URL is recorded and nothing is fetched (the manifest has no download for it).</summary>
    public bool Download { get; init; } = true;
    public bool PushEnabled { get; init; }
    /// <summary>What is pushed: the expanded raw (prefer_decompressed) or the downloaded file.</summary>
    public bool PushExpanded { get; init; }
    /// <summary>Push the compressed file and expand it on the host.</summary>
    public bool RemoteExpand { get; init; }
    /// <summary>push.replace / push.replace_in_use of the position.</summary>
    public bool Replace { get; init; }
    public bool ReplaceInUse { get; init; }
    /// <summary>push.retention.keep_versions of the position; null = no remote retention.</summary>
    public int? RetentionKeep { get; init; }
    public IReadOnlyList<PlannedTarget> Targets { get; init; } = Array.Empty<PlannedTarget>();
    /// <summary>VM templates to make from the published disk image, one per push.proxmox endpoint (a position's template:).</summary>
    public IReadOnlyList<PlannedTemplate> Templates { get; init; } = Array.Empty<PlannedTemplate>();
    /// <summary>Set by a dry run: the artifact is in the cache and verified by its metadata, so a run would not download it.</summary>
    public bool Cached { get; init; }
    /// <summary>Set by a dry run: the expanded image is in the cache, so a run would not expand it again.</summary>
    public bool ExpandedCached { get; init; }
    /// <summary>Why this position cannot run; null when it can.</summary>
    public string? Error { get; init; }
    public string? ErrorId { get; init; }
    /// <summary>The kind of <see cref="ErrorId"/>, so that every host reports it in the same category.</summary>
    public TalosErrorKind ErrorKind { get; init; } = TalosErrorKind.InvalidOperation;
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    /// <summary>What the position's names were checked against before the run (a dry run's plan), e.g. "extension names of Talos v1.11.5 checked against the list cached 3 days ago (path)".</summary>
    public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Extensions => Schematic?.Customization.OfficialExtensions ?? Array.Empty<string>();
}

public sealed record PlannedOrder
{
    public Order Order { get; init; } = new();
    public string ManifestPath { get; init; } = "";
    public IReadOnlyList<PlannedPosition> Positions { get; init; } = Array.Empty<PlannedPosition>();
}

/// <summary>The plan of a run: per order its manifest path, per position its effective settings. Immutable.</summary>
public sealed record Plan
{
    public OrderInput Input { get; init; } = new();
    public IReadOnlyList<PlannedOrder> Orders { get; init; } = Array.Empty<PlannedOrder>();
    public DateTimeOffset CreatedAt { get; init; }
    public TalosConfig Config => Input.Config;
}
