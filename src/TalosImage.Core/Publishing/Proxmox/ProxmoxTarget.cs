using System;
using System.Collections.Generic;
using TalosImage.Core.Http;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>One Proxmox VE API endpoint, the nodes to publish to and the storage on them.</summary>
public sealed record ProxmoxTarget
{
    /// <summary>The API endpoint, e.g. https://pve1:8006 (any path is ignored; /api2/json is added).</summary>
    public Uri Endpoint { get; init; } = new("https://localhost:8006");

    /// <summary>Node names as Proxmox knows them (pvecm nodes); at least one.</summary>
    public IReadOnlyList<string> Nodes { get; init; } = Array.Empty<string>();

    /// <summary>Storage id, e.g. local. ISO images need content <c>iso</c> on it, disk images content <c>import</c>.</summary>
    public string Storage { get; init; } = "local";

    /// <summary>
    /// SHA-256 fingerprint of the endpoint's leaf certificate (<c>AA:BB:...</c> or 64 hex digits). When set, exactly
    /// that certificate is accepted, whether or not its chain is trusted; any other is refused. When null, only a
    /// certificate whose chain and name the platform trusts is accepted.
    /// </summary>
    public string? FingerprintSha256 { get; init; }

    public ProxmoxMethod Method { get; init; } = ProxmoxMethod.Upload;

    /// <summary>
    /// A volume of the same name but another size or SHA-256 is replaced (-Force, <c>push.replace: true</c>) instead of
    /// failing with ProxmoxVolumeConflict: when no VM or template uses it, it is removed and the artifact sent again.
    /// </summary>
    public bool Replace { get; init; }

    /// <summary>With <see cref="Replace"/>: replace it even when a VM or template configuration references it (-ReplaceInUse, <c>push.replace_in_use: true</c>).</summary>
    public bool ReplaceInUse { get; init; }

    private static readonly System.Text.RegularExpressions.Regex NodePattern = new("^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);
    private static readonly System.Text.RegularExpressions.Regex StoragePattern = new("^[A-Za-z][A-Za-z0-9._-]{0,127}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// Null when <paramref name="node"/> can be a Proxmox node name (a host name), else why not. Node and storage
    /// names become segments of API paths: a '..', '/' or '?' there would send the token to another API path.
    /// </summary>
    public static string? NodeProblem(string? node) =>
        node is not null && NodePattern.IsMatch(node) ? null
            : $"'{SafeText.ForMessage(node, 100)}' is not a Proxmox node name: use the name pvecm nodes shows (letters, digits, '-' and '.')";

    /// <summary>Null when <paramref name="storage"/> can be a Proxmox storage id, else why not.</summary>
    public static string? StorageProblem(string? storage) =>
        storage is not null && StoragePattern.IsMatch(storage) ? null
            : $"'{SafeText.ForMessage(storage, 100)}' is not a Proxmox storage id: it starts with a letter and has letters, digits, '-', '_' and '.'";
}

/// <summary>Timing of the Proxmox transport.</summary>
public sealed record ProxmoxOptions
{
    /// <summary>Time between two task status polls.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for one Proxmox task (upload import, download-url) to stop.</summary>
    public TimeSpan TaskTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Longest time for one upload request, body included (the whole file travels inside it). A body write that
    /// makes no progress for <see cref="HttpOptions.ReadTimeout"/> fails sooner.
    /// </summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromHours(3);

    /// <summary>Connect/header/read timeouts and retries of the API requests (uploads are never retried).</summary>
    public HttpOptions Http { get; init; } = HttpOptions.Default with { HeadersTimeout = TimeSpan.FromMinutes(2), MaxAttempts = 3 };

    public static ProxmoxOptions Default { get; } = new();
}
