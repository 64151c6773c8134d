namespace TalosImage;

/// <summary>An official system extension of one Talos version (Get-TalosExtension). <see cref="Name"/> is what -SystemExtension takes.</summary>
public sealed class TalosExtension
{
    /// <summary>e.g. siderolabs/qemu-guest-agent</summary>
    public string Name { get; init; } = "";
    /// <summary>The container image reference, e.g. ghcr.io/siderolabs/qemu-guest-agent:10.0.2</summary>
    public string Ref { get; init; } = "";
    public string Digest { get; init; } = "";
    public string Author { get; init; } = "";
    public string Description { get; init; } = "";
    /// <summary>The Talos version whose list this came from.</summary>
    public string Version { get; init; } = "";

    public override string ToString() => Name;
}
