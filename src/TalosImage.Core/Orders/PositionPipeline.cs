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
    private readonly SftpConnectionPool _sftpConnections = new();
    private readonly SemaphoreSlim _downloads;
    private readonly SemaphoreSlim _expansions;
    private readonly SemaphoreSlim _pushes;
    private readonly ConcurrentDictionary<string, Lazy<Task<TalosArtifact>>> _expanded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, OverlappedExpansion> _overlapped = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TalosPublishResult>>>> _published = new(StringComparer.Ordinal);

    public PositionPipeline(TalosConfig config, RunOptions options, IEngineEvents events, RunLog log, SchematicService schematics, bool checkExtensions)
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
        // One SSH connection per host for the whole run (sftp transport); closed in Dispose.
        _ssh = new SshPublisher(events, new SshPublishOptions { Connections = _sftpConnections });
        _downloads = new SemaphoreSlim(config.Concurrency);
        _expansions = new SemaphoreSlim(Math.Max(1, Math.Min(config.Concurrency, 2)));
        _pushes = new SemaphoreSlim(config.Concurrency);
    }

    public void Dispose()
    {
        _sftpConnections.Dispose();
        _downloads.Dispose();
        _expansions.Dispose();
        _pushes.Dispose();
    }

    /// <summary>
    /// One position through its stages: <see cref="SchematicAsync"/>, <see cref="DownloadAsync"/>, <see cref="ExpandAsync"/>
    /// (when the position expands) and <see cref="PublishAsync"/> (when it has targets). A failure in any stage ends
    /// the position with that stage, its ErrorId and message; the other positions go on.
    /// </summary>
    public async Task<PositionOutcome> RunAsync(PlannedPosition p, CancellationToken ct)
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

        var stage = PipelineStage.Schematic;
        try
        {
            outcome = await SchematicAsync(outcome, ct).ConfigureAwait(false);
            stage = PipelineStage.Download;
            outcome = await DownloadAsync(outcome, ct).ConfigureAwait(false);
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
        var created = await _schematics.EnsureAsync(p.Schematic, ct).ConfigureAwait(false);
        if (!string.Equals(created.SchematicId, p.SchematicId, StringComparison.Ordinal))
        {
            // The factory's ID is the truth (SchematicService has warned about the difference).
            p = Planner.Locate(p, created.SchematicId, _config, p.ExpandedPath is not null);
        }
        p = p with { SchematicSource = created.Source == "Factory" ? "factory" : p.SchematicSource };
        if (_checkExtensions && p.Extensions.Count > 0)
        {
            await _schematics.CheckExtensionsAsync(p.Version!, p.Extensions, ct).ConfigureAwait(false);
        }
        _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Schematic.Word(), PositionStatus.Ok.Word(), p.SchematicId);
        return outcome with { Planned = p };
    }

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
            var request = new ArtifactRequest
            {
                SchematicId = p.SchematicId,
                Version = p.Version!,
                Platform = p.Platform,
                Architecture = p.Arch,
                Format = p.Format,
                SecureBoot = p.SecureBoot,
                FactoryUrl = _config.FactoryUrl,
            };
            var step = _save.Plan(request, new SaveOptions { Verify = _options.Verify });
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
        var artifact = p.PushExpanded && outcome.Expanded is not null ? outcome.Expanded : outcome.Download!;
        var pushes = await Task.WhenAll(p.Targets.Select(t => PublishOnceAsync(p, artifact, t, ct))).ConfigureAwait(false);
        var results = pushes.SelectMany(r => r).ToList();
        foreach (var r in results)
        {
            var word = r.Is(PublishStatus.Failed) ? PositionStatus.Failed.Word() : r.Is(PublishStatus.Skipped) ? PositionStatus.Skipped.Word() : PositionStatus.Ok.Word();
            _log.Write(p.OrderId, p.Index, p.Name, PipelineStage.Publish.Word(), word, $"{r.Host}:{r.VolumeId ?? r.Destination}" + (r.Error is null ? "" : " " + r.Error));
        }
        return outcome with { Pushes = results };
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
    private Task<IReadOnlyList<TalosPublishResult>> PublishOnceAsync(PlannedPosition p, TalosArtifact artifact, PlannedTarget target, CancellationToken ct)
    {
        var mode = p.RemoteExpand && !p.PushExpanded ? SshPublishMode.RemoteExpand : SshPublishMode.AsIs;
        var key = $"{target.Transport}|{target.Host}|{target.Destination}|{artifact.Path}|{mode}";
        return _published.GetOrAdd(key, _ => new Lazy<Task<IReadOnlyList<TalosPublishResult>>>(async () =>
        {
            await _pushes.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await PublishAsync(artifact, target, mode, ct).ConfigureAwait(false);
            }
            catch (TalosException e)
            {
                return new[] { Failed(artifact, target, e.Message, e.ErrorId) };
            }
            finally
            {
                _pushes.Release();
            }
        })).Value;
    }

    private async Task<IReadOnlyList<TalosPublishResult>> PublishAsync(TalosArtifact artifact, PlannedTarget target, SshPublishMode mode, CancellationToken ct)
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
            }, ct).ConfigureAwait(false);
        }
        var host = target.SshHost!;
        var result = await _ssh.PublishAsync(artifact, new SshTarget
        {
            Host = host.Host,
            IsoDir = host.IsoDir ?? _config.ProxmoxDefaultIsoDir,
            ImportDir = host.ImportDir ?? _config.ProxmoxDefaultImportDir,
            SshOptions = _config.Push.SshOpts,
            RsyncOptions = _config.Push.RsyncOpts,
            Transport = SshTransports.Parse(host.Transport ?? _config.Push.Transport),
        }, mode, ct).ConfigureAwait(false);
        return new[] { result };
    }

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
