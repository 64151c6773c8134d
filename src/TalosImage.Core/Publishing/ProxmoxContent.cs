using TalosImage.Core.Factory;

namespace TalosImage.Core.Publishing;

/// <summary>
/// Where Proxmox keeps a format, the one rule of both transports and of the planner: ISOs in <c>iso</c> content
/// (template/iso), uncompressed raw and qcow2 disk images in <c>import</c> content. The boot assets (kernel,
/// initramfs, cmdline, uki, installer, pxe) have no Proxmox content type at all: a push of one fails with
/// <see cref="TalosErrors.ProxmoxFormatUnsupported"/> and this reason, before any host is contacted, and is never
/// copied into template/iso or import where Proxmox would not list it.
/// </summary>
public static class ProxmoxContent
{
    /// <summary>Why <paramref name="format"/> cannot be published to Proxmox at all, in one sentence; null when some route can store it.</summary>
    public static string? Refusal(string? format, string? asset)
    {
        var f = (format ?? "").Trim().ToLowerInvariant();
        if (!FactoryCatalog.IsBootAsset(f))
        {
            return null;
        }
        var what = string.IsNullOrEmpty(asset) ? f : $"{asset} ({f})";
        return $"{what} has no Proxmox content type: Proxmox stores ISO images (content iso) and raw, qcow2, vmdk and ova disk images (content import) only, " +
            "and lists nothing else in template/iso or import; serve it from a PXE or HTTP server instead";
    }
}
