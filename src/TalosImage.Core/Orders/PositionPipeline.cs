using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Artifacts;
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
    private readonly ArtifactDownloader _downloader;
    private readonly ImageExpander _expander;
    private readonly SshPublisher _ssh;
    private readonly SemaphoreSlim _downloads;
    private readonly SemaphoreSlim _expansions;
    private readonly SemaphoreSlim _pushes;
    private readonly ConcurrentDictionary<string, Lazy<Task<TalosArtifact>>> _expanded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<TalosPublishResult>>>> _published = new(StringComparer.Ordinal);

    public PositionPipeline(TalosConfig config, RunOptions options, IEngineEvents events, RunLog log, SchematicService schematics, bool checkExtensions)
    {
        _config = config;
        _options = options;
        _events = events;
        _log = log;
        _schematics = schematics;
        _checkExtensions = checkExtensions;
        _downloader = new ArtifactDownloader(config.CacheDir, events, options.Http);
        _expander = new ImageExpander(events);
        _ssh = new SshPublisher(events);
        _downloads = new SemaphoreSlim(config.Concurrency);
        _expansions = new SemaphoreSlim(Math.Max(1, Math.Min(config.Concurrency, 2)));
        _pushes = new SemaphoreSlim(config.Concurrency);
    }

    public void Dispose()
    {
        _downloads.Dispose();
        _expansions.Dispose();
        _pushes.Dispose();
    }

    public async Task<PositionOutcome> RunAsync(PlannedPosition p, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var outcome = new PositionOutcome { Planned = p };
        if (p.Error is not null)
        {
            return Fail(outcome, "plan", p.ErrorId ?? TalosErrors.VersionUnresolved.Id, p.Error, watch, p.ErrorKind);
        }
        if (_options.Confirm is { } confirm && !confirm(p))
        {
            _log.Write(p.OrderId, p.Index, p.Name, "position", "skipped", "declined");
            return outcome with { Status = "skipped", Seconds = watch.Elapsed.TotalSeconds };
        }

        var stage = "schematic";
        try
        {
            if (p.Schematic is not null)
            {
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
                _log.Write(p.OrderId, p.Index, p.Name, stage, "ok", p.SchematicId);
            }
            outcome = outcome with { Planned = p };

            stage = "download";
            var stageWatch = Stopwatch.StartNew();
            TalosArtifact download;
            bool joined;
            await _downloads.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var saving = _downloader.SaveAsync(new ArtifactRequest
                {
                    SchematicId = p.SchematicId,
                    Version = p.Version!,
                    Platform = p.Platform,
                    Architecture = p.Arch,
                    Format = p.Format,
                    SecureBoot = p.SecureBoot,
                    FactoryUrl = _config.FactoryUrl,
                }, new SaveOptions { Verify = _options.Verify }, ct, out joined);
                download = await saving.ConfigureAwait(false);
            }
            finally
            {
                _downloads.Release();
            }
            // A transfer that several positions share is counted once, for the position that started it.
            outcome = outcome with
            {
                Download = download,
                DownloadSeconds = stageWatch.Elapsed.TotalSeconds,
                BytesDownloaded = download.FromCache || joined ? 0 : download.Size,
            };
            _log.Write(p.OrderId, p.Index, p.Name, stage, download.FromCache ? "cached" : "ok", download.Path);

            if (p.ExpandedPath is not null)
            {
                stage = "expand";
                stageWatch.Restart();
                var expanded = await ExpandOnceAsync(download, p.ExpandedPath, ct).ConfigureAwait(false);
                outcome = outcome with { Expanded = expanded, ExpandSeconds = stageWatch.Elapsed.TotalSeconds };
                _log.Write(p.OrderId, p.Index, p.Name, stage, expanded.FromCache ? "cached" : "ok", expanded.Path);
            }

            if (p.Targets.Count > 0)
            {
                stage = "publish";
                var artifact = p.PushExpanded && outcome.Expanded is not null ? outcome.Expanded : download;
                var pushes = await Task.WhenAll(p.Targets.Select(t => PublishOnceAsync(p, artifact, t, ct))).ConfigureAwait(false);
                var results = pushes.SelectMany(r => r).ToList();
                outcome = outcome with { Pushes = results };
                foreach (var r in results)
                {
                    _log.Write(p.OrderId, p.Index, p.Name, stage, r.Status == "Failed" ? "failed" : r.Status == "Skipped" ? "skipped" : "ok",
                        $"{r.Host}:{r.VolumeId ?? r.Destination}" + (r.Error is null ? "" : " " + r.Error));
                }
                var failed = results.Where(r => r.Status == "Failed").ToList();
                if (failed.Count > 0)
                {
                    var message = string.Join("; ", failed.Select(f => $"push to {f.Host} failed: {f.Error}"));
                    return Fail(outcome, stage, TalosErrors.PublishFailed.Id, message, watch);
                }
            }
            _log.Write(p.OrderId, p.Index, p.Name, "position", "ok");
            return outcome with { Status = "ok", Seconds = watch.Elapsed.TotalSeconds };
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (TalosException e)
        {
            return Fail(outcome, stage, e.ErrorId, e.Message, watch, e.Kind);
        }
        catch (Exception e)
        {
            // Whatever goes wrong in one position (a disk error, or a defect of ours) stays with that position: the
            // others go on and the order's manifest is written. The type names the cause for a bug report.
            var id = TalosErrors.Unexpected(stage).Id;
            return Fail(outcome, stage, id, e is System.IO.IOException or UnauthorizedAccessException or System.Net.Http.HttpRequestException or TimeoutException
                ? e.Message
                : $"{e.GetType().Name}: {e.Message}", watch);
        }
    }

    private PositionOutcome Fail(PositionOutcome outcome, string stage, string errorId, string message, Stopwatch watch, TalosErrorKind kind = TalosErrorKind.InvalidOperation)
    {
        var p = outcome.Planned;
        _log.Write(p.OrderId, p.Index, p.Name, stage, "failed", message);
        _events.Warning($"{p.OrderId}/{SafeText.ForMessage(p.Name, 200)}: {stage} failed: {SafeText.Printable(message)}");
        return outcome with { Status = "failed", FailedStage = stage, ErrorId = errorId, ErrorKind = kind, Error = message, Seconds = watch.Elapsed.TotalSeconds };
    }

    /// <summary>One expansion per destination, however many positions ask for it.</summary>
    private Task<TalosArtifact> ExpandOnceAsync(TalosArtifact download, string destination, CancellationToken ct) =>
        _expanded.GetOrAdd(destination, _ => new Lazy<Task<TalosArtifact>>(async () =>
        {
            await _expansions.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                return await _expander.ExpandAsync(download, destination, ct).ConfigureAwait(false);
            }
            finally
            {
                _expansions.Release();
            }
        })).Value;

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
                return new[] { Failed(artifact, target, e.Message) };
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
                Method = endpoint.Method == "download-url" ? ProxmoxMethod.DownloadUrl : ProxmoxMethod.Upload,
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
        }, mode, ct).ConfigureAwait(false);
        return new[] { result };
    }

    private static TalosPublishResult Failed(TalosArtifact artifact, PlannedTarget target, string error) => new()
    {
        Host = target.Host,
        Destination = target.Destination,
        Status = "Failed",
        Error = error,
        Transport = target.Transport,
        Path = artifact.Path,
        Sha256 = artifact.Sha256,
        Size = artifact.Size,
        SchematicId = artifact.SchematicId,
        Version = artifact.Version,
        Asset = artifact.Asset,
    };
}
