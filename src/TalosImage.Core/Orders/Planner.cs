using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Factory;
using TalosImage.Core.Versions;

namespace TalosImage.Core.Orders;

public sealed record PlanOptions
{
    /// <summary>Only these orders (talos-order --order, Invoke-TalosOrder -OrderId); all when empty.</summary>
    public IReadOnlyCollection<string> OrderIds { get; init; } = Array.Empty<string>();
    public IVersionResolver Resolver { get; init; } = null!;
    /// <summary>Folder that relative manifest paths are resolved against (the current folder by default).</summary>
    public string? BaseDirectory { get; init; }
}

/// <summary>Turns validated orders into an immutable <see cref="Plan"/>: versions resolved, schematic IDs, asset names, URLs, cache paths, targets.</summary>
public static class Planner
{
    public static async Task<Plan> PlanAsync(OrderInput input, PlanOptions options, IEngineEvents events, CancellationToken cancellationToken)
    {
        var config = input.Config;
        var orders = SelectOrders(input, options.OrderIds);
        var cacheDir = Path.GetFullPath(config.CacheDir);
        var artifactRoot = Path.Combine(cacheDir, "artifacts");

        var problems = new List<ValidationProblem>();
        var manifestPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var order in orders)
        {
            var path = ManifestPaths.For(config.Manifest, order.OrderId, options.BaseDirectory);
            if (ManifestPaths.IsInside(path, artifactRoot))
            {
                problems.Add(new ValidationProblem(config.SourcePath ?? "config", 0, 0, "manifest",
                    $"the manifest of {order.OrderId} would be {path}, inside the artifact tree {artifactRoot} that retention and purge manage; choose another folder"));
            }
            else if (manifestPaths.Values.Contains(path, StringComparer.Ordinal))
            {
                problems.Add(new ValidationProblem(config.SourcePath ?? "config", 0, 0, "manifest",
                    $"two orders would share the manifest {path}: put {{orderid}} in manifest.path_template"));
            }
            manifestPaths[order.OrderId] = path;
        }
        if (problems.Count > 0)
        {
            throw new TalosValidationException(problems);
        }

        // One resolution per distinct request, shared by every position that asks for it.
        var versions = new ConcurrentDictionary<VersionRequest, Lazy<Task<TalosVersion>>>();
        Task<TalosVersion> Resolve(VersionRequest r) =>
            versions.GetOrAdd(r, key => new Lazy<Task<TalosVersion>>(() => options.Resolver.ResolveAsync(key, cancellationToken))).Value;

