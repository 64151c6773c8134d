namespace TalosImage;

/// <summary>
/// A Proxmox VE VM template made from a published Talos disk image (New-TalosVMTemplate, an order's <c>template:</c>),
/// or found because it already records the same image, or retired by keep-N. <see cref="VmId"/> and <see cref="Node"/>
/// are what a clone needs (<c>qm clone</c>, <c>POST /nodes/{node}/qemu/{vmid}/clone</c>, Terraform, Ansible);
/// <see cref="InstallerImage"/> is the value for <c>machine.install.image</c>.
/// </summary>
public sealed record TalosVMTemplate
{
    public int VmId { get; init; }
    public string Node { get; init; } = "";
    public string Name { get; init; } = "";
    /// <summary>Created, Found (it already recorded the same image) or Retired (<see cref="TemplateStatus"/>).</summary>
    public string Status { get; init; } = "";
    /// <summary>The storage the template's disk was imported into (e.g. local-lvm).</summary>
    public string Storage { get; init; } = "";
    /// <summary>The disk image it was made from, e.g. local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw.</summary>
    public string SourceVolumeId { get; init; } = "";
    public string Version { get; init; } = "";
    public string SchematicId { get; init; } = "";
    /// <summary>SHA-256 of the disk image, as recorded in the template's description.</summary>
    public string Sha256 { get; init; } = "";
    public bool SecureBoot { get; init; }
    /// <summary>The installer image for machine.install.image, e.g. factory.talos.dev/nocloud-installer/&lt;id&gt;:v1.11.5.</summary>
    public string InstallerImage { get; init; } = "";
    /// <summary>Schematic, platform, architecture and SecureBoot: templates of one family differ only in version; keep-N counts per family.</summary>
    public string Family { get; init; } = "";
    /// <summary>The API endpoint (scheme://host:port).</summary>
    public string Endpoint { get; init; } = "";
    /// <summary>The Proxmox tags, separated by ';'.</summary>
    public string Tags { get; init; } = "";
    public double Duration { get; init; }

    public override string ToString() => $"{Node}/{VmId}";
}
