namespace TalosImage;

/// <summary>
/// An official overlay (single-board computer support) of one Talos version (Get-TalosOverlay). <see cref="Name"/> and
/// <see cref="Image"/> are what New-TalosSchematic's -OverlayName and -OverlayImage (and an order's overlay) take.
/// </summary>
public sealed class TalosOverlay
{
    /// <summary>e.g. rpi_generic</summary>
    public string Name { get; init; } = "";
    /// <summary>The overlay's image repository, e.g. siderolabs/sbc-raspberrypi</summary>
    public string Image { get; init; } = "";
    /// <summary>The container image reference, e.g. ghcr.io/siderolabs/sbc-raspberrypi:v0.1.0</summary>
    public string Ref { get; init; } = "";
    public string Digest { get; init; } = "";
    /// <summary>The Talos version whose list this came from.</summary>
    public string Version { get; init; } = "";

    public override string ToString() => Name;
}
