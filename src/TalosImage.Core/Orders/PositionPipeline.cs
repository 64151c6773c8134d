using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Core.Schematics;

namespace TalosImage.Core.Orders;

/// <summary>
/// Runs positions through the stages schematic -> download -> expand -> publish. Every position runs at once; each
/// stage has its own bound (schematic POSTs and extension lists: defaults.concurrency, in SchematicService; downloads
/// and pushes: defaults.concurrency; expansions: at most two, since each one uses every core), so the downloads, expansions and pushes of different positions overlap. Work that several positions
/// share is done once: a schematic (SchematicService), an artifact (ArtifactDownloader), an expansion and a push
/// (memoised here by destination).
/// </summary>
internal sealed class PositionPipeline : IDisposable
{
    private readonly TalosConfig _config;
    private readonly RunOptions _options;
    private readonly IEngineEvents _events;
    private readonly RunLog _log;
    private readonly SchematicService _schematics;
    private readonly bool _checkExtensions;
    private readonly SaveStage _save;
    private readonly ExpandStage _expand;
    private readonly SshPublisher _ssh;
    private readonly RunConnections _connections;
    private readonly bool _ownsConnections;
    private readonly ConcurrentDictionary<(string, int, int), ProbeTicket> _probeTickets = new();
    // Each position's SSH targets, whose connections open as the position starts (ConnectAhead).
    private readonly ConcurrentDictionary<(string, int), List<SshTarget>> _aheadTargets = new();
    private readonly SemaphoreSlim _downloads;
    private readonly SemaphoreSlim _expansions;
    private readonly SemaphoreSlim _pushes;
    private readonly ConcurrentDictionary<string, Lazy<Task<TalosArtifact>>> _expanded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OverlappedExpansion> _overlapped = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TalosPublishResult>>>> _published = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TalosVMTemplate>>>> _templates = new(StringComparer.Ordinal);

    /// <param name="connections">The run's SSH connections, some perhaps already opening (the pipeline uses them and leaves them to the caller to close); null: the pipeline makes its own and closes them in Dispose.</param>
    public PositionPipeline(TalosConfig config, RunOptions options, IEngineEvents events, RunLog log, SchematicService schematics, bool checkExtensions, RunConnections? connections = null)
    {
        _config = config;
        _options = options;
        _events = events;
        _log = log;
        _schematics = schematics;
        _checkExtensions = checkExtensions;
        // The run holds the cache lock for all of its stages.
        _save = new SaveStage(config.CacheDir, events, options.Http, CacheAccess.HeldByCaller);
        // defaults.decompressor, with TALOSIMAGE_DECOMPRESSOR already applied by the loader (DecompressorChoice).
        DecompressorChoice.TryParse(config.Decompressor, out var decompressor);
        _expand = new ExpandStage(events, new ExpandOptions { Backend = decompressor }, CacheAccess.HeldByCaller);
        _downloads = new SemaphoreSlim(config.Concurrency);
        _expansions = new SemaphoreSlim(Math.Max(1, Math.Min(config.Concurrency, 2)));
        _pushes = new SemaphoreSlim(config.Concurrency);
        // One SSH connection per host for the whole run (both transports) and one probe command per host for the pushes
        // that reach it together; closed in Dispose. The transfers are bounded by defaults.concurrency, the probes not.
        _ownsConnections = connections is null;
        _connections = connections ?? new RunConnections(events);
        _ssh = new SshPublisher(events, new SshPublishOptions { Connections = _connections.Pool, Run = _connections.Run, TransferGate = _pushes });
    }

    public void Dispose()
    {
        if (_ownsConnections)
        {
            _connections.Dispose();
        }
        _downloads.Dispose();
        _expansions.Dispose();
        _pushes.Dispose();
    }

