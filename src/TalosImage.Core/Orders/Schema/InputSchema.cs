using System.Collections.Generic;
using System.Linq;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;

namespace TalosImage.Core.Orders.Schema;

/// <summary>
/// config.yaml and orders.yaml, declared once: every key, its type, default, allowed values and meaning. OrderLoader
/// reads through it (known keys, near-miss hints, types, ranges, allowed values, patterns); tools/TalosImage.SchemaGen
/// writes docs/CONFIGURATION.md's key tables and schemas/*.schema.json from it. Defaults come from the loaded records
/// (<see cref="TalosConfig"/> ...), so the loader, the docs and the schemas state the same ones.
/// </summary>
public static class InputSchema
{
    private static readonly TalosConfig ConfigDefaults = new();
    private static readonly ProxmoxEndpointConfig EndpointDefaults = new();

    // Patterns (.NET and ECMA-262 alike). The SSH and Proxmox ones are the publishers' rules (SshSafety, ProxmoxTarget),
    // restated here for the JSON Schemas; SchemaTests check that both agree.
    public const string NamePattern = "^[A-Za-z0-9._-]{1,128}$";
    public const string SchematicIdPattern = "^[0-9a-f]{64}$";
    public const string EnvironmentVariablePattern = "^[A-Za-z_][A-Za-z0-9_]*$";
    internal const string WindowsDevicePattern = @"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$";
    internal const string HostJsonPattern = @"^(?!-)(?:[A-Za-z0-9._-]+@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$";
    internal const string RemoteDirJsonPattern = @"^(?!.*(?:^|/)\.\.(?:/|$))/[^\u0000-\u001f\u007f-\u009f]*$";
    internal const string NodeJsonPattern = "^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$";
    internal const string StorageJsonPattern = "^[A-Za-z][A-Za-z0-9._-]{0,127}$";

    // TalosSemVersion's forms, for the JSON Schemas (the loader parses with TalosSemVersion itself).
    internal const string VersionJsonPattern = @"^\s*v?(?:0|[1-9][0-9]{0,8})\.(?:0|[1-9][0-9]{0,8})\.(?:0|[1-9][0-9]{0,8})(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?\s*$";
    internal const string MinorJsonPattern = @"^\s*v?(?:0|[1-9][0-9]{0,8})\.(?:0|[1-9][0-9]{0,8})\s*$";

    public static readonly IReadOnlyList<string> VersionTypes = new[] { "exact", "latest", "latest-in-minor" };
    public static readonly IReadOnlyList<string> VersionSources = new[] { "factory", "github" };
    public static readonly IReadOnlyList<string> ProxmoxMethods = Vocabulary.ProxmoxMethodWords;

    // Rules between keys; their descriptions are the loader's messages.
    public static readonly AnyOfKeysRule NeedsNode = new() { Keys = new[] { "node", "nodes" }, CountOnlyWhenSet = new[] { "node", "nodes" }, Description = "needs node (or nodes): the Proxmox node name(s) to publish through" };
    public static readonly AnyOfKeysRule NeedsUrl = new() { Keys = new[] { "url" }, Description = "needs url, e.g. https://pve-01.example.lan:8006" };
    public static readonly AnyOfKeysRule NeedsSchematic = new()
    {
        Keys = new[] { "schematic_id", "customization", "overlay" },
        CountOnlyWhenSet = new[] { "schematic_id", "overlay" },
        Description = "needs schematic_id or customization (customization: {} orders the vanilla image)",
    };
    public static readonly ExcludesRule SchematicIdExcludes = new()
    {
        Key = "schematic_id",
        Excluded = new[] { "customization", "overlay" },
        Description = "give either schematic_id or customization/overlay, not both: the ID already fixes the customization",
    };
    public static readonly WhenRule SecureBootPlatforms = new()
    {
        Key = "secureboot",
        Value = true,
        LimitedKey = "platform",
        LimitedTo = FactoryCatalog.SecureBootPlatforms,
        Description = "SecureBoot is offered for " + string.Join(", ", FactoryCatalog.SecureBootPlatforms),
    };

    /// <summary>Only a pxe position can leave its asset unfetched: every other format is downloaded.</summary>
    public static readonly WhenRule DownloadOnlyPxe = new()
    {
        Key = "download",
        Value = false,
        LimitedKey = "image_format",
        LimitedTo = new[] { "pxe" },
        Description = "download: false is for image_format pxe only (every other asset is downloaded)",
    };

