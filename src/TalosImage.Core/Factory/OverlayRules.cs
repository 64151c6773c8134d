using System;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Factory;

/// <summary>
/// Where an overlay (single-board computer support) can go, decided offline: only into <c>metal</c> images for
/// <c>arm64</c> (the factory's SBC target), and only for Talos v1.7.0 and later. The version rule is the factory's own
/// (siderolabs/talos <c>pkg/machinery/imager/quirks</c> <c>SupportsOverlay</c>: 1.7.0, pre-releases counted as their
/// release, so v1.7.0-alpha.1 has overlays), which image-factory's profile code applies before it builds anything
/// ("overlay is not supported for Talos version ...") and its overlay list answers empty for older versions.
/// </summary>
public static class OverlayRules
{
    public const string Platform = "metal";
    public const string Architecture = "arm64";

    /// <summary>The first Talos version with overlays.</summary>
    public static readonly TalosSemVersion FirstVersion = TalosSemVersion.Parse("v1.7.0");

    /// <summary>True when <paramref name="version"/> has overlays (its pre-release part does not count).</summary>
    public static bool Supports(TalosSemVersion version) =>
        (version.Major, version.Minor, version.Patch).CompareTo((FirstVersion.Major, FirstVersion.Minor, FirstVersion.Patch)) >= 0;

    /// <summary>The one sentence that refuses an overlay on this platform and architecture, or null.</summary>
    public static string? CheckTarget(string platform, string architecture) =>
        string.Equals(platform, Platform, StringComparison.Ordinal) && string.Equals(architecture, Architecture, StringComparison.Ordinal)
            ? null
            : $"an overlay (single-board computer support) goes only into {Platform} images for {Architecture}, not into {platform}-{architecture}; order platform {Platform}, arch {Architecture} or remove the overlay";

    /// <summary>The one sentence that refuses an overlay on this Talos version, or null.</summary>
    public static string? CheckVersion(string version)
    {
        var v = TalosSemVersion.Parse(version);
        return Supports(v)
            ? null
            : $"overlay is not supported for Talos version {v}: the factory builds overlays from {FirstVersion}";
    }
}
