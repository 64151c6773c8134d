using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Expansion;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders.Schema;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Orders;

/// <summary>
/// Loads talos_order.py's config.yaml and orders.yaml (unchanged files keep working) with this project's
/// additions, and reports every problem in both files at once (<see cref="TalosValidationException"/>). The keys,
/// types, ranges, allowed values and defaults are <see cref="InputSchema"/>'s; what is here is what no schema says:
/// which record a value goes to, and the checks that need code (file-name safety, duplicates, references between files).
/// </summary>
public static class OrderLoader
{
    public const string FactoryUrlVariable = "TALOS_FACTORY_URL";

    private static readonly Regex NamePattern = new(InputSchema.NamePattern, RegexOptions.CultureInvariant);
    private static readonly Regex WindowsDeviceName = new(InputSchema.WindowsDevicePattern, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
    private static readonly ProxmoxEndpointConfig EndpointDefaults = new();

    /// <summary>Loads both files. <paramref name="environment"/> supplies TALOS_FACTORY_URL (tests pass their own).</summary>
    public static OrderInput Load(string configPath, string ordersPath, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var problems = new List<ValidationProblem>();
        var config = LoadConfig(configPath, problems, environment);
        var orders = LoadOrders(ordersPath, problems, config);
        if (problems.Count > 0)
        {
            throw new TalosValidationException(problems);
        }
        return new OrderInput { Config = config, OrdersPath = Path.GetFullPath(ordersPath), Orders = orders };
    }

    /// <summary>Loads config.yaml alone (Get-TalosCache, Clear-TalosCache).</summary>
    public static TalosConfig LoadConfig(string configPath, Func<string, string?>? environment = null)
    {
        var problems = new List<ValidationProblem>();
        var config = LoadConfig(configPath, problems, environment ?? Environment.GetEnvironmentVariable);
        if (problems.Count > 0)
        {
            throw new TalosValidationException(problems);
        }
        return config;
    }

    private static TalosConfig LoadConfig(string path, List<ValidationProblem> problems, Func<string, string?> environment)
    {
        var (y, root) = YamlInput.Load(path, problems);
        var config = new TalosConfig { SourcePath = Path.GetFullPath(path) };
        if (root is null)
        {
            return ApplyEnvironment(config, environment, y);
        }
        if (Section.Open(y, root, "", InputSchema.Config, environment) is not { } top)
        {
            return config;
        }
        if (top.Object("defaults") is { } d)
        {
            config = LoadDefaults(d, config);
        }
        if (top.Object("manifest") is { } m)
        {
            config = config with
            {
                Manifest = new ManifestSettings { PathTemplate = m.Text("path_template"), Dir = m.Text("dir"), Path = m.Text("path") },
            };
        }
        if (top.TryGet("proxmox", out var px))
        {
            config = config with { Proxmox = LoadProxmox(y, px.Value) };
        }
        return ApplyEnvironment(config, environment, y);
    }

    private static TalosConfig LoadDefaults(Section d, TalosConfig config)
    {
        config = config with
        {
            CacheDir = d.Text("cache_dir") ?? config.CacheDir,
            ProxmoxDefaultIsoDir = d.Text("proxmox_default_iso_dir") ?? config.ProxmoxDefaultIsoDir,
            ProxmoxDefaultImportDir = d.Text("proxmox_default_import_dir") ?? config.ProxmoxDefaultImportDir,
            Arch = d.Text("arch") ?? config.Arch,
            FactoryUrl = d.Text("factory_url") ?? config.FactoryUrl,
            GitHubApiUrl = d.Text("github_api_url") ?? config.GitHubApiUrl,
            PxeUrl = d.Text("pxe_url")?.TrimEnd('/') ?? config.PxeUrl,
            VersionSource = d.Text("version_source") ?? config.VersionSource,
            VersionCacheTtl = d.Seconds("version_cache_ttl") ?? config.VersionCacheTtl,
            LockTimeout = d.Seconds("lock_timeout") ?? config.LockTimeout,
            Concurrency = (int?)d.Integer("concurrency") ?? config.Concurrency,
            Decompressor = d.Text("decompressor") ?? config.Decompressor,
        };
        if (d.Object("factory_auth") is { } fa)
        {
            config = config with { FactoryAuth = LoadFactoryAuth(fa) };
        }
        if (d.Object("push") is { } p)
        {
            config = config with
            {
                Push = new PushDefaults
                {
                    Enabled = p.Bool("enabled") ?? config.Push.Enabled,
                    RsyncOpts = p.Text("rsync_opts") ?? config.Push.RsyncOpts,
                    SshOpts = p.Text("ssh_opts") ?? config.Push.SshOpts,
                    PreferDecompressed = p.Bool("prefer_decompressed") ?? config.Push.PreferDecompressed,
                    RemoteExpand = p.Bool("remote_expand") ?? config.Push.RemoteExpand,
                    Transport = p.Text("transport") ?? config.Push.Transport,
                    Replace = p.Bool("replace") ?? config.Push.Replace,
                    ReplaceInUse = p.Bool("replace_in_use") ?? config.Push.ReplaceInUse,
                    RetentionKeep = (int?)(p.Object("retention")?.Integer("keep_versions")) ?? config.Push.RetentionKeep,
                },
            };
        }
        if (d.Object("cache_policy") is { } cp)
        {
            config = config with
            {
                CachePolicy = new CachePolicy
                {
                    Enabled = cp.Bool("enabled") ?? config.CachePolicy.Enabled,
                    KeepVersions = (int?)cp.Integer("keep_versions") ?? config.CachePolicy.KeepVersions,
                    PurgeBefore = cp.Bool("purge_before") ?? config.CachePolicy.PurgeBefore,
                },
            };
        }
        return config;
    }

    /// <summary>defaults.factory_auth, with its rules (InputSchema.FactoryAuthBearerExcludes, FactoryAuthBasicTogether, FactoryAuthNeedsOne).</summary>
    private static FactoryAuthConfig? LoadFactoryAuth(Section fa)
    {
        var auth = new FactoryAuthConfig { BearerTokenEnv = fa.Text("bearer_token_env"), Username = fa.Text("username"), PasswordEnv = fa.Text("password_env") };
        var y = fa.Input;
        if (auth.BearerTokenEnv is not null)
        {
            foreach (var other in InputSchema.FactoryAuthBearerExcludes.Excluded.Where(fa.IsSet))
            {
                y.Add(fa.KeyNode(other), fa.PathOf(other), InputSchema.FactoryAuthBearerExcludes.Description);
            }
            return auth;
        }
        if (auth.Username is not null || auth.PasswordEnv is not null)
        {
            foreach (var missing in InputSchema.FactoryAuthBasicTogether.Required.Where(k => string.IsNullOrEmpty(fa.Text(k))))
            {
                y.Add(fa.Node ?? fa.ValueNode(auth.Username is not null ? "username" : "password_env"), fa.PathOf(missing), InputSchema.FactoryAuthBasicTogether.Description);
            }
            if (auth.Username is { } user && (user.IndexOf(':') >= 0 || user.Any(char.IsControl)))
            {
                y.Add(fa.ValueNode("username"), fa.PathOf("username"), "an HTTP Basic user name cannot hold ':' or control characters");
            }
            return auth;
        }
        if (fa.Node is not null && !YamlInput.IsNull(fa.Node))
        {
            y.Add(fa.Node, fa.Path, InputSchema.FactoryAuthNeedsOne.Description);
        }
        return null;
    }

    private static TalosConfig ApplyEnvironment(TalosConfig config, Func<string, string?> environment, YamlInput y)
    {
        // TALOSIMAGE_DECOMPRESSOR wins over defaults.decompressor, as TALOS_FACTORY_URL wins over factory_url.
        var decompressor = environment(DecompressorChoice.EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(decompressor))
        {
            if (DecompressorChoice.TryParse(decompressor, out var backend))
            {
                config = config with { Decompressor = backend.ToString().ToLowerInvariant() };
            }
            else
            {
                y.Add(0, 0, DecompressorChoice.EnvironmentVariable, DecompressorChoice.Problem(decompressor!));
            }
        }
        var url = environment(FactoryUrlVariable);
        if (string.IsNullOrWhiteSpace(url))
        {
            return config;
        }
        if (!Urls.IsHttpUrl(url!))
        {
            // Say what is wrong: an http URL with a password is an http URL. The value shown has its user info masked.
            y.Add(0, 0, FactoryUrlVariable, $"environment variable {Urls.Problem(url!)}; got '{Printable(url!)}'");
            return config;
        }
        return config with { FactoryUrl = url!.TrimEnd('/') };
    }

    private static IReadOnlyDictionary<string, ProxmoxEndpointConfig> LoadProxmox(YamlInput y, YamlNode node)
    {
        var result = new Dictionary<string, ProxmoxEndpointConfig>(StringComparer.Ordinal);
        if (YamlInput.IsNull(node))
        {
            return result;
        }
        if (node is not YamlMappingNode map)
        {
            y.Add(node, "proxmox", $"expected a mapping of endpoint names to {{{string.Join(", ", InputSchema.ProxmoxEndpoint.Keys.Where(k => k != "nodes"))}}}");
            return result;
        }
        foreach (var kv in map.Children)
        {
            var name = (kv.Key as YamlScalarNode)?.Value ?? "";
            var path = YamlInput.Join("proxmox", name);
            if (!NamePattern.IsMatch(name))
            {
                y.Add(kv.Key, path, "endpoint names may use letters, digits, '.', '_' and '-'");
                continue;
            }
            if (Section.Open(y, kv.Value, path, InputSchema.ProxmoxEndpoint) is { } e)
            {
                result[name] = LoadEndpoint(y, e, kv.Key, name);
            }
        }
        return result;
    }

    private static ProxmoxEndpointConfig LoadEndpoint(YamlInput y, Section e, YamlNode nameNode, string name)
    {
        var nodes = new List<string>();
        if (e.Text("node") is { } single)
        {
            nodes.Add(single);
        }
        nodes.AddRange(e.StringList("nodes") ?? Array.Empty<string>());
        var nodesKey = e.Has("nodes") ? "nodes" : "node";
        foreach (var problem in nodes.Select(ProxmoxTarget.NodeProblem).Where(p => p is not null).Distinct())
        {
            y.Add(e.ValueNode(nodesKey), e.PathOf(nodesKey), problem!);
        }
        var storage = e.Text("storage") ?? EndpointDefaults.Storage;
        if (ProxmoxTarget.StorageProblem(storage) is { } storageProblem)
        {
            y.Add(e.ValueNode("storage"), e.PathOf("storage"), storageProblem);
        }
        if (nodes.Count == 0)
        {
            y.Add(nameNode, e.Path, InputSchema.NeedsNode.Description);
        }
        var url = e.Text("url");
        if (url is null && !e.Has("url"))
        {
            y.Add(nameNode, e.Path, InputSchema.NeedsUrl.Description);
        }
        var tokenEnv = e.Text("token_env") ?? EndpointDefaults.TokenEnv;
        return new ProxmoxEndpointConfig
        {
            Name = name,
            Url = url ?? "",
            Nodes = nodes,
            Storage = storage,
            TokenEnv = tokenEnv,
            Fingerprint = e.Text("fingerprint"),
            Method = e.Text("method") ?? EndpointDefaults.Method,
        };
    }

    private static IReadOnlyList<Order> LoadOrders(string path, List<ValidationProblem> problems, TalosConfig config)
    {
        var (y, root) = YamlInput.Load(path, problems);
        var orders = new List<Order>();
        if (root is null)
        {
            if (problems.Count == 0)
            {
                y.Add(0, 0, "", "the file is empty; expected a list of orders or a mapping with key 'orders'");
            }
            return orders;
        }

        YamlNode? list = root;
        if (root is YamlMappingNode)
        {
            var top = Section.Open(y, root, "", InputSchema.OrdersFile);
            list = top is not null && top.TryGet("orders", out var o) ? o.Value : null;
            if (top is not null && list is null)
            {
                y.Add(root, "orders", "missing: expected a list of orders under 'orders'");
            }
        }
        var items = list is null ? null : y.List(list, "orders", InputSchema.OrderList.ItemDescription);
        if (items is null)
        {
            return orders;
        }

        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < items.Count; i++)
        {
            if (Section.Open(y, items[i], YamlInput.Index("orders", i), InputSchema.Order) is { } om)
            {
                orders.Add(LoadOrder(y, om, items[i], seen, config));
            }
        }
        return orders;
    }

