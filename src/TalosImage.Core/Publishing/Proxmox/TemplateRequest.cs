using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// A VM template to make from a disk image already in a storage's <c>import</c> content: where (endpoint, node), from
/// what (the volume and the image's identity, recorded in the template's tags and description) and how
/// (<see cref="TemplateSettings"/>).
/// </summary>
public sealed record TemplateRequest
{
    /// <summary>The API endpoint, e.g. https://pve1:8006.</summary>
    public Uri Endpoint { get; init; } = new("https://localhost:8006");
    /// <summary>The node the template is made on (a template lives on one node).</summary>
    public string Node { get; init; } = "";
    /// <summary>SHA-256 pin of the endpoint's certificate, as for publishing.</summary>
    public string? FingerprintSha256 { get; init; }
    /// <summary>The disk image, e.g. local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw.</summary>
    public string SourceVolumeId { get; init; } = "";
    /// <summary>SHA-256 of the disk image (lowercase hex): what makes a template match its image.</summary>
    public string Sha256 { get; init; } = "";
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    /// <summary>The factory platform (nocloud, metal ...); "" when not known.</summary>
    public string Platform { get; init; } = "";
    public string Architecture { get; init; } = "";
    /// <summary>A SecureBoot image: the template gets OVMF, q35 and an EFI disk without Microsoft keys.</summary>
    public bool SecureBoot { get; init; }
    /// <summary>The installer image reference for machine.install.image (recorded in the description).</summary>
    public string InstallerImage { get; init; } = "";
    public TemplateSettings Settings { get; init; } = new();
}

/// <summary>How the template is made; every default is overridable (an order's <c>template:</c>, New-TalosVMTemplate's parameters).</summary>
public sealed record TemplateSettings
{
    public const string DefaultStorage = "local-lvm";
    public const int DefaultMemory = 2048;
    public const int DefaultCores = 2;
    public const string DefaultBridge = "vmbr0";
    public const string DefaultCpu = "x86-64-v2-AES";

    /// <summary>The VM id; null: the next free id (<c>GET /cluster/nextid</c>).</summary>
    public int? VmId { get; init; }
    /// <summary>The VM name; null: <c>talos-&lt;version&gt;-&lt;platform&gt;-&lt;arch&gt;[-secureboot]-&lt;schematic 12&gt;</c>.</summary>
    public string? Name { get; init; }
    /// <summary>The storage the disk is imported into (and the EFI disk and cloud-init drive created on).</summary>
    public string Storage { get; init; } = DefaultStorage;
    /// <summary>MiB.</summary>
    public int Memory { get; init; } = DefaultMemory;
    public int Cores { get; init; } = DefaultCores;
    public string Bridge { get; init; } = DefaultBridge;
    /// <summary>Tags added to TalosImage's own (talos, talosimage, the version).</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    /// <summary>
    /// qemu config keys that replace or add to the defaults (e.g. <c>cpu: host</c>, <c>net0: virtio,bridge=vmbr1,tag=20</c>);
    /// an empty value removes a default key (e.g. <c>ide2: ""</c>: no cloud-init drive). vmid, description, tags and
    /// template are not options.
    /// </summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    /// <summary>After this template, keep this many templates of its family (newest versions first) and retire the rest; null: retire none.</summary>
    public int? Keep { get; init; }

    public const int MinVmId = 100;
    public const int MaxVmId = 999999999;

    internal static readonly Regex NamePattern = new(@"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$", RegexOptions.CultureInvariant);
    internal static readonly Regex BridgePattern = new(@"^[A-Za-z][A-Za-z0-9_.-]{0,15}$", RegexOptions.CultureInvariant);
    internal static readonly Regex TagPattern = new(@"^[a-z0-9_][a-z0-9_+.-]{0,63}$", RegexOptions.CultureInvariant);
    internal static readonly Regex OptionKeyPattern = new(@"^[a-z][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant);

    /// <summary>JSON Schema spellings of the patterns above (InputSchema restates them; the loader and the engine use these).</summary>
    public const string NameJsonPattern = @"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$";
    public const string BridgeJsonPattern = @"^[A-Za-z][A-Za-z0-9_.-]{0,15}$";
    public const string TagJsonPattern = @"^[a-z0-9_][a-z0-9_+.-]{0,63}$";
    public const string OptionKeyJsonPattern = @"^[a-z][a-z0-9_-]{0,31}$";

    /// <summary>Keys TalosImage writes itself: not overridable through <see cref="Options"/>.</summary>
    public static readonly IReadOnlyList<string> ReservedOptions = new[] { "vmid", "description", "tags", "template", "name", "memory", "cores" };

    /// <summary>Every problem of these settings (empty when none), each naming the setting and what is expected.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (VmId is { } id && (id < MinVmId || id > MaxVmId))
        {
            problems.Add($"vmid {id} is out of range: Proxmox VM ids are {MinVmId} to {MaxVmId}");
        }
        if (Name is { } name && !NamePattern.IsMatch(name))
        {
            problems.Add($"name '{SafeText.ForMessage(name, 80)}' is not a VM name: Proxmox takes a DNS name (letters, digits, '-' and '.', at most 63 characters)");
        }
        if (ProxmoxTarget.StorageProblem(Storage) is { } storage)
        {
            problems.Add("storage: " + storage);
        }
        if (Memory < 64 || Memory > 4 * 1024 * 1024)
        {
            problems.Add($"memory {Memory} is out of range: MiB, 64 to 4194304 (Talos wants at least 2048)");
        }
        if (Cores < 1 || Cores > 512)
        {
            problems.Add($"cores {Cores} is out of range: 1 to 512");
        }
        if (!BridgePattern.IsMatch(Bridge ?? ""))
        {
            problems.Add($"bridge '{SafeText.ForMessage(Bridge, 40)}' is not a bridge name such as vmbr0");
        }
        foreach (var tag in Tags.Where(t => !TagPattern.IsMatch(t ?? "")))
        {
            problems.Add($"tag '{SafeText.ForMessage(tag, 80)}' is not a Proxmox tag: lowercase letters, digits, '_', '-', '+' and '.'");
        }
        foreach (var option in Options)
        {
            if (!OptionKeyPattern.IsMatch(option.Key ?? ""))
            {
                problems.Add($"option '{SafeText.ForMessage(option.Key, 40)}' is not a qemu config key such as cpu, net0 or scsi0");
            }
            else if (ReservedOptions.Contains(option.Key, StringComparer.Ordinal))
            {
                problems.Add($"option '{option.Key}' is TalosImage's own: use the {option.Key} setting where there is one (vmid, name, memory, cores, tags); description and template are not settable");
            }
            if ((option.Value ?? "").Any(c => char.IsControl(c)) || (option.Value ?? "").Length > 4096)
            {
                problems.Add($"option '{SafeText.ForMessage(option.Key, 40)}' has control characters or is longer than 4096 characters");
            }
        }
        if (Keep is { } keep && (keep < 1 || keep > 1000))
        {
            problems.Add($"keep {keep} is out of range: 1 to 1000 templates per family");
        }
        return problems;
    }
}
