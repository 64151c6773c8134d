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

    /// <summary>The bound on requests in flight when none is given: the default of defaults.concurrency.</summary>
    public const int DefaultMaxConcurrentRequests = 4;

    /// <param name="factory">The factory to create schematics on; null computes IDs locally (offline).</param>
    /// <param name="events">Where warnings and verbose messages go.</param>
    /// <param name="maxConcurrentRequests">The most requests (schematic POSTs, extension lists) in flight at once.</param>
    public SchematicService(FactoryClient? factory, IEngineEvents events, int maxConcurrentRequests = DefaultMaxConcurrentRequests)
    {
        _factory = factory;
        _events = events;
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
            await CheckExtensionsAsync(v, schematic.Customization.OfficialExtensions, ct).ConfigureAwait(false);
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
    /// Checks <paramref name="names"/> against the official extensions of <paramref name="version"/> (fetched once per
    /// version). Unknown names throw UnknownExtension naming each with its nearest official names. Without a factory
    /// nothing is checked.
    /// </summary>
    public async Task CheckExtensionsAsync(string version, IReadOnlyList<string> names, CancellationToken ct)
    {
        if (names.Count == 0)
        {
            return;
        }
        if (_factory is null)
        {
            _events.Verbose($"extension names not checked against Talos {version}: no factory to ask");
            return;
        }
        var v = TalosSemVersion.Parse(version).ToString();
        var official = await GetOfficialExtensionsAsync(v, ct).ConfigureAwait(false);
        var known = new HashSet<string>(official.Select(e => e.Name), StringComparer.Ordinal);
        // The factory tries its alias of a name that is not official before it fails, so the check does too.
        foreach (var aliased in names.Where(n => !known.Contains(n) && known.Contains(ExtensionAliases.Target(n))).Distinct(StringComparer.Ordinal))
        {
            _events.Verbose($"extension '{aliased}' is not official in Talos {v}; the factory takes it as its alias '{ExtensionAliases.Target(aliased)}'");
        }
        var unknown = names.Where(n => !known.Contains(n) && !known.Contains(ExtensionAliases.Target(n))).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count == 0)
        {
            return;
        }
        var parts = unknown.Select(n =>
        {
            var near = Nearest(n, known, 3);
            return $"'{n}'" + (near.Count > 0 ? $" (nearest: {string.Join(", ", near)})" : "");
        });
        throw new TalosException(TalosErrors.UnknownExtension,
            $"Talos {v} on {_factory.FactoryUrl} has no official extension {string.Join("; ", parts)}", unknown.Count == 1 ? unknown[0] : string.Join(", ", unknown));
    }

    /// <summary>
    /// The official extensions of <paramref name="version"/>, fetched once per version and run (or session: one
    /// service serves a cmdlet's whole pipeline). Verbose messages name the URL asked and where the answer came from:
    /// the factory, or the list fetched earlier by this service. No on-disk cache is read for it (tab completion's
    /// <c>versions/extensions-&lt;v&gt;.json</c> is completion's own).
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
