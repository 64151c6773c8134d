using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Publishing.Retention;

/// <summary>
/// A remote file name TalosImage gives a published image (<see cref="Proxmox.ProxmoxVolumePlan.StoredName"/>), read
/// back: <c>talos-&lt;12 hex&gt;-v&lt;major.minor.patch&gt;[-alpha|beta|rc.N]-&lt;platform&gt;-&lt;amd64|arm64&gt;[-secureboot].&lt;iso|raw|qcow2&gt;</c>.
/// Nothing else is recognised: no other name, no guessing from a similar one.
/// </summary>
internal sealed record PublishedName(string Name, string Schematic, TalosSemVersion Version, string VersionText, string Platform, string Arch, bool SecureBoot, string Format)
{
    private static readonly Regex Pattern = new(
        @"^talos-(?<s>[0-9a-f]{12})-(?<v>v\d{1,4}\.\d{1,4}\.\d{1,4}(?:-(?:alpha|beta|rc)\.\d{1,4})?)-(?<p>[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*?)-(?<a>amd64|arm64)(?<sb>-secureboot)?\.(?<f>iso|raw|qcow2)$",
        RegexOptions.CultureInvariant);

    /// <summary><c>schematic12/platform-arch[-secureboot].format</c>.</summary>
    public string Family => $"{Schematic}/{Platform}-{Arch}{(SecureBoot ? "-secureboot" : "")}.{Format}";

    /// <summary>A record of this stored name (name, version, schematic, platform, arch, SecureBoot, format, family): each route adds where it lies.</summary>
    public TalosImage.TalosPublishedImage Describe() => new()
    {
        Name = Name,
        Version = VersionText,
        SchematicId = Schematic,
        Platform = Platform,
        Architecture = Arch,
        SecureBoot = SecureBoot,
        Format = Format,
        Family = Family,
    };

    public static PublishedName? TryParse(string? fileName)
    {
        var m = Pattern.Match(fileName ?? "");
        if (!m.Success || !TalosSemVersion.TryParse(m.Groups["v"].Value, out var version))
        {
            return null;
        }
        return new PublishedName(fileName!, m.Groups["s"].Value, version, m.Groups["v"].Value, m.Groups["p"].Value, m.Groups["a"].Value,
            m.Groups["sb"].Success, m.Groups["f"].Value);
    }

    /// <summary>
    /// Which of <paramref name="names"/> retention removes: per family, every image whose version is not among the
    /// <paramref name="keep"/> newest versions of that family.
    /// </summary>
    public static HashSet<string> Beyond(IEnumerable<PublishedName> names, int keep)
    {
        if (keep < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(keep), "keep at least one version");
        }
        var remove = new HashSet<string>(StringComparer.Ordinal);
        foreach (var family in names.GroupBy(n => n.Family, StringComparer.Ordinal))
        {
            var kept = new HashSet<TalosSemVersion>(family.Select(n => n.Version).Distinct().OrderByDescending(v => v).Take(keep));
            foreach (var n in family.Where(n => !kept.Contains(n.Version)))
            {
                remove.Add(n.Name);
            }
        }
        return remove;
    }
}
