using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using TalosImage;

namespace TalosImage.Core.Publishing.Proxmox;

/// <summary>
/// Publishes artifacts to a Proxmox VE storage through its API: lists the storage first and reuses a volume of the
/// same name and size (never overwrites one), otherwise uploads the cached file (<see cref="ProxmoxMethod.Upload"/>)
/// or lets the node fetch the factory URL (<see cref="ProxmoxMethod.DownloadUrl"/>), then waits for the Proxmox task.
/// On a shared storage the file is published once, through the first node.
/// </summary>
public sealed class ProxmoxPublisher
{
    /// <summary><see cref="TalosPublishResult.Transport"/> of every result.</summary>
    public static readonly string Transport = PublishTransport.ProxmoxApi.ToString();

    private static int _nextActivityId = 6000;

    private readonly ProxmoxApiToken _token;
    private readonly IEngineEvents _events;
    private readonly ProxmoxOptions _options;

    public ProxmoxPublisher(ProxmoxApiToken token, IEngineEvents events, ProxmoxOptions? options = null)
    {
        _token = token ?? throw new ArgumentNullException(nameof(token));
        _events = events ?? NullEngineEvents.Instance;
        _options = options ?? ProxmoxOptions.Default;
    }

    /// <summary>
    /// The volume id the artifact gets on the target's storage (for -WhatIf), e.g.
    /// <c>local:iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso</c>. Fails with ErrorId ProxmoxFormatUnsupported when
    /// the artifact cannot be stored with the target's method.
    /// </summary>
    public string VolumeIdFor(TalosArtifact artifact, ProxmoxTarget target) => VolumeIdOf(artifact, target);

    /// <summary><see cref="VolumeIdFor"/> without a token (for -WhatIf before any secret is read).</summary>
    public static string VolumeIdOf(TalosArtifact artifact, ProxmoxTarget target) =>
        ProxmoxVolumePlan.For(artifact ?? throw new ArgumentNullException(nameof(artifact)), CheckTarget(target).Storage, target.Method).VolumeId;

