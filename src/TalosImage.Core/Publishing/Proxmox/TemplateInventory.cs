using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Newtonsoft.Json.Linq;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>One qemu VM or template of the cluster, with its config when it was read.</summary>
internal sealed record ClusterVm(int VmId, string Node, string Name, bool Template, string Tags, string Type)
{
    public IReadOnlyDictionary<string, string>? Config { get; init; }

    public bool IsQemu => Type == TemplateInventory.QemuType;

    /// <summary>True when the cluster view's tags carry TalosImage's tag.</summary>
    public bool Tagged => Tags.Split(';', ',', ' ').Contains(TemplateMarker.Tag, StringComparer.Ordinal);

    /// <summary>What TalosImage recorded in the description (<see cref="TemplateMarker"/>), or null for a VM it did not make.</summary>
    public TemplateMarker? Marker => Config is { } c && c.TryGetValue("description", out var d) ? TemplateMarker.Parse(d) : null;

    /// <summary>True when a drive of this VM is a linked clone of <paramref name="templateId"/> (its disk refers to base-&lt;id&gt;-disk-N).</summary>
    public bool IsLinkedCloneOf(int templateId) =>
        VmId != templateId && Config is { } c && c.Values.Any(v => v.IndexOf($"base-{templateId.ToString(CultureInfo.InvariantCulture)}-disk-", StringComparison.Ordinal) >= 0);
}

/// <summary>
/// The cluster's VMs and templates: <c>GET /cluster/resources?type=vm</c> and <c>GET /nodes/{node}/qemu/{vmid}/config</c>.
/// A minimal reader of the template builder's own (issue 19's "which VMs use a volume" reader belongs to the retention
/// work; this one reads only what templates need). Bounded: at most <see cref="MaxVms"/> VMs are looked at.
/// </summary>
internal static class TemplateInventory
{
    public const int MaxVms = 5000;
    public const string QemuType = "qemu";

    public static async Task<IReadOnlyList<ClusterVm>> ListAsync(ProxmoxApiClient client, string node, CancellationToken ct)
    {
        var call = new ProxmoxCall("Listing the cluster's VMs", node, "-", "VM.Audit on the VMs (or /vms), Sys.Audit for the cluster view");
        var data = await client.GetDataAsync("cluster/resources?type=vm", call, ct).ConfigureAwait(false);
        if (data is not JArray items)
        {
            throw new TalosException(TalosErrors.ProxmoxProtocolError, $"Listing the cluster's VMs on {client.Endpoint}: the answer is not an array. Is this a Proxmox VE API?", client.Endpoint);
        }
        return items.OfType<JObject>()
            .Where(i => Int(i["vmid"]) is not null)
            .Take(MaxVms)
            .Select(i => new ClusterVm(Int(i["vmid"])!.Value, i.Value<string>("node") ?? "", i.Value<string>("name") ?? "", Int(i["template"]) == 1,
                i.Value<string>("tags") ?? "", i.Value<string>("type") ?? QemuType))
            .ToList();
    }

    /// <summary><paramref name="vm"/> with its config read.</summary>
    public static async Task<ClusterVm> WithConfigAsync(ProxmoxApiClient client, ClusterVm vm, CancellationToken ct)
    {
        var call = new ProxmoxCall($"Reading the config of VM {vm.VmId}", vm.Node, "-", $"VM.Audit on /vms/{vm.VmId}");
        var config = await client.GetVmConfigAsync(vm.Node, vm.VmId, call, ct).ConfigureAwait(false);
        var template = config.TryGetValue("template", out var t) ? t == "1" : vm.Template;
        return vm with { Template = template, Config = config };
    }

    public static int? Int(JToken? token) => token?.Type switch
    {
        JTokenType.Integer => token.Value<int>(),
        JTokenType.String when int.TryParse(token.Value<string>(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) => n,
        _ => null,
    };
}

/// <summary>
/// What TalosImage writes into a template's description, one <c>talosimage-&lt;key&gt;: value</c> line each, and reads
/// back to match a template to its image (sha256) and to its family (keep-N).
/// </summary>
public sealed record TemplateMarker
{
    public const string Prefix = "talosimage-";
    public const string Tag = "talosimage";

    public string Sha256 { get; init; } = "";
    public string SchematicId { get; init; } = "";
    public string Version { get; init; } = "";
    public string Family { get; init; } = "";
    public string Image { get; init; } = "";
    public string Storage { get; init; } = "";
    public string InstallerImage { get; init; } = "";
    public bool SecureBoot { get; init; }

    public string ToDescription() => string.Join("\n", new[]
    {
        "Talos Linux template made by TalosImage from a Talos Image Factory disk image.",
        "",
        Line("sha256", Sha256),
        Line("schematic", SchematicId),
        Line("version", Version),
        Line("family", Family),
        Line("image", Image),
        Line("storage", Storage),
        Line("installer", InstallerImage),
        Line("secureboot", SecureBoot ? "1" : "0"),
    });

    private static string Line(string key, string value) => $"{Prefix}{key}: {value}";

    /// <summary>The marker of a description, or null when it has no <c>talosimage-sha256</c> line (not TalosImage's).</summary>
    public static TemplateMarker? Parse(string? description)
    {
        if (string.IsNullOrEmpty(description))
        {
            return null;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in description!.Split('\n'))
        {
            var line = raw.Trim();
            var colon = line.IndexOf(':');
            if (!line.StartsWith(Prefix, StringComparison.Ordinal) || colon < 0)
            {
                continue;
            }
            values[line.Substring(Prefix.Length, colon - Prefix.Length)] = line.Substring(colon + 1).Trim();
        }
        string V(string key) => values.TryGetValue(key, out var v) ? v : "";
        if (V("sha256").Length != 64)
        {
            return null;
        }
        return new TemplateMarker
        {
            Sha256 = V("sha256").ToLowerInvariant(),
            SchematicId = V("schematic"),
            Version = V("version"),
            Family = V("family"),
            Image = V("image"),
            Storage = V("storage"),
            InstallerImage = V("installer"),
            SecureBoot = V("secureboot") == "1",
        };
    }
}