    /// <summary>
    /// Announces every SSH push of the run before any position starts, so that each host's probes wait for one another
    /// and go in one remote command (<see cref="SshRun.Expect"/>). A position withdraws what it does not push.
    /// Each position's SSH hosts are remembered, and their connections opened as the position starts, so that the
    /// handshakes overlap its first stages (<see cref="ConnectAhead"/>).
    /// </summary>
    public void Announce(IEnumerable<PlannedPosition> positions)
    {
        foreach (var p in positions.Where(p => p.Error is null))
        {
            var hosts = new List<SshTarget>();
            for (var i = 0; i < p.Targets.Count; i++)
            {
                if (p.Targets[i].Proxmox is null && p.Targets[i].SshHost is { } host &&
                    SshTargetOf(host) is var target && _connections.Run.Expect(target, new SshPublishOptions()) is { } ticket)
                {
                    _probeTickets[(p.OrderId, p.Index, i)] = ticket;
                    hosts.Add(target);
                }
            }
            _aheadTargets[(p.OrderId, p.Index)] = hosts;
        }
    }

    /// <summary>
    /// Opens the connections of <paramref name="p"/>'s SSH hosts that no other position opened yet, without waiting for
    /// them (<see cref="SshPublisher.ConnectAheadAsync"/>). Called once the position is confirmed, so that -Confirm's
    /// "no" leaves its hosts uncontacted; without prompts that is as the position starts.
    /// </summary>
    private void ConnectAhead(PlannedPosition p)
    {
        if (!_aheadTargets.TryRemove((p.OrderId, p.Index), out var hosts))
        {
            return;
        }
        foreach (var target in hosts)
        {
            _connections.Open(target);
        }
    }

    /// <summary>
    /// One position through its stages: <see cref="SchematicAsync"/>, <see cref="DownloadAsync"/>, <see cref="ExpandAsync"/>
    /// (when the position expands) and <see cref="PublishAsync"/> (when it has targets). A failure in any stage ends
    /// the position with that stage, its ErrorId and message; the other positions go on.
    /// </summary>
    public async Task<PositionOutcome> RunAsync(PlannedPosition p, CancellationToken ct)
    {
        try
        {
            return await RunStagesAsync(p, ct).ConfigureAwait(false);
        }
        finally
        {
            // What this position announced and did not probe (failed earlier, declined, or served by another's push).
            for (var i = 0; i < p.Targets.Count; i++)
            {
                if (_probeTickets.TryRemove((p.OrderId, p.Index, i), out var ticket))
                {
                    ticket.Withdraw();
                }
            }
        }
    }

    private async Task<PositionOutcome> RunStagesAsync(PlannedPosition p, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var outcome = new PositionOutcome { Planned = p };
        if (p.Error is not null)
        {
            return Fail(outcome, PipelineStage.Plan, p.ErrorId is null ? TalosErrors.VersionUnresolved : TalosErrors.Get(p.ErrorId, p.ErrorKind), p.Error, watch);
        }
        if (_options.Confirm is { } confirm && !confirm(p))
        {
            _log.Write(p.OrderId, p.Index, p.Name, "position", PositionStatus.Skipped.Word(), "declined");
            return outcome with { Status = PositionStatus.Skipped, Seconds = watch.Elapsed.TotalSeconds };
        }
        ConnectAhead(p);

        var stage = PipelineStage.Schematic;
        try
        {
            outcome = await SchematicAsync(outcome, ct).ConfigureAwait(false);
            stage = PipelineStage.Download;
            if (!outcome.Planned.Download)
            {
                // A pxe position records its script's URL; download: true fetches it like any other asset.
                p = outcome.Planned;
                _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Download.Word(), PositionStatus.Skipped.Word(), "recorded " + p.Url);
            }
            else
            {
                outcome = await DownloadAsync(outcome, ct).ConfigureAwait(false);
            }
            if (outcome.Planned.ExpandedPath is not null)
            {
                stage = PipelineStage.Expand;
                outcome = await ExpandAsync(outcome, ct).ConfigureAwait(false);
            }
            if (outcome.Planned.Targets.Count > 0)
            {
                stage = PipelineStage.Publish;
                outcome = await PublishAsync(outcome, ct).ConfigureAwait(false);
                var failed = outcome.Pushes.Where(r => r.Is(PublishStatus.Failed)).ToList();
                if (failed.Count > 0)
                {
                    var message = string.Join("; ", failed.Select(f => $"push to {f.Host} failed: {f.Error}"));
                    return Fail(outcome, stage, TalosErrors.PublishFailed, message, watch);
                }
            }
            if (outcome.Planned.Templates.Count > 0)
            {
                stage = PipelineStage.Template;
                outcome = await TemplateAsync(outcome, ct).ConfigureAwait(false);
                var failed = outcome.Templates.Where(t => t.Failed).ToList();
                if (failed.Count > 0)
                {
                    var message = string.Join("; ", failed.Select(f => $"template on {f.Planned} failed: {f.Error}"));
                    // One refusal of the template itself keeps its own id (TemplateVmIdTaken ...); anything else is TemplateFailed.
                    var own = failed.Count == 1 ? new[] { TalosErrors.TemplateVmIdTaken, TalosErrors.TemplateSettingInvalid, TalosErrors.TemplateSourceNotImport }
                        .FirstOrDefault(e => e.Id == failed[0].ErrorId) : null;
                    return Fail(outcome, stage, own ?? TalosErrors.TemplateFailed, message, watch);
                }
            }
            p = outcome.Planned;
            _log.Write(p.OrderId, p.Index, p.Name, "position", PositionStatus.Ok.Word());
            return outcome with { Status = PositionStatus.Ok, Seconds = watch.Elapsed.TotalSeconds };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (TalosException e)
        {
            return Fail(outcome, stage, e.Error, e.Message, watch);
        }
        catch (Exception e)
        {
            // Whatever goes wrong in one position (a disk error, or a defect of ours) stays with that position: the
            // others go on and the order's manifest is written. The type names the cause for a bug report.
            var id = TalosErrors.Unexpected(stage);
            return Fail(outcome, stage, id, e is System.IO.IOException or UnauthorizedAccessException or System.Net.Http.HttpRequestException or TimeoutException
                ? e.Message
                : $"{e.GetType().Name}: {e.Message}", watch);
        }
    }