        var planned = new List<PlannedOrder>();
        foreach (var order in orders)
        {
            var positions = new List<PlannedPosition>();
            foreach (var position in order.Positions)
            {
                positions.Add(await PlanPositionAsync(order, position, config, Resolve, events).ConfigureAwait(false));
            }
            planned.Add(new PlannedOrder { Order = order, ManifestPath = manifestPaths[order.OrderId], Positions = positions });
        }
        return new Plan { Input = input, Orders = planned, CreatedAt = DateTimeOffset.UtcNow };
    }

    internal static IReadOnlyList<Order> SelectOrders(OrderInput input, IReadOnlyCollection<string> ids)
    {
        if (ids.Count == 0)
        {
            return input.Orders;
        }
        var unknown = ids.Where(id => input.Orders.All(o => !o.OrderId.Equals(id, StringComparison.OrdinalIgnoreCase))).ToList();
        if (unknown.Count > 0)
        {
            var known = input.Orders.Select(o => o.OrderId).ToList();
            throw new TalosException(TalosErrors.UnknownOrderId,
                $"{input.OrdersPath}: no order {string.Join(", ", unknown.Select(u => "'" + u + "'"))}" +
                (NearMiss.Suggest(unknown[0], known) is { } hint ? $"; did you mean '{hint}'?" : $"; the file has: {string.Join(", ", known)}"), unknown[0]);
        }
        return input.Orders.Where(o => ids.Contains(o.OrderId, StringComparer.OrdinalIgnoreCase)).ToList();
    }

    private static async Task<PlannedPosition> PlanPositionAsync(
        Order order, Position p, TalosConfig config, Func<VersionRequest, Task<TalosVersion>> resolve, IEngineEvents events)
    {
        var schematicId = p.SchematicId ?? p.Schematic!.ComputeId();
        var asset = FactoryCatalog.AssetName(p.Platform, p.Arch, p.SecureBoot, p.Format);
        var expandable = FactoryCatalog.IsCompressed(p.Format) && p.Format != "iso" && !FactoryCatalog.IsBootAsset(p.Format);
        var expandLocally = expandable && (p.DecompressRaw || (p.Push.Enabled && p.Push.PreferDecompressed && !p.Push.RemoteExpand));
        var remoteExpand = p.Push.Enabled && p.Push.RemoteExpand && (p.Format.EndsWith(".xz", StringComparison.Ordinal) || p.Format.EndsWith(".zst", StringComparison.Ordinal));

        var warnings = new List<string>();
        if (p.DecompressRaw && !expandable)
        {
            warnings.Add($"decompress_raw has no effect on {p.Format}: it is not a compressed disk image");
        }
        var basePlan = new PlannedPosition
        {
            OrderId = order.OrderId,
            Index = p.Index,
            Name = p.Name,
            Position = p,
            Request = p.Version,
            SchematicId = schematicId,
            SchematicSource = p.SchematicId is null ? "local" : "given",
            Schematic = p.Schematic,
            Platform = p.Platform,
            Arch = p.Arch,
            Format = p.Format,
            SecureBoot = p.SecureBoot,
            Asset = asset,
            PushEnabled = p.Push.Enabled,
            PushExpanded = p.Push.Enabled && p.Push.PreferDecompressed && expandLocally,
            RemoteExpand = remoteExpand,
            Replace = p.Push.Replace,
            ReplaceInUse = p.Push.ReplaceInUse,
            RetentionKeep = p.Push.Enabled ? p.Push.RetentionKeep : null,
            Targets = p.Push.Enabled ? Targets(p, config) : Array.Empty<PlannedTarget>(),
        };
        if (p.Push.Enabled && basePlan.Targets.Count == 0)
        {
            warnings.Add("push is enabled but no hosts or proxmox endpoints are listed: nothing will be pushed");
        }
        basePlan = basePlan with { Download = p.Download };
        if (basePlan.Targets.Count > 0 && Publishing.ProxmoxContent.Refusal(p.Format, asset) is { } unpublishable)
        {
            warnings.Add($"push fails for every target: {unpublishable}");
        }

        // A position that cannot be planned: its error, said once as a warning; the others go on.
        PlannedPosition Refused(TalosError error, string message)
        {
            events.Warning($"{order.OrderId}/{SafeText.ForMessage(p.Name, 200)}: {SafeText.Printable(message)}");
            return basePlan with { Error = message, ErrorId = error.Id, ErrorKind = error.Kind, Warnings = warnings };
        }

        // What the platform table and the factory's asset names rule out needs no version and no network.
        if (FactoryCatalog.AssetVariantProblem(p.Format, p.SecureBoot) is { } variant)
        {
            return Refused(TalosErrors.AssetVariantUnavailable, variant);
        }
        if (PlatformRules.Check(p.Platform, p.Arch, p.Format, p.SecureBoot, version: null) is { } refused)
        {
            return Refused(TalosErrors.PlatformImageUnavailable, refused);
        }
        // An overlay (SBC) goes only into metal-arm64 images: offline, no version needed.
        if (p.Schematic?.Overlay is { IsEmpty: false } && OverlayRules.CheckTarget(p.Platform, p.Arch) is { } noOverlay)
        {
            return Refused(TalosErrors.OverlayUnavailable, noOverlay);
        }

        TalosVersion version;
        try
        {
            version = await resolve(p.Version).ConfigureAwait(false);
        }
        catch (TalosException e)
        {
            return Refused(e.Error, e.Message);
        }
        if (PlatformRules.Check(p.Platform, p.Arch, p.Format, p.SecureBoot, version.Version) is { } tooOld)
        {
            return Refused(TalosErrors.PlatformImageUnavailable, tooOld) with { Version = version.Version, VersionSource = version.Source };
        }
        if (p.Schematic?.Overlay is { IsEmpty: false } && OverlayRules.CheckVersion(version.Version) is { } overlayTooOld)
        {
            return Refused(TalosErrors.OverlayUnavailable, overlayTooOld) with { Version = version.Version, VersionSource = version.Source };
        }
        warnings.AddRange(KernelArgumentWarnings(p, version.Version));

        var located = Locate(basePlan with
        {
            Version = version.Version,
            VersionSource = version.Source,
            Warnings = warnings,
        }, schematicId, config, expandLocally);
        return located with { Templates = Templates(located) };
    }

    /// <summary>The first Talos version whose non-SecureBoot installer images carry the schematic's kernel arguments.</summary>
    private static readonly TalosSemVersion InstallerKernelArgsFrom = TalosSemVersion.Parse("v1.10.0");

    /// <summary>
    /// Kernel arguments of the position's schematic that will not do what the order seems to want: the factory puts
    /// them into installer images only with SecureBoot (the UKI embeds them) or from Talos v1.10, so before that an
    /// installed machine boots without them; and a <c>talos.platform=</c> argument that names another platform than the
    /// position's.
    /// </summary>
    private static IEnumerable<string> KernelArgumentWarnings(Position p, string version)
    {
        var args = p.Schematic?.Customization.ExtraKernelArgs ?? Array.Empty<string>();
        if (args.Count == 0)
        {
            yield break;
        }
        if (!p.SecureBoot && TalosSemVersion.Parse(version).CompareTo(InstallerKernelArgsFrom) < 0)
        {
            yield return $"extraKernelArgs reach the {p.Format} image but not the installer image of {version} without SecureBoot " +
                $"(the factory adds them to installers from {InstallerKernelArgsFrom}): an installed machine boots without them; " +
                "set them in the machine config too (machine.install.extraKernelArgs)";
        }
        foreach (var arg in args.Where(a => a.StartsWith("talos.platform=", StringComparison.Ordinal)))
        {
            var named = arg.Substring("talos.platform=".Length);
            if (!string.Equals(named, p.Platform, StringComparison.Ordinal))
            {
                yield return $"extraKernelArgs has {SafeText.ForMessage(arg, 100)}, but the position's platform is {p.Platform}: " +
                    $"the image already tells Talos its platform ({p.Platform}); remove the argument or change the platform";
            }
        }
    }

    /// <summary>
    /// The position with <paramref name="schematicId"/> and what follows from it: URL, installer image, cache path and
    /// expanded path. The runner calls it again when the factory's answer names another ID than the local computation.
    /// </summary>
    public static PlannedPosition Locate(PlannedPosition p, string schematicId, TalosConfig config, bool expandLocally)
    {
        var version = p.Version ?? throw new ArgumentException("the position has no resolved version", nameof(p));
        var artifactRoot = Path.Combine(Path.GetFullPath(config.CacheDir), "artifacts");
        var cachePath = Path.Combine(artifactRoot, schematicId, version, p.Asset);
        return p with
        {
            SchematicId = schematicId,
            Url = FactoryCatalog.AssetUrl(config.FactoryUrl, config.PxeUrl, schematicId, version, p.Platform, p.Arch, p.SecureBoot, p.Format),
            InstallerImage = FactoryCatalog.InstallerImage(config.FactoryUrl, p.Platform, schematicId, version, p.SecureBoot),
            CachePath = cachePath,
            ExpandedPath = expandLocally
                ? Path.Combine(Path.GetDirectoryName(cachePath)!, p.Asset.Substring(0, p.Asset.Length - p.Format.Length) + FactoryCatalog.ExpandedFormat(p.Format))
                : null,
        };
    }

    /// <summary>The position's template on each of its Proxmox API targets, on template.node or the endpoint's first node.</summary>
    internal static IReadOnlyList<PlannedTemplate> Templates(PlannedPosition p)
    {
        if (p.Position.Template is not { } t || !p.PushEnabled)
        {
            return Array.Empty<PlannedTemplate>();
        }
        return p.Targets.Where(x => x.Proxmox is not null).Select(x => new PlannedTemplate
        {
            Target = x,
            Node = t.Node ?? x.Proxmox!.Nodes.FirstOrDefault() ?? "",
            Settings = t.Settings,
            Name = Publishing.Proxmox.ProxmoxTemplateBuilder.NameFor(new Publishing.Proxmox.TemplateRequest
            {
                SchematicId = p.SchematicId,
                Version = p.Version ?? "",
                Platform = p.Platform,
                Architecture = p.Arch,
                SecureBoot = p.SecureBoot,
                Settings = t.Settings,
            }),
        }).ToList();
    }

    private static IReadOnlyList<PlannedTarget> Targets(Position p, TalosConfig config)
    {
        var iso = p.Format == "iso";
        var targets = p.Push.Hosts.Select(h => new PlannedTarget
        {
            Transport = nameof(PublishTransport.Ssh),
            Host = h.Host,
            Destination = iso ? h.IsoDir ?? config.ProxmoxDefaultIsoDir : h.ImportDir ?? config.ProxmoxDefaultImportDir,
            SshHost = h,
        }).ToList();
        targets.AddRange(p.Push.Proxmox.Where(config.Proxmox.ContainsKey).Select(name => new PlannedTarget
        {
            Transport = nameof(PublishTransport.ProxmoxApi),
            Host = name,
            Destination = config.Proxmox[name].Storage,
            Proxmox = config.Proxmox[name],
        }));
        return targets;
    }
}
