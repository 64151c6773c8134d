using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using TalosImage.Core.Factory;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Core.Schematics;
using TalosImage.Core.Versions;
using YamlDotNet.RepresentationModel;

namespace TalosImage.Core.Orders;

/// <summary>
/// Loads talos_order.py's config.yaml and orders.yaml (unchanged files keep working) with this project's
/// additions, and reports every problem in both files at once (<see cref="TalosValidationException"/>).
/// </summary>
public static class OrderLoader
{
    public const string FactoryUrlVariable = "TALOS_FACTORY_URL";

    private static readonly string[] ConfigKeys = { "defaults", "manifest", "proxmox" };
    private static readonly string[] DefaultsKeys =
    {
        "cache_dir", "proxmox_default_iso_dir", "proxmox_default_import_dir", "arch", "push", "cache_policy",
        "factory_url", "github_api_url", "version_source", "version_cache_ttl", "concurrency", "lock_timeout",
    };
    private static readonly string[] PushDefaultsKeys = { "enabled", "rsync_opts", "ssh_opts", "prefer_decompressed", "remote_expand" };
    private static readonly string[] CachePolicyKeys = { "enabled", "keep_versions", "purge_before" };
    private static readonly string[] ManifestKeys = { "path_template", "dir", "path" };
    private static readonly string[] ProxmoxKeys = { "url", "node", "nodes", "storage", "token_env", "fingerprint", "method" };
    private static readonly string[] OrdersTopKeys = { "orders" };
    private static readonly string[] OrderKeys = { "orderid", "customer", "positions" };
    private static readonly string[] PositionKeys =
    {
        "name", "product", "version", "schematic_id", "customization", "overlay", "platform", "image_format", "arch",
        "secureboot", "decompress_raw", "push",
    };
    private static readonly string[] VersionKeys = { "type", "value", "minor" };
    private static readonly string[] VersionTypes = { "exact", "latest", "latest-in-minor" };
    private static readonly string[] PositionPushKeys = { "enabled", "prefer_decompressed", "remote_expand", "hosts", "proxmox" };
    private static readonly string[] HostKeys = { "host", "iso_dir", "import_dir" };