    private static Order LoadOrder(YamlInput y, Section om, YamlNode node, Dictionary<string, int> seen, TalosConfig config)
    {
        var orderId = om.Raw("orderid");
        if (!om.Has("orderid"))
        {
            y.Add(node, om.PathOf("orderid"), "is required");
        }
        else if (orderId is not null && OrderIdProblem(orderId, seen) is { } problem)
        {
            y.Add(om.ValueNode("orderid"), om.PathOf("orderid"), problem);
        }
        else if (orderId is not null)
        {
            seen[orderId] = (int)om.ValueNode("orderid").Start.Line;
        }

        var positions = new List<Position>();
        var posNodes = om.List("positions") ?? Array.Empty<YamlNode>();
        for (var p = 0; p < posNodes.Count; p++)
        {
            if (Section.Open(y, posNodes[p], YamlInput.Index(om.PathOf("positions"), p), InputSchema.Position) is { } pm)
            {
                positions.Add(LoadPosition(pm, p, config));
            }
        }
        return new Order
        {
            OrderId = orderId ?? "",
            Customer = om.Text("customer") ?? "",
            Positions = positions,
            Location = new SourceLocation(y.File, (int)node.Start.Line, (int)node.Start.Column),
        };
    }

    /// <summary>Why <paramref name="orderId"/> cannot name a manifest, or null: file-name safety and uniqueness in the file.</summary>
    private static string? OrderIdProblem(string orderId, Dictionary<string, int> seen) =>
        !NamePattern.IsMatch(orderId) || orderId.Contains("..") || orderId == "."
            ? $"'{orderId}' cannot be used in a file name: use 1 to 128 letters, digits, '.', '_' or '-', and no '..'"
        // path_template: /x/{orderid}.yaml would name a device on Windows, not a file.
        : WindowsDeviceName.IsMatch(orderId) ? $"'{orderId}' cannot be used in a file name: it is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
        : seen.TryGetValue(orderId, out var first) ? $"duplicate orderid '{orderId}' (also at line {first}); each order needs its own manifest"
        : null;

