using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Schematics;

/// <summary>
/// Schematics and extension checks for one run, memoised: one POST per distinct schematic however many positions
/// (or concurrent callers) share it, one extension list per Talos version. Without a factory (offline, dry runs)
/// IDs are computed locally. At most <c>maxConcurrentRequests</c> requests to the factory are in flight at once (a run
/// passes defaults.concurrency), however many distinct schematics are asked for: each request holds a socket, and a run
/// with 1,500 distinct customizations must not hold 1,500 of them (a cron job's open-file limit is often 1,024).
/// </summary>
public sealed class SchematicService
{
    private readonly FactoryClient? _factory;
    private readonly IEngineEvents _events;
    private readonly ConcurrentDictionary<string, Lazy<Task<TalosSchematic>>> _schematics = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<FactoryExtension>>>> _extensions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _requests;
    private readonly OfficialListCache? _lists;
    private readonly ConcurrentDictionary<string, Lazy<Task<CheckList<FactoryExtension>?>>> _extensionChecks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<CheckList<FactoryOverlay>?>>> _overlayChecks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<FactoryOverlay>>>> _overlays = new(StringComparer.Ordinal);

    /// <summary>An official list a check uses, and where it came from ("the list cached 3 days ago (path)", "the factory's list (url)").</summary>
    private sealed record CheckList<T>(IReadOnlyList<T> Items, string From);

    /// <summary>The bound on requests in flight when none is given: the default of defaults.concurrency.</summary>
    public const int DefaultMaxConcurrentRequests = 4;

    /// <param name="factory">The factory to create schematics on; null computes IDs locally (offline).</param>
    /// <param name="events">Where warnings and verbose messages go.</param>
    /// <param name="maxConcurrentRequests">The most requests (schematic POSTs, extension lists) in flight at once.</param>
    /// <param name="lists">
    /// The on-disk official lists (extensions, overlays) checks use: a cached list of the version is used without a
    /// request offline (any age) and online while younger than <see cref="OfficialListCache.MaxAge"/>; fetched lists
    /// are written to it. Null: checks always ask the factory.
    /// </param>
    public SchematicService(FactoryClient? factory, IEngineEvents events, int maxConcurrentRequests = DefaultMaxConcurrentRequests, OfficialListCache? lists = null)
    {
        _factory = factory;
        _events = events;
        _lists = lists;
        // No wait handle is ever asked of it, so it holds no OS handle and needs no Dispose.
        _requests = new SemaphoreSlim(Math.Max(1, maxConcurrentRequests));
    }

