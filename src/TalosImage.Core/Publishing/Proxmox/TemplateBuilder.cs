using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// Makes a Proxmox VE VM template from a disk image in a storage's <c>import</c> content, through the API:
/// <c>POST /nodes/{node}/qemu</c> with <c>scsi0=&lt;storage&gt;:0,import-from=&lt;volid&gt;</c> and Talos defaults, then
/// <c>POST /nodes/{node}/qemu/{vmid}/template</c>, each task polled. Idempotent: a template (or a VM an interrupted run
/// left before its template step) whose description records the same image SHA-256 on the node is returned, not made
/// again. Retires older templates of the same family only when asked (<see cref="TemplateSettings.Keep"/>), never one
/// that a linked clone depends on. API only: over SSH the same is <c>qm create ... --scsi0 &lt;storage&gt;:0,import-from=...</c>
/// and <c>qm template</c>, which TalosImage does not run.
/// </summary>
public sealed class ProxmoxTemplateBuilder
{
    private readonly ProxmoxApiToken _token;
    private readonly IEngineEvents _events;
    private readonly ProxmoxOptions _options;

    public ProxmoxTemplateBuilder(ProxmoxApiToken token, IEngineEvents events, ProxmoxOptions? options = null)
    {
        _token = token ?? throw new ArgumentNullException(nameof(token));
        _events = events ?? NullEngineEvents.Instance;
        _options = options ?? ProxmoxOptions.Default;
    }

    // ------------------------------------------------------------------------------------------------ what is sent

    /// <summary>
    /// The request for the disk image a publish result names (a <c>ProxmoxApi</c> result of a disk image in import
    /// content), its identity completed from the cache's <c>.meta.json</c> beside the published file where there is
    /// one, else from the asset name. Fails with TemplateApiOnly for an SSH result.
    /// </summary>
    public static TemplateRequest ForPublished(TalosPublishResult result, Uri endpoint, string? fingerprint, TemplateSettings settings)
    {
        if (result is null)
        {
            throw new ArgumentNullException(nameof(result));
        }
        if (!string.Equals(result.Transport, PublishTransport.ProxmoxApi.ToString(), StringComparison.Ordinal) || string.IsNullOrEmpty(result.VolumeId))
        {
            throw new TalosException(TalosErrors.TemplateApiOnly,
                $"{result.Host}:{result.Destination} was published over {(result.Transport.Length > 0 ? result.Transport : "an unknown transport")}, and templates are made " +
                "through the Proxmox API only (API only; on a node's shell the same is `qm create <vmid> --scsi0 <storage>:0,import-from=<volid> ...` then `qm template <vmid>`). " +
                "Publish with -ProxmoxUri, or give -VolumeId (e.g. local:import/<file>.raw) with -ProxmoxUri and -Node.", result.Host);
        }
        var request = new TemplateRequest
        {
            Endpoint = endpoint,
            Node = result.Host,
            FingerprintSha256 = fingerprint,
            SourceVolumeId = result.VolumeId!,
            Sha256 = (result.Sha256 ?? "").ToLowerInvariant(),
            SchematicId = result.SchematicId ?? "",
            Version = result.Version ?? "",
            Settings = settings,
        };
        return Complete(request, result.Path, result.Asset);
    }

    /// <summary>
    /// <paramref name="request"/> with platform, architecture, SecureBoot and installer image filled in where they are
    /// empty: from the <c>.meta.json</c> of <paramref name="localPath"/> (the cache's record), else from the asset name
    /// (<c>&lt;platform&gt;-&lt;arch&gt;[-secureboot].&lt;format&gt;</c>), the installer image then for the public factory.
    /// </summary>
    public static TemplateRequest Complete(TemplateRequest request, string? localPath, string? asset)
    {
        var meta = string.IsNullOrEmpty(localPath) ? null : ArtifactMetadata.TryRead(localPath!);
        var platform = request.Platform;
        var arch = request.Architecture;
        var secureBoot = request.SecureBoot;
        var installer = request.InstallerImage;
        if (meta is not null && meta.Platform.Length > 0)
        {
            platform = platform.Length > 0 ? platform : meta.Platform;
            arch = arch.Length > 0 ? arch : meta.Architecture;
            secureBoot |= meta.SecureBoot;
            if (installer.Length == 0)
            {
                installer = meta.InstallerImage ?? FactoryCatalog.InstallerImageFromUrl(meta.Url, meta.Platform, request.SchematicId, request.Version, meta.SecureBoot);
            }
        }
        else if (AssetParts(asset ?? "") is { } parts)
        {
            platform = platform.Length > 0 ? platform : parts.Platform;
            arch = arch.Length > 0 ? arch : parts.Arch;
            secureBoot |= parts.SecureBoot;
        }
        if (installer.Length == 0 && platform.Length > 0 && request.SchematicId.Length == 64 && TalosSemVersion.TryParse(request.Version, out _))
        {
            installer = FactoryCatalog.InstallerImage(FactoryCatalog.PublicFactoryUrl, platform, request.SchematicId, request.Version, secureBoot);
        }
        return request with { Platform = platform, Architecture = arch, SecureBoot = secureBoot, InstallerImage = installer };
    }

