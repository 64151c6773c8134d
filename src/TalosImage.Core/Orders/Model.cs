using System;
using System.Collections.Generic;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Orders;

/// <summary>Where a value came from, for messages at run time.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>config.yaml: talos_order.py's keys and this project's additions (docs/CONFIGURATION.md).</summary>
public sealed record TalosConfig
{
    public string? SourcePath { get; init; }
    public string CacheDir { get; init; } = "/var/cache/talos-sync";
    public string ProxmoxDefaultIsoDir { get; init; } = "/var/lib/vz/template/iso";
    public string ProxmoxDefaultImportDir { get; init; } = "/var/lib/vz/import";
    public string Arch { get; init; } = "amd64";
    public PushDefaults Push { get; init; } = new();
    public CachePolicy CachePolicy { get; init; } = new();
    public string FactoryUrl { get; init; } = Factory.FactoryCatalog.PublicFactoryUrl;
    /// <summary>defaults.factory_auth: the credential of a factory behind a login (names of environment variables only); null: none.</summary>
    public FactoryAuthConfig? FactoryAuth { get; init; }
    public string GitHubApiUrl { get; init; } = Factory.FactoryCatalog.PublicGitHubApiUrl;
    /// <summary>The factory's PXE host (defaults.pxe_url); null: derived from <see cref="FactoryUrl"/> (<see cref="Factory.FactoryCatalog.PxeBaseUrl"/>).</summary>
    public string? PxeUrl { get; init; }
    /// <summary>factory or github.</summary>
    public string VersionSource { get; init; } = "factory";
    public TimeSpan VersionCacheTtl { get; init; } = TimeSpan.FromHours(1);
    /// <summary>auto, native, managed or program (<see cref="Expansion.DecompressorChoice"/>); TALOSIMAGE_DECOMPRESSOR overrides it.</summary>
    public string Decompressor { get; init; } = "auto";
    public int Concurrency { get; init; } = 4;
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);
    public ManifestSettings Manifest { get; init; } = new();
    /// <summary>Named Proxmox API endpoints that positions publish to with push.proxmox.</summary>
    public IReadOnlyDictionary<string, ProxmoxEndpointConfig> Proxmox { get; init; } = new Dictionary<string, ProxmoxEndpointConfig>();
}

/// <summary>
/// defaults.factory_auth: a bearer token or HTTP Basic credentials for the factory, by the NAMES of the environment
/// variables that hold the secrets (<see cref="Factory.FactoryCredentials"/> reads them when a run needs the factory).
/// </summary>
public sealed record FactoryAuthConfig
{
    public string? BearerTokenEnv { get; init; }
    public string? Username { get; init; }
    public string? PasswordEnv { get; init; }
}

public sealed record PushDefaults
{
    public bool Enabled { get; init; }
    public string RsyncOpts { get; init; } = "-av --progress --inplace";
    public string SshOpts { get; init; } = "-o BatchMode=yes";
    public bool PreferDecompressed { get; init; }
    /// <summary>Push the compressed image and expand it on the host.</summary>
    public bool RemoteExpand { get; init; }
    /// <summary>auto, rsync or sftp (<see cref="Publishing.Ssh.SshTransport"/>).</summary>
    public string Transport { get; init; } = "auto";
    /// <summary>push.replace: a remote file or volume of the same name with another SHA-256 is replaced (else the push fails).</summary>
    public bool Replace { get; init; }
    /// <summary>push.replace_in_use: with Replace, even when a VM or template uses it.</summary>
    public bool ReplaceInUse { get; init; }
    /// <summary>push.retention.keep_versions: remote retention after a successful publish; null = off.</summary>
    public int? RetentionKeep { get; init; }
}

public sealed record CachePolicy
{
    public bool Enabled { get; init; } = true;
    public int KeepVersions { get; init; } = 3;
    public bool PurgeBefore { get; init; }
}

/// <summary>Precedence as in talos_order.py: path_template, then dir, then path, then ./manifest-{orderid}.yaml.</summary>
public sealed record ManifestSettings
{
    public string? PathTemplate { get; init; }
    public string? Dir { get; init; }
    public string? Path { get; init; }
}