    /// <summary>
    /// The schematic stage: creates the position's schematic at the factory (once per schematic in the run), takes the
    /// factory's ID where it differs (the paths follow it), and checks the extensions against the version's list.
    /// </summary>
    private async Task<PositionOutcome> SchematicAsync(PositionOutcome outcome, CancellationToken ct)
    {
        var p = outcome.Planned;
        if (p.Schematic is null)
        {
            return outcome;
        }
        if (HeldInCache(p))
        {
            // Content-addressed: the ID computed here is the one the factory gave when it served these bytes. Nothing
            // of this position needs the factory, so it is not asked (a warm re-run works while the factory is away).
            _events.Verbose($"schematic {p.SchematicId}: computed here; the cache holds {p.Version} {p.Format} from {_config.FactoryUrl} under it, so the factory is not asked.");
            p = p with { SchematicSource = "cache" };
        }
        else
        {
            var created = await _schematics.EnsureAsync(p.Schematic, ct).ConfigureAwait(false);
            if (!string.Equals(created.SchematicId, p.SchematicId, StringComparison.Ordinal))
            {
                // The factory's ID is the truth (SchematicService has warned about the difference).
                p = Planner.Locate(p, created.SchematicId, _config, p.ExpandedPath is not null);
            }
            p = p with { SchematicSource = created.Source == "Factory" ? "factory" : p.SchematicSource };
        }
        if (_checkExtensions)
        {
            // Extension names and the overlay, against the cached official lists of the version or the factory's.
            await _schematics.CheckAsync(p.Version!, p.Schematic!, ct).ConfigureAwait(false);
        }
        _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Schematic.Word(), PositionStatus.Ok.Word(), p.SchematicId);
        return outcome with { Planned = p };
    }

    /// <summary>
    /// Whether the position's download is already in the cache under its locally computed schematic ID, recorded from
    /// this run's factory (and neither --verify nor an asset that is only referenced, like an iPXE URL, asks for more):
    /// then the schematic needs no POST. Online runs only; a run without a factory computes IDs locally anyway.
    /// </summary>
    private bool HeldInCache(PlannedPosition p)
    {
        if (_options.Offline || _options.Verify || !p.Download || p.SchematicSource != "local" || p.Version is null)
        {
            return false;
        }
        var step = _save.Plan(RequestOf(p), new SaveOptions());
        // The record's own URL (the cached artifact's is the request's): downloaded from this factory.
        return step.Cached is not null && Cache.ArtifactMetadata.TryRead(step.Path) is { } recorded &&
            recorded.Url.StartsWith(_config.FactoryUrl.TrimEnd('/') + "/", StringComparison.Ordinal);
    }

    private ArtifactRequest RequestOf(PlannedPosition p) => new()
    {
        SchematicId = p.SchematicId,
        Version = p.Version!,
        Platform = p.Platform,
        Architecture = p.Arch,
        Format = p.Format,
        SecureBoot = p.SecureBoot,
        FactoryUrl = _config.FactoryUrl,
        PxeUrl = _config.PxeUrl,
    };

    /// <summary>The download stage, through <see cref="SaveStage"/> (the run holds the cache lock), at most defaults.concurrency at once.</summary>
    private async Task<PositionOutcome> DownloadAsync(PositionOutcome outcome, CancellationToken ct)
    {
        var p = outcome.Planned;
        var watch = Stopwatch.StartNew();
        Saved saved;
        await _downloads.WaitAsync(ct).ConfigureAwait(false);
        OverlappedExpansion? overlap = null;
        try
        {
            var step = _save.Plan(RequestOf(p), new SaveOptions { Verify = _options.Verify });
            overlap = step.Cached is null ? Overlap(p, step.Path) : null;
            saved = await _save.RunAsync(overlap is null ? step : step with { Options = step.Options with { Observer = overlap } }, ct).ConfigureAwait(false);
        }
        finally
        {
            if (overlap is not null)
            {
                overlap.Close();
                _expansions.Release();
            }
            _downloads.Release();
        }
        var download = saved.Artifact;
        _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Download.Word(), download.FromCache ? "cached" : PositionStatus.Ok.Word(), download.Path);
        // A transfer that several positions share is counted once, for the position that started it.
        return outcome with
        {
            Download = download,
            DownloadSeconds = watch.Elapsed.TotalSeconds,
            BytesDownloaded = download.FromCache || saved.Shared ? 0 : download.Size,
        };
    }

    /// <summary>
    /// An expansion of the position's download that takes the body as it arrives, when the position expands it, a
    /// streaming decoder can, an expansion slot is free now (it holds one during the download) and no other
    /// position's download is expanding into that destination. Null otherwise: the expansion runs after the download.
    /// </summary>
    private OverlappedExpansion? Overlap(PlannedPosition p, string downloadPath)
    {
        if (p.ExpandedPath is not { } destination || _expanded.ContainsKey(destination) || !_expansions.Wait(0))
        {
            return null;
        }
        var overlap = _expand.Overlap(p.Format, downloadPath, destination);
        if (overlap is null || !_overlapped.TryAdd(destination, overlap))
        {
            _expansions.Release();
            return null;
        }
        return overlap;
    }

    /// <summary>The expansion stage: one expansion per destination, however many positions ask for it.</summary>
    private async Task<PositionOutcome> ExpandAsync(PositionOutcome outcome, CancellationToken ct)
    {
        var p = outcome.Planned;
        var watch = Stopwatch.StartNew();
        var expanded = await ExpandOnceAsync(outcome.Download!, p.ExpandedPath!, ct).ConfigureAwait(false);
        _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Expand.Word(), expanded.FromCache ? "cached" : PositionStatus.Ok.Word(), expanded.Path);
        return outcome with { Expanded = expanded, ExpandSeconds = watch.Elapsed.TotalSeconds };
    }

    /// <summary>The publish stage: every target of the position at once (each push once per run); failed pushes are results, not exceptions.</summary>
    private async Task<PositionOutcome> PublishAsync(PositionOutcome outcome, CancellationToken ct)
    {
        var p = outcome.Planned;
        if (Publishing.ProxmoxContent.Refusal(p.Format, p.Asset) is { } refused)
        {
            // A boot asset has no Proxmox content type: every target fails with the reason, and no host is contacted.
            var identity = new Artifacts.ArtifactRequest { SchematicId = p.SchematicId, Version = p.Version ?? "", Platform = p.Platform, Architecture = p.Arch, Format = p.Format, SecureBoot = p.SecureBoot }
                .Identity(outcome.Download?.Sha256 ?? "", outcome.Download?.Size ?? 0) with { Url = p.Url };
            var refusals = p.Targets.Select(t => Failed(new TalosArtifact(identity) { Path = outcome.Download?.Path ?? p.CachePath }, t, refused, TalosErrors.ProxmoxFormatUnsupported.Id)).ToList();
            foreach (var r in refusals)
            {
                _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Publish.Word(), PositionStatus.Failed.Word(), $"{r.Host}:{r.Destination} {r.Error}");
            }
            return outcome with { Pushes = refusals };
        }
        var artifact = p.PushExpanded && outcome.Expanded is not null ? outcome.Expanded : outcome.Download!;
        var pushes = await Task.WhenAll(p.Targets.Select((t, i) => PublishOnceAsync(p, artifact, t, i, ct))).ConfigureAwait(false);
        var results = pushes.SelectMany(r => r).ToList();
        foreach (var r in results.Where(r => !r.Is(PublishStatus.Failed)))
        {
            _pushedThisRun[r.VolumeId ?? r.Destination] = 0;
        }
        foreach (var r in results)
        {
            var word = r.Is(PublishStatus.Failed) ? PositionStatus.Failed.Word() : r.Is(PublishStatus.Skipped) ? PositionStatus.Skipped.Word() : PositionStatus.Ok.Word();
            _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Publish.Word(), word, $"{r.Host}:{r.VolumeId ?? r.Destination}" + (r.Error is null ? "" : " " + r.Error));
        }
        return outcome with { Pushes = results };
    }

    /// <summary>
    /// The template stage: on each Proxmox endpoint the position published to, a VM template from the published disk
    /// image (ProxmoxTemplateBuilder: found again by its SHA-256, or made; keep-N when asked), once per endpoint, node
    /// and image however many positions ask. A failure is that endpoint's outcome, not an exception.
    /// </summary>
    private async Task<PositionOutcome> TemplateAsync(PositionOutcome outcome, CancellationToken ct)
    {
        var p = outcome.Planned;
        var artifact = p.PushExpanded && outcome.Expanded is not null ? outcome.Expanded : outcome.Download!;
        var done = new List<TemplateOutcome>();
        foreach (var planned in Planner.Templates(p))
        {
            var watch = Stopwatch.StartNew();
            try
            {
                // The same push, memoised: exactly this endpoint's results.
                var pushed = await PublishOnceAsync(p, artifact, planned.Target, index: -1, ct).ConfigureAwait(false); // a Proxmox target: no SSH probe ticket
                var result = pushed.FirstOrDefault(r => r.Host == planned.Node && !r.Is(PublishStatus.Failed)) ?? throw new TalosException(TalosErrors.TemplateFailed,
                    $"the image was not published to node {planned.Node} of {planned.Target.Host} (template.node must be one of the endpoint's nodes: {string.Join(", ", planned.Target.Proxmox!.Nodes)})", planned.Node);
                var endpoint = planned.Target.Proxmox!;
                var request = ProxmoxTemplateBuilder.ForPublished(result, new Uri(endpoint.Url), endpoint.Fingerprint, planned.Settings) with
                {
                    Platform = p.Platform,
                    Architecture = p.Arch,
                    SecureBoot = p.SecureBoot,
                    InstallerImage = p.InstallerImage,
                };
                var key = $"{endpoint.Url}|{request.Node}|{request.Sha256}";
                var results = await _templates.GetOrAdd(key, _ => new Lazy<Task<IReadOnlyList<TalosVMTemplate>>>(async () =>
                {
                    var token = ProxmoxApiToken.FromEnvironment(endpoint.TokenEnv, _options.Environment);
                    return await new ProxmoxTemplateBuilder(token, _events).EnsureAsync(request, ct).ConfigureAwait(false);
                })).Value.ConfigureAwait(false);
                foreach (var r in results)
                {
                    _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Template.Word(), r.Status.ToLowerInvariant(), $"{planned.Target.Host}/{r.Node}/{r.VmId} {r.Name}");
                }
                done.Add(new TemplateOutcome { Planned = planned, Results = results, Seconds = watch.Elapsed.TotalSeconds });
            }
            catch (TalosException e)
            {
                _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Template.Word(), PositionStatus.Failed.Word(), $"{planned} {e.Message}");
                done.Add(new TemplateOutcome { Planned = planned, Error = e.Message, ErrorId = e.ErrorId, Seconds = watch.Elapsed.TotalSeconds });
            }
        }
        return outcome with { Templates = done };
    }

    private PositionOutcome Fail(PositionOutcome outcome, PipelineStage stage, TalosError error, string message, Stopwatch watch)
    {
        var p = outcome.Planned;
        _log.Write(p.OrderId, p.Index, p.Name, stage.Word(), PositionStatus.Failed.Word(), message);
        _events.Warning($"{p.OrderId}/{SafeText.ForMessage(p.Name, 200)}: {stage.Word()} failed: {SafeText.Printable(message)}");
        return outcome with { Status = PositionStatus.Failed, FailedStage = stage, ErrorId = error.Id, ErrorKind = error.Kind, Error = message, Seconds = watch.Elapsed.TotalSeconds };
    }

    /// <summary>One expansion per destination, however many positions ask for it.</summary>
    private Task<TalosArtifact> ExpandOnceAsync(TalosArtifact download, string destination, CancellationToken ct) =>
        _expanded.GetOrAdd(destination, _ => new Lazy<Task<TalosArtifact>>(async () =>
        {
            // Expanded while it downloaded (and recorded after the download): taken as it is.
            // (Another position's download may still be expanding into this destination: that settles first.)
            if (_overlapped.TryGetValue(destination, out var overlap))
            {
                await overlap.Settled.ConfigureAwait(false);
                if (overlap.Result is { } done && SamePath(overlap.SourcePath, download.Path))
                {
                    return done;
                }
            }
            await _expansions.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await _expand.RunAsync(_expand.Plan(download, destination, ct), ct).ConfigureAwait(false);
            }
            finally
            {
                _expansions.Release();
            }
        })).Value;

    private static bool SamePath(string a, string b) => string.Equals(System.IO.Path.GetFullPath(a), System.IO.Path.GetFullPath(b), StringComparison.Ordinal);

    /// <summary>One push per target and file, however many positions ask for it; remote failures become Failed results.</summary>
    /// <summary>Remote paths and volume ids this run published or found in place: remote retention never removes them.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _pushedThisRun = new(StringComparer.Ordinal);

    /// <summary>
    /// push.retention after an order's positions: for every target of a position that asked for it and did not fail,
    /// once per target and order, the images TalosImage published there beyond the newest keep_versions per family are
    /// removed, unless a VM or template uses them or this run published them. Returns what was removed, kept in use or
    /// failed (each also a verbose line); failures never fail the order.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishedImage>> RetainAsync(IReadOnlyList<PositionOutcome> outcomes, CancellationToken ct)
    {
        var results = new List<TalosPublishedImage>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in outcomes.Where(o => !o.Failed && o.Status != PositionStatus.Skipped && o.Planned.RetentionKeep is not null))
        {
            var keep = o.Planned.RetentionKeep!.Value;
            foreach (var target in o.Planned.Targets)
            {
                if (!seen.Add($"{target.Transport}|{target.Host}|{target.Destination}|{keep}"))
                {
                    continue;
                }
                try
                {
                    results.AddRange(await RetainAtAsync(target, keep, ct).ConfigureAwait(false));
                }
                catch (TalosException e)
                {
                    _events.Warning($"remote retention on {target.Host}:{target.Destination} failed: {e.Message}");
                    results.Add(new TalosPublishedImage
                    {
                        Transport = target.Proxmox is null ? PublishTransport.Ssh.ToString() : PublishTransport.ProxmoxApi.ToString(),
                        Host = target.Host, Storage = target.Destination, State = nameof(PublishedState.Failed), Error = e.Message, ErrorId = e.ErrorId,
                    });
                }
            }
        }
        foreach (var r in results)
        {
            _log.Write("-", null, null, "retention", r.State, $"{r.Host}:{r.Path}" + (r.Error is null ? "" : " " + r.Error));
        }
        return results;
    }

    private async Task<IReadOnlyList<TalosPublishedImage>> RetainAtAsync(PlannedTarget target, int keep, CancellationToken ct)
    {
        var protect = _pushedThisRun.Keys.ToList();
        if (target.Proxmox is { } endpoint)
        {
            var token = ProxmoxApiToken.FromEnvironment(endpoint.TokenEnv, _options.Environment);
            var inventory = new ProxmoxInventory(token, _events);
            var proxmox = new ProxmoxTarget
            {
                Endpoint = new Uri(endpoint.Url),
                Nodes = endpoint.Nodes,
                Storage = endpoint.Storage,
                FingerprintSha256 = endpoint.Fingerprint,
                Method = Vocabulary.ProxmoxMethodOf(endpoint.Method),
            };
            var listed = await inventory.ListAsync(proxmox, keep, ct, protect).ConfigureAwait(false);
            var removed = await inventory.RemoveAsync(proxmox, listed.Where(i => i.State == nameof(PublishedState.WouldRemove)), ct).ConfigureAwait(false);
            return listed.Where(i => i.State == nameof(PublishedState.InUse)).Concat(removed).ToList();
        }
        var ssh = SshTargetOf(target.SshHost!);
        var found = await _ssh.ListPublishedAsync(ssh, keep, ct, protect).ConfigureAwait(false);
        var gone = await _ssh.RemovePublishedAsync(ssh, found.Where(i => i.State == nameof(PublishedState.WouldRemove)), ct).ConfigureAwait(false);
        return found.Where(i => i.State == nameof(PublishedState.InUse)).Concat(gone).ToList();
    }

    private Task<IReadOnlyList<TalosPublishResult>> PublishOnceAsync(PlannedPosition p, TalosArtifact artifact, PlannedTarget target, int index, CancellationToken ct)
    {
        var mode = p.RemoteExpand && !p.PushExpanded ? SshPublishMode.RemoteExpand : SshPublishMode.AsIs;
        var key = $"{target.Transport}|{target.Host}|{target.Destination}|{artifact.Path}|{mode}";
        _probeTickets.TryRemove((p.OrderId, p.Index, index), out var ticket);
        var mine = new Lazy<Task<IReadOnlyList<TalosPublishResult>>>(async () =>
        {
            // SSH pushes take _pushes only for their transfer (SshPublishOptions.TransferGate): their probes go together.
            var gated = target.Proxmox is not null;
            if (gated)
            {
                await _pushes.WaitAsync(ct).ConfigureAwait(false);
            }
            try
            {
                return await PublishAsync(artifact, target, mode, p, ticket, ct).ConfigureAwait(false);
            }
            catch (TalosException e)
            {
                return new[] { Failed(artifact, target, e.Message, e.ErrorId) };
            }
            finally
            {
                ticket?.Withdraw();
                if (gated)
                {
                    _pushes.Release();
                }
            }
        });
        var push = _published.GetOrAdd(key, mine);
        if (!ReferenceEquals(push, mine))
        {
            // Another position's push to the same destination serves this one: it does not probe.
            ticket?.Withdraw();
        }
        return push.Value;
    }

    private async Task<IReadOnlyList<TalosPublishResult>> PublishAsync(TalosArtifact artifact, PlannedTarget target, SshPublishMode mode, PlannedPosition p, ProbeTicket? ticket, CancellationToken ct)
    {
        if (target.Proxmox is { } endpoint)
        {
            var token = ProxmoxApiToken.FromEnvironment(endpoint.TokenEnv, _options.Environment);
            var proxmox = new ProxmoxPublisher(token, _events);
            return await proxmox.PublishAsync(artifact, new ProxmoxTarget
            {
                Endpoint = new Uri(endpoint.Url),
                Nodes = endpoint.Nodes,
                Storage = endpoint.Storage,
                FingerprintSha256 = endpoint.Fingerprint,
                Method = Vocabulary.ProxmoxMethodOf(endpoint.Method),
                Replace = p.Replace,
                ReplaceInUse = p.ReplaceInUse,
            }, ct).ConfigureAwait(false);
        }
        var result = await _ssh.PublishAsync(artifact, SshTargetOf(target.SshHost!) with { Replace = p.Replace, ReplaceInUse = p.ReplaceInUse }, mode, ticket, ct).ConfigureAwait(false);
        return new[] { result };
    }

    private SshTarget SshTargetOf(PushHost host) => RunConnections.TargetOf(host, _config);

    private static TalosPublishResult Failed(TalosArtifact artifact, PlannedTarget target, string error, string errorId) => new(artifact.GetIdentity(), artifact.Path)
    {
        Host = target.Host,
        Destination = target.Destination,
        Status = nameof(PublishStatus.Failed),
        Error = error,
        ErrorId = errorId,
        Transport = target.Transport,
    };
}