    private static ScalarSchema Bool(bool? @default, string description, bool isNew = false, string? defaultText = null) =>
        new(ScalarType.Boolean) { Default = @default, DefaultText = defaultText, Description = description, New = isNew };

    private static ScalarSchema Text(string description, object? @default = null, bool isNew = false) =>
        new(ScalarType.String) { Default = @default, Description = description, New = isNew };

    private static string Or(IEnumerable<string> values) => string.Join(" or ", values.Select(v => $"`{v}`"));

    // ---------------------------------------------------------------------------------------------- config.yaml

    public static readonly ObjectSchema PushRetention = new(
        new Property("keep_versions", new ScalarSchema(ScalarType.Integer)
        {
            Min = 1,
            Max = 10000,
            Nullable = false,
            New = true,
            DefaultText = "off",
            Description = "Talos versions kept per family (schematic, platform, arch, secureboot, format) on each target storage or folder; older images TalosImage published there are removed unless a VM or template uses them",
        }, required: true))
    {
        New = true,
        Description = "remote retention after a successful publish (off unless set); see docs/Publishing-Proxmox.md",
    };

    public static readonly ObjectSchema PushDefaults = new(
        new Property("enabled", Bool(ConfigDefaults.Push.Enabled, "default of a position's `push.enabled`")),
        new Property("rsync_opts", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.RsyncOptions,
            Default = ConfigDefaults.Push.RsyncOpts,
            Description = "extra rsync options, split like a shell would split them (quotes respected) but never run through a shell; options that change the transport, delete or run commands are refused at load time (docs/Publishing-SSH.md)",
        }),
        new Property("ssh_opts", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.SshOptions,
            Default = ConfigDefaults.Push.SshOpts,
            Description = "extra ssh options, likewise; ProxyCommand/LocalCommand/RemoteCommand, -F, forwardings and bare words are refused at load time",
        }),
        new Property("prefer_decompressed", Bool(ConfigDefaults.Push.PreferDecompressed, "push the expanded `.raw` instead of the compressed download")),
        new Property("remote_expand", Bool(ConfigDefaults.Push.RemoteExpand, "push the compressed raw.xz/raw.zst and expand it on the host", isNew: true)),
        new Property("transport", new ScalarSchema(ScalarType.String)
        {
            Enum = Publishing.Ssh.SshTransports.Words,
            Default = ConfigDefaults.Push.Transport,
            New = true,
            Description = "how files travel over SSH: `rsync` (the ssh and rsync programs; ~/.ssh/config, the agent and ProxyJump apply), `sftp` (built in, no programs; host keys from known_hosts, keys from `-i` or ~/.ssh/id_*; docs/Publishing-SSH.md) or `auto` (rsync when both programs are on PATH, else sftp); a host entry's `transport` overrides it",
        }),
        new Property("replace", Bool(false, "a remote file or Proxmox volume of the same name but another SHA-256 is replaced (atomically over SSH; removed then sent over the API) instead of failing the push; never while a VM or template uses it", isNew: true)),
        new Property("replace_in_use", Bool(false, "with `replace`: replace it even when a VM or template configuration references it", isNew: true)),
        new Property("retention", PushRetention))
    {
        Description = "how positions push over SSH unless they say otherwise",
    };

    public static readonly ObjectSchema CachePolicy = new(
        new Property("enabled", Bool(ConfigDefaults.CachePolicy.Enabled, "apply retention after all orders")),
        new Property("keep_versions", new ScalarSchema(ScalarType.Integer)
        {
            Min = 1,
            Max = 10000,
            Default = (long)ConfigDefaults.CachePolicy.KeepVersions,
            Description = "versions kept per family (schematic, platform, arch, secureboot, format)",
        }),
        new Property("purge_before", Bool(ConfigDefaults.CachePolicy.PurgeBefore, "remove the artifact tree before the run (`--purge-cache` does the same)")))
    {
        Description = "retention of the artifact cache",
    };

    // defaults.factory_auth: a factory behind a login. Only NAMES of environment variables: no secret goes into YAML.
    public static readonly ExcludesRule FactoryAuthBearerExcludes = new()
    {
        Key = "bearer_token_env",
        Excluded = new[] { "username", "password_env" },
        Description = "give either bearer_token_env or username and password_env, not both",
    };
    public static readonly RequiredTogetherRule FactoryAuthBasicTogether = new()
    {
        When = new[] { "username", "password_env" },
        Required = new[] { "username", "password_env" },
        Description = "HTTP Basic needs both username and password_env (the NAME of the variable that holds the password)",
    };
    public static readonly AnyOfKeysRule FactoryAuthNeedsOne = new()
    {
        Keys = new[] { "bearer_token_env", "password_env" },
        CountOnlyWhenSet = new[] { "bearer_token_env", "password_env" },
        Description = "needs bearer_token_env, or username and password_env",
    };

    private static ScalarSchema EnvironmentVariableName(string description) => new(ScalarType.String)
    {
        New = true,
        Pattern = EnvironmentVariablePattern,
        PatternMessage = _ => "expected the NAME of an environment variable that holds the secret (the secret itself never goes into YAML)",
        Description = description,
    };

    public static readonly ObjectSchema FactoryAuth = new(
        new Property("bearer_token_env", EnvironmentVariableName("the environment variable holding a bearer token, sent as `Authorization: Bearer <token>` to the factory only (see [A factory behind a login](#a-factory-behind-a-login-new))")),
        new Property("username", new ScalarSchema(ScalarType.String) { NumbersAsText = true, New = true, Description = "HTTP Basic user name (not secret; no `:`), with `password_env`" }),
        new Property("password_env", EnvironmentVariableName("the environment variable holding the HTTP Basic password")))
    {
        New = true,
        Description = "credentials of a factory behind a login (self-hosted, enterprise): sent only to `factory_url`'s scheme, host and port, never after a redirect to another host; the secrets come from environment variables named here (`-FactoryCredential` of Invoke-TalosOrder wins over it)",
        Rules = new SchemaRule[] { FactoryAuthBearerExcludes, FactoryAuthBasicTogether, FactoryAuthNeedsOne },
    };

    public static readonly ObjectSchema Defaults = new(
        new Property("cache_dir", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.LocalPath,
            Default = ConfigDefaults.CacheDir,
            Description = "the cache; artifacts live in `<cache_dir>/artifacts/<schematic>/<version>/<asset>`; a leading `~` or `~/` is your home folder (see [Both files](#both-files-encoding-limits-anchors-and-merge-keys))",
        }),
        new Property("proxmox_default_iso_dir", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.RemoteDir,
            Default = ConfigDefaults.ProxmoxDefaultIsoDir,
            Description = "where ISO images are pushed over SSH",
        }),
        new Property("proxmox_default_import_dir", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.RemoteDir,
            Default = ConfigDefaults.ProxmoxDefaultImportDir,
            New = true,
            Description = "where disk images (`.raw`, `.qcow2`, compressed raw) are pushed over SSH: Proxmox lists disk images only there",
        }),
        new Property("arch", new ScalarSchema(ScalarType.String) { Enum = FactoryCatalog.Architectures, Default = ConfigDefaults.Arch, Description = Or(FactoryCatalog.Architectures) }),
        new Property("push", PushDefaults),
        new Property("cache_policy", CachePolicy),
        new Property("factory_url", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.HttpUrl,
            Default = ConfigDefaults.FactoryUrl,
            New = true,
            Description = "Image Factory base URL (self-hosted factories); the environment variable `TALOS_FACTORY_URL` overrides it",
        }),
        new Property("pxe_url", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.HttpUrl,
            DefaultText = "`https://pxe.talos.dev` for the public factory, else `factory_url`",
            New = true,
            Description = "the factory's PXE host, where `image_format: pxe` positions find their iPXE script (`<pxe_url>/pxe/<schematic>/<version>/<platform>-<arch>[-secureboot]`); a self-hosted factory serves `/pxe/...` itself unless its operator set `http.externalPXEURL`",
        }),
        new Property("factory_auth", FactoryAuth),
        new Property("github_api_url", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.HttpUrl,
            Default = ConfigDefaults.GitHubApiUrl,
            New = true,
            Description = "GitHub API base URL, for `version_source: github`",
        }),
        new Property("version_source", new ScalarSchema(ScalarType.String)
        {
            Enum = VersionSources,
            Default = ConfigDefaults.VersionSource,
            New = true,
            Description = "where `latest` and `latest-in-minor` are resolved: `factory` (`GET /versions`: exactly what the factory can build, no token, no rate limit) or `github` (releases)",
        }),
        new Property("version_cache_ttl", new ScalarSchema(ScalarType.Integer)
        {
            Min = 0,
            Max = 30 * 86400,
            Unit = "seconds",
            Default = (long)ConfigDefaults.VersionCacheTtl.TotalSeconds,
            New = true,
            Description = "seconds a fetched version list is reused",
        }),
        new Property("decompressor", new ScalarSchema(ScalarType.String)
        {
            Enum = Expansion.DecompressorChoice.Words,
            Default = ConfigDefaults.Decompressor,
            New = true,
            Description = "how raw.xz and raw.zst are expanded: `auto` (liblzma/libzstd when they load, else the managed decoder), `native` (the libraries only), `managed` (SharpCompress, in the module) or `program` (the xz/zstd programs only); the environment variable `TALOSIMAGE_DECOMPRESSOR` overrides it (docs/EXPANSION.md)",
        }),
        new Property("concurrency", new ScalarSchema(ScalarType.Integer)
        {
            Min = 1,
            Max = 64,
            Default = (long)ConfigDefaults.Concurrency,
            New = true,
            Description = "downloads, expansions and pushes running at once (1 to 64)",
        }),
        new Property("lock_timeout", new ScalarSchema(ScalarType.Integer)
        {
            Min = 0,
            Max = 86400,
            Unit = "seconds",
            Default = (long)ConfigDefaults.LockTimeout.TotalSeconds,
            New = true,
            Description = "seconds a run waits for another run holding the cache lock",
        }))
    {
        Description = "defaults for every order",
    };

    private static ScalarSchema ManifestPath(string description) => new(ScalarType.String)
    {
        Format = ValueFormat.LocalPath,
        BlankIsUnset = true,
        Description = description,
    };

    public static readonly ObjectSchema Manifest = new(
        new Property("path_template", ManifestPath("manifest path with `{orderid}`; wins over `dir` and `path`")),
        new Property("dir", ManifestPath("folder; the file is `manifest-{orderid}.yaml`")),
        new Property("path", ManifestPath("path; `{orderid}` is replaced, else `-{orderid}` is inserted before the extension")))
    {
        Description = "where each order's manifest is written (precedence: path_template, dir, path, else ./manifest-{orderid}.yaml)",
        DocsRows = new[] { new DocsRow("(none of them)", "`./manifest-{orderid}.yaml`", "relative paths are relative to the current folder, as before") },
        Compat = "an empty value counts as not given, as in talos_order.py",
    };

    public static readonly ObjectSchema ProxmoxEndpoint = new(
        new Property("url", new ScalarSchema(ScalarType.String)
        {
            Format = ValueFormat.HttpsUrl,
            DefaultText = "required",
            Description = "the node's API, e.g. `https://pve-01.example.lan:8006`",
            Examples = new[] { "https://pve-01.example.lan:8006" },
        }),
        new Property("node", new ScalarSchema(ScalarType.String) { Pattern = NodeJsonPattern, Description = "the Proxmox node name to publish through (or `nodes`)" }),
        new Property("nodes", new ListSchema(new ScalarSchema(ScalarType.String) { Pattern = NodeJsonPattern, Nullable = false }, "strings")
        {
            Description = "Proxmox node names to publish through (with or instead of `node`)",
        }),
        new Property("storage", new ScalarSchema(ScalarType.String) { Pattern = StorageJsonPattern, Default = EndpointDefaults.Storage, Description = "the storage id" }),
        new Property("token_env", new ScalarSchema(ScalarType.String)
        {
            Pattern = EnvironmentVariablePattern,
            PatternMessage = _ => "expected the NAME of an environment variable that holds the token (the token itself never goes into YAML)",
            Default = EndpointDefaults.TokenEnv,
            Description = "the environment variable holding `USER@REALM!TOKENID=SECRET`; the token itself never goes into YAML",
        }),
        new Property("fingerprint", Text("optional: pin the node's certificate (SHA-256, `AB:CD:...`)")),
        new Property("method", new ScalarSchema(ScalarType.String)
        {
            Enum = ProxmoxMethods,
            Default = EndpointDefaults.Method,
            Description = "`upload` (the file goes through the API) or `download-url` (the node fetches from the factory)",
        }))
    {
        Nullable = false,
        Description = "a Proxmox VE API endpoint",
        Rules = new SchemaRule[] { NeedsNode, NeedsUrl },
    };

    public static readonly MapSchema Proxmox = new(ProxmoxEndpoint, NamePattern, "<name>")
    {
        New = true,
        Description = "a Proxmox VE API endpoint that positions publish to, see below",
    };

    /// <summary>config.yaml.</summary>
    public static readonly ObjectSchema Config = new(
        new Property("defaults", Defaults),
        new Property("manifest", Manifest),
        new Property("proxmox", Proxmox))
    {
        Description = "TalosImage config.yaml (talos_order.py's keys unchanged, with this project's additions)",
        Compat = "unknown keys and typos are errors with the likely intended key, not ignored",
    };

    // ---------------------------------------------------------------------------------------------- orders.yaml

    public static readonly ObjectSchema VersionObject = new(
        new Property("type", new ScalarSchema(ScalarType.String)
        {
            Enum = VersionTypes,
            IgnoreCase = true,
            Default = "latest",
            Description = "`exact`, `latest` or `latest-in-minor`",
            UnknownMessage = (value, hint) => $"unknown version type '{value}'" + (hint is not null ? $"; did you mean '{hint}'?" : "; expected exact, latest or latest-in-minor"),
        }),
        new Property("value", new ScalarSchema(ScalarType.String) { JsonPatterns = new[] { VersionJsonPattern }, Description = "for `type: exact`: `v1.11.5` (the `v` is optional)", Examples = new[] { "v1.11.5" } }),
        new Property("minor", new ScalarSchema(ScalarType.String) { NumbersAsText = true, JsonPatterns = new[] { MinorJsonPattern }, Description = "for `type: latest-in-minor`: `v1.7`", Examples = new[] { "v1.7" } }))
    {
        Description = "a version request",
        Rules = new SchemaRule[]
        {
            new WhenRule { Key = "type", Value = "exact", IgnoreCase = true, Required = new[] { "value" }, Description = "value is required for type exact, e.g. value: v1.11.5" },
            new WhenRule { Key = "type", Value = "latest-in-minor", IgnoreCase = true, Required = new[] { "minor" }, Description = "minor is required for type latest-in-minor, e.g. minor: v1.7" },
        },
    };

    /// <summary>A version: <c>{type: exact, value: v1.11.5}</c>, or this project's shorthand <c>v1.11.5</c> / <c>latest</c>.</summary>
    public static readonly ChoiceSchema Version = new(
        new ScalarSchema(ScalarType.String)
        {
            // latest (any case) or a Talos version with an optional v and an optional pre-release.
            JsonPatterns = new[] { "^(?:[Ll][Aa][Tt][Ee][Ss][Tt]$|" + VersionJsonPattern.Substring(1) + ")" },
            Description = "shorthand: `latest` or an exact version such as `v1.11.5`",
            New = true,
            Examples = new[] { "latest", "v1.11.5" },
        },
        VersionObject)
    {
        DefaultText = "latest",
        Description = "`{type: exact, value: v1.11.5}` (the `v` is optional), `{type: latest}`, `{type: latest-in-minor, minor: v1.7}`; **new**: the shorthands `version: v1.11.5` and `version: latest`",
    };

    public static readonly ObjectSchema PushHost = new(
        new Property("host", new ScalarSchema(ScalarType.String) { Format = ValueFormat.Host, Nullable = false, Description = "[user@]host name as ssh takes it (~/.ssh/config applies)" }, required: true),
        new Property("iso_dir", new ScalarSchema(ScalarType.String) { Format = ValueFormat.RemoteDir, DefaultText = "`defaults.proxmox_default_iso_dir`", Description = "where ISO images go on this host" }),
        new Property("import_dir", new ScalarSchema(ScalarType.String) { Format = ValueFormat.RemoteDir, DefaultText = "`defaults.proxmox_default_import_dir`", Description = "where disk images go on this host" }),
        new Property("transport", new ScalarSchema(ScalarType.String)
        {
            Enum = Publishing.Ssh.SshTransports.Words,
            DefaultText = "`defaults.push.transport`",
            New = true,
            Description = "`auto`, `rsync` or `sftp` for this host",
        }))
    {
        Nullable = false,
        Description = "a host to push to over SSH",
    };

    public static readonly ObjectSchema PositionPush = new(
        new Property("enabled", Bool(null, "", defaultText: "`defaults.push.enabled`")),
        new Property("prefer_decompressed", Bool(null, "push the expanded `.raw`", defaultText: "`defaults.push.prefer_decompressed`")),
        new Property("remote_expand", Bool(null, "push the compressed file and expand it on the host", isNew: true, defaultText: "`defaults.push.remote_expand`")),
        new Property("replace", Bool(null, "replace a changed remote file or volume of the same name", isNew: true, defaultText: "`defaults.push.replace`")),
        new Property("replace_in_use", Bool(null, "with `replace`, even when a VM or template uses it", isNew: true, defaultText: "`defaults.push.replace_in_use`")),
        new Property("retention", PushRetention),
        new Property("hosts", new ListSchema(
            new ChoiceSchema(new ScalarSchema(ScalarType.String) { Format = ValueFormat.Host, Nullable = false, New = true, Description = "a bare host name" }, PushHost) { Nullable = false },
            "hosts ({host: name, iso_dir: /path})")
        {
            DefaultText = "`[]`",
            Description = "`[{host: name, iso_dir: /path, import_dir: /path}]`; **new**: a bare `- name`",
            Compat = "host names are checked (no spaces, `;`, quotes, newlines, leading `-`); folders must be absolute, without `..` or control characters (spaces, quotes and non-ASCII letters are passed literally, **new**), and nothing goes through a shell",
        }),
        new Property("proxmox", new ListSchema(new ScalarSchema(ScalarType.String) { Pattern = NamePattern, Nullable = false }, "strings")
        {
            DefaultText = "`[]`",
            New = true,
            Description = "names of `proxmox` endpoints in config.yaml",
        }))
    {
        Description = "publishing of this position",
    };

    private static readonly Publishing.Proxmox.TemplateSettings TemplateDefaults = new();

    /// <summary>A position's VM template (issue 19): made from the published disk image on each push.proxmox endpoint.</summary>
    public static readonly ObjectSchema Template = new(
        new Property("vmid", new ScalarSchema(ScalarType.Integer)
        {
            Min = Publishing.Proxmox.TemplateSettings.MinVmId,
            Max = Publishing.Proxmox.TemplateSettings.MaxVmId,
            DefaultText = "the next free id",
            New = true,
            Description = "the template's VM id; one held by another VM or template is an error",
        }),
        new Property("name", new ScalarSchema(ScalarType.String)
        {
            Pattern = Publishing.Proxmox.TemplateSettings.NameJsonPattern,
            DefaultText = "`talos-<version>-<platform>-<arch>[-secureboot]-<schematic 12>`",
            New = true,
            Description = "the VM name (a DNS name)",
        }),
        new Property("node", new ScalarSchema(ScalarType.String) { New = true, Pattern = NodeJsonPattern, DefaultText = "the endpoint's first node", Description = "the node to make the template on" }),
        new Property("storage", new ScalarSchema(ScalarType.String) { New = true, Pattern = StorageJsonPattern, Default = TemplateDefaults.Storage, Description = "the storage the disk is imported into (`images` content)" }),
        new Property("memory", new ScalarSchema(ScalarType.Integer) { New = true, Min = 64, Max = 4 * 1024 * 1024, Default = TemplateDefaults.Memory, Unit = "MiB", Description = "memory in MiB" }),
        new Property("cores", new ScalarSchema(ScalarType.Integer) { New = true, Min = 1, Max = 512, Default = TemplateDefaults.Cores, Description = "CPU cores" }),
        new Property("bridge", new ScalarSchema(ScalarType.String) { New = true, Pattern = Publishing.Proxmox.TemplateSettings.BridgeJsonPattern, Default = TemplateDefaults.Bridge, Description = "the bridge of net0" }),
        new Property("tags", new ListSchema(new ScalarSchema(ScalarType.String) { Pattern = Publishing.Proxmox.TemplateSettings.TagJsonPattern, Nullable = false }, "strings")
        {
            DefaultText = "`[]`",
            New = true,
            Description = "tags added to `talos;talosimage;<version>`",
        }),
        new Property("options", new MapSchema(new ScalarSchema(ScalarType.String) { NumbersAsText = true, Description = "a qemu config value; empty removes a default" },
            Publishing.Proxmox.TemplateSettings.OptionKeyJsonPattern, "<qemu key>")
        {
            New = true,
            Description = "qemu config keys that replace or add to the defaults, e.g. `{cpu: host, ide2: \"\"}` (an empty value removes a default)",
        }),
        new Property("keep", new ScalarSchema(ScalarType.Integer)
        {
            Min = 1,
            Max = 1000,
            DefaultText = "retire none",
            New = true,
            Description = "keep this many templates of the family (newest versions) and retire older ones, never one with linked clones",
        }))
    {
        New = true,
        Description = "a Proxmox VM template from the position's published disk image (needs `push.proxmox` and a disk image published to `import`, e.g. `prefer_decompressed: true`)",
    };

    private static ObjectSchema Keys(string description, params Property[] properties) => new(properties) { Description = description };

    /// <summary>The factory's schematic customization, as SchematicReader reads it.</summary>
    public static readonly ObjectSchema Customization = new(
        new Property("embeddedMachineConfiguration", Text("a machine configuration embedded in the image")),
        new Property("extraKernelArgs", new ListSchema(new ScalarSchema(ScalarType.String) { Nullable = false }, "strings") { Description = "kernel arguments, e.g. `console=ttyS0,115200`" }),
        new Property("meta", new ListSchema(new ObjectSchema(
                new Property("key", new ScalarSchema(ScalarType.Integer) { Min = 0, Max = 255, Description = "0..255" }, required: true),
                new Property("value", Text("the value"))) { Nullable = false, Description = "a META partition value" }, "{key: 0..255, value: string}")
            { Description = "META partition values" }),
        new Property("systemExtensions", Keys("system extensions; a bare list (as in talos_order.py's README) is an error: the factory takes only this mapping",
            new Property("officialExtensions", new ListSchema(new ScalarSchema(ScalarType.String) { Pattern = @"^\S+$", Nullable = false }, "strings")
            {
                Description = "official extension names, e.g. `siderolabs/qemu-guest-agent`",
                Unique = true,
            }))),
        new Property("bootloader", new ScalarSchema(ScalarType.String) { Enum = SchematicCustomization.Bootloaders, Description = "the bootloader" }),
        new Property("secureboot", Keys("SecureBoot options",
            new Property("enrollKeys", new ScalarSchema(ScalarType.String) { Enum = SchematicCustomization.EnrollKeysModes, Description = "when keys are enrolled" }),
            new Property("includeWellKnownCertificates", Bool(null, "include Microsoft's well-known certificates")))),
        new Property("diskImage", Keys("disk image options",
            new Property("sectorSize", new ScalarSchema(ScalarType.Integer) { Min = 0, Max = uint.MaxValue, Description = "sector size in bytes" }))))
    {
        DocsOneRow = true,
        Description = "a schematic's customization: `extraKernelArgs`, `meta`, `systemExtensions.officialExtensions`, `bootloader`, `secureboot`, `diskImage.sectorSize`, `embeddedMachineConfiguration`; `customization: {}` orders the vanilla image",
    };

    public static readonly ObjectSchema Overlay = new(
        new Property("image", Text("the overlay image, e.g. `siderolabs/sbc-raspberrypi`")),
        new Property("name", Text("the overlay name, e.g. `rpi_generic`")),
        new Property("options", new ObjectSchema { Open = true, Description = "overlay options (free-form)" }))
    {
        New = true,
        DocsOneRow = true,
        Description = "an SBC overlay: `{image, name, options}`; only with `platform: metal`, `arch: arm64` and Talos v1.7.0 or later (else the position fails at planning, `OverlayUnavailable`); name and image are checked against the version's official overlay list (`Get-TalosOverlay`; the cached list offline) before any download (`UnknownOverlay`); `options` enter the schematic ID as the factory's Go yaml writes them (docs/VERSIONS-AND-SCHEMATICS.md)",
        Rules = new SchemaRule[]
        {
            new RequiredTogetherRule
            {
                When = new[] { "image", "name", "options" },
                Required = new[] { "image", "name" },
                Description = "an overlay needs both image (e.g. siderolabs/sbc-raspberrypi) and name (e.g. rpi_generic)",
            },
        },
    };

    public static readonly ObjectSchema Position = new(
        new Property("name", new ScalarSchema(ScalarType.String) { NumbersAsText = true, Default = "<unnamed>", Description = "" }),
        new Property("product", new ScalarSchema(ScalarType.String)
        {
            Enum = new[] { "talos" },
            IgnoreCase = true,
            DefaultText = "required",
            Description = "`talos` (any case); anything else is an error",
            Compat = "it skipped a position of another product; here that is an error",
            UnknownMessage = (value, _) => $"unsupported product '{value}'; only 'talos' is supported",
        }, required: true),
        new Property("version", Version),
        new Property("schematic_id", new ScalarSchema(ScalarType.String)
        {
            Pattern = SchematicIdPattern,
            PatternMessage = value => $"expected 64 lowercase hex digits (a schematic ID); got '{value}'",
            Description = "a schematic ID used as is (64 lowercase hex)",
        }),
        new Property("customization", Customization),
        new Property("overlay", Overlay),
        new Property("platform", new ScalarSchema(ScalarType.String)
        {
            Enum = FactoryCatalog.Platforms,
            Default = "nocloud",
            Description = "any factory platform: " + string.Join(", ", FactoryCatalog.Platforms),
            UnknownMessage = (value, hint) => $"unknown platform '{value}'" + (hint is not null ? $"; did you mean '{hint}'?" : $"; expected one of: {string.Join(", ", FactoryCatalog.Platforms)}"),
        }),
        new Property("image_format", new ScalarSchema(ScalarType.String)
        {
            Enum = FactoryCatalog.OrderableFormats,
            Aliases = FactoryCatalog.FormatAliases.Keys.ToArray(),
            IgnoreCase = true,
            Default = "iso",
            Description = "`iso`, or a disk image `raw`, `qcow2`, `vhd`, `ova` with an optional `.xz`, `.zst`, `.gz` or `.tar.gz`; `raw` and `rawxz` mean `raw.xz` as in talos_order.py, so the uncompressed image is `raw.uncompressed` here (in orders files only: a cmdlet's `-Format raw` and a file named `.raw` are the uncompressed image); or a boot asset: `kernel`, `initramfs`, `cmdline`, `uki` (SecureBoot only), `installer` (the installer image as a tar), `pxe` (the iPXE script's URL on the PXE host, see `download`)",
            UnknownMessage = (value, hint) => $"unknown image format '{value}'" + (hint is not null ? $"; did you mean '{hint}'?" : $"; expected iso, raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2 ... (see docs/CONFIGURATION.md)"),
        }),
        new Property("arch", new ScalarSchema(ScalarType.String) { Enum = FactoryCatalog.Architectures, DefaultText = "`defaults.arch`", Description = Or(FactoryCatalog.Architectures) }),
        new Property("secureboot", new ScalarSchema(ScalarType.Boolean)
        {
            Default = false,
            Description = "only where the factory offers it: " + string.Join(", ", FactoryCatalog.SecureBootPlatforms),
            Compat = "it read a quoted \"false\" as true; here a quoted value is an error (plain yes/no/on/off are booleans, as before)",
        }),
        new Property("decompress_raw", Bool(false, "expand a compressed disk image in the cache (`<name>.raw` beside it)")),
        new Property("download", Bool(null, "`image_format: pxe` only: `true` fetches the iPXE script into the cache as every other asset; by default its URL is planned and recorded in the manifest, and nothing is fetched", isNew: true,
            defaultText: "`true`; `false` for `pxe`")),
        new Property("push", PositionPush),
        new Property("template", Template))
    {
        Nullable = false,
        Description = "one image to order",
        Rules = new SchemaRule[] { NeedsSchematic, SchematicIdExcludes, SecureBootPlatforms, DownloadOnlyPxe },
    };

    public static readonly ObjectSchema Order = new(
        new Property("orderid", new ScalarSchema(ScalarType.String)
        {
            Nullable = false,
            NumbersAsText = true,
            Pattern = NamePattern,
            // No "..", not ".", not a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with any extension, any case).
            JsonPatterns = new[] { @"^(?!.*\.\.)(?!\.$)(?!(?:[Cc][Oo][Nn]|[Pp][Rr][Nn]|[Aa][Uu][Xx]|[Nn][Uu][Ll]|[Cc][Oo][Mm][0-9]|[Ll][Pp][Tt][0-9])(?:\.|$))" },
            DefaultText = "required",
            Description = "1 to 128 of `A-Z a-z 0-9 . _ -`, no `..`; unique in the file (it names the manifest)",
            Compat = "it took any orderid; here it must be safe as a file name and unique",
        }, required: true),
        new Property("customer", new ScalarSchema(ScalarType.String) { NumbersAsText = true, Default = "", DefaultText = "`\"\"`", Description = "" }),
        new Property("positions", new ListSchema(Position, "positions") { DefaultText = "`[]`", Description = "" }))
    {
        Nullable = false,
        Description = "one order: its manifest is manifest-{orderid}.yaml",
    };

    public static readonly ListSchema OrderList = new(Order, "orders") { Description = "the orders" };

    /// <summary>orders.yaml: a list of orders, or a mapping with the key orders.</summary>
    public static readonly ObjectSchema OrdersFile = new(new Property("orders", OrderList, required: true))
    {
        Description = "TalosImage orders.yaml (talos_order.py's files unchanged, with this project's additions)",
        Compat = "unknown keys and typos are errors with the likely intended key, not ignored",
    };
}