    /// <summary>Platform, architecture and SecureBoot of a factory asset name, or null when it is none.</summary>
    internal static (string Platform, string Arch, bool SecureBoot)? AssetParts(string asset)
    {
        foreach (var platform in FactoryCatalog.Platforms.OrderByDescending(p => p.Length))
        {
            foreach (var arch in FactoryCatalog.Architectures)
            {
                var stem = $"{platform}-{arch}";
                if (asset.StartsWith(stem + "-secureboot.", StringComparison.Ordinal))
                {
                    return (platform, arch, true);
                }
                if (asset.StartsWith(stem + ".", StringComparison.Ordinal))
                {
                    return (platform, arch, false);
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Checks the request before anything is sent: endpoint, node, a disk image in import content, a known image
    /// (SHA-256, schematic, version) and the settings. Throws TalosException (ProxmoxEndpointInvalid,
    /// ProxmoxNodeInvalid, TemplateSourceNotImport, TemplateImageUnidentified, TemplateSettingInvalid).
    /// </summary>
    public static TemplateRequest Check(TemplateRequest request)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }
        if (request.Endpoint is null || !request.Endpoint.IsAbsoluteUri || request.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new TalosException(TalosErrors.ProxmoxEndpointInvalid,
                $"The Proxmox endpoint '{request.Endpoint}' must be an https:// URL, e.g. https://pve1:8006 (the API token must not travel in clear).", request.Endpoint?.ToString());
        }
        if (ProxmoxTarget.NodeProblem(request.Node) is { } nodeProblem)
        {
            throw new TalosException(TalosErrors.ProxmoxNodeInvalid, nodeProblem + ".", request.Node);
        }
        var colon = request.SourceVolumeId.IndexOf(':');
        var ext = System.IO.Path.GetExtension(request.SourceVolumeId).ToLowerInvariant();
        if (colon <= 0 || ProxmoxTarget.StorageProblem(request.SourceVolumeId.Substring(0, colon)) is not null ||
            !request.SourceVolumeId.Substring(colon + 1).StartsWith("import/", StringComparison.Ordinal) || ext is not (".raw" or ".qcow2" or ".vmdk") ||
            request.SourceVolumeId.IndexOfAny(new[] { ',', '=', ';', '\n', '\r', ' ' }) >= 0)
        {
            throw new TalosException(TalosErrors.TemplateSourceNotImport,
                $"'{SafeText.ForMessage(request.SourceVolumeId, 200)}' is not a disk image in import content (<storage>:import/<name>.raw or .qcow2): " +
                "import-from needs one, and an ISO makes no template. Expand the image (Expand-TalosImage, or prefer_decompressed: true in an order) and publish the .raw through the API.",
                request.SourceVolumeId);
        }
        var missing = new List<string>();
        if (!(request.Sha256.Length == 64 && request.Sha256.All(Uri.IsHexDigit)))
        {
            missing.Add("SHA-256");
        }
        if (request.SchematicId.Length == 0)
        {
            missing.Add("schematic ID");
        }
        if (!TalosSemVersion.TryParse(request.Version, out _))
        {
            missing.Add("Talos version");
        }
        if (missing.Count > 0)
        {
            throw new TalosException(TalosErrors.TemplateImageUnidentified,
                $"The {string.Join(", ", missing)} of {request.SourceVolumeId} {(missing.Count == 1 ? "is" : "are")} not known, and the template records them " +
                "so that it can be matched to its image later. Pipe the result of Publish-TalosImage (which carries them), or give -Sha256, -SchematicId and -Version.",
                request.SourceVolumeId);
        }
        if (request.Settings.Problems() is { Count: > 0 } problems)
        {
            throw new TalosException(TalosErrors.TemplateSettingInvalid, "Template settings: " + string.Join("; ", problems) + ".", request.SourceVolumeId);
        }
        return request with { Sha256 = request.Sha256.ToLowerInvariant() };
    }

    /// <summary>The template's family: schematic, platform, architecture and SecureBoot (templates of one family differ in version only).</summary>
    public static string FamilyOf(TemplateRequest r) =>
        $"{r.SchematicId}/{(r.Platform.Length > 0 ? r.Platform : "image")}-{(r.Architecture.Length > 0 ? r.Architecture : "any")}{(r.SecureBoot ? "-secureboot" : "")}";

    /// <summary>The VM name: the given one, else <c>talos-&lt;version&gt;-&lt;platform&gt;-&lt;arch&gt;[-secureboot]-&lt;schematic 12&gt;</c> as a DNS name.</summary>
    public static string NameFor(TemplateRequest r)
    {
        if (r.Settings.Name is { Length: > 0 } name)
        {
            return name;
        }
        var raw = $"talos-{r.Version}-{r.Platform}-{r.Architecture}{(r.SecureBoot ? "-secureboot" : "")}-{(r.SchematicId.Length >= 12 ? r.SchematicId.Substring(0, 12) : r.SchematicId)}";
        var chars = raw.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '-').ToArray();
        var text = new string(chars);
        while (text.Contains("--"))
        {
            text = text.Replace("--", "-");
        }
        text = text.Trim('-');
        return text.Length > 63 ? text.Substring(0, 63).TrimEnd('-') : text;
    }

    /// <summary>TalosImage's tags (talos, talosimage, the version as a tag) and the given ones, as Proxmox stores them.</summary>
    public static IReadOnlyList<string> TagsFor(TemplateRequest r)
    {
        var version = new string(r.Version.ToLowerInvariant().Select(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '-' or '_' or '+' ? c : '_').ToArray());
        return new[] { "talos", TemplateMarker.Tag, version }.Concat(r.Settings.Tags).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The marker written into the description.</summary>
    public static TemplateMarker MarkerFor(TemplateRequest r) => new()
    {
        Sha256 = r.Sha256,
        SchematicId = r.SchematicId,
        Version = r.Version,
        Family = FamilyOf(r),
        Image = r.SourceVolumeId,
        Storage = r.Settings.Storage,
        InstallerImage = r.InstallerImage,
        SecureBoot = r.SecureBoot,
    };

    /// <summary>
    /// The form fields of <c>POST /nodes/{node}/qemu</c> (also what -WhatIf and a dry run show): the Talos defaults,
    /// the SecureBoot firmware for a SecureBoot image, a cloud-init drive for nocloud, then the options (an empty value
    /// removes a default).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ConfigFor(TemplateRequest r, int vmid)
    {
        var s = r.Settings;
        var fields = new List<KeyValuePair<string, string>>
        {
            new("vmid", vmid.ToString(CultureInfo.InvariantCulture)),
            new("name", NameFor(r)),
            new("description", MarkerFor(r).ToDescription()),
            new("tags", string.Join(";", TagsFor(r))),
            new("ostype", "l26"),
            new("memory", s.Memory.ToString(CultureInfo.InvariantCulture)),
            new("cores", s.Cores.ToString(CultureInfo.InvariantCulture)),
            new("cpu", TemplateSettings.DefaultCpu),
            new("scsihw", "virtio-scsi-single"),
            new("scsi0", $"{s.Storage}:0,import-from={r.SourceVolumeId}"),
            new("boot", "order=scsi0"),
            new("net0", $"virtio,bridge={s.Bridge}"),
            new("serial0", "socket"),
            new("agent", "1"),
        };
        if (r.SecureBoot)
        {
            fields.Add(new("bios", "ovmf"));
            fields.Add(new("machine", "q35"));
            fields.Add(new("efidisk0", $"{s.Storage}:1,efitype=4m,pre-enrolled-keys=0"));
        }
        if (r.Platform == "nocloud")
        {
            // Talos' nocloud platform reads its machine config from the cloud-init drive of a clone.
            fields.Add(new("ide2", $"{s.Storage}:cloudinit"));
        }
        foreach (var option in s.Options.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            var at = fields.FindIndex(f => f.Key == option.Key);
            if (option.Value.Length == 0)
            {
                if (at >= 0)
                {
                    fields.RemoveAt(at);
                }
            }
            else if (at >= 0)
            {
                fields[at] = new(option.Key, option.Value);
            }
            else
            {
                fields.Add(new(option.Key, option.Value));
            }
        }
        return fields;
    }

    // ------------------------------------------------------------------------------------------------ the work

    /// <summary>
    /// The template for the request's image on its node: Found when one records the same SHA-256 (or an earlier run's
    /// VM that is not a template yet is finished), else Created (the given id or the next free one). With
    /// <see cref="TemplateSettings.Keep"/>, older templates of its family are retired (each a Retired result after the
    /// first), sparing any that a linked clone depends on. Bad input throws before anything is sent; Proxmox failures
    /// throw TalosException (ProxmoxTaskFailed, ProxmoxApiError, 401/403, certificates, TemplateVmIdTaken).
    /// </summary>
    /// <param name="confirmRetire">Asked before each retirement with the template's node/vmid and name (ShouldProcess); null: retire without asking.</param>
    public async Task<IReadOnlyList<TalosVMTemplate>> EnsureAsync(TemplateRequest request, CancellationToken ct, Func<string, string, bool>? confirmRetire = null)
    {
        request = Check(request);
        var watch = Stopwatch.StartNew();
        var node = request.Node;
        using var client = new ProxmoxApiClient(request.Endpoint, _token, request.FingerprintSha256, _options);
        var all = await TemplateInventory.ListAsync(client, node, ct).ConfigureAwait(false);
        // TalosImage's VMs: templates and tagged VMs (an interrupted run's VM). Their configs say which image they hold.
        var ours = new List<ClusterVm>();
        foreach (var vm in all.Where(v => v.IsQemu && (v.Template || v.Tagged)))
        {
            var read = await TemplateInventory.WithConfigAsync(client, vm, ct).ConfigureAwait(false);
            if (read.Marker is not null)
            {
                ours.Add(read);
            }
        }

        var results = new List<TalosVMTemplate>();
        var matches = ours.Where(v => v.Node == node && v.Marker!.Sha256 == request.Sha256)
            .OrderByDescending(v => v.VmId == request.Settings.VmId).ThenByDescending(v => v.Template).ThenBy(v => v.VmId).ToList();
        TalosVMTemplate current;
        if (matches.FirstOrDefault() is { } match)
        {
            if (request.Settings.VmId is { } asked && asked != match.VmId)
            {
                _events.Warning($"Proxmox {node}: the image {request.SourceVolumeId} already has template {match.VmId} ({match.Name}); returning it instead of making vmid {asked}.");
            }
            if (!match.Template)
            {
                _events.Verbose($"Proxmox {node}: VM {match.VmId} holds this image but is not a template yet (an earlier run stopped); making it one.");
                await ToTemplateAsync(client, node, match.VmId, ct).ConfigureAwait(false);
                current = Result(request, match.VmId, match.Name, TemplateStatus.Created, client.Endpoint, watch.Elapsed);
            }
            else
            {
                _events.Verbose($"Proxmox {node}: template {match.VmId} ({match.Name}) already records image {request.Sha256.Substring(0, 12)}...; not made again.");
                current = Result(request, match.VmId, match.Name, TemplateStatus.Found, client.Endpoint, watch.Elapsed) with
                {
                    Storage = match.Marker!.Storage.Length > 0 ? match.Marker.Storage : request.Settings.Storage,
                    InstallerImage = match.Marker.InstallerImage.Length > 0 ? match.Marker.InstallerImage : request.InstallerImage,
                };
            }
        }
        else
        {
            var vmid = await VmIdAsync(client, request, all, ct).ConfigureAwait(false);
            var name = NameFor(request);
            var createCall = new ProxmoxCall($"Creating VM {vmid} ({name}) from {request.SourceVolumeId}", node, request.Settings.Storage,
                $"VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace on /storage/{request.Settings.Storage}, Datastore.Audit on the image's storage, SDN.Use on the bridge");
            var data = await client.PostFormAsync($"nodes/{ProxmoxApiClient.E(node)}/qemu", ConfigFor(request, vmid), createCall, ct).ConfigureAwait(false);
            var upid = ProxmoxApiClient.UpidOf(data) ?? throw new TalosException(TalosErrors.ProxmoxProtocolError,
                $"{createCall.What} on node {node} of {client.Endpoint}: the answer carries no task id (UPID). Is this a Proxmox VE API?", client.Endpoint);
            _events.Verbose($"Proxmox {node}: {createCall.What}: task {upid}.");
            try
            {
                await client.WaitForTaskAsync(upid, createCall, ct).ConfigureAwait(false);
            }
            catch (TalosException e) when (e.ErrorId == TalosErrors.ProxmoxTaskFailed.Id)
            {
                throw new TalosException(TalosErrors.ProxmoxTaskFailed,
                    e.Message + $" VM {vmid} may be left half made: check it (qm config {vmid}) and remove it (qm destroy {vmid}) before running again.", upid, e);
            }
            await ToTemplateAsync(client, node, vmid, ct).ConfigureAwait(false);
            _events.Verbose($"Proxmox {node}: template {vmid} ({name}) made from {request.SourceVolumeId} in {Units.Duration(watch.Elapsed)}.");
            current = Result(request, vmid, name, TemplateStatus.Created, client.Endpoint, watch.Elapsed);
        }
        results.Add(current);

        if (request.Settings.Keep is { } keep)
        {
            results.AddRange(await RetireAsync(client, request, current, all, ours, keep, confirmRetire, ct).ConfigureAwait(false));
        }
        return results;
    }

    private static async Task<int> VmIdAsync(ProxmoxApiClient client, TemplateRequest request, IReadOnlyList<ClusterVm> all, CancellationToken ct)
    {
        if (request.Settings.VmId is { } given)
        {
            if (all.FirstOrDefault(v => v.VmId == given) is { } taken)
            {
                throw new TalosException(TalosErrors.TemplateVmIdTaken,
                    $"VM id {given} is taken on {client.Endpoint} by {(taken.Template ? "template" : taken.IsQemu ? "VM" : taken.Type)} '{SafeText.ForMessage(taken.Name, 80)}' on node {taken.Node}, " +
                    $"which does not record the image {request.SourceVolumeId} (SHA-256 {request.Sha256}); it is not overwritten. " +
                    "Choose another vmid or leave it out to take the next free one.", given);
            }
            return given;
        }
        var call = new ProxmoxCall("Asking for the next free VM id", request.Node, request.Settings.Storage, "Sys.Audit or VM.Allocate (GET /cluster/nextid)");
        var data = await client.GetDataAsync("cluster/nextid", call, ct).ConfigureAwait(false);
        return TemplateInventory.Int(data) is { } next and >= TemplateSettings.MinVmId
            ? next
            : throw new TalosException(TalosErrors.ProxmoxProtocolError, $"{call.What} on {client.Endpoint}: the answer is not a VM id. Is this a Proxmox VE API?", client.Endpoint);
    }

    private async Task ToTemplateAsync(ProxmoxApiClient client, string node, int vmid, CancellationToken ct)
    {
        var call = new ProxmoxCall($"Turning VM {vmid} into a template", node, "-", $"VM.Allocate on /vms/{vmid}");
        var data = await client.PostFormAsync($"nodes/{ProxmoxApiClient.E(node)}/qemu/{vmid.ToString(CultureInfo.InvariantCulture)}/template",
            Array.Empty<KeyValuePair<string, string>>(), call, ct).ConfigureAwait(false);
        // Current releases answer a UPID; older ones null (done at once).
        if (ProxmoxApiClient.UpidOf(data) is { } upid)
        {
            _events.Verbose($"Proxmox {node}: {call.What}: task {upid}.");
            await client.WaitForTaskAsync(upid, call, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Keep-N per family: the current template always stays; of the others the newest versions (then the highest ids) stay.</summary>
    private async Task<IReadOnlyList<TalosVMTemplate>> RetireAsync(ProxmoxApiClient client, TemplateRequest request, TalosVMTemplate current,
        IReadOnlyList<ClusterVm> all, IReadOnlyList<ClusterVm> ours, int keep, Func<string, string, bool>? confirmRetire, CancellationToken ct)
    {
        var family = FamilyOf(request);
        var others = ours.Where(v => v.Template && v.VmId != current.VmId && v.Marker!.Family == family)
            .OrderByDescending(v => TalosSemVersion.TryParse(v.Marker!.Version, out var sv) ? sv : null, Comparer<TalosSemVersion?>.Create((a, b) => a is null ? (b is null ? 0 : -1) : a.CompareTo(b)))
            .ThenByDescending(v => v.VmId)
            .ToList();
        var retire = others.Skip(Math.Max(0, keep - 1)).ToList();
        if (retire.Count == 0)
        {
            return Array.Empty<TalosVMTemplate>();
        }
        // Linked clones: any VM whose disk refers to base-<id>-disk-N of a template. Every qemu config is read once.
        var configs = new List<ClusterVm>(ours);
        foreach (var vm in all.Where(v => v.IsQemu && ours.All(o => o.VmId != v.VmId)))
        {
            configs.Add(await TemplateInventory.WithConfigAsync(client, vm, ct).ConfigureAwait(false));
        }
        var retired = new List<TalosVMTemplate>();
        foreach (var old in retire)
        {
            var clones = configs.Where(v => v.IsLinkedCloneOf(old.VmId)).Select(v => v.VmId).ToList();
            if (clones.Count > 0)
            {
                _events.Warning($"Proxmox {old.Node}: template {old.VmId} ({old.Name}) is beyond keep {keep} of family {family}, but linked clones depend on it " +
                    $"(VM {string.Join(", ", clones)}); it stays.");
                continue;
            }
            if (confirmRetire is not null && !confirmRetire($"{old.Node}/{old.VmId} ({old.Name}, {old.Marker!.Version})", $"Retire the VM template (beyond keep {keep} of its family)"))
            {
                continue;
            }
            var watch = Stopwatch.StartNew();
            var call = new ProxmoxCall($"Removing template {old.VmId} ({old.Name})", old.Node, "-", $"VM.Allocate on /vms/{old.VmId}");
            var data = await client.DeleteAsync($"nodes/{ProxmoxApiClient.E(old.Node)}/qemu/{old.VmId.ToString(CultureInfo.InvariantCulture)}?purge=1", call, ct).ConfigureAwait(false);
            if (ProxmoxApiClient.UpidOf(data) is { } upid)
            {
                await client.WaitForTaskAsync(upid, call, ct).ConfigureAwait(false);
            }
            _events.Verbose($"Proxmox {old.Node}: retired template {old.VmId} ({old.Name}, {old.Marker!.Version}): beyond keep {keep} of family {family}.");
            var m = old.Marker!;
            retired.Add(new TalosVMTemplate
            {
                VmId = old.VmId,
                Node = old.Node,
                Name = old.Name,
                Status = TemplateStatus.Retired.ToString(),
                Storage = m.Storage,
                SourceVolumeId = m.Image,
                Version = m.Version,
                SchematicId = m.SchematicId,
                Sha256 = m.Sha256,
                SecureBoot = m.SecureBoot,
                InstallerImage = m.InstallerImage,
                Family = m.Family,
                Endpoint = client.Endpoint,
                Tags = old.Config is { } c && c.TryGetValue("tags", out var t) ? t : old.Tags,
                Duration = watch.Elapsed.TotalSeconds,
            });
        }
        return retired;
    }

    private static TalosVMTemplate Result(TemplateRequest r, int vmid, string name, TemplateStatus status, string endpoint, TimeSpan duration) => new()
    {
        VmId = vmid,
        Node = r.Node,
        Name = name,
        Status = status.ToString(),
        Storage = r.Settings.Storage,
        SourceVolumeId = r.SourceVolumeId,
        Version = r.Version,
        SchematicId = r.SchematicId,
        Sha256 = r.Sha256,
        SecureBoot = r.SecureBoot,
        InstallerImage = r.InstallerImage,
        Family = FamilyOf(r),
        Endpoint = endpoint,
        Tags = string.Join(";", TagsFor(r)),
        Duration = duration.TotalSeconds,
    };
}