/// <summary>A Proxmox VE API endpoint from config.yaml's proxmox section. The token is read from an environment variable.</summary>
public sealed record ProxmoxEndpointConfig
{
    public string Name { get; init; } = "";
    public string Url { get; init; } = "";
    public IReadOnlyList<string> Nodes { get; init; } = Array.Empty<string>();
    public string Storage { get; init; } = "local";
    public string TokenEnv { get; init; } = Publishing.Proxmox.ProxmoxApiToken.DefaultVariable;
    public string? Fingerprint { get; init; }
    /// <summary>upload or download-url.</summary>
    public string Method { get; init; } = ProxmoxMethod.Upload.Word();
}

public sealed record Order
{
    public string OrderId { get; init; } = "";
    public string Customer { get; init; } = "";
    public IReadOnlyList<Position> Positions { get; init; } = Array.Empty<Position>();
    public SourceLocation? Location { get; init; }
}

public sealed record Position
{
    public int Index { get; init; }
    public string Name { get; init; } = "<unnamed>";
    public string Product { get; init; } = "talos";
    public VersionRequest Version { get; init; } = VersionRequest.Latest;
    /// <summary>A schematic ID given as is; null when the position has a customization.</summary>
    public string? SchematicId { get; init; }
    /// <summary>The schematic built from customization (and overlay); null when <see cref="SchematicId"/> is given.</summary>
    public Schematic? Schematic { get; init; }
    public string Platform { get; init; } = "nocloud";
    /// <summary>Canonical format (aliases resolved).</summary>
    public string Format { get; init; } = "iso";
    public string Arch { get; init; } = "amd64";
    public bool SecureBoot { get; init; }
    public bool DecompressRaw { get; init; }
    /// <summary>Whether a run fetches the asset; false only for a pxe position without <c>download: true</c> (its URL is recorded).</summary>
    public bool Download { get; init; } = true;
    public PositionPush Push { get; init; } = new();
    /// <summary>A VM template from the published disk image on each push.proxmox endpoint; null: none.</summary>
    public PositionTemplate? Template { get; init; }
    public SourceLocation? Location { get; init; }
}

/// <summary>
/// A position's <c>template:</c>: make a Proxmox VM template from its disk image once it is published through the API
/// (on the first node of each push.proxmox endpoint, or <see cref="Node"/>). The settings are the engine's
/// (<see cref="Publishing.Proxmox.TemplateSettings"/>); <see cref="Node"/> picks where.
/// </summary>
public sealed record PositionTemplate
{
    public Publishing.Proxmox.TemplateSettings Settings { get; init; } = new();
    /// <summary>The node to make it on; null: the endpoint's first node.</summary>
    public string? Node { get; init; }
}

public sealed record PositionPush
{
    public bool Enabled { get; init; }
    public bool PreferDecompressed { get; init; }
    public bool RemoteExpand { get; init; }
    /// <summary>push.replace (default: defaults.push.replace).</summary>
    public bool Replace { get; init; }
    /// <summary>push.replace_in_use (default: defaults.push.replace_in_use).</summary>
    public bool ReplaceInUse { get; init; }
    /// <summary>push.retention.keep_versions (default: defaults.push.retention); null = no remote retention.</summary>
    public int? RetentionKeep { get; init; }
    public IReadOnlyList<PushHost> Hosts { get; init; } = Array.Empty<PushHost>();
    /// <summary>Names of config.yaml proxmox endpoints.</summary>
    public IReadOnlyList<string> Proxmox { get; init; } = Array.Empty<string>();
}

public sealed record PushHost
{
    public string Host { get; init; } = "";
    public string? IsoDir { get; init; }
    public string? ImportDir { get; init; }
    /// <summary>auto, rsync or sftp; null: config.yaml's defaults.push.transport.</summary>
    public string? Transport { get; init; }
}

/// <summary>A config and an orders file, loaded and validated together.</summary>
public sealed record OrderInput
{
    public TalosConfig Config { get; init; } = new();
    public string? OrdersPath { get; init; }
    public IReadOnlyList<Order> Orders { get; init; } = Array.Empty<Order>();
}