    private static readonly Regex OrderIdPattern = new("^[A-Za-z0-9._-]{1,128}$", RegexOptions.CultureInvariant);
    private static readonly Regex WindowsDeviceName = new(@"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
    private static readonly Regex SchematicIdPattern = new("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

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
        var top = y.Map(root, "", ConfigKeys);
        if (top is null)
        {
            return config;
        }

        if (top.TryGetValue("defaults", out var defaultsNode) && y.Map(defaultsNode.Value, "defaults", DefaultsKeys) is { } d)
        {
            config = config with
            {
                CacheDir = Dir(y, d, "cache_dir", "defaults", absolute: false, home: environment) ?? config.CacheDir,
                ProxmoxDefaultIsoDir = RemoteDir(y, d, "proxmox_default_iso_dir", "defaults") ?? config.ProxmoxDefaultIsoDir,
                ProxmoxDefaultImportDir = RemoteDir(y, d, "proxmox_default_import_dir", "defaults") ?? config.ProxmoxDefaultImportDir,
                Arch = Arch(y, d, "defaults") ?? config.Arch,
                FactoryUrl = HttpUrl(y, d, "factory_url", "defaults") ?? config.FactoryUrl,
                GitHubApiUrl = HttpUrl(y, d, "github_api_url", "defaults") ?? config.GitHubApiUrl,
                VersionSource = OneOf(y, d, "version_source", "defaults", new[] { "factory", "github" }) ?? config.VersionSource,
                VersionCacheTtl = Seconds(y, d, "version_cache_ttl", "defaults", 0, 30 * 86400) ?? config.VersionCacheTtl,
                LockTimeout = Seconds(y, d, "lock_timeout", "defaults", 0, 86400) ?? config.LockTimeout,
                Concurrency = (int?)Get(d, "concurrency", n => y.Integer(n, "defaults.concurrency", 1, 64)) ?? config.Concurrency,
            };
            if (d.TryGetValue("push", out var pushNode) && y.Map(pushNode.Value, "defaults.push", PushDefaultsKeys) is { } p)
            {
                config = config with
                {
                    Push = new PushDefaults
                    {
                        Enabled = Get(p, "enabled", n => y.Bool(n, "defaults.push.enabled")) ?? config.Push.Enabled,
                        RsyncOpts = Options(y, p, "rsync_opts", SshSafety.CheckRsyncOptions) ?? config.Push.RsyncOpts,
                        SshOpts = Options(y, p, "ssh_opts", SshSafety.CheckSshOptions) ?? config.Push.SshOpts,
                        PreferDecompressed = Get(p, "prefer_decompressed", n => y.Bool(n, "defaults.push.prefer_decompressed")) ?? config.Push.PreferDecompressed,
                        RemoteExpand = Get(p, "remote_expand", n => y.Bool(n, "defaults.push.remote_expand")) ?? config.Push.RemoteExpand,
                    },
                };
            }
            if (d.TryGetValue("cache_policy", out var cpNode) && y.Map(cpNode.Value, "defaults.cache_policy", CachePolicyKeys) is { } cp)
            {
                config = config with
                {
                    CachePolicy = new CachePolicy
                    {
                        Enabled = Get(cp, "enabled", n => y.Bool(n, "defaults.cache_policy.enabled")) ?? config.CachePolicy.Enabled,
                        KeepVersions = (int?)Get(cp, "keep_versions", n => y.Integer(n, "defaults.cache_policy.keep_versions", 1, 10000)) ?? config.CachePolicy.KeepVersions,
                        PurgeBefore = Get(cp, "purge_before", n => y.Bool(n, "defaults.cache_policy.purge_before")) ?? config.CachePolicy.PurgeBefore,
                    },
                };
            }
        }

        if (top.TryGetValue("manifest", out var manifestNode) && y.Map(manifestNode.Value, "manifest", ManifestKeys) is { } m)
        {
            config = config with
            {
                Manifest = new ManifestSettings
                {
                    PathTemplate = Dir(y, m, "path_template", "manifest", absolute: false, emptyIsUnset: true, home: environment),
                    Dir = Dir(y, m, "dir", "manifest", absolute: false, emptyIsUnset: true, home: environment),
                    Path = Dir(y, m, "path", "manifest", absolute: false, emptyIsUnset: true, home: environment),
                },
            };
        }

        if (top.TryGetValue("proxmox", out var pxNode))
        {
            config = config with { Proxmox = LoadProxmox(y, pxNode.Value) };
        }
        return ApplyEnvironment(config, environment, y);
    }

    private static TalosConfig ApplyEnvironment(TalosConfig config, Func<string, string?> environment, YamlInput y)
    {
        var url = environment(FactoryUrlVariable);
        if (string.IsNullOrWhiteSpace(url))
        {
            return config;
        }
        if (!IsHttpUrl(url!))
        {
            // Say what is wrong: an http URL with a password is an http URL. The value shown has its user info masked.
            y.Add(0, 0, FactoryUrlVariable, $"environment variable {UrlProblem(url!)}; got '{Printable(url!)}'");
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
            y.Add(node, "proxmox", "expected a mapping of endpoint names to {url, node, storage, token_env, fingerprint, method}");
            return result;
        }
        foreach (var kv in map.Children)
        {
            var name = (kv.Key as YamlScalarNode)?.Value ?? "";
            var path = "proxmox." + name;
            if (!OrderIdPattern.IsMatch(name))
            {
                y.Add(kv.Key, path, "endpoint names may use letters, digits, '.', '_' and '-'");
                continue;
            }
            if (y.Map(kv.Value, path, ProxmoxKeys) is not { } e)
            {
                continue;
            }
            var nodes = new List<string>();
            if (Get(e, "node", n => y.String(n, path + ".node")) is { } single)
            {
                nodes.Add(single);
            }
            nodes.AddRange(Get(e, "nodes", n => y.StringList(n, path + ".nodes")) ?? Array.Empty<string>());
            foreach (var problem in nodes.Select(ProxmoxTarget.NodeProblem).Where(p => p is not null).Distinct())
            {
                y.Add((e.TryGetValue("nodes", out var ns) ? ns : e["node"]).Value, path + (e.ContainsKey("nodes") ? ".nodes" : ".node"), problem!);
            }
            var storage = Get(e, "storage", n => y.String(n, path + ".storage")) ?? "local";
            if (ProxmoxTarget.StorageProblem(storage) is { } storageProblem)
            {
                y.Add(e["storage"].Value, path + ".storage", storageProblem);
            }
            if (nodes.Count == 0)
            {
                y.Add(kv.Key, path, "needs node (or nodes): the Proxmox node name(s) to publish through");
            }
            var url = HttpUrl(y, e, "url", path, https: true);
            if (url is null && !e.ContainsKey("url"))
            {
                y.Add(kv.Key, path, "needs url, e.g. https://pve-01.example.lan:8006");
            }
            var tokenEnv = Get(e, "token_env", n => y.String(n, path + ".token_env")) ?? "PROXMOX_API_TOKEN";
            if (!Regex.IsMatch(tokenEnv, "^[A-Za-z_][A-Za-z0-9_]*$"))
            {
                y.Add(e["token_env"].Value, path + ".token_env", "expected the NAME of an environment variable that holds the token (the token itself never goes into YAML)");
            }
            result[name] = new ProxmoxEndpointConfig
            {
                Name = name,
                Url = url ?? "",
                Nodes = nodes,
                Storage = storage,
                TokenEnv = tokenEnv,
                Fingerprint = Get(e, "fingerprint", n => y.String(n, path + ".fingerprint")),
                Method = OneOf(y, e, "method", path, new[] { "upload", "download-url" }) ?? "upload",
            };
        }
        return result;
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
        var listPath = "orders";
        if (root is YamlMappingNode)
        {
            var top = y.Map(root, "", OrdersTopKeys);
            list = top is not null && top.TryGetValue("orders", out var o) ? o.Value : null;
            if (top is not null && list is null)
            {
                y.Add(root, "orders", "missing: expected a list of orders under 'orders'");
            }
        }
        var items = list is null ? null : y.List(list, listPath, "orders");
        if (items is null)
        {
            return orders;
        }

        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < items.Count; i++)
        {
            var orderPath = YamlInput.Index(listPath, i);
            if (y.Map(items[i], orderPath, OrderKeys) is not { } om)
            {
                continue;
            }
            var orderId = Get(om, "orderid", n => y.String(n, orderPath + ".orderid", required: true));
            if (!om.ContainsKey("orderid"))
            {
                y.Add(items[i], orderPath + ".orderid", "is required");
            }
            else if (orderId is not null)
            {
                var idNode = om["orderid"].Value;
                if (!OrderIdPattern.IsMatch(orderId) || orderId.Contains("..") || orderId == ".")
                {
                    y.Add(idNode, orderPath + ".orderid", $"'{orderId}' cannot be used in a file name: use 1 to 128 letters, digits, '.', '_' or '-', and no '..'");
                }
                else if (WindowsDeviceName.IsMatch(orderId))
                {
                    // path_template: /x/{orderid}.yaml would name a device on Windows, not a file.
                    y.Add(idNode, orderPath + ".orderid", $"'{orderId}' cannot be used in a file name: it is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)");
                }
                else if (seen.TryGetValue(orderId, out var first))
                {
                    y.Add(idNode, orderPath + ".orderid", $"duplicate orderid '{orderId}' (also at line {first}); each order needs its own manifest");
                }
                else
                {
                    seen[orderId] = (int)idNode.Start.Line;
                }
            }

            var positions = new List<Position>();
            var posNodes = Get(om, "positions", n => y.List(n, orderPath + ".positions", "positions")) ?? Array.Empty<YamlNode>();
            for (var p = 0; p < posNodes.Count; p++)
            {
                if (LoadPosition(y, posNodes[p], YamlInput.Index(orderPath + ".positions", p), p, config) is { } position)
                {
                    positions.Add(position);
                }
            }
            orders.Add(new Order
            {
                OrderId = orderId ?? "",
                Customer = Get(om, "customer", n => y.String(n, orderPath + ".customer")) ?? "",
                Positions = positions,
                Location = new SourceLocation(y.File, (int)items[i].Start.Line, (int)items[i].Start.Column),
            });
        }
        return orders;
    }

