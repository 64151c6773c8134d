using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace TalosImage.Tests.Publishing.Proxmox;

/// <summary>A VM or template of the fake cluster (a qemu VM unless <see cref="Type"/> says lxc).</summary>
public sealed class FakeVm
{
    public string Node { get; init; } = "pve1";
    public string Name { get; set; } = "";
    public bool Template { get; set; }
    public string Type { get; init; } = "qemu";
    /// <summary>The qemu config as GET .../config answers it (description, tags, scsi0 ...).</summary>
    public ConcurrentDictionary<string, string> Config { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The VM part of the fake, as /work/shared/reference/proxmox.md describes it: <c>GET /cluster/resources?type=vm</c>,
/// <c>GET /cluster/nextid</c> (<c>?vmid=N</c> checks one), <c>POST /nodes/{n}/qemu</c> (vmid must be free,
/// <c>scsi0=&lt;storage&gt;:0,import-from=&lt;volid&gt;</c> must name an existing import volume of the node and a storage
/// with <c>images</c> content; a task), <c>POST .../qemu/{id}/template</c> (disks become base-&lt;id&gt;-disk-N; a task),
/// <c>POST .../qemu/{id}/clone</c> (linked unless full=1), <c>GET .../qemu/{id}/config</c>, <c>DELETE .../qemu/{id}</c>
/// (a task that fails while linked clones use the template's disks).
/// </summary>
public sealed partial class FakeProxmox
{
    /// <summary>VM id -> VM, every node's.</summary>
    public ConcurrentDictionary<int, FakeVm> Vms { get; } = new();

    /// <summary>The form fields of every <c>POST /nodes/{n}/qemu</c>, as received.</summary>
    public ConcurrentQueue<Dictionary<string, string>> QemuCreates { get; } = new();

    /// <summary>The lowest id /cluster/nextid hands out (Proxmox: 100).</summary>
    public int NextIdFloor { get; set; } = 100;

    public int Destroys;

    public FakeVm AddVm(int vmid, string node, string name, bool template = false, IDictionary<string, string>? config = null, string type = "qemu")
    {
        var vm = new FakeVm { Node = node, Name = name, Template = template, Type = type, Config = new ConcurrentDictionary<string, string>(config ?? new Dictionary<string, string>(), StringComparer.Ordinal) };
        Vms[vmid] = vm;
        return vm;
    }

    private async Task<bool> HandleQemuAsync(HttpContext ctx, string[] seg)
    {
        var method = ctx.Request.Method;
        var readOnly = ctx.Request.Headers.Authorization.ToString() == "PVEAPIToken=" + ReadOnlyToken;
        switch (seg)
        {
            case ["cluster", "resources"] when HttpMethods.IsGet(method):
                var type = ctx.Request.Query["type"].ToString();
                await Data(ctx, Vms.OrderBy(v => v.Key).Where(_ => type is "" or "vm").Select(v => new
                {
                    id = $"{v.Value.Type}/{v.Key}",
                    vmid = v.Key,
                    node = v.Value.Node,
                    name = v.Value.Name,
                    template = v.Value.Template ? 1 : 0,
                    type = v.Value.Type,
                    status = "stopped",
                    tags = v.Value.Config.TryGetValue("tags", out var t) ? t : "",
                }).ToArray());
                return true;
            case ["cluster", "nextid"] when HttpMethods.IsGet(method):
                if (int.TryParse(ctx.Request.Query["vmid"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var asked))
                {
                    if (Vms.ContainsKey(asked))
                    {
                        await Fail(ctx, 400, "Parameter verification failed.", new { vmid = $"VM {asked} already exists" });
                        return true;
                    }
                    await Data(ctx, asked.ToString(CultureInfo.InvariantCulture));
                    return true;
                }
                var next = NextIdFloor;
                while (Vms.ContainsKey(next))
                {
                    next++;
                }
                await Data(ctx, next.ToString(CultureInfo.InvariantCulture)); // Proxmox answers a string
                return true;
            case ["nodes", var node, "qemu"] when HttpMethods.IsPost(method) && Nodes.Contains(node):
                await CreateVm(ctx, node);
                return true;
            case ["nodes", var node, "qemu", var id, "config"] when HttpMethods.IsGet(method):
                if (!TryVm(node, id, out var vm, out var vmid))
                {
                    await Fail(ctx, 500, $"Configuration file 'nodes/{node}/qemu-server/{id}.conf' does not exist");
                    return true;
                }
                var config = new Dictionary<string, object>(vm.Config.Select(kv => new KeyValuePair<string, object>(kv.Key, kv.Value)), StringComparer.Ordinal) { ["digest"] = "0" };
                if (vm.Template)
                {
                    config["template"] = 1;
                }
                await Data(ctx, config);
                return true;
            case ["nodes", var node, "qemu", var id, "template"] when HttpMethods.IsPost(method):
                if (!TryVm(node, id, out vm, out vmid))
                {
                    await Fail(ctx, 500, $"Configuration file 'nodes/{node}/qemu-server/{id}.conf' does not exist");
                    return true;
                }
                vm.Template = true;
                foreach (var key in vm.Config.Keys.ToList())
                {
                    vm.Config[key] = vm.Config[key].Replace($"vm-{vmid}-disk-", $"base-{vmid}-disk-", StringComparison.Ordinal);
                }
                await Data(ctx, NewTask(node, "qmtemplate", "OK"));
                return true;
            case ["nodes", var node, "qemu", var id, "clone"] when HttpMethods.IsPost(method):
                if (!TryVm(node, id, out vm, out vmid))
                {
                    await Fail(ctx, 500, $"Configuration file 'nodes/{node}/qemu-server/{id}.conf' does not exist");
                    return true;
                }
                var form = await ctx.Request.ReadFormAsync();
                var newId = int.Parse(form["newid"].ToString(), CultureInfo.InvariantCulture);
                var full = form["full"].ToString() == "1";
                var cloneConfig = vm.Config.Where(kv => kv.Key is not ("description" or "tags")).ToDictionary(kv => kv.Key, kv => full
                    ? kv.Value.Replace($"base-{vmid}-disk-", $"vm-{newId}-disk-", StringComparison.Ordinal)
                    : System.Text.RegularExpressions.Regex.Replace(kv.Value, $@"(base-{vmid}-disk-(\d+))", $"$1/vm-{newId}-disk-$2"));
                AddVm(newId, node, form["name"].ToString(), false, cloneConfig);
                await Data(ctx, NewTask(node, "qmclone", "OK"));
                return true;
            case ["nodes", var node, "qemu", var id] when HttpMethods.IsDelete(method):
                if (readOnly)
                {
                    await Fail(ctx, 403, $"Permission check failed (/vms/{id}, VM.Allocate)");
                    return true;
                }
                if (!TryVm(node, id, out vm, out vmid))
                {
                    await Fail(ctx, 500, $"Configuration file 'nodes/{node}/qemu-server/{id}.conf' does not exist");
                    return true;
                }
                var clones = Vms.Where(v => v.Key != vmid && v.Value.Config.Values.Any(x => x.Contains($"base-{vmid}-disk-", StringComparison.Ordinal))).Select(v => v.Key).ToList();
                if (clones.Count > 0)
                {
                    await Data(ctx, NewTask(node, "qmdestroy", $"base volume 'base-{vmid}-disk-0' is still in use by linked cloned VM {clones[0]}"));
                    return true;
                }
                Vms.TryRemove(vmid, out _);
                Interlocked.Increment(ref Destroys);
                await Data(ctx, NewTask(node, "qmdestroy", "OK"));
                return true;
        }
        return false;
    }

    private bool TryVm(string node, string id, out FakeVm vm, out int vmid)
    {
        vm = null!;
        return int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out vmid) && Vms.TryGetValue(vmid, out vm!) && vm.Node == node && vm.Type == "qemu";
    }

    private async Task CreateVm(HttpContext ctx, string node)
    {
        var form = await ctx.Request.ReadFormAsync();
        var fields = form.ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        QemuCreates.Enqueue(fields);
        if (!fields.TryGetValue("vmid", out var idText) || !int.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var vmid) || vmid < 100)
        {
            await Fail(ctx, 400, "Parameter verification failed.", new { vmid = "value must be an integer >= 100" });
            return;
        }
        if (Vms.TryGetValue(vmid, out var existing))
        {
            await Fail(ctx, 500, $"unable to create VM {vmid} - VM {vmid} already exists on node '{existing.Node}'");
            return;
        }
        if (fields.TryGetValue("name", out var name) && !System.Text.RegularExpressions.Regex.IsMatch(name, @"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"))
        {
            await Fail(ctx, 400, "Parameter verification failed.", new { name = "invalid format - value does not look like a valid DNS name" });
            return;
        }
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        var exit = "OK";
        foreach (var (key, value) in fields.Where(f => f.Key != "vmid"))
        {
            config[key] = value;
        }
        // Drives: <storage>:<size or 0>[,import-from=<volid>][,...] -> a disk on the storage.
        var disk = 0;
        foreach (var key in config.Keys.Where(k => System.Text.RegularExpressions.Regex.IsMatch(k, @"^(scsi|virtio|sata|ide|efidisk)\d+$")).OrderBy(k => k, StringComparer.Ordinal).ToList())
        {
            var value = config[key];
            var parts = value.Split(',');
            var colon = parts[0].IndexOf(':');
            if (colon <= 0)
            {
                continue; // none, cdrom ...
            }
            var storage = parts[0].Substring(0, colon);
            var what = parts[0].Substring(colon + 1);
            if (!Storages.TryGetValue(storage, out var st))
            {
                await Fail(ctx, 500, $"storage '{storage}' does not exist");
                return;
            }
            if (what == "cloudinit")
            {
                config[key] = $"{storage}:vm-{vmid}-cloudinit,media=cdrom";
                continue;
            }
            if (!st.Content.Split(',').Contains("images"))
            {
                await Fail(ctx, 500, $"storage '{storage}' does not support vm images");
                return;
            }
            var options = parts.Skip(1).ToList();
            var import = options.FirstOrDefault(o => o.StartsWith("import-from=", StringComparison.Ordinal))?.Substring("import-from=".Length);
            long size = 4 << 20;
            if (import is not null)
            {
                var vs = import.Split(':')[0];
                if (!Storages.ContainsKey(vs) || !Storage(node, vs).TryGetValue(import, out var data))
                {
                    exit = $"import-from: volume '{import}' does not exist";
                    break;
                }
                size = data.LongLength;
            }
            config[key] = $"{storage}:vm-{vmid}-disk-{disk++}," + string.Join(",", options.Where(o => !o.StartsWith("import-from=", StringComparison.Ordinal)).Append($"size={size}"));
        }
        if (exit == "OK")
        {
            AddVm(vmid, node, name ?? $"VM{vmid}", false, config);
        }
        await Data(ctx, NewTask(node, "qmcreate", exit));
    }
}