    private static Position LoadPosition(Section pm, int index, TalosConfig config)
    {
        var y = pm.Input;
        pm.Text("product");
        if (!pm.Has("product"))
        {
            y.Add(pm.Node!, pm.PathOf("product"), "is required: product: talos");
        }

        var platform = pm.Text("platform") ?? "nocloud";
        var formatText = pm.Raw("image_format") ?? "iso";
        var format = FactoryCatalog.NormaliseOrdersFormat(formatText);
        if (format is null)
        {
            pm.Unknown("image_format", formatText);
        }

        var secureBoot = pm.Bool("secureboot") ?? false;
        if (secureBoot && FactoryCatalog.IsPlatform(platform) && !FactoryCatalog.SupportsSecureBoot(platform))
        {
            y.Add(pm.ValueNode("secureboot"), pm.PathOf("secureboot"), $"platform '{platform}' has no SecureBoot images; {InputSchema.SecureBootPlatforms.Description}");
        }

        var download = pm.Bool("download");
        if (download == false && format is not null && format != "pxe")
        {
            y.Add(pm.ValueNode("download"), pm.PathOf("download"), InputSchema.DownloadOnlyPxe.Description + $"; this position's image_format is {format}");
        }

        var (schematicId, schematic) = LoadSchematic(pm);
        var pushSettings = pm.TryGet("push", out var pushEntry)
            ? Push(y, pushEntry.Value, pm.PathOf("push"), config)
            : new PositionPush
            {
                Enabled = false, PreferDecompressed = config.Push.PreferDecompressed, RemoteExpand = config.Push.RemoteExpand,
                Replace = config.Push.Replace, ReplaceInUse = config.Push.ReplaceInUse, RetentionKeep = config.Push.RetentionKeep,
            };
        var template = pm.IsSet("template") ? LoadTemplate(pm, format ?? "iso", pushSettings) : null;
        return new Position
        {
            Index = index,
            Name = pm.Text("name") ?? "<unnamed>",
            Product = "talos",
            Version = pm.TryGet("version", out var v) ? Version(y, v.Value, pm.PathOf("version")) : VersionRequest.Latest,
            SchematicId = schematicId,
            Schematic = schematic,
            Platform = platform,
            Format = format ?? "iso",
            Arch = pm.Text("arch") ?? config.Arch,
            SecureBoot = secureBoot,
            DecompressRaw = pm.Bool("decompress_raw") ?? false,
            Download = download ?? format != "pxe",
            Push = pushSettings,
            Template = template,
            Location = new SourceLocation(y.File, (int)pm.Node!.Start.Line, (int)pm.Node.Start.Column),
        };
    }

