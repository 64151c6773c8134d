using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;
using TalosImage.Core.Http;
using TalosImage.Core.Manifests;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Orders;

/// <summary>
/// The whole order flow behind Invoke-TalosOrder and talos-order: load, plan, then (unless a dry run) take the cache
/// lock, purge when asked, run every position through schematic -> download -> expand -> publish, write one manifest
/// per order as soon as it is complete, and apply retention after all orders.
/// </summary>
public sealed class OrderRunner
{
    private RunOptions _options;
    private readonly IEngineEvents _events;
    /// <summary>Order id -> what push.retention removed or kept after its publishes.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<TalosPublishedImage>> _retention = new(StringComparer.Ordinal);

    public OrderRunner(RunOptions options, IEngineEvents events)
    {
        _options = options;
        _events = events;
    }

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        var input = WithBaseDirectory(OrderLoader.Load(_options.ConfigPath, _options.OrdersPath, _options.Environment), _options.BaseDirectory);
        WithFactoryCredential(input.Config);
        using var connections = _options.DryRun || !_options.ConnectEarly ? null : OpenConnections(input);
        var plan = await Planner.PlanAsync(input, new PlanOptions
        {
            OrderIds = _options.OrderIds,
            Resolver = CreateResolver(input.Config),
            BaseDirectory = _options.BaseDirectory,
        }, _events, cancellationToken).ConfigureAwait(false);