    private static Position? LoadPosition(YamlInput y, YamlNode node, string path, int index, TalosConfig config)
    {
        if (y.Map(node, path, PositionKeys) is not { } pm)
        {
            return null;
        }
        var product = Get(pm, "product", n => y.String(n, path + ".product"));
        if (!pm.ContainsKey("product"))
        {
            y.Add(node, path + ".product", "is required: product: talos");
        }
        else if (product is not null && !product.Equals("talos", StringComparison.OrdinalIgnoreCase))
        {
            y.Add(pm["product"].Value, path + ".product", $"unsupported product '{product}'; only 'talos' is supported");
        }

        var platform = Get(pm, "platform", n => y.String(n, path + ".platform")) ?? "nocloud";
        if (pm.ContainsKey("platform") && !FactoryCatalog.IsPlatform(platform))
        {
            var hint = NearMiss.Suggest(platform, FactoryCatalog.Platforms);
            y.Add(pm["platform"].Value, path + ".platform",
                $"unknown platform '{platform}'" + (hint is not null ? $"; did you mean '{hint}'?" : $"; expected one of: {string.Join(", ", FactoryCatalog.Platforms)}"));
        }

        var formatText = Get(pm, "image_format", n => y.String(n, path + ".image_format")) ?? "iso";
        var format = FactoryCatalog.NormaliseOrdersFormat(formatText);
        if (format is null)
        {
            var hint = NearMiss.Suggest(formatText, FactoryCatalog.Formats.Concat(FactoryCatalog.FormatAliases.Keys));
            y.Add(pm["image_format"].Value, path + ".image_format",
                $"unknown image format '{formatText}'" + (hint is not null ? $"; did you mean '{hint}'?" : $"; expected iso, raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2 ... (see docs/CONFIGURATION.md)"));
        }

        var secureBoot = Get(pm, "secureboot", n => y.Bool(n, path + ".secureboot")) ?? false;
        if (secureBoot && FactoryCatalog.IsPlatform(platform) && !FactoryCatalog.SupportsSecureBoot(platform))
        {
            y.Add(pm["secureboot"].Value, path + ".secureboot",
                $"platform '{platform}' has no SecureBoot images; SecureBoot is offered for {string.Join(", ", FactoryCatalog.SecureBootPlatforms)}");
        }

        string? schematicId = null;
        Schematic? schematic = null;
        var hasId = pm.TryGetValue("schematic_id", out var idEntry) && !YamlInput.IsNull(idEntry.Value);
        var hasCustomization = pm.TryGetValue("customization", out var custEntry) && !YamlInput.IsNull(custEntry.Value);
        var hasOverlay = pm.TryGetValue("overlay", out var overlayEntry) && !YamlInput.IsNull(overlayEntry.Value);
        if (hasId)
        {
            schematicId = y.String(idEntry.Value, path + ".schematic_id");
            if (schematicId is not null && !SchematicIdPattern.IsMatch(schematicId))
            {
                y.Add(idEntry.Value, path + ".schematic_id", $"expected 64 lowercase hex digits (a schematic ID); got '{schematicId}'");
            }
            if (hasCustomization || hasOverlay)
            {
                y.Add(hasCustomization ? custEntry.Key : overlayEntry.Key, path + (hasCustomization ? ".customization" : ".overlay"),
                    "give either schematic_id or customization/overlay, not both: the ID already fixes the customization");
            }
        }
        else if (pm.ContainsKey("customization") || hasOverlay)
        {
            schematic = new Schematic
            {
                Customization = hasCustomization ? SchematicReader.Customization(y, custEntry.Value, path + ".customization") : new SchematicCustomization(),
                Overlay = hasOverlay ? SchematicReader.Overlay(y, overlayEntry.Value, path + ".overlay") : null,
            };
        }
        else
        {
            y.Add(node, path, "needs schematic_id or customization (customization: {} orders the vanilla image)");
        }

        return new Position
        {
            Index = index,
            Name = Get(pm, "name", n => y.String(n, path + ".name")) ?? "<unnamed>",
            Product = "talos",
            Version = pm.TryGetValue("version", out var v) ? Version(y, v.Value, path + ".version") : VersionRequest.Latest,
            SchematicId = schematicId,
            Schematic = schematic,
            Platform = platform,
            Format = format ?? "iso",
            Arch = Arch(y, pm, path) ?? config.Arch,
            SecureBoot = secureBoot,
            DecompressRaw = Get(pm, "decompress_raw", n => y.Bool(n, path + ".decompress_raw")) ?? false,
            Push = pm.TryGetValue("push", out var push) ? Push(y, push.Value, path + ".push", config) : new PositionPush { Enabled = false, PreferDecompressed = config.Push.PreferDecompressed, RemoteExpand = config.Push.RemoteExpand },
            Location = new SourceLocation(y.File, (int)node.Start.Line, (int)node.Start.Column),
        };
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
        if (y.Map(node, path, VersionKeys) is not { } vm)
        {
            return VersionRequest.Latest;
        }
        var type = Get(vm, "type", n => y.String(n, path + ".type")) ?? "latest";
        switch (type.ToLowerInvariant())
        {
            case "exact":
                var value = Get(vm, "value", n => y.String(n, path + ".value"));
                if (value is null)
                {
                    y.Add(node, path + ".value", "is required for type exact, e.g. value: v1.11.5");
                    return VersionRequest.Latest;
                }
                if (!TalosSemVersion.TryParse(value, out var v))
                {
                    y.Add(vm["value"].Value, path + ".value", $"'{value}' is not a Talos version; expected vMAJOR.MINOR.PATCH, e.g. v1.11.5");
                    return VersionRequest.Latest;
                }
                return new VersionRequest(VersionKind.Exact, v.ToString());
            case "latest":
                return VersionRequest.Latest;
            case "latest-in-minor":
                var minor = Get(vm, "minor", n => y.String(n, path + ".minor"));
                if (minor is null)
                {
                    y.Add(node, path + ".minor", "is required for type latest-in-minor, e.g. minor: v1.7");
                    return VersionRequest.Latest;
                }
                if (!TalosSemVersion.TryParseMinor(minor, out var major, out var mi))
                {
                    y.Add(vm["minor"].Value, path + ".minor", $"'{minor}' is not a minor version; expected vMAJOR.MINOR, e.g. v1.7");
                    return VersionRequest.Latest;
                }
                return new VersionRequest(VersionKind.LatestInMinor, $"v{major}.{mi}");
            default:
                var hint = NearMiss.Suggest(type, VersionTypes);
                y.Add(vm["type"].Value, path + ".type",
                    $"unknown version type '{type}'" + (hint is not null ? $"; did you mean '{hint}'?" : "; expected exact, latest or latest-in-minor"));
                return VersionRequest.Latest;
        }
    }