    /// <summary>
    /// A position's template: the settings as the engine checks them (each problem at the template's line), and what
    /// one file cannot say: it needs push.proxmox, and a disk image that reaches import content (an expanded raw, or qcow2).
    /// </summary>
    private static PositionTemplate? LoadTemplate(Section pm, string format, PositionPush push)
    {
        var y = pm.Input;
        if (pm.Object("template") is not { } tm)
        {
            return null;
        }
        var path = pm.PathOf("template");
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tm.TryGet("options", out var opt) && !YamlInput.IsNull(opt.Value))
        {
            if (opt.Value is not YamlMappingNode map)
            {
                y.Add(opt.Value, tm.PathOf("options"), "expected a mapping of qemu config keys to values, e.g. {cpu: host}");
            }
            else
            {
                foreach (var kv in map.Children)
                {
                    var key = (kv.Key as YamlScalarNode)?.Value ?? "";
                    var value = YamlInput.IsNull(kv.Value) ? "" : y.String(kv.Value, YamlInput.Join(tm.PathOf("options"), key));
                    options[key] = value ?? "";
                }
            }
        }
        var settings = new Publishing.Proxmox.TemplateSettings
        {
            VmId = tm.Integer("vmid") is { } id ? (int)id : null,
            Name = tm.Text("name"),
            Storage = tm.Text("storage") ?? Publishing.Proxmox.TemplateSettings.DefaultStorage,
            Memory = tm.Integer("memory") is { } memory ? (int)memory : Publishing.Proxmox.TemplateSettings.DefaultMemory,
            Cores = tm.Integer("cores") is { } cores ? (int)cores : Publishing.Proxmox.TemplateSettings.DefaultCores,
            Bridge = tm.Text("bridge") ?? Publishing.Proxmox.TemplateSettings.DefaultBridge,
            Tags = tm.StringList("tags") ?? Array.Empty<string>(),
            Options = options,
            Keep = tm.Integer("keep") is { } keep ? (int)keep : null,
        };
        foreach (var problem in settings.Problems())
        {
            y.Add(pm.ValueNode("template"), path, problem);
        }
        var node = tm.Text("node");
        if (node is not null && ProxmoxTarget.NodeProblem(node) is { } nodeProblem)
        {
            y.Add(tm.ValueNode("node"), tm.PathOf("node"), nodeProblem);
        }
        if (push.Proxmox.Count == 0)
        {
            y.Add(pm.KeyNode("template"), path, "needs push.proxmox: a template is made through the Proxmox API from the image published there (API only)");
        }
        var importable = format == "qcow2" || (format.StartsWith("raw", StringComparison.Ordinal) && FactoryCatalog.IsCompressed(format) && push.PreferDecompressed && !push.RemoteExpand);
        if (!importable)
        {
            y.Add(pm.KeyNode("template"), path,
                $"needs a disk image published to import content, and image_format {format}{(format.StartsWith("raw", StringComparison.Ordinal) ? " without push.prefer_decompressed: true" : "")} is not one: " +
                "use a raw image with push.prefer_decompressed: true (the expanded .raw is uploaded), or qcow2; an ISO makes no template");
        }
        return new PositionTemplate { Settings = settings, Node = node };
    }

    /// <summary>schematic_id, or a schematic from customization and overlay (InputSchema.NeedsSchematic, SchematicIdExcludes).</summary>
    private static (string? Id, Schematic? Schematic) LoadSchematic(Section pm)
    {
        var y = pm.Input;
        var hasCustomization = pm.IsSet("customization");
        var hasOverlay = pm.IsSet("overlay");
        if (pm.IsSet("schematic_id"))
        {
            var id = pm.Text("schematic_id");
            if (hasCustomization || hasOverlay)
            {
                var other = hasCustomization ? "customization" : "overlay";
                y.Add(pm.KeyNode(other), pm.PathOf(other), InputSchema.SchematicIdExcludes.Description);
            }
            return (id, null);
        }
        if (pm.Has("customization") || hasOverlay)
        {
            return (null, new Schematic
            {
                Customization = hasCustomization ? SchematicReader.Customization(y, pm.ValueNode("customization"), pm.PathOf("customization")) : new SchematicCustomization(),
                Overlay = hasOverlay ? SchematicReader.Overlay(y, pm.ValueNode("overlay"), pm.PathOf("overlay")) : null,
            });
        }
        y.Add(pm.Node!, pm.Path, InputSchema.NeedsSchematic.Description);
        return (null, null);
    }

    private static VersionRequest Version(YamlInput y, YamlNode node, string path)
    {
        if (YamlInput.IsNull(node))
        {
            return VersionRequest.Latest;
        }
        if (node is YamlScalarNode s)
        {
            // A shorthand this project accepts: version: v1.11.5 or version: latest.
            var text = s.Value ?? "";
            if (text.Equals("latest", StringComparison.OrdinalIgnoreCase))
            {
                return VersionRequest.Latest;
            }
            if (TalosSemVersion.TryParse(text, out var exact))
            {
                return new VersionRequest(VersionKind.Exact, exact.ToString());
            }
            y.Add(node, path, $"expected {{type: exact, value: v1.11.5}}, {{type: latest}} or {{type: latest-in-minor, minor: v1.7}}; got '{text}'");
            return VersionRequest.Latest;
        }
        if (Section.Open(y, node, path, InputSchema.VersionObject) is not { } vm)
        {
            return VersionRequest.Latest;
        }
        // An unknown type is reported by Text (with the nearest type) and read as latest.
        var type = vm.Text("type") ?? "latest";
        switch (type.ToLowerInvariant())
        {
            case "exact":
                var value = vm.Text("value");
                if (value is null)
                {
                    y.Add(node, vm.PathOf("value"), "is required for type exact, e.g. value: v1.11.5");
                    return VersionRequest.Latest;
                }
                if (!TalosSemVersion.TryParse(value, out var v))
                {
                    y.Add(vm.ValueNode("value"), vm.PathOf("value"), $"'{value}' is not a Talos version; expected vMAJOR.MINOR.PATCH, e.g. v1.11.5");
                    return VersionRequest.Latest;
                }
                return new VersionRequest(VersionKind.Exact, v.ToString());
            case "latest-in-minor":
                var minor = vm.Text("minor");
                if (minor is null)
                {
                    y.Add(node, vm.PathOf("minor"), "is required for type latest-in-minor, e.g. minor: v1.7");
                    return VersionRequest.Latest;
                }
                if (!TalosSemVersion.TryParseMinor(minor, out var major, out var mi))
                {
                    y.Add(vm.ValueNode("minor"), vm.PathOf("minor"), $"'{minor}' is not a minor version; expected vMAJOR.MINOR, e.g. v1.7");
                    return VersionRequest.Latest;
                }
                return new VersionRequest(VersionKind.LatestInMinor, $"v{major}.{mi}");
            case "latest":
                return VersionRequest.Latest;
            default:
                // Equal to a type ignoring case, but not in lower case (a dotless ı, a long ſ): refused as before.
                vm.Unknown("type", type);
                return VersionRequest.Latest;
        }
    }

    private static PositionPush Push(YamlInput y, YamlNode node, string path, TalosConfig config)
    {
        if (Section.Open(y, node, path, InputSchema.PositionPush) is not { } pm)
        {
            return new PositionPush();
        }
        var hosts = new List<PushHost>();
        var hostNodes = pm.List("hosts") ?? Array.Empty<YamlNode>();
        for (var i = 0; i < hostNodes.Count; i++)
        {
            var hp = YamlInput.Index(pm.PathOf("hosts"), i);
            if (hostNodes[i] is YamlScalarNode scalar && !YamlInput.IsNull(scalar))
            {
                // A bare host name, a convenience: hosts: [pve-01]. One rule with the SSH publisher.
                if (SshSafety.HostProblem(scalar.Value) is { } problem)
                {
                    y.Add(scalar, hp, problem);
                }
                else
                {
                    hosts.Add(new PushHost { Host = scalar.Value! });
                }
                continue;
            }
            if (Section.Open(y, hostNodes[i], hp, InputSchema.PushHost) is not { } hm)
            {
                continue;
            }
            var host = hm.Text("host");
            if (!hm.Has("host"))
            {
                y.Add(hostNodes[i], hm.PathOf("host"), "is required");
            }
            if (host is not null)
            {
                hosts.Add(new PushHost { Host = host, IsoDir = hm.Text("iso_dir"), ImportDir = hm.Text("import_dir"), Transport = hm.Text("transport") });
            }
        }
        var proxmox = pm.StringList("proxmox") ?? Array.Empty<string>();
        if (pm.TryGet("proxmox", out var pxEntry))
        {
            // A reference into config.yaml: no schema of one file can say this.
            foreach (var name in proxmox.Where(name => !config.Proxmox.ContainsKey(name)))
            {
                var hint = NearMiss.Suggest(name, config.Proxmox.Keys);
                y.Add(pxEntry.Value, pm.PathOf("proxmox"),
                    $"no proxmox endpoint named '{name}' in the config" + (hint is not null ? $"; did you mean '{hint}'?" : config.Proxmox.Count > 0 ? $"; known: {string.Join(", ", config.Proxmox.Keys)}" : "; define it under proxmox: in config.yaml"));
            }
        }
        return new PositionPush
        {
            Enabled = pm.Bool("enabled") ?? config.Push.Enabled,
            PreferDecompressed = pm.Bool("prefer_decompressed") ?? config.Push.PreferDecompressed,
            RemoteExpand = pm.Bool("remote_expand") ?? config.Push.RemoteExpand,
            Replace = pm.Bool("replace") ?? config.Push.Replace,
            ReplaceInUse = pm.Bool("replace_in_use") ?? config.Push.ReplaceInUse,
            RetentionKeep = (int?)(pm.Object("retention")?.Integer("keep_versions")) ?? config.Push.RetentionKeep,
            Hosts = hosts,
            Proxmox = proxmox,
        };
    }

    internal static string Printable(string s) => SshSafety.Printable(s);
}