        return _options.DryRun
            ? DryRun(await CheckExtensionsAsync(plan, cancellationToken).ConfigureAwait(false))
            : await RunPlanAsync(plan, connections, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Starts the connections of the selected orders' SSH push hosts (<see cref="RunOptions.ConnectEarly"/>); the run uses and closes them.</summary>
    private RunConnections OpenConnections(OrderInput input)
    {
        var connections = new RunConnections(_events);
        try
        {
            foreach (var target in RunConnections.TargetsOf(Planner.SelectOrders(input, _options.OrderIds), input.Config))
            {
                connections.Open(target);
            }
            return connections;
        }
        catch
        {
            connections.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A relative cache_dir means relative to the caller's current folder: the process's for talos-order, the
    /// PowerShell location for Invoke-TalosOrder (which passes it as <see cref="RunOptions.BaseDirectory"/>), the same
    /// folder the manifests follow.
    /// </summary>
    internal static OrderInput WithBaseDirectory(OrderInput input, string? baseDirectory) =>
        string.IsNullOrEmpty(baseDirectory) || Path.IsPathRooted(input.Config.CacheDir)
            ? input
            : input with { Config = input.Config with { CacheDir = Path.GetFullPath(Path.Combine(baseDirectory!, input.Config.CacheDir)) } };

    /// <summary>
    /// A dry run only lists versions: it gives up sooner than a real run, so that a machine without network plans
    /// offline (exact versions unchecked, with a warning) after one quick retry instead of minutes of backoff.
    /// </summary>
    internal static readonly HttpOptions DryRunHttp = HttpOptions.Default with
    {
        MaxAttempts = 2,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        HeadersTimeout = TimeSpan.FromMinutes(1),
    };

    /// <summary>
    /// The factory credential of the run (-FactoryCredential, else config.yaml's defaults.factory_auth, read from the
    /// environment now), carried by the run's HTTP options to the factory client and the downloader. Offline runs ask
    /// no server and need none.
    /// </summary>
    private void WithFactoryCredential(TalosConfig config)
    {
        if (_options.Offline)
        {
            return;
        }
        var credential = _options.FactoryCredential is { } given
            ? FactoryCredentials.FromParameter(config.FactoryUrl, given.UserName, given.Password)
            : FactoryCredentials.FromConfig(config.FactoryAuth, config.FactoryUrl, _options.Environment);
        if (credential is not null)
        {
            _events.Verbose($"factory requests to {credential.Origin.GetLeftPart(UriPartial.Authority)} carry {credential.Describe()}");
            _options = _options with { Http = FactoryCredentials.With(_options.Http ?? (_options.DryRun ? DryRunHttp : HttpOptions.Default), credential) };
        }
    }

    private IVersionResolver CreateResolver(TalosConfig config) => new VersionResolver(new VersionSourceOptions
    {
        Source = config.VersionSource,
        FactoryUrl = config.FactoryUrl,
        GitHubApiUrl = config.GitHubApiUrl,
        GitHubToken = _options.GitHubToken,
        Environment = _options.Environment,
        CacheDir = config.CacheDir,
        Ttl = config.VersionCacheTtl,
        Offline = _options.Offline,
        ReadOnlyCache = _options.DryRun,
        Http = _options.Http ?? (_options.DryRun ? DryRunHttp : null),
        CheckBuildable = true,
    }, _events);

    private async Task<RunResult> RunPlanAsync(Plan plan, RunConnections? connections, CancellationToken ct)
    {
        var config = plan.Config;
        var cacheDir = Path.GetFullPath(config.CacheDir);
        var watch = Stopwatch.StartNew();
        using var log = new RunLog(_options.LogPath, _events);
        using var cacheLock = await CacheLock.AcquireAsync(cacheDir, config.LockTimeout, _events, ct).ConfigureAwait(false);

        var removed = new List<TalosCacheEntry>();
        if (_options.PurgeCache || config.CachePolicy.PurgeBefore)
        {
            removed.AddRange(await CacheCleaner.ClearAsync(cacheDir, new CacheClearing { All = true }, CacheAccess.HeldByCaller, _events, ct).ConfigureAwait(false));
            log.Write("-", null, null, "purge", "ok", $"{removed.Count} file(s)");
        }

        var factory = _options.Offline ? null : new FactoryClient(config.FactoryUrl, _options.Http);
        var schematics = new SchematicService(factory, _events, config.Concurrency, new OfficialListCache(cacheDir, config.FactoryUrl));
        var positions = plan.Orders.Sum(o => o.Positions.Count);
        var done = 0;
        using var pipeline = new PositionPipeline(config, _options, _events, log, schematics, checkExtensions: true, connections);
        pipeline.Announce(plan.Orders.SelectMany(o => o.Positions));

        async Task<PositionOutcome> Run(PlannedPosition p)
        {
            var outcome = await pipeline.RunAsync(p, ct).ConfigureAwait(false);
            var n = Interlocked.Increment(ref done);
            _events.Progress(new EngineProgress
            {
                ActivityId = 1,
                Activity = "Talos orders",
                Status = $"{n} of {positions} position(s) done",
                PercentComplete = positions == 0 ? 100 : n * 100 / positions,
                Completed = n == positions,
            });
            return outcome;
        }

        // Every order's positions start at once; each order writes its manifest as soon as its own positions are done.
        var orders = plan.Orders.Select(async order =>
        {
            var orderWatch = Stopwatch.StartNew();
            var outcomes = await Task.WhenAll(order.Positions.Select(Run)).ConfigureAwait(false);
            // push.retention: after the order's successful publishes, before its manifest (which records each removal).
            var retention = await pipeline.RetainAsync(outcomes, ct).ConfigureAwait(false);
            if (retention.Count > 0)
            {
                _retention[order.Order.OrderId] = retention;
            }
            var manifestError = WriteManifest(plan, order, outcomes, orderWatch.Elapsed.TotalSeconds);
            log.Write(order.Order.OrderId, null, null, "manifest", manifestError is null ? "ok" : "failed", manifestError ?? order.ManifestPath);
            return (order, outcomes, seconds: orderWatch.Elapsed.TotalSeconds, manifestError);
        }).ToList();
        var finished = await Task.WhenAll(orders).ConfigureAwait(false);
        RetryManifests(plan, finished, log);

        if (config.CachePolicy.Enabled)
        {
            // Never remove what this run's orders use, including paths the factory's schematic IDs led to.
            var pinned = finished.SelectMany(f => f.outcomes.SelectMany(o => o.CacheFiles())).ToList();
            var retained = await CacheCleaner.ClearAsync(cacheDir, new CacheClearing { KeepVersions = config.CachePolicy.KeepVersions, Pinned = pinned }, CacheAccess.HeldByCaller, _events, ct).ConfigureAwait(false);
            removed.AddRange(retained);
            log.Write("-", null, null, "retention", "ok", $"{retained.Count} file(s) removed");
        }

        var failures = new List<PositionFailure>();
        var results = new List<TalosOrderResult>();
        foreach (var (order, outcomes, seconds, manifestError) in finished)
        {
            foreach (var o in outcomes.Where(o => o.Failed))
            {
                failures.Add(new PositionFailure(order.Order.OrderId, o.Planned.Name, o.ErrorId ?? TalosErrors.PositionFailed.Id, o.Error ?? "failed", o.ErrorKind));
            }
            if (manifestError is not null)
            {
                failures.Add(new PositionFailure(order.Order.OrderId, "(manifest)", TalosErrors.ManifestWriteFailed.Id, manifestError, TalosErrors.ManifestWriteFailed.Kind));
            }
            var failed = outcomes.Count(o => o.Failed);
            var skipped = outcomes.Count(o => o.Status == PositionStatus.Skipped);
            results.Add(new TalosOrderResult
            {
                OrderId = order.Order.OrderId,
                Customer = order.Order.Customer,
                Status = ManifestBuilder.OrderStatusOf(failed, outcomes.Length).ToString(),
                Positions = outcomes.Length,
                Succeeded = outcomes.Length - failed - skipped,
                Failed = failed,
                Skipped = skipped,
                // Purge and retention act for the whole run: a removal changes what every order's cache holds.
                Changed = outcomes.Any(o => o.Changed) || removed.Count > 0,
                ManifestPath = order.ManifestPath,
                BytesDownloaded = outcomes.Sum(o => o.BytesDownloaded),
                BytesPushed = outcomes.Sum(o => o.BytesPushed),
                Duration = Math.Round(seconds, 3),
            });
        }
        if (log.Failure is { } logFailure)
        {
            failures.Add(new PositionFailure("-", "(log)", TalosErrors.LogWriteFailed.Id, logFailure, TalosErrors.LogWriteFailed.Kind));
        }
        _events.Verbose($"run finished in {Units.Duration(watch.Elapsed)}");
        return new RunResult
        {
            Plan = plan,
            Orders = results,
            Removed = removed,
            Failures = failures,
            ExitCode = failures.Count > 0 ? ExitCodes.Failed : ExitCodes.Success,
        };
    }

    /// <summary>
    /// A manifest that could not be written while other positions were running (too many open files under a cron job's
    /// limit, a passing I/O error) is written once more when every position is done and their files are closed.
    /// </summary>
    private void RetryManifests(Plan plan, (PlannedOrder order, PositionOutcome[] outcomes, double seconds, string? manifestError)[] finished, RunLog log)
    {
        for (var i = 0; i < finished.Length; i++)
        {
            var f = finished[i];
            if (f.manifestError is null)
            {
                continue;
            }
            var error = WriteManifest(plan, f.order, f.outcomes, f.seconds);
            if (error is null)
            {
                _events.Warning($"{f.order.Order.OrderId}: the manifest {f.order.ManifestPath} was written on a second attempt, after all positions were done");
            }
            log.Write(f.order.Order.OrderId, null, null, "manifest", error is null ? "ok" : "failed", error ?? f.order.ManifestPath);
            finished[i] = f with { manifestError = error };
        }
    }

    /// <summary>True when <paramref name="path"/> is in the cache as recorded (size, time, hash), reading no artifact bytes.</summary>
    private static bool IsCached(string path) => ArtifactMetadata.TryRead(path)?.Matches(path) == true;

    /// <summary>Writes the order's manifest atomically; returns the error text when it could not be written.</summary>
    private string? WriteManifest(Plan plan, PlannedOrder order, IReadOnlyList<PositionOutcome> outcomes, double seconds)
    {
        var now = DateTimeOffset.UtcNow;
        var entries = outcomes.Select(o => ManifestBuilder.Completed(o, plan.Config, now)).ToList();
        var manifest = ManifestBuilder.ForOrder(plan, order, entries, ManifestBuilder.OrderStatus(entries), dryRun: false, seconds, now) with
        {
            RemoteRetention = _retention.TryGetValue(order.Order.OrderId, out var removals) ? removals.Select(ManifestBuilder.Removal).ToList() : Array.Empty<ManifestRemoval>(),
        };
        try
        {
            ManifestWriter.Write(manifest, order.ManifestPath);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var message = $"cannot write the manifest {order.ManifestPath}: {e.Message}";
            _events.Warning($"{order.Order.OrderId}: {message}");
            return message;
        }
    }

    /// <summary>
    /// A dry run's extension and overlay check, the same as a real run's schematic stage: each position's extension
    /// names and overlay against the official lists of its version (the cached list of that version when there is one,
    /// offline of any age and online younger than <see cref="OfficialListCache.MaxAge"/>, else asked once per version;
    /// nothing is written). A position a real run would fail (UnknownExtension, UnknownOverlay, OverlayUnavailable, or
    /// the factory does not know the version) is planned with that error; what each was checked against becomes a note
    /// of the position ("checked against the list cached 3 days ago"). Offline without a cached list, or when the
    /// factory cannot be reached, nothing fails: a warning says which positions' names were not checked.
    /// </summary>
    private async Task<Plan> CheckExtensionsAsync(Plan plan, CancellationToken ct)
    {
        var toCheck = plan.Orders.SelectMany(o => o.Positions)
            .Where(p => p.Error is null && p.Version is not null && p.Schematic is not null && (p.Extensions.Count > 0 || p.Schematic.Overlay is { IsEmpty: false }))
            .ToList();
        if (toCheck.Count == 0)
        {
            return plan;
        }
        var lists = new OfficialListCache(plan.Config.CacheDir, plan.Config.FactoryUrl, readOnly: true);
        var factory = _options.Offline ? null : new FactoryClient(plan.Config.FactoryUrl, _options.Http ?? DryRunHttp);
        var schematics = new SchematicService(factory, _events, plan.Config.Concurrency, lists);
        var errors = new Dictionary<PlannedPosition, TalosException>();
        var notes = new Dictionary<PlannedPosition, IReadOnlyList<string>>();
        var offline = new List<PlannedPosition>();
        var notChecked = new Dictionary<string, (string Reason, List<PlannedPosition> Positions)>(StringComparer.Ordinal);
        foreach (var p in toCheck)
        {
            try
            {
                var checkedAgainst = await schematics.CheckAsync(p.Version!, p.Schematic!, ct).ConfigureAwait(false);
                if (checkedAgainst.Count > 0)
                {
                    notes[p] = checkedAgainst;
                }
                else if (factory is null)
                {
                    offline.Add(p);
                }
            }
            catch (TalosException e) when (e.Is(TalosErrors.UnknownExtension, TalosErrors.UnknownVersion, TalosErrors.UnknownOverlay, TalosErrors.OverlayUnavailable))
            {
                errors[p] = e;
                _events.Warning($"{SafeText.ForMessage(p.OrderId, 200)}/{SafeText.ForMessage(p.Name, 200)}: {SafeText.Printable(e.Message)}");
            }
            catch (TalosException e) when (!ct.IsCancellationRequested)
            {
                if (!notChecked.TryGetValue(p.Version!, out var u))
                {
                    notChecked[p.Version!] = u = (e.Message, new List<PlannedPosition>());
                }
                u.Positions.Add(p);
            }
        }
        if (offline.Count > 0)
        {
            _events.Warning($"extension names were not checked against the official lists (offline): {Positions(offline)}");
        }
        foreach (var (version, (reason, positions)) in notChecked.Select(kv => (kv.Key, kv.Value)))
        {
            _events.Warning($"extension names were not checked against Talos {version}'s official list ({reason}): {Positions(positions)}");
        }
        if (errors.Count == 0 && notes.Count == 0)
        {
            return plan;
        }
        return plan with
        {
            Orders = plan.Orders.Select(o => o with
            {
                Positions = o.Positions.Select(p =>
                    errors.TryGetValue(p, out var e) ? p with { Error = e.Message, ErrorId = e.ErrorId, ErrorKind = e.Kind }
                    : notes.TryGetValue(p, out var n) ? p with { Notes = n }
                    : p).ToList(),
            }).ToList(),
        };
    }

    private static string Positions(IEnumerable<PlannedPosition> positions) =>
        string.Join(", ", positions.Select(p => $"{SafeText.ForMessage(p.OrderId, 200)}/{SafeText.ForMessage(p.Name, 200)}"));

    private RunResult DryRun(Plan plan)
    {
        // Say what is cached already, so the plan shows what a run would really download and expand.
        plan = plan with
        {
            Orders = plan.Orders.Select(o => o with
            {
                Positions = o.Positions.Select(p => p.Error is not null ? p : p with
                {
                    Cached = IsCached(p.CachePath),
                    ExpandedCached = p.ExpandedPath is not null && IsCached(p.ExpandedPath),
                }).ToList(),
            }).ToList(),
        };
        var now = DateTimeOffset.UtcNow;
        var manifests = new List<ManifestOutput>();
        var results = new List<TalosOrderResult>();
        foreach (var order in plan.Orders)
        {
            var entries = order.Positions.Select(p => ManifestBuilder.Planned(p, plan.Config, now)).ToList();
            var failed = entries.Count(e => e.Status == Vocabulary.EntryWord.Failed);
            var status = failed == 0 ? nameof(OrderStatus.Planned) : ManifestBuilder.OrderStatus(entries);
            manifests.Add(new ManifestOutput(order.ManifestPath, ManifestWriter.ToYaml(ManifestBuilder.ForOrder(plan, order, entries, status, dryRun: true, 0, now))));
            results.Add(new TalosOrderResult
            {
                OrderId = order.Order.OrderId,
                Customer = order.Order.Customer,
                Status = status,
                Positions = entries.Count,
                Succeeded = entries.Count - failed,
                Failed = failed,
                ManifestPath = order.ManifestPath,
                DryRun = true,
            });
        }

        // What a real run would remove: purge first, else retention (pinning everything this plan uses).
        var cacheDir = Path.GetFullPath(plan.Config.CacheDir);
        IReadOnlyList<TalosCacheEntry> removed = Array.Empty<TalosCacheEntry>();
        if (Directory.Exists(cacheDir))
        {
            if (_options.PurgeCache || plan.Config.CachePolicy.PurgeBefore)
            {
                removed = CacheCleaner.Preview(cacheDir, new CacheClearing { All = true }, _events);
            }
            else if (plan.Config.CachePolicy.Enabled)
            {
                var pinned = plan.Orders.SelectMany(o => o.Positions).SelectMany(p => new[] { p.CachePath, p.ExpandedPath })
                    .Where(x => !string.IsNullOrEmpty(x)).Select(x => x!).ToList();
                removed = CacheCleaner.Preview(cacheDir, new CacheClearing { KeepVersions = plan.Config.CachePolicy.KeepVersions, Pinned = pinned }, _events);
            }
        }
        return new RunResult
        {
            Plan = plan,
            DryRun = true,
            Orders = results,
            Manifests = manifests,
            Removed = removed,
            Failures = plan.Orders.SelectMany(o => o.Positions.Where(p => p.Error is not null)
                .Select(p => new PositionFailure(o.Order.OrderId, p.Name, p.ErrorId ?? TalosErrors.VersionUnresolved.Id, p.Error!, p.ErrorKind))).ToList(),
            ExitCode = results.Any(r => r.Failed > 0) ? ExitCodes.Failed : ExitCodes.Success,
        };
    }
}