    private static PositionPush Push(YamlInput y, YamlNode node, string path, TalosConfig config)
    {
        var pm = y.Map(node, path, PositionPushKeys);
        if (pm is null)
        {
            return new PositionPush();
        }
        var hosts = new List<PushHost>();
        var hostNodes = Get(pm, "hosts", n => y.List(n, path + ".hosts", "hosts ({host: name, iso_dir: /path})")) ?? Array.Empty<YamlNode>();
        for (var i = 0; i < hostNodes.Count; i++)
        {
            var hp = YamlInput.Index(path + ".hosts", i);
            if (hostNodes[i] is YamlScalarNode scalar && !YamlInput.IsNull(scalar))
            {
                // A bare host name, a convenience: hosts: [pve-01].
                var bare = scalar.Value!;
                if (CheckHost(y, scalar, hp, bare))
                {
                    hosts.Add(new PushHost { Host = bare });
                }
                continue;
            }
            if (y.Map(hostNodes[i], hp, HostKeys) is not { } hm)
            {
                continue;
            }
            var host = Get(hm, "host", n => y.String(n, hp + ".host", required: true));
            if (!hm.ContainsKey("host"))
            {
                y.Add(hostNodes[i], hp + ".host", "is required");
            }
            if (host is not null && CheckHost(y, hm["host"].Value, hp + ".host", host))
            {
                hosts.Add(new PushHost
                {
                    Host = host,
                    IsoDir = RemoteDir(y, hm, "iso_dir", hp),
                    ImportDir = RemoteDir(y, hm, "import_dir", hp),
                });
            }
        }
        var proxmox = Get(pm, "proxmox", n => y.StringList(n, path + ".proxmox")) ?? Array.Empty<string>();
        if (pm.TryGetValue("proxmox", out var pxEntry))
        {
            foreach (var name in proxmox.Where(name => !config.Proxmox.ContainsKey(name)))
            {
                var hint = NearMiss.Suggest(name, config.Proxmox.Keys);
                y.Add(pxEntry.Value, path + ".proxmox",
                    $"no proxmox endpoint named '{name}' in the config" + (hint is not null ? $"; did you mean '{hint}'?" : config.Proxmox.Count > 0 ? $"; known: {string.Join(", ", config.Proxmox.Keys)}" : "; define it under proxmox: in config.yaml"));
            }
        }
        return new PositionPush
        {
            Enabled = Get(pm, "enabled", n => y.Bool(n, path + ".enabled")) ?? config.Push.Enabled,
            PreferDecompressed = Get(pm, "prefer_decompressed", n => y.Bool(n, path + ".prefer_decompressed")) ?? config.Push.PreferDecompressed,
            RemoteExpand = Get(pm, "remote_expand", n => y.Bool(n, path + ".remote_expand")) ?? config.Push.RemoteExpand,
            Hosts = hosts,
            Proxmox = proxmox,
        };
    }