    /// <summary>Runs one factory request once a slot of the bound is free.</summary>
    private async Task<T> BoundedAsync<T>(Func<Task<T>> request, CancellationToken ct)
    {
        await _requests.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await request().ConfigureAwait(false);
        }
        finally
        {
            _requests.Release();
        }
    }

    /// <summary>
    /// The schematic's ID: created on the factory (once per distinct canonical YAML) and checked against the local
    /// computation, whose mismatch is a warning naming both IDs; or computed locally when there is no factory.
    /// </summary>
    public Task<TalosSchematic> EnsureAsync(Schematic schematic, CancellationToken ct)
    {
        var yaml = schematic.ToCanonicalYaml();
        return _schematics.GetOrAdd(yaml, key => new Lazy<Task<TalosSchematic>>(() => CreateOnceAsync(schematic, key, ct))).Value;
    }

    private async Task<TalosSchematic> CreateOnceAsync(Schematic schematic, string yaml, CancellationToken ct)
    {
        var localId = SchematicYaml.ComputeId(yaml);
        if (_factory is null)
        {
            return Describe(schematic, localId, yaml, "Local", "");
        }
        var factory = _factory;
        var created = await BoundedAsync(() => factory.CreateSchematicAsync(schematic, ct), ct).ConfigureAwait(false);
        if (!string.Equals(created.SchematicId, localId, StringComparison.Ordinal))
        {
            _events.Warning($"the factory at {_factory.FactoryUrl} gave schematic ID {created.SchematicId}, the local computation gives {localId}; using the factory's");
        }
        else
        {
            _events.Verbose($"schematic {created.SchematicId} created on {_factory.FactoryUrl}");
        }
        return created;
    }

    /// <summary>
    /// New-TalosSchematic's work: when <paramref name="version"/> is given and a factory is available, checks the
    /// extension names against that version first; then <see cref="EnsureAsync"/>. The result carries the
    /// normalised version so that the next stage's -Version binds.
    /// </summary>
    public async Task<TalosSchematic> CreateAsync(Schematic schematic, string? version, CancellationToken ct)
    {
        string? v = null;
        if (!string.IsNullOrWhiteSpace(version))
        {
            v = TalosSemVersion.Parse(version!).ToString();
            await CheckAsync(v, schematic, ct).ConfigureAwait(false);
        }
        var s = await EnsureAsync(schematic, ct).ConfigureAwait(false);
        return v is null ? s : new TalosSchematic
        {
            SchematicId = s.SchematicId, Yaml = s.Yaml, Extensions = s.Extensions, KernelArgs = s.KernelArgs, Overlay = s.Overlay,
            SecureBootCertificates = s.SecureBootCertificates, Source = s.Source, FactoryUrl = s.FactoryUrl, Version = v,
        };
    }

    /// <summary>
    /// Get-TalosExtension's work: the official extensions of <paramref name="version"/> whose names match any of
    /// <paramref name="patterns"/> (wildcards; all when none), and an UnknownExtension error for each name given
    /// without wildcards that matches nothing.
    /// </summary>
    public async Task<(IReadOnlyList<TalosExtension> Extensions, IReadOnlyList<TalosException> Errors)> FindExtensionsAsync(
        string version, IReadOnlyList<string> patterns, CancellationToken ct)
    {
        var v = TalosSemVersion.Parse(version).ToString();
        var official = await GetOfficialExtensionsAsync(v, ct).ConfigureAwait(false);
        var found = ExtensionFilter.Select(official, v, patterns, out var unmatched);
        return (found, unmatched.Select(n => ExtensionFilter.NotFound(n, v, official.Select(e => e.Name))).ToList());
    }

    /// <summary>
    /// Checks a schematic's extension names and overlay against the official lists of <paramref name="version"/>
    /// (<see cref="CheckExtensionsAsync"/>, <see cref="CheckOverlayAsync"/>). Returns what each check was made against
    /// (for a plan's notes); nothing when nothing needed checking or nothing could be.
    /// </summary>
    public async Task<IReadOnlyList<string>> CheckAsync(string version, Schematic schematic, CancellationToken ct)
    {
        var notes = new List<string>();
        if (await CheckOverlayAsync(version, schematic.Overlay, ct).ConfigureAwait(false) is { } overlay)
        {
            notes.Add(overlay);
        }
        if (await CheckExtensionsAsync(version, schematic.Customization.OfficialExtensions, ct).ConfigureAwait(false) is { } extensions)
        {
            notes.Add(extensions);
        }
        return notes;
    }

    /// <summary>
    /// Checks <paramref name="names"/> against the official extensions of <paramref name="version"/>: the cached list
    /// of that version when there is one (offline of any age, online younger than <see cref="OfficialListCache.MaxAge"/>),
    /// else the factory's (fetched once per version). Unknown names throw UnknownExtension naming each with its nearest
    /// official names. Without a factory and without a cached list nothing is checked (null). Returns what the names
    /// were checked against, e.g. "extension names of Talos v1.11.5 checked against the list cached 3 days ago (path)".
    /// </summary>
    public async Task<string?> CheckExtensionsAsync(string version, IReadOnlyList<string> names, CancellationToken ct)
    {
        if (names.Count == 0)
        {
            return null;
        }
        var v = TalosSemVersion.Parse(version).ToString();
        var list = await ExtensionCheckListAsync(v, ct).ConfigureAwait(false);
        if (list is null)
        {
            _events.Verbose($"extension names not checked against Talos {v}: no factory to ask and no cached list");
            return null;
        }
        var known = new HashSet<string>(list.Items.Select(e => e.Name), StringComparer.Ordinal);
        // The factory tries its alias of a name that is not official before it fails, so the check does too.
        foreach (var aliased in names.Where(n => !known.Contains(n) && known.Contains(ExtensionAliases.Target(n))).Distinct(StringComparer.Ordinal))
        {
            _events.Verbose($"extension '{aliased}' is not official in Talos {v}; the factory takes it as its alias '{ExtensionAliases.Target(aliased)}'");
        }
        var unknown = names.Where(n => !known.Contains(n) && !known.Contains(ExtensionAliases.Target(n))).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count == 0)
        {
            var note = $"extension names of Talos {v} checked against {list.From}";
            _events.Verbose(note);
            return note;
        }
        var parts = unknown.Select(n =>
        {
            var near = Nearest(n, known, 3);
            return $"'{n}'" + (near.Count > 0 ? $" (nearest: {string.Join(", ", near)})" : "");
        });
        throw new TalosException(TalosErrors.UnknownExtension,
            $"Talos {v} on {FactoryName} has no official extension {string.Join("; ", parts)}" + FromCacheSuffix(list),
            unknown.Count == 1 ? unknown[0] : string.Join(", ", unknown));
    }

    /// <summary>
    /// Checks an overlay against Talos <paramref name="version"/>: refused (OverlayUnavailable) before v1.7.0, as the
    /// factory refuses it; then its name and image against the official overlays of that version, from the cache or the
    /// factory as <see cref="CheckExtensionsAsync"/> does. A name that is not official, or an image that is not the
    /// one the official overlay comes from, throws UnknownOverlay with the nearest official names. Returns what it was
    /// checked against; null when there is no overlay or nothing to check it against.
    /// </summary>
    public async Task<string?> CheckOverlayAsync(string version, SchematicOverlay? overlay, CancellationToken ct)
    {
        if (overlay is null || overlay.IsEmpty)
        {
            return null;
        }
        var v = TalosSemVersion.Parse(version).ToString();
        if (OverlayRules.CheckVersion(v) is { } refused)
        {
            throw new TalosException(TalosErrors.OverlayUnavailable, refused, v);
        }
        var list = await OverlayCheckListAsync(v, ct).ConfigureAwait(false);
        if (list is null)
        {
            _events.Verbose($"overlay '{overlay.Name}' not checked against Talos {v}: no factory to ask and no cached list");
            return null;
        }
        var match = list.Items.FirstOrDefault(o => string.Equals(o.Name, overlay.Name, StringComparison.Ordinal));
        if (match is null)
        {
            var near = Nearest(overlay.Name, list.Items.Select(o => o.Name), 3);
            throw new TalosException(TalosErrors.UnknownOverlay,
                $"Talos {v} on {FactoryName} has no official overlay '{overlay.Name}'" +
                (near.Count > 0 ? $" (nearest: {string.Join(", ", near.Select(n => $"{n} from {list.Items.First(o => o.Name == n).Image}"))})" : list.Items.Count == 0 ? " (its overlay list is empty)" : "") +
                FromCacheSuffix(list), overlay.Name);
        }
        if (!string.Equals(match.Image, overlay.Image, StringComparison.Ordinal))
        {
            throw new TalosException(TalosErrors.UnknownOverlay,
                $"the official overlay '{overlay.Name}' of Talos {v} comes from the image '{match.Image}', not '{overlay.Image}'; set overlay image to {match.Image}" + FromCacheSuffix(list),
                overlay.Image);
        }
        var note = $"overlay {overlay.Name} ({overlay.Image}) of Talos {v} checked against {list.From}";
        _events.Verbose(note);
        return note;
    }

    /// <summary>
    /// The official overlays of <paramref name="version"/>, fetched from the factory once per version and service
    /// (Get-TalosOverlay's list; checks use <see cref="CheckOverlayAsync"/>).
    /// </summary>
    public Task<IReadOnlyList<FactoryOverlay>> GetOfficialOverlaysAsync(string version, CancellationToken ct)
    {
        var factory = _factory ?? throw new TalosException(TalosErrors.FactoryUnavailable, "the official overlay list needs a factory; none is available offline");
        var v = TalosSemVersion.Parse(version).ToString();
        return _overlays.GetOrAdd(v, key => new Lazy<Task<IReadOnlyList<FactoryOverlay>>>(async () =>
        {
            var url = factory.OfficialOverlaysUrl(key);
            _events.Verbose($"GET {url} (the official overlays of Talos {key})");
            var list = await BoundedAsync(() => factory.GetOfficialOverlaysAsync(key, ct), ct).ConfigureAwait(false);
            _events.Verbose($"{list.Count} official overlay(s) of Talos {key} from {url}");
            _lists?.WriteOverlays(key, list, DateTimeOffset.UtcNow, _events);
            return list;
        })).Value;
    }

    /// <summary>
    /// Get-TalosOverlay's work: the official overlays of <paramref name="version"/> whose names match any of
    /// <paramref name="patterns"/> (wildcards; all when none), and an UnknownOverlay error for each name given without
    /// wildcards that matches nothing.
    /// </summary>
    public async Task<(IReadOnlyList<TalosOverlay> Overlays, IReadOnlyList<TalosException> Errors)> FindOverlaysAsync(
        string version, IReadOnlyList<string> patterns, CancellationToken ct)
    {
        var v = TalosSemVersion.Parse(version).ToString();
        var official = await GetOfficialOverlaysAsync(v, ct).ConfigureAwait(false);
        var found = ExtensionFilter.SelectOverlays(official, v, patterns, out var unmatched);
        return (found, unmatched.Select(n => ExtensionFilter.OverlayNotFound(n, v, official)).ToList());
    }

    private string FactoryName => _factory?.FactoryUrl ?? _lists?.FactoryUrl ?? "the factory";

    private static string FromCacheSuffix<T>(CheckList<T> list) => list.From.StartsWith("the list cached", StringComparison.Ordinal) ? $" (checked against {list.From})" : "";

    private Task<CheckList<FactoryExtension>?> ExtensionCheckListAsync(string v, CancellationToken ct) =>
        _extensionChecks.GetOrAdd(v, key => new Lazy<Task<CheckList<FactoryExtension>?>>(() => CheckListAsync(
            OfficialListKind.Extensions, key,
            () => _lists?.ReadExtensions(key, _events),
            () => GetOfficialExtensionsAsync(key, ct),
            _factory?.OfficialExtensionsUrl(key), ct))).Value;

    private Task<CheckList<FactoryOverlay>?> OverlayCheckListAsync(string v, CancellationToken ct) =>
        _overlayChecks.GetOrAdd(v, key => new Lazy<Task<CheckList<FactoryOverlay>?>>(() => CheckListAsync(
            OfficialListKind.Overlays, key,
            () => _lists?.ReadOverlays(key, _events),
            () => GetOfficialOverlaysAsync(key, ct),
            _factory?.OfficialOverlaysUrl(key), ct))).Value;

    /// <summary>
    /// The list a check of <paramref name="kind"/> uses: the cached one (offline of any age, online younger than
    /// <see cref="OfficialListCache.MaxAge"/>), else the factory's (written to the cache); a stale cached list when the
    /// factory cannot be asked (with a warning). Null when there is neither a factory nor a cached list.
    /// </summary>
    private async Task<CheckList<T>?> CheckListAsync<T>(OfficialListKind kind, string v,
        Func<CachedOfficialList<T>?> readCache, Func<Task<IReadOnlyList<T>>> fetch, string? url, CancellationToken ct)
    {
        var cached = readCache();
        var now = DateTimeOffset.UtcNow;
        string Cached(CachedOfficialList<T> c) => $"the list cached {OfficialListCache.Ago(c.AgeAt(now))} ago ({c.Path})";
        if (cached is not null && (_factory is null || cached.AgeAt(now) <= OfficialListCache.MaxAge))
        {
            return new CheckList<T>(cached.Items, Cached(cached));
        }
        if (_factory is null)
        {
            return null;
        }
        if (cached is not null)
        {
            _events.Verbose($"{cached.Path} is older than {OfficialListCache.Ago(OfficialListCache.MaxAge)}: asking the factory again");
        }
        try
        {
            var items = await fetch().ConfigureAwait(false);
            return new CheckList<T>(items, $"the factory's list ({url})");
        }
        catch (TalosException e) when (cached is not null && !ct.IsCancellationRequested && !e.Is(TalosErrors.UnknownVersion))
        {
            _events.Warning($"the official {OfficialListCache.Word(kind)} list of Talos {v} could not be fetched ({SafeText.Printable(e.Message)}); using {Cached(cached)}");
            return new CheckList<T>(cached.Items, Cached(cached));
        }
    }

    /// <summary>
    /// The official extensions of <paramref name="version"/>, fetched once per version and run (or session: one
    /// service serves a cmdlet's whole pipeline). Verbose messages name the URL asked and where the answer came from:
    /// the factory, or the list fetched earlier by this service. No on-disk cache is read for it (checks read it:
    /// <see cref="CheckExtensionsAsync"/>); a fetched list is written to the service's <see cref="OfficialListCache"/>.
    /// </summary>
    public Task<IReadOnlyList<FactoryExtension>> GetOfficialExtensionsAsync(string version, CancellationToken ct)
    {
        if (_factory is null)
        {
            throw new TalosException(TalosErrors.FactoryUnavailable, "the official extension list needs a factory; none is available offline");
        }
        var v = TalosSemVersion.Parse(version).ToString();
        var url = _factory.OfficialExtensionsUrl(v);
        var created = false;
        var list = _extensions.GetOrAdd(v, key => new Lazy<Task<IReadOnlyList<FactoryExtension>>>(() =>
        {
            created = true;
            return FetchExtensionsAsync(key, url, ct);
        })).Value;
        if (!created)
        {
            _events.Verbose($"official extensions of Talos {v}: the list fetched earlier in this session from {url}");
        }
        return list;
    }

    private async Task<IReadOnlyList<FactoryExtension>> FetchExtensionsAsync(string version, string url, CancellationToken ct)
    {
        _events.Verbose($"GET {url} (the official extensions of Talos {version})");
        var factory = _factory!;
        var list = await BoundedAsync(() => factory.GetOfficialExtensionsAsync(version, ct), ct).ConfigureAwait(false);
        _events.Verbose($"{list.Count} official extension(s) of Talos {version} from {url} (asked the factory, not from the on-disk cache)");
        _lists?.WriteExtensions(version, list, DateTimeOffset.UtcNow, _events);
        return list;
    }

    /// <summary>
    /// The <paramref name="count"/> names nearest to <paramref name="name"/>, comparing whole names and the parts after
    /// the last '/' (so qemu-guest-agent finds siderolabs/qemu-guest-agent).
    /// </summary>
    public static IReadOnlyList<string> Nearest(string name, IEnumerable<string> candidates, int count)
    {
        static string Base(string s) => s.Substring(s.LastIndexOf('/') + 1);
        return candidates
            .Select(c => (c, d: Math.Min(NearMiss.Distance(name, c), NearMiss.Distance(Base(name), Base(c)))))
            .OrderBy(x => x.d).ThenBy(x => x.c, StringComparer.Ordinal)
            .Take(count)
            .Select(x => x.c)
            .ToList();
    }

    /// <summary>The output record of a schematic with the given ID and canonical YAML.</summary>
    internal static TalosSchematic Describe(Schematic schematic, string id, string yaml, string source, string factoryUrl) => new()
    {
        SchematicId = id,
        Yaml = yaml,
        Extensions = schematic.Customization.OfficialExtensions.ToArray(),
        KernelArgs = schematic.Customization.ExtraKernelArgs.ToArray(),
        Overlay = schematic.Overlay is { IsEmpty: false } o ? $"{o.Name} ({o.Image})" : null,
        SecureBootCertificates = schematic.Customization.SecureBootIncludeWellKnownCertificates,
        Source = source,
        FactoryUrl = factoryUrl,
    };
}