    /// <summary>
    /// Publishes <paramref name="artifact"/> to every node of <paramref name="target"/> and returns one result per node
    /// (Published, Skipped or Failed with Error). Bad input (target, token-less call, a format Proxmox cannot store, a
    /// missing local file) throws <see cref="TalosException"/> before anything is sent; failures on a node (TLS,
    /// 401/403, a conflicting volume, a failed task) become that node's Failed result. Cancellation throws.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishResult>> PublishAsync(TalosArtifact artifact, ProxmoxTarget target, CancellationToken ct)
    {
        if (artifact is null)
        {
            throw new ArgumentNullException(nameof(artifact));
        }
        CheckTarget(target);
        var plan = ProxmoxVolumePlan.For(artifact, target.Storage, target.Method);
        var sha256 = artifact.Sha256 is { Length: 64 } s && s.All(Uri.IsHexDigit) ? s.ToLowerInvariant() : null;
        long? localSize = null;
        if (target.Method == ProxmoxMethod.Upload)
        {
            var file = new FileInfo(artifact.Path ?? "");
            if (!file.Exists)
            {
                throw new TalosException(TalosErrors.ArtifactFileMissing,
                    $"{artifact.Path} does not exist; it cannot be uploaded to {target.Endpoint}. Download it again (Save-TalosImage).", artifact.Path);
            }
            localSize = file.Length;
        }
        else if (string.IsNullOrWhiteSpace(artifact.Url) || !Uri.TryCreate(artifact.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new TalosException(TalosErrors.ProxmoxUrlMissing,
                $"{artifact.Asset} has no http(s) URL a Proxmox node could download (download-url needs the factory URL).", artifact.Path);
        }

        using var client = new ProxmoxApiClient(target.Endpoint, _token, target.FingerprintSha256, _options);
        var nodes = target.Nodes;
        var work = new NodeWork(artifact, target, plan, sha256, localSize, client);

        ProxmoxStorageConfig? config;
        try
        {
            config = await client.GetStorageConfigAsync(
                new ProxmoxCall($"Reading storage {target.Storage}", nodes[0], target.Storage, $"Datastore.Audit on /storage/{target.Storage}"), ct).ConfigureAwait(false);
        }
        catch (TalosException e) when (e.ErrorId == TalosErrors.ProxmoxPermissionDenied.Id)
        {
            // Reading the storage configuration needs more than publishing does: go on without it, node by node
            // (on a shared storage the second node then finds the volume and reuses it).
            _events.Verbose($"Proxmox {client.Endpoint}: cannot read the configuration of storage {target.Storage} (403); treating it as not shared.");
            config = null;
        }
        catch (TalosException e)
        {
            return nodes.Select(n => work.Result(n, PublishStatus.Failed, 0, false, TimeSpan.Zero, e.Message, e.ErrorId)).ToList();
        }

        if (config?.Content is { } allowed && !allowed.Contains(plan.Content, StringComparer.Ordinal))
        {
            var message = $"Storage {target.Storage} on {client.Endpoint} does not allow content '{plan.Content}' (it allows {string.Join(",", allowed)}), " +
                $"so {plan.VolumeId} cannot be stored there. Enable it (Datacenter > Storage > {target.Storage} > Content, or " +
                $"pvesm set {target.Storage} --content {string.Join(",", allowed.Concat(new[] { plan.Content }))}) or choose another storage.";
            return nodes.Select(n => work.Result(n, PublishStatus.Failed, 0, false, TimeSpan.Zero, message, TalosErrors.ProxmoxContentNotAllowed.Id)).ToList();
        }

        if (config?.Shared == true && nodes.Count > 1)
        {
            _events.Verbose($"Proxmox {client.Endpoint}: storage {target.Storage} is shared; publishing {plan.VolumeId} once, through node {nodes[0]}.");
            var first = await PublishToNodeAsync(work, nodes[0], ct).ConfigureAwait(false);
            var results = new List<TalosPublishResult> { first };
            foreach (var node in nodes.Skip(1))
            {
                results.Add(first.Is(PublishStatus.Failed)
                    ? work.Result(node, PublishStatus.Failed, 0, false, TimeSpan.Zero, $"Not published: storage {target.Storage} is shared and publishing through node {nodes[0]} failed.", first.ErrorId)
                    : work.Result(node, PublishStatus.Skipped, 0, first.Verified, TimeSpan.Zero, null));
            }
            return results;
        }

        var perNode = new List<TalosPublishResult>();
        foreach (var node in nodes)
        {
            perNode.Add(await PublishToNodeAsync(work, node, ct).ConfigureAwait(false));
        }
        return perNode;
    }

    private async Task<TalosPublishResult> PublishToNodeAsync(NodeWork work, string node, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var (target, plan, client) = (work.Target, work.Plan, work.Client);
        var listCall = new ProxmoxCall($"Listing {plan.Content} content of storage {target.Storage}", node, target.Storage,
            $"Datastore.Audit or Datastore.AllocateSpace on /storage/{target.Storage}");
        try
        {
            var existing = (await client.ListContentAsync(plan.Content, listCall, ct).ConfigureAwait(false))
                .FirstOrDefault(v => string.Equals(v.VolumeId, plan.VolumeId, StringComparison.Ordinal));
            // Unknown: a node-side expanded ISO, or an artifact ordered for download-url that was never downloaded here.
            var expectedSize = work.LocalSize ?? (plan.Compression is null && work.Artifact.Size > 0 ? work.Artifact.Size : (long?)null);
            if (existing is not null)
            {
                if (await ReuseAsync(work, node, existing, expectedSize, watch, ct).ConfigureAwait(false) is { } reused)
                {
                    return reused;
                }
                // Replacing (target.Replace): the old volume is gone; what follows sends the artifact as for a new one.
            }
            await CheckSpaceAsync(work, node, expectedSize, ct).ConfigureAwait(false);

            long sent = 0;
            if (target.Method == ProxmoxMethod.Upload)
            {
                sent = await UploadAsync(work, node, ct).ConfigureAwait(false);
            }
            else
            {
                await DownloadUrlAsync(work, node, ct).ConfigureAwait(false);
            }

            // Confirm what Proxmox stored under the name we expect (a different normalisation or a missing content
            // type would otherwise go unnoticed).
            var stored = (await client.ListContentAsync(plan.Content, listCall, ct).ConfigureAwait(false))
                .FirstOrDefault(v => string.Equals(v.VolumeId, plan.VolumeId, StringComparison.Ordinal));
            if (stored is null)
            {
                throw new TalosException(TalosErrors.ProxmoxVolumeMissing,
                    $"The Proxmox task finished but {plan.VolumeId} is not listed on node {node}, storage {target.Storage}.", plan.VolumeId);
            }
            if (expectedSize is { } size && stored.Size != size)
            {
                throw new TalosException(TalosErrors.ProxmoxVolumeSizeMismatch,
                    $"{plan.VolumeId} on node {node} has {stored.Size} bytes after publishing; {size} were expected.", plan.VolumeId);
            }
            _events.Verbose($"Proxmox {node}: published {plan.VolumeId} ({Units.Bytes(stored.Size)}) in {Units.Duration(watch.Elapsed)}.");
            return work.Result(node, PublishStatus.Published, sent, work.Sha256 is not null, watch.Elapsed, null);
        }
        catch (TalosException e)
        {
            return work.Result(node, PublishStatus.Failed, 0, false, watch.Elapsed, e.Message, e.ErrorId);
        }
    }

    /// <summary>
    /// An existing volume of the same name: same size is reused (with DownloadUrl and a known checksum, Proxmox is asked
    /// to compare it without downloading); a different size or checksum is a conflict, never an overwrite.
    /// </summary>
    private async Task<TalosPublishResult?> ReuseAsync(NodeWork work, string node, ProxmoxVolume existing, long? expectedSize, Stopwatch watch, CancellationToken ct)
    {
        var plan = work.Plan;
        if (expectedSize is { } size && existing.Size != size)
        {
            var what = $"exists with a different size ({existing.Size} bytes; this artifact has {size}, SHA-256 {work.Sha256 ?? "unknown"}; " +
                "Proxmox reports no checksum of a stored volume)";
            if (work.Target.Replace)
            {
                await RemoveForReplaceAsync(work, node, what, ct).ConfigureAwait(false);
                return null;
            }
            throw Conflict(work, node, what);
        }
        if (expectedSize is null)
        {
            var why = plan.Compression is not null ? $"Proxmox expanded it from a {plan.Compression} download" : "the artifact's size is not known here";
            _events.Warning($"Proxmox {node}: {plan.VolumeId} exists and {why}, so its size cannot be compared. Reusing it.");
            return work.Result(node, PublishStatus.Skipped, 0, false, watch.Elapsed, null);
        }
        if (work.Target.Method == ProxmoxMethod.DownloadUrl && work.Sha256 is not null)
        {
            try
            {
                // With a checksum and an existing file, download-url only compares the checksum: no download.
                await DownloadUrlAsync(work, node, ct).ConfigureAwait(false);
            }
            catch (TalosException e) when (e.ErrorId == TalosErrors.ProxmoxTaskFailed.Id && e.Message.IndexOf("checksum mismatch", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                var what = $"exists with the same size but a different SHA-256 (Proxmox: {ChecksumText(e.Message)}; this artifact has {work.Sha256})";
                if (!work.Target.Replace)
                {
                    throw Conflict(work, node, what);
                }
                await RemoveForReplaceAsync(work, node, what, ct).ConfigureAwait(false);
                return null;
            }
            _events.Verbose($"Proxmox {node}: {plan.VolumeId} is already there; Proxmox confirmed its SHA-256. Reused.");
            return work.Result(node, PublishStatus.Skipped, 0, true, watch.Elapsed, null);
        }
        _events.Verbose($"Proxmox {node}: {plan.VolumeId} is already there with the same size ({Units.Bytes(existing.Size)}); reused, not sent again.");
        return work.Result(node, PublishStatus.Skipped, 0, false, watch.Elapsed, null);
    }

    private static TalosException Conflict(NodeWork work, string node, string what) =>
        new(TalosErrors.ProxmoxVolumeConflict,
            $"{work.Plan.VolumeId} on node {node} {what}; refusing to overwrite it. If it is stale, remove it " +
            $"(pvesm free {work.Plan.VolumeId} on the node, or the storage's content view) and publish again, or replace it: " +
            "-Force (push.replace: true) removes it, when no VM or template uses it, and sends this artifact.", work.Plan.VolumeId);

    /// <summary>The "got '...' != expect '...'" part of Proxmox's checksum mismatch text, else the text.</summary>
    private static string ChecksumText(string message)
    {
        var i = message.IndexOf("got ", StringComparison.Ordinal);
        if (i < 0)
        {
            return "checksum mismatch";
        }
        var end = message.IndexOf(", aborting", i, StringComparison.Ordinal);
        return message.Substring(i, (end > i ? end : Math.Min(message.Length, i + 160)) - i);
    }

    /// <summary>
    /// The replace sequence of the API route. Proxmox cannot rename a volume, so "upload under a temporary name, then
    /// swap" does not exist here; the nearest safe order is: refuse when any VM or template configuration uses the old
    /// volume (unless <see cref="ProxmoxTarget.ReplaceInUse"/>), or when the configurations cannot be read; remove it
    /// (DELETE .../content/{volume}, its task awaited); then the caller checks the space and sends the new one, which
    /// Proxmox itself stages (in /var/tmp or a temporary file) and moves into place only when complete.
    /// </summary>
    private async Task RemoveForReplaceAsync(NodeWork work, string node, string what, CancellationToken ct)
    {
        var (target, plan) = (work.Target, work.Plan);
        var users = await UsersAsync(work, node, plan.VolumeId, ct).ConfigureAwait(false);
        if (users is null || users.Count > 0)
        {
            var who = users is null ? "the VM configurations could not be read, so it may be in use" : "it is used by " + string.Join(", ", users);
            if (!target.ReplaceInUse || users is null)
            {
                throw new TalosException(TalosErrors.ProxmoxVolumeInUse,
                    $"{plan.VolumeId} on node {node} {what}; not replaced: {who}. Detach it first, or replace it anyway with -ReplaceInUse (push.replace_in_use: true).", plan.VolumeId);
            }
            _events.Warning($"Proxmox {node}: replacing {plan.VolumeId} although {who} (-ReplaceInUse).");
        }
        _events.Verbose($"Proxmox {node}: {plan.VolumeId} {what}; removing it to replace it (-Force / push.replace).");
        await DeleteVolumeAsync(work.Client, node, target.Storage, plan.VolumeId, _events, ct).ConfigureAwait(false);
    }

    /// <summary>Who uses <paramref name="volumeId"/> (one read of the cluster's VM configurations per publish), or null when that cannot be read.</summary>
    private async Task<IReadOnlyList<VolumeUser>?> UsersAsync(NodeWork work, string node, string volumeId, CancellationToken ct)
    {
        work.Usage ??= new VolumeUsage(work.Client, new ProxmoxCall("Reading VM configurations", node, work.Target.Storage, "VM.Audit"));
        try
        {
            return await work.Usage.UsersOfAsync(volumeId, ct).ConfigureAwait(false);
        }
        catch (TalosException e)
        {
            _events.Verbose($"Proxmox {node}: cannot tell which VMs use {volumeId}: {e.Message}");
            return null;
        }
    }

    /// <summary>DELETE .../content/{volume} and the wait for its task (Datastore.Allocate on the storage).</summary>
    internal static async Task DeleteVolumeAsync(ProxmoxApiClient client, string node, string storage, string volumeId, IEngineEvents events, CancellationToken ct)
    {
        var call = new ProxmoxCall($"Removing {volumeId}", node, storage, $"Datastore.Allocate on /storage/{storage}");
        var upid = await client.DeleteVolumeAsync(volumeId, call, ct).ConfigureAwait(false);
        if (upid is not null)
        {
            events.Verbose($"Proxmox {node}: {call.What}: task {upid}.");
            var exit = await client.WaitForTaskAsync(upid, call, ct).ConfigureAwait(false);
            if (exit != "OK")
            {
                events.Warning($"Proxmox {node}: {call.What} finished with {exit} (task {upid}).");
            }
        }
    }

    /// <summary>
    /// Free space before any byte moves. The storage's <c>avail</c> (<c>GET .../storage/{s}/status</c>) must hold the
    /// image; an upload is first staged by Proxmox in <c>/var/tmp</c> of the node, so the node's root filesystem
    /// (<c>GET /nodes/{n}/status</c> rootfs) must hold it too, and when the storage reports the same total as the root
    /// filesystem (the usual <c>local</c> storage in /var/lib/vz) both copies exist there at once: twice the image is
    /// needed. A compressed download-url is counted with the compressed size (the expanded size is not known here).
    /// Unknown sizes and a status the token may not read (403) skip the check with a verbose line.
    /// </summary>
    private async Task CheckSpaceAsync(NodeWork work, string node, long? expectedSize, CancellationToken ct)
    {
        var (target, plan) = (work.Target, work.Plan);
        var size = expectedSize ?? (work.Artifact.Size > 0 ? work.Artifact.Size : (long?)null);
        if (size is not { } need)
        {
            _events.Verbose($"Proxmox {node}: the size of {plan.FileName} is not known here; free space on {target.Storage} not checked.");
            return;
        }
        var call = new ProxmoxCall($"Reading the status of storage {target.Storage}", node, target.Storage, $"Datastore.Audit or Datastore.AllocateSpace on /storage/{target.Storage}");
        ProxmoxStorageStatus status;
        (long Total, long Avail)? root = null;
        try
        {
            status = await work.Client.GetStorageStatusAsync(call, ct).ConfigureAwait(false);
            if (target.Method == ProxmoxMethod.Upload)
            {
                root = await work.Client.GetNodeRootFsAsync(call with { What = $"Reading the status of node {node}", Permission = $"Sys.Audit on /nodes/{node}" }, ct).ConfigureAwait(false);
            }
        }
        catch (TalosException e) when (e.ErrorId == TalosErrors.ProxmoxPermissionDenied.Id)
        {
            _events.Verbose($"Proxmox {node}: free space not checked ({e.ErrorId}: the token may not read the storage or node status).");
            return;
        }
        var sameFs = root is { } r && !status.Shared && r.Total == status.Total && r.Total > 0;
        var onStorage = sameFs ? 2 * need : need;
        if (status.Avail >= 0 && status.Avail < onStorage)
        {
            throw Space(plan, node, $"storage {target.Storage}", onStorage, status.Avail,
                sameFs ? " (twice the image: Proxmox stages an upload in /var/tmp, on the same filesystem as this storage)" : "");
        }
        if (!sameFs && root is { } rootFs && rootFs.Avail < need)
        {
            throw Space(plan, node, "/var/tmp (the node's root filesystem, where Proxmox stages uploads)", need, rootFs.Avail, "");
        }
        _events.Verbose($"Proxmox {node}: {Units.Bytes(onStorage)} needed on {target.Storage}, {Units.Bytes(status.Avail)} available.");
    }

    private static TalosException Space(ProxmoxVolumePlan plan, string node, string where, long needed, long available, string why) =>
        new(TalosErrors.PublishSpaceInsufficient,
            $"Not enough free space for {plan.VolumeId} on node {node}, {where}: {Units.Bytes(needed)} ({needed} bytes) needed{why}, " +
            $"{Units.Bytes(available)} ({available} bytes) available. Nothing was sent. Free space there (Clear-TalosPublished removes old versions TalosImage published) or choose another storage.",
            plan.VolumeId);

    private async Task<long> UploadAsync(NodeWork work, string node, CancellationToken ct)
    {
        var (artifact, target, plan) = (work.Artifact, work.Target, work.Plan);
        var total = work.LocalSize!.Value;
        var activity = Interlocked.Increment(ref _nextActivityId);
        var label = $"Uploading {plan.FileName} to {node}:{target.Storage}";
        var started = Stopwatch.StartNew();
        long lastReported = -1;
        var lastTime = TimeSpan.Zero;
        void Report(long done)
        {
            var now = started.Elapsed;
            if (done != total && now - lastTime < TimeSpan.FromMilliseconds(250))
            {
                return;
            }
            lastTime = now;
            lastReported = done;
            var rate = now.TotalSeconds > 0 ? done / now.TotalSeconds : 0;
            _events.Progress(new EngineProgress
            {
                ActivityId = activity,
                Activity = label,
                Status = $"{Units.Bytes(done)} of {Units.Bytes(total)}" + (rate > 0 ? $", {Units.Bytes((long)rate)}/s" : ""),
                PercentComplete = total > 0 ? (int)(done * 100 / total) : 100,
                SecondsRemaining = rate > 0 ? (int)((total - done) / rate) : -1,
                BytesDone = done,
                BytesTotal = total,
            });
        }

        var content = new ProxmoxUploadContent(artifact.Path, total, plan.Content, plan.FileName, work.Sha256,
            _options.Http.ReadTimeout, Report, ct);
        var call = new ProxmoxCall($"Uploading {plan.FileName}", node, target.Storage, $"Datastore.AllocateTemplate on /storage/{target.Storage}");
        try
        {
            var upid = await work.Client.StartTaskAsync($"nodes/{ProxmoxApiClient.E(node)}/storage/{ProxmoxApiClient.E(target.Storage)}/upload", content,
                _options.Http with { HeadersTimeout = _options.UploadTimeout }, call, ct).ConfigureAwait(false);
            await FinishAsync(work, call, upid, ct).ConfigureAwait(false);
        }
        finally
        {
            _events.Progress(new EngineProgress { ActivityId = activity, Activity = label, Status = "done", Completed = true, BytesDone = lastReported, BytesTotal = total });
        }
        return total;
    }

    private async Task DownloadUrlAsync(NodeWork work, string node, CancellationToken ct)
    {
        var (artifact, target, plan) = (work.Artifact, work.Target, work.Plan);
        var fields = new List<KeyValuePair<string, string>>
        {
            new("url", artifact.Url),
            new("content", plan.Content),
            new("filename", plan.FileName),
            new("verify-certificates", "1"),
        };
        if (work.Sha256 is not null)
        {
            fields.Add(new("checksum", work.Sha256));
            fields.Add(new("checksum-algorithm", "sha256"));
        }
        if (plan.Compression is not null)
        {
            fields.Add(new("compression", plan.Compression));
        }
        var call = new ProxmoxCall($"Downloading {plan.FileName} on the node from {Http.HttpPipeline.Redact(new Uri(artifact.Url))}", node, target.Storage,
            $"Datastore.AllocateTemplate on /storage/{target.Storage} and Sys.Audit+Sys.Modify on / (or Sys.AccessNetwork on /nodes/{node})");
        var upid = await work.Client.StartTaskAsync($"nodes/{ProxmoxApiClient.E(node)}/storage/{ProxmoxApiClient.E(target.Storage)}/download-url",
            new FormUrlEncodedContent(fields), _options.Http, call, ct).ConfigureAwait(false);
        await FinishAsync(work, call, upid, ct).ConfigureAwait(false);
    }

    private async Task FinishAsync(NodeWork work, ProxmoxCall call, string upid, CancellationToken ct)
    {
        _events.Verbose($"Proxmox {call.Node}: {call.What}: task {upid}.");
        var exit = await work.Client.WaitForTaskAsync(upid, call, ct).ConfigureAwait(false);
        if (exit != "OK")
        {
            _events.Warning($"Proxmox {call.Node}: {call.What} finished with {exit} (task {upid}; see the node's task log).");
        }
    }

    private static ProxmoxTarget CheckTarget(ProxmoxTarget target)
    {
        if (target is null)
        {
            throw new ArgumentNullException(nameof(target));
        }
        if (target.Endpoint is null || !target.Endpoint.IsAbsoluteUri || target.Endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new TalosException(TalosErrors.ProxmoxEndpointInvalid,
                $"The Proxmox endpoint '{target.Endpoint}' must be an https:// URL, e.g. https://pve1:8006 (the API token must not travel in clear).", target.Endpoint?.ToString());
        }
        if (target.Nodes is null || target.Nodes.Count == 0 || target.Nodes.Any(string.IsNullOrWhiteSpace))
        {
            throw new TalosException(TalosErrors.ProxmoxNodeMissing,
                $"No Proxmox node named for {target.Endpoint}: give the node name(s) as the cluster knows them (pvecm nodes).", target.Endpoint.ToString());
        }
        if (target.Nodes.Distinct(StringComparer.Ordinal).Count() != target.Nodes.Count)
        {
            throw new TalosException(TalosErrors.ProxmoxNodeDuplicate,
                $"A Proxmox node is named twice for {target.Endpoint}: {string.Join(", ", target.Nodes)}.", target.Endpoint.ToString());
        }
        if (string.IsNullOrWhiteSpace(target.Storage))
        {
            throw new TalosException(TalosErrors.ProxmoxStorageMissing, $"No Proxmox storage named for {target.Endpoint}.", target.Endpoint.ToString());
        }
        if (target.Nodes.Select(ProxmoxTarget.NodeProblem).FirstOrDefault(p => p is not null) is { } nodeProblem)
        {
            throw new TalosException(TalosErrors.ProxmoxNodeInvalid, nodeProblem + ".", target.Endpoint.ToString());
        }
        if (ProxmoxTarget.StorageProblem(target.Storage) is { } storageProblem)
        {
            throw new TalosException(TalosErrors.ProxmoxStorageInvalid, storageProblem + ".", target.Endpoint.ToString());
        }
        if (target.FingerprintSha256 is { } pin)
        {
            ProxmoxCertificatePin.Parse(pin);
        }
        return target;
    }

    /// <summary>What every node of one publish shares.</summary>
    private sealed class NodeWork
    {
        public NodeWork(TalosArtifact artifact, ProxmoxTarget target, ProxmoxVolumePlan plan, string? sha256, long? localSize, ProxmoxApiClient client)
        {
            (Artifact, Target, Plan, Sha256, LocalSize, Client) = (artifact, target, plan, sha256, localSize, client);
        }

        public TalosArtifact Artifact { get; }
        public ProxmoxTarget Target { get; }
        public ProxmoxVolumePlan Plan { get; }
        public string? Sha256 { get; }
        public long? LocalSize { get; }
        public ProxmoxApiClient Client { get; }
        /// <summary>Which VMs use a volume: read once per publish, when a replace needs it.</summary>
        public VolumeUsage? Usage { get; set; }

        public TalosPublishResult Result(string node, PublishStatus status, long sent, bool verified, TimeSpan duration, string? error, string? errorId = null) =>
            new(Artifact.GetIdentity(), Artifact.Path)
            {
                Host = node,
                Destination = Target.Storage,
                Status = status.ToString(),
                BytesSent = sent,
                Duration = duration.TotalSeconds,
                Verified = verified,
                Error = error,
                ErrorId = errorId,
                Transport = ProxmoxPublisher.Transport,
                VolumeId = Plan.VolumeId,
            };
    }
}