    private static bool CheckHost(YamlInput y, YamlNode node, string path, string host)
    {
        // One rule with the SSH publisher.
        if (SshSafety.HostProblem(host) is { } problem)
        {
            y.Add(node, path, problem);
            return false;
        }
        return true;
    }

    internal static string Printable(string s) => SshSafety.Printable(s);

    private static string? RemoteDir(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, string path)
    {
        var value = Get(map, key, n => y.String(n, YamlInput.Join(path, key)));
        if (value is null)
        {
            return null;
        }
        if (SshSafety.RemotePathProblem(value) is { } problem)
        {
            y.Add(map[key].Value, YamlInput.Join(path, key), problem);
            return null;
        }
        return SshSafety.NormaliseRemoteDir(value);
    }

    /// <summary>An ssh_opts / rsync_opts string, checked with the SSH publisher's rule (nothing that smuggles a command).</summary>
    private static string? Options(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key,
        Func<string?, string, IReadOnlyList<string>> check)
    {
        var value = Get(map, key, n => y.String(n, "defaults.push." + key));
        if (value is null)
        {
            return null;
        }
        try
        {
            check(value, key);
            return value;
        }
        catch (TalosException e)
        {
            y.Add(map[key].Value, "defaults.push." + key, e.Message);
            return null;
        }
    }

