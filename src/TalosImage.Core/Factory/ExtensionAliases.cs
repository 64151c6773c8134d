using System;
using System.Collections.Generic;
using System.Linq;

namespace TalosImage.Core.Factory;

/// <summary>
/// The extension names the factory accepts besides the official ones: its alias table (siderolabs/image-factory's
/// profile code), tried when a name is not official for a version: renamed and misspelt extensions such as the nvidia
/// ones that became <c>-lts</c>. The schematic keeps the name as given (the ID is computed from it); only the check
/// against the version's official list follows the alias.
/// </summary>
public static class ExtensionAliases
{
    /// <summary>Alias -> the official name the factory uses instead.</summary>
    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["siderolabs/v4l-uvc"] = "siderolabs/v4l-uvc-drivers",
        ["siderolabs/usb-modem"] = "siderolabs/usb-modem-drivers",
        ["siderolabs/gasket"] = "siderolabs/gasket-driver",
        ["siderolabs/talos-vmtoolsd"] = "siderolabs/vmtoolsd-guest-agent",
        ["siderolabs/xe-guest-utilities"] = "siderolabs/xen-guest-agent",
        ["siderolabs/nvidia-container-toolkit"] = "siderolabs/nvidia-container-toolkit-lts",
        ["siderolabs/nvidia-open-gpu-kernel-modules"] = "siderolabs/nvidia-open-gpu-kernel-modules-lts",
        ["siderolabs/nonfree-kmod-nvidia"] = "siderolabs/nonfree-kmod-nvidia-lts",
        ["siderolabs/nvidia-fabricmanager"] = "siderolabs/nvidia-fabric-manager-lts",
        ["siderolabs/i915-ucode"] = "siderolabs/i915",
        ["siderolabs/amdgpu-firmware"] = "siderolabs/amdgpu",
    };

    /// <summary>The name the factory looks up for <paramref name="name"/> when it is not official: its alias target, else itself.</summary>
    public static string Target(string name) => All.TryGetValue(name, out var target) ? target : name;

    /// <summary>
    /// Pairs of positions in <paramref name="names"/> that order the same extension: the same name twice, or an alias
    /// and the name it stands for. Each later position is reported once, with the earlier one it repeats.
    /// </summary>
    public static IEnumerable<(int Index, int First, string Name)> Duplicates(IReadOnlyList<string> names)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var key = Target(names[i].Trim());
            if (seen.TryGetValue(key, out var first))
            {
                yield return (i, first, names[first]);
            }
            else
            {
                seen[key] = i;
            }
        }
    }
}
