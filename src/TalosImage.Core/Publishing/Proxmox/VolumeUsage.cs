using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>A VM or template whose configuration references a volume, and the configuration key that does.</summary>
internal sealed record VolumeUser(string Node, int VmId, string Name, bool Template, string Key)
{
    /// <summary><c>pve1/9000 (template talos-v1.11.5), ide2</c>.</summary>
    public override string ToString() => $"{Node}/{VmId} ({(Template ? "template" : "VM")}{(Name.Length > 0 ? " " + Name : "")}, {Key})";
}

/// <summary>
/// Which VMs and templates of a cluster use a volume (the one place that decides it, for replacing, retention and
/// templates): every VM and template from <c>GET /cluster/resources?type=vm</c>, each one's current configuration from
/// <c>GET /nodes/{node}/qemu/{vmid}/config</c>, read once per instance. A configuration uses a volume when one of its
/// values (any key but the free-text <c>description</c>, <c>tags</c>, <c>name</c> and <c>meta</c>) has the volume id as
/// a comma-separated item: <c>ide2: local:iso/x.iso,media=cdrom</c>, <c>scsi0: local-lvm:vm-9000-disk-0,size=8G</c>,
/// <c>file=</c> and <c>import-from=</c> items alike. Snapshots' configurations are not read. Reading fails as a whole
/// (TalosException, e.g. ProxmoxPermissionDenied without VM.Audit): callers treat that as "in use", never as "free".
/// </summary>
internal sealed class VolumeUsage
{
    private static readonly HashSet<string> FreeText = new(StringComparer.Ordinal) { "description", "tags", "name", "meta", "digest" };

    private readonly ProxmoxApiClient _client;
    private readonly ProxmoxCall _call;
    private List<(ProxmoxVm Vm, IReadOnlyDictionary<string, string> Config)>? _configs;

    public VolumeUsage(ProxmoxApiClient client, ProxmoxCall call)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _call = call ?? throw new ArgumentNullException(nameof(call));
    }

    /// <summary>How many VM configurations were read (0 before the first question).</summary>
    public int ConfigsRead => _configs?.Count ?? 0;

    /// <summary>The VMs and templates whose configuration uses <paramref name="volumeId"/>; empty when none does.</summary>
    public async Task<IReadOnlyList<VolumeUser>> UsersOfAsync(string volumeId, CancellationToken ct)
    {
        var configs = await LoadAsync(ct).ConfigureAwait(false);
        var users = new List<VolumeUser>();
        foreach (var (vm, config) in configs)
        {
            foreach (var pair in config)
            {
                if (!FreeText.Contains(pair.Key) && References(pair.Value, volumeId))
                {
                    users.Add(new VolumeUser(vm.Node, vm.VmId, vm.Name, vm.Template, pair.Key));
                    break;
                }
            }
        }
        return users;
    }

    /// <summary>True when <paramref name="value"/> (one configuration value) names <paramref name="volumeId"/> as an item.</summary>
    internal static bool References(string value, string volumeId)
    {
        foreach (var raw in (value ?? "").Split(','))
        {
            var item = raw.Trim();
            var eq = item.IndexOf('=');
            if (eq > 0 && item.Substring(0, eq) is "file" or "import-from" or "volume")
            {
                item = item.Substring(eq + 1);
            }
            if (string.Equals(item, volumeId, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private async Task<List<(ProxmoxVm, IReadOnlyDictionary<string, string>)>> LoadAsync(CancellationToken ct)
    {
        if (_configs is not null)
        {
            return _configs;
        }
        var vmCall = _call with { What = "Listing the cluster's VMs and templates", Permission = "VM.Audit on the VMs (or /vms) and Sys.Audit on /" };
        var vms = await _client.ListVmsAsync(vmCall, ct).ConfigureAwait(false);
        var configs = new List<(ProxmoxVm, IReadOnlyDictionary<string, string>)>(vms.Count);
        foreach (var vm in vms)
        {
            var call = _call with { What = $"Reading the configuration of VM {vm.VmId}", Node = vm.Node, Permission = $"VM.Audit on /vms/{vm.VmId}" };
            configs.Add((vm, await _client.GetVmConfigAsync(vm.Node, vm.VmId, call, ct).ConfigureAwait(false)));
        }
        _configs = configs;
        return configs;
    }
}