    private static string? Dir(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, string path, bool absolute,
        bool emptyIsUnset = false, Func<string, string?>? home = null)
    {
        var value = Get(map, key, n => y.String(n, YamlInput.Join(path, key)));
        if (emptyIsUnset && string.IsNullOrWhiteSpace(value))
        {
            return null; // talos_order.py's manifest keys: an empty value counts as not given
        }
        if (value is not null && (value.Trim().Length == 0 || value.IndexOfAny(Path.GetInvalidPathChars()) >= 0 || value.IndexOf('\0') >= 0))
        {
            y.Add(map[key].Value, YamlInput.Join(path, key), $"'{Printable(value)}' is not a usable path (empty, or a character no file name may hold)");
            return null;
        }
        if (value is not null && home is not null && value.StartsWith("~", StringComparison.Ordinal))
        {
            value = ExpandHome(y, map[key].Value, YamlInput.Join(path, key), value, home);
        }
        if (value is not null && absolute && !Path.IsPathRooted(value))
        {
            y.Add(map[key].Value, YamlInput.Join(path, key), $"expected an absolute path; got '{value}'");
            return null;
        }
        return value;
    }

    /// <summary>
    /// <c>~</c> and <c>~/...</c> as a shell expands them: the home folder (HOME; on Windows USERPROFILE, then HOME).
    /// <c>~name</c> (another user's home) is refused rather than taken as a folder named "~name".
    /// </summary>
    private static string? ExpandHome(YamlInput y, YamlNode node, string path, string value, Func<string, string?> environment)
    {
        var rest = value.Substring(1);
        if (rest.Length > 0 && rest[0] != '/' && rest[0] != Path.DirectorySeparatorChar)
        {
            var user = rest.Split('/', Path.DirectorySeparatorChar)[0];
            y.Add(node, path, $"'~{Printable(user)}' (another user's home folder) is not expanded; write the full path, or ~/... for your own home folder");
            return null;
        }
        var variables = Path.DirectorySeparatorChar == '\\' ? new[] { "USERPROFILE", "HOME" } : new[] { "HOME" };
        var home = variables.Select(environment).FirstOrDefault(h => !string.IsNullOrEmpty(h));
        if (home is null)
        {
            y.Add(node, path, $"'~' means the home folder, but {string.Join(" and ", variables)} {(variables.Length > 1 ? "are" : "is")} not set; write the full path");
            return null;
        }
        return rest.TrimStart('/', Path.DirectorySeparatorChar).Length == 0 ? home : Path.Combine(home!, rest.TrimStart('/', Path.DirectorySeparatorChar));
    }

