using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Publishing.Retention;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// What TalosImage published on a Proxmox storage (Get-TalosPublished), and remote retention there
/// (Clear-TalosPublished, push.retention): the iso and import content of the storage on each node (once, through the
/// first node, for a shared storage), of which only names of TalosImage's own naming count
/// (<see cref="PublishedName"/>); which VMs and templates use each (<see cref="VolumeUsage"/>). Removing re-reads the
/// storage and the VM configurations first and removes only a volume that is still there, still of TalosImage's naming and
/// used by no VM or template; when the configurations cannot be read, nothing is removed.
/// </summary>
public sealed class ProxmoxInventory
{
    private readonly ProxmoxApiToken _token;
    private readonly IEngineEvents _events;
    private readonly ProxmoxOptions _options;

    public ProxmoxInventory(ProxmoxApiToken token, IEngineEvents events, ProxmoxOptions? options = null)
    {
        _token = token ?? throw new ArgumentNullException(nameof(token));
        _events = events ?? NullEngineEvents.Instance;
        _options = options ?? ProxmoxOptions.Default;
    }

    /// <summary>
    /// The images of TalosImage's naming on the target's storage, with the VMs that use them. With
    /// <paramref name="keepVersions"/>, those retention would remove are WouldRemove (or InUse when a VM uses them, or
    /// when the VM configurations cannot be read); the rest Published. Failures throw TalosException.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishedImage>> ListAsync(ProxmoxTarget target, int? keepVersions, CancellationToken ct, IReadOnlyCollection<string>? protect = null)
    {
        ProxmoxPublisher.VolumeIdOf(new TalosArtifact { Format = "iso", Asset = "x.iso", Version = "v0.0.0" }, target); // validates the target
        using var client = new ProxmoxApiClient(target.Endpoint, _token, target.FingerprintSha256, _options);
        return await ListAsync(client, target, keepVersions, protect, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes <paramref name="items"/> (those of this endpoint and storage; normally the WouldRemove ones of
    /// <see cref="ListAsync(ProxmoxTarget, int?, CancellationToken, IReadOnlyCollection{string})"/>): each is Removed, InUse (kept: a VM or template uses it,
    /// or the configurations cannot be read), Failed (with Error), or dropped when it is no longer there.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishedImage>> RemoveAsync(ProxmoxTarget target, IEnumerable<TalosPublishedImage> items, CancellationToken ct)
    {
        using var client = new ProxmoxApiClient(target.Endpoint, _token, target.FingerprintSha256, _options);
        var wanted = items.Where(i => i.Transport == PublishTransport.ProxmoxApi.ToString() && i.Storage == target.Storage).ToList();
        if (wanted.Count == 0)
        {
            return Array.Empty<TalosPublishedImage>();
        }
        // Fresh: what is there now, and who uses it now.
        var now = await ListAsync(client, target, null, null, ct).ConfigureAwait(false);
        var results = new List<TalosPublishedImage>();
        foreach (var item in wanted)
        {
            var current = now.FirstOrDefault(n => n.Path == item.Path && (n.Shared || n.Host == item.Host));
            if (current is null)
            {
                _events.Verbose($"Proxmox {item.Host}: {item.Path} is no longer there.");
                continue;
            }
            if (current.UsedBy.Length > 0 || current.Error is not null)
            {
                results.Add(current with { State = nameof(PublishedState.InUse) });
                continue;
            }
            try
            {
                await ProxmoxPublisher.DeleteVolumeAsync(client, current.Host, target.Storage, current.Path, _events, ct).ConfigureAwait(false);
                _events.Verbose($"Proxmox {current.Host}: removed {current.Path} ({current.Version}, {current.Family}).");
                results.Add(current with { State = nameof(PublishedState.Removed) });
            }
            catch (TalosException e)
            {
                results.Add(current with { State = nameof(PublishedState.Failed), Error = e.Message, ErrorId = e.ErrorId });
            }
        }
        return results;
    }

    private async Task<IReadOnlyList<TalosPublishedImage>> ListAsync(ProxmoxApiClient client, ProxmoxTarget target, int? keep, IReadOnlyCollection<string>? protect, CancellationToken ct)
    {
        var nodes = target.Nodes;
        ProxmoxStorageConfig? config;
        try
        {
            config = await client.GetStorageConfigAsync(new ProxmoxCall($"Reading storage {target.Storage}", nodes[0], target.Storage, $"Datastore.Audit on /storage/{target.Storage}"), ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (e.ErrorId == TalosErrors.ProxmoxPermissionDenied.Id)
        {
            _events.Verbose($"Proxmox {client.Endpoint}: cannot read the configuration of storage {target.Storage} (403); treating it as not shared.");
            config = null;
        }
        var shared = config?.Shared == true;
        var contents = new[] { "iso", "import" }.Where(c => config?.Content is not { } allowed || allowed.Contains(c, StringComparer.Ordinal)).ToList();
        var found = new List<(string Node, ProxmoxVolume Volume, PublishedName Name)>();
        foreach (var node in shared ? nodes.Take(1) : nodes)
        {
            foreach (var content in contents)
            {
                var call = new ProxmoxCall($"Listing {content} content of storage {target.Storage}", node, target.Storage, $"Datastore.Audit or Datastore.AllocateSpace on /storage/{target.Storage}");
                foreach (var volume in await client.ListContentAsync(content, call, ct).ConfigureAwait(false))
                {
                    var prefix = $"{target.Storage}:{content}/";
                    if (!volume.VolumeId.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        continue;
                    }
                    var name = PublishedName.TryParse(volume.VolumeId.Substring(prefix.Length));
                    // The content directory must fit the extension, as TalosImage stores them: .iso in iso, disk images in import.
                    if (name is not null && (name.Format == "iso") == (content == "iso"))
                    {
                        found.Add((node, volume, name));
                    }
                }
            }
        }
        if (shared && nodes.Count > 1)
        {
            _events.Verbose($"Proxmox {client.Endpoint}: storage {target.Storage} is shared; listed once, through node {nodes[0]}.");
        }
        var usage = new VolumeUsage(client, new ProxmoxCall("Reading VM configurations", nodes[0], target.Storage, "VM.Audit"));
        string? usageError = null;
        var users = new Dictionary<string, IReadOnlyList<VolumeUser>>(StringComparer.Ordinal);
        foreach (var volid in found.Select(f => f.Volume.VolumeId).Distinct(StringComparer.Ordinal))
        {
            if (usageError is not null)
            {
                break;
            }
            try
            {
                users[volid] = await usage.UsersOfAsync(volid, ct).ConfigureAwait(false);
            }
            catch (TalosException e)
            {
                usageError = e.Message;
                _events.Warning($"Proxmox {client.Endpoint}: cannot tell which VMs use the images on {target.Storage}, so none is removed: {e.Message}");
            }
        }
        var beyond = new HashSet<string>(StringComparer.Ordinal);
        if (keep is { } k)
        {
            foreach (var perNode in found.GroupBy(f => f.Node, StringComparer.Ordinal))
            {
                foreach (var n in PublishedName.Beyond(perNode.Select(f => f.Name), k))
                {
                    beyond.Add(perNode.Key + "\n" + n);
                }
            }
        }
        return found.Select(f =>
        {
            var usedBy = users.TryGetValue(f.Volume.VolumeId, out var u) ? u.Select(x => x.ToString()).ToArray() : Array.Empty<string>();
            var older = beyond.Contains(f.Node + "\n" + f.Name.Name) && !(protect?.Contains(f.Volume.VolumeId) ?? false);
            var state = !older ? PublishedState.Published : usedBy.Length > 0 || usageError is not null ? PublishedState.InUse : PublishedState.WouldRemove;
            return f.Name.Describe() with
            {
                Transport = PublishTransport.ProxmoxApi.ToString(),
                Endpoint = client.Endpoint,
                Host = f.Node,
                Storage = target.Storage,
                Shared = shared,
                Path = f.Volume.VolumeId,
                Size = f.Volume.Size,
                UsedBy = usedBy,
                State = state.ToString(),
                Error = usageError is not null ? "the VM configurations could not be read, so it may be in use: " + usageError : null,
                ErrorId = usageError is not null ? TalosErrors.ProxmoxVolumeInUse.Id : null,
            };
        }).OrderBy(i => i.Host, StringComparer.Ordinal).ThenBy(i => i.Family, StringComparer.Ordinal).ThenByDescending(i => PublishedName.TryParse(i.Name)!.Version).ToList();
    }
}
