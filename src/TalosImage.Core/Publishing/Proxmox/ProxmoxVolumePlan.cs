using System;
using System.Text;
using TalosImage;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>Where and how one artifact is stored on a Proxmox storage: content type, stored file name, volume id.</summary>
internal sealed class ProxmoxVolumePlan
{
    /// <summary>Proxmox's longest file name for uploads and downloads.</summary>
    internal const int MaxNameLength = 255;

    private ProxmoxVolumePlan(string content, string fileName, string storage, string? compression)
    {
        Content = content;
        FileName = fileName;
        VolumeId = $"{storage}:{content}/{fileName}";
        Compression = compression;
    }

    /// <summary><c>iso</c> or <c>import</c>.</summary>
    public string Content { get; }

    /// <summary>The stored name, already normalised as Proxmox would.</summary>
    public string FileName { get; }

    /// <summary><c>storage:iso/name.iso</c> or <c>storage:import/name.raw</c>.</summary>
    public string VolumeId { get; }

    /// <summary>download-url only: <c>gz</c> or <c>zst</c> when the node expands a compressed ISO.</summary>
    public string? Compression { get; }

    /// <summary>
    /// Maps an artifact onto Proxmox content: iso to <c>iso</c>; raw and qcow2 to <c>import</c>. Compressed disk images
    /// cannot be imported (Proxmox reads no xz, and expands gz/zst only for ISO content), so they fail with
    /// ErrorId ProxmoxFormatUnsupported asking for the expanded image.
    /// </summary>
    public static ProxmoxVolumePlan For(TalosArtifact artifact, string storage, ProxmoxMethod method)
    {
        var format = (artifact.Format ?? "").Trim().ToLowerInvariant();
        if (ProxmoxContent.Refusal(format, Describe(artifact)) is { } refused)
        {
            throw new TalosException(TalosErrors.ProxmoxFormatUnsupported, $"{refused}; not published with {method}.", artifact.Path);
        }
        string content, extension;
        string? compression = null;
        switch (format)
        {
            case "iso":
                (content, extension) = ("iso", ".iso");
                break;
            case "iso.gz" or "iso.zst" when method == ProxmoxMethod.DownloadUrl:
                (content, extension, compression) = ("iso", ".iso", format.Substring(4));
                break;
            case "raw":
                (content, extension) = ("import", ".raw");
                break;
            case "qcow2":
                (content, extension) = ("import", ".qcow2");
                break;
            default:
                throw Unsupported(artifact, format, method);
        }
        if (method == ProxmoxMethod.DownloadUrl && artifact.Is(ArtifactKind.Expanded))
        {
            throw new TalosException(TalosErrors.ProxmoxFormatUnsupported,
                $"{Describe(artifact)} was expanded here from a compressed download; the factory has no expanded copy a Proxmox node " +
                "could fetch with download-url, and Proxmox cannot expand disk images itself. Use the Upload method for it.", artifact.Path);
        }
        return new ProxmoxVolumePlan(content, StoredName(artifact, extension), storage, compression);
    }

    /// <summary>
    /// <c>talos-&lt;first 12 of schematic&gt;-&lt;version&gt;-&lt;asset stem&gt;&lt;ext&gt;</c>, normalised like Proxmox
    /// (characters outside <c>[A-Za-z0-9_.-]</c> become <c>_</c>) and cut to 255 characters keeping the extension.
    /// Different schematics and versions never share a name; the same artifact always gets the same one.
    /// </summary>
    internal static string StoredName(TalosArtifact artifact, string extension)
    {
        var parts = new StringBuilder("talos");
        var schematic = (artifact.SchematicId ?? "").Trim();
        if (schematic.Length > 0)
        {
            parts.Append('-').Append(schematic.Length > 12 ? schematic.Substring(0, 12) : schematic);
        }
        var version = (artifact.Version ?? "").Trim();
        if (version.Length > 0)
        {
            parts.Append('-').Append(version);
        }
        var stem = AssetStem(artifact);
        if (stem.Length > 0)
        {
            parts.Append('-').Append(stem);
        }
        var name = Normalise(parts.ToString());
        if (name.Length + extension.Length > MaxNameLength)
        {
            name = name.Substring(0, MaxNameLength - extension.Length);
        }
        return name + extension;
    }

    /// <summary>Proxmox's rule for stored names: <c>[^A-Za-z0-9_.-]</c> becomes <c>_</c>.</summary>
    internal static string Normalise(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c is '_' or '.' or '-';
            if (!ok)
            {
                chars[i] = '_';
            }
        }
        return new string(chars);
    }

    // Longest first: ".raw.tar.gz" before ".gz".
    private static readonly string[] KnownSuffixes =
    {
        ".raw.tar.gz", ".raw.xz", ".raw.zst", ".raw.gz", ".iso.gz", ".iso.zst", ".raw", ".iso", ".qcow2", ".img", ".xz", ".zst", ".gz",
    };

    private static string AssetStem(TalosArtifact artifact)
    {
        var asset = (artifact.Asset ?? "").Trim();
        if (asset.Length == 0)
        {
            asset = System.IO.Path.GetFileName(artifact.Path ?? "");
        }
        foreach (var suffix in KnownSuffixes)
        {
            if (asset.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return asset.Substring(0, asset.Length - suffix.Length);
            }
        }
        return asset;
    }

    private static TalosException Unsupported(TalosArtifact artifact, string format, ProxmoxMethod method)
    {
        var what = format switch
        {
            "raw.xz" => "Proxmox cannot read xz-compressed disk images.",
            "raw.zst" or "raw.gz" or "raw.tar.gz" => "Proxmox expands gz/zst only for ISO content; disk images must be imported uncompressed.",
            "iso.gz" or "iso.zst" => "Proxmox expands compressed ISOs only when it downloads them itself (the DownloadUrl method).",
            "" => "the artifact has no format.",
            _ => "only iso (content iso), raw and qcow2 (content import) can be stored.",
        };
        var fix = format.StartsWith("raw.", StringComparison.Ordinal)
            ? " Expand it first (Expand-TalosImage) and publish the expanded .raw image with the Upload method."
            : "";
        return new TalosException(TalosErrors.ProxmoxFormatUnsupported,
            $"{Describe(artifact)} (format '{format}') cannot be published to Proxmox with {method}: {what}{fix}", artifact.Path);
    }

    private static string Describe(TalosArtifact artifact) =>
        artifact.Asset is { Length: > 0 } asset ? asset : System.IO.Path.GetFileName(artifact.Path ?? "");
}