    private static string? Arch(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string path) =>
        OneOf(y, map, "arch", path, FactoryCatalog.Architectures.ToArray());

    private static string? OneOf(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, string path, string[] allowed)
    {
        var value = Get(map, key, n => y.String(n, YamlInput.Join(path, key)));
        if (value is null || allowed.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }
        var hint = NearMiss.Suggest(value, allowed);
        y.Add(map[key].Value, YamlInput.Join(path, key), $"'{value}' is not allowed; expected {string.Join(" or ", allowed)}" + (hint is not null ? $" (did you mean '{hint}'?)" : ""));
        return null;
    }

    private static TimeSpan? Seconds(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, string path, long min, long max) =>
        Get(map, key, n => y.Integer(n, YamlInput.Join(path, key) + " (seconds)", min, max)) is { } s ? TimeSpan.FromSeconds(s) : null;

    private static string? HttpUrl(YamlInput y, Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, string path, bool https = false)
    {
        var value = Get(map, key, n => y.String(n, YamlInput.Join(path, key)));
        if (value is null)
        {
            return null;
        }
        if (!IsHttpUrl(value) || (https && !value.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
        {
            y.Add(map[key].Value, YamlInput.Join(path, key), $"expected an {(https ? "https" : "http(s)")} URL without user name or password; got '{Printable(value)}'");
            return null;
        }
        return value.TrimEnd('/');
    }

    /// <summary>Why <see cref="IsHttpUrl"/> refuses <paramref name="value"/>, as the rest of a sentence.</summary>
    private static string UrlProblem(string value) =>
        !Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") ? "must be an absolute http(s) URL"
        : !string.IsNullOrEmpty(uri.UserInfo) ? "holds a user name or password, which a factory URL must not have"
        : "has a query (?...), which a factory URL must not have";

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == "http" || uri.Scheme == "https") && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Query);

    private static T? Get<T>(Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, Func<YamlNode, T?> read) where T : class =>
        map.TryGetValue(key, out var entry) ? read(entry.Value) : null;

    private static T? Get<T>(Dictionary<string, (YamlScalarNode Key, YamlNode Value)> map, string key, Func<YamlNode, T?> read, int _ = 0) where T : struct =>
        map.TryGetValue(key, out var entry) ? read(entry.Value) : null;
}
