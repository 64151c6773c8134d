using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using TalosImage.Core.Orders;
using TalosImage.Core.Orders.Schema;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;
using Xunit;

namespace TalosImage.Tests.Orders;

/// <summary>
/// The declarative schema (Orders/Schema/InputSchema.cs) and what is made from it: the committed JSON Schemas and
/// docs/CONFIGURATION.md's tables are current; the schemas accept talos_order.py's files and every example, and reject
/// what the loader rejects; where one file's schema cannot say what the loader checks, <see cref="Limits"/> says so.
/// </summary>
public class SchemaTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    public enum Kind
    {
        Config,
        Orders,
    }

    private static string SchemaPath(Kind kind) =>
        Path.Combine(TestPaths.RepoRoot, "schemas", kind == Kind.Config ? JsonSchemaWriter.ConfigFileName : JsonSchemaWriter.OrdersFileName);

    private static readonly Lazy<JsonSchema> ConfigSchema = new(() => JsonSchema.FromText(File.ReadAllText(SchemaPath(Kind.Config))));
    private static readonly Lazy<JsonSchema> OrdersSchema = new(() => JsonSchema.FromText(File.ReadAllText(SchemaPath(Kind.Orders))));

    /// <summary>Null when the schema accepts <paramref name="yaml"/>, else the places it refused.</summary>
    public static string? SchemaProblems(Kind kind, string yaml)
    {
        var json = YamlJson.Convert(yaml);
        using var doc = JsonDocument.Parse(json?.ToJsonString() ?? "null");
        var schema = kind == Kind.Config ? ConfigSchema.Value : OrdersSchema.Value;
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return null;
        }
        var places = (result.Details ?? new List<EvaluationResults>())
            .Where(d => !d.IsValid && d.Errors is { Count: > 0 })
            .Select(d => $"{d.InstanceLocation}: {string.Join("; ", d.Errors!.Values)}");
        return string.Join("\n", places.Distinct().Take(20));
    }

    /// <summary>The loader's verdict: null when it loads, else its problems. A config is checked with a minimal orders file and the reverse.</summary>
    public static string? LoaderProblems(Kind kind, string yaml)
    {
        using var dir = new TempDir();
        var config = dir.Write("config.yaml", kind == Kind.Config ? yaml : "defaults: {}\n");
        var orders = dir.Write("orders.yaml", kind == Kind.Orders ? yaml : "orders: []\n");
        try
        {
            OrderLoader.Load(config, orders, k => k == "HOME" ? "/home/schema-tests" : null);
            return null;
        }
        catch (TalosValidationException e)
        {
            return string.Join("\n", e.Problems.Select(p => $"{p.Key}: {p.Message}"));
        }
    }

    [Fact]
    public void The_committed_schemas_are_what_the_generator_writes_now()
    {
        Assert.Equal(JsonSchemaWriter.Config(), File.ReadAllText(SchemaPath(Kind.Config)).Replace("\r\n", "\n"));
        Assert.Equal(JsonSchemaWriter.Orders(), File.ReadAllText(SchemaPath(Kind.Orders)).Replace("\r\n", "\n"));
    }

    [Fact]
    public void talos_order_has_the_schemas_beside_it()
    {
        // The Cli project's output (and so its tool package, tools/net10.0/any/schemas/) and the copy the tests run.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var cliOutput = Path.Combine(TestPaths.RepoRoot, "src", "TalosImage.Cli", "bin", configuration, "net10.0");
        foreach (var dir in new[] { cliOutput, AppContext.BaseDirectory })
        {
            Assert.True(File.Exists(Path.Combine(dir, "talos-order.dll")), $"no talos-order.dll in {dir}");
            foreach (var kind in new[] { Kind.Config, Kind.Orders })
            {
                var shipped = Path.Combine(dir, "schemas", Path.GetFileName(SchemaPath(kind)));
                Assert.True(File.Exists(shipped), $"{shipped} is missing");
                Assert.Equal(File.ReadAllText(SchemaPath(kind)), File.ReadAllText(shipped));
            }
        }
    }

    [Fact]
    public void The_key_tables_of_CONFIGURATION_md_are_what_the_generator_writes_now()
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "CONFIGURATION.md"));
        Assert.Equal(SchemaDocs.Apply(text), text);
        foreach (var (name, _) in SchemaDocs.Tables())
        {
            Assert.Contains($"<!-- end generated: {name} -->", text);
        }
    }

    [Fact]
    public void The_schemas_are_draft_2020_12_with_urn_ids_and_refuse_unknown_keys()
    {
        foreach (var kind in new[] { Kind.Config, Kind.Orders })
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(SchemaPath(kind)));
            Assert.Equal("https://json-schema.org/draft/2020-12/schema", doc.RootElement.GetProperty("$schema").GetString());
            Assert.StartsWith("urn:talosimage:schema:", doc.RootElement.GetProperty("$id").GetString());
        }
    }

    public static IEnumerable<object[]> Examples()
    {
        yield return new object[] { "compat config.yaml", Kind.Config, File.ReadAllText(TestPaths.Compat("talos_order-config.yaml")) };
        yield return new object[] { "compat orders.yaml", Kind.Orders, File.ReadAllText(TestPaths.Compat("talos_order-orders.yaml")) };
        yield return new object[] { "examples/config.yaml", Kind.Config, File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "config.yaml")) };
        yield return new object[] { "examples/orders.yaml", Kind.Orders, File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "examples", "orders.yaml")) };
        yield return new object[] { "rich config (every key)", Kind.Config, Reliability.BadInputCorpus.RichConfig("/tmp/talos-schema-tests") };
        yield return new object[] { "rich orders (every key)", Kind.Orders, Reliability.BadInputCorpus.RichOrders.Replace("proxmox: [lab]", "proxmox: []") };
        // The yaml blocks of docs/CONFIGURATION.md (Publishing-Proxmox.md's blocks are a design sketch of keys the loader does not read).
        var docs = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "CONFIGURATION.md"));
        var n = 0;
        foreach (Match m in Regex.Matches(docs, @"```yaml\n(.*?)```", RegexOptions.Singleline))
        {
            var block = Dedent(m.Groups[1].Value);
            var kind = block.Contains("orderid") ? Kind.Orders : Kind.Config;
            yield return new object[] { $"docs/CONFIGURATION.md yaml block {++n}", kind, block };
        }
        Assert.True(n >= 2, "the yaml blocks of docs/CONFIGURATION.md were not found");
    }

    private static string Dedent(string text)
    {
        var lines = text.Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart(' ').Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l.Substring(indent) : l.TrimStart(' ')));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void The_schemas_accept_talos_order_py_files_and_every_example(string name, Kind kind, string yaml)
    {
        Assert.True(LoaderProblems(kind, yaml) is null, $"{name}: the loader refuses it: {LoaderProblems(kind, yaml)}");
        var problems = SchemaProblems(kind, yaml);
        Assert.True(problems is null, $"{name}: the schema refuses it:\n{problems}");
    }

    /// <summary>Bad inputs both refuse: (what, file, YAML, a fragment of the loader's message).</summary>
    public static IEnumerable<object[]> BadInputs()
    {
        const string P = "- orderid: A\n  positions:\n    - product: talos\n      customization: {}\n";
        static object[] C(string what, string yaml, string message) => new object[] { what, Kind.Config, yaml, message };
        static object[] O(string what, string yaml, string message) => new object[] { what, Kind.Orders, yaml, message };
        static object[] Pos(string what, string extra, string message) => O(what, P + "      " + extra.Replace("\n", "\n      ") + "\n", message);

        yield return C("unknown top-level key", "defaultz: {}\n", "did you mean 'defaults'?");
        yield return C("near-miss key", "defaults:\n  concurency: 2\n", "did you mean 'concurrency'?");
        yield return C("unknown key, no near miss", "defaults:\n  colour: red\n", "unknown key 'colour'");
        yield return C("wrong type: string for a number", "defaults:\n  cache_policy:\n    keep_versions: three\n", "expected a whole number");
        yield return C("wrong type: quoted boolean", "defaults:\n  push:\n    enabled: \"true\"\n", "remove the quotes");
        yield return C("wrong type: list for a mapping", "defaults: [a]\n", "expected a mapping");
        yield return C("out of range: concurrency 0", "defaults:\n  concurrency: 0\n", "from 1 to 64");
        yield return C("out of range: concurrency 65", "defaults:\n  concurrency: 65\n", "from 1 to 64");
        yield return C("out of range: negative ttl", "defaults:\n  version_cache_ttl: -1\n", "from 0 to 2592000");
        yield return C("out of range: keep_versions 0", "defaults:\n  cache_policy:\n    keep_versions: 0\n", "from 1 to 10000");
        yield return C("bad enum: arch", "defaults:\n  arch: amd46\n", "did you mean 'amd64'?");
        yield return C("bad enum: version_source", "defaults:\n  version_source: gitlab\n", "expected factory or github");
        yield return C("url with a password", "defaults:\n  factory_url: \"https://u:p@127.0.0.1/\"\n", "without user name or password");
        yield return C("url not http", "defaults:\n  github_api_url: ftp://127.0.0.1/\n", "http(s) URL");
        yield return C("url with a query", "defaults:\n  factory_url: \"http://127.0.0.1/?a=1\"\n", "without user name or password");
        yield return C("another user's home", "defaults:\n  cache_dir: ~bob/cache\n", "another user's home folder");
        yield return C("blank cache_dir", "defaults:\n  cache_dir: \"  \"\n", "not a usable path");
        // Issue 16: "/x;echo" is a valid folder now (passed literally); a line break still cannot be passed.
        yield return C("unsafe remote dir", "defaults:\n  proxmox_default_iso_dir: \"/x\\necho\"\n", "not a safe remote folder");
        yield return C("relative remote dir", "defaults:\n  proxmox_default_import_dir: var/lib\n", "not a safe remote folder");
        yield return C("remote dir with ..", "defaults:\n  proxmox_default_iso_dir: /var/lib/../../etc\n", "not a safe remote folder");
        yield return C("control character in ssh options", "defaults:\n  push:\n    ssh_opts: \"-o\\nProxyCommand=x\"\n", "line break");
        yield return C("endpoint name", "proxmox:\n  \"a b\": {url: \"https://h\", node: n}\n", "endpoint names may use");
        yield return C("endpoint without node", "proxmox:\n  lab: {url: \"https://h:8006\"}\n", "needs node");
        yield return C("endpoint with empty nodes", "proxmox:\n  lab: {url: \"https://h:8006\", nodes: []}\n", "needs node");
        yield return C("endpoint without url", "proxmox:\n  lab: {node: pve1}\n", "needs url");
        yield return C("endpoint over http", "proxmox:\n  lab: {url: \"http://h:8006\", node: pve1}\n", "expected an https URL");
        yield return C("endpoint node name", "proxmox:\n  lab: {url: \"https://h:8006\", nodes: [\"pve 1\"]}\n", "not a Proxmox node name");
        yield return C("endpoint storage", "proxmox:\n  lab: {url: \"https://h:8006\", node: pve1, storage: 9local}\n", "not a Proxmox storage id");
        yield return C("token_env is not a variable name", "proxmox:\n  lab: {url: \"https://h:8006\", node: pve1, token_env: \"root@pam!x=secret\"}\n", "NAME of an environment variable");
        yield return C("bad enum: method", "proxmox:\n  lab: {url: \"https://h:8006\", node: pve1, method: put}\n", "expected upload or download-url");
        yield return C("unknown endpoint key", "proxmox:\n  lab: {url: \"https://h:8006\", node: pve1, tokn_env: X}\n", "did you mean 'token_env'?");

        yield return O("unknown key at the top", "orders: []\nextra: 1\n", "unknown key 'extra'");
        yield return O("near-miss key in an order", "- orderid: A\n  positons: []\n", "did you mean 'positions'?");
        yield return Pos("near-miss key in a position", "platfrom: metal", "did you mean 'platform'?");
        yield return Pos("wrong type: quoted false", "secureboot: \"false\"", "expected true or false");
        yield return Pos("wrong type: number for a boolean", "decompress_raw: 1", "expected true or false");
        yield return Pos("bad enum: platform", "platform: metl", "did you mean 'metal'?");
        yield return Pos("bad enum: image format", "image_format: qcow", "unknown image format");
        yield return Pos("bad enum: arch", "arch: arm46", "did you mean 'arm64'?");
        yield return Pos("bad enum: version type", "version: {type: exakt, value: v1.11.5}", "did you mean 'exact'?");
        yield return Pos("version exact without value", "version: {type: exact}", "is required for type exact");
        yield return Pos("version latest-in-minor without minor", "version: {type: Latest-In-Minor}", "is required for type latest-in-minor");
        yield return Pos("version that is no version", "version: v1.x", "expected {type: exact");
        yield return Pos("exact version that is no version", "version: {type: exact, value: \"1.11\"}", "is not a Talos version");
        yield return Pos("minor that is no minor", "version: {type: latest-in-minor, minor: seven}", "is not a minor version");
        yield return Pos("unknown version key", "version: {type: exact, valeu: v1.11.5}", "did you mean 'value'?");
        yield return Pos("secureboot on a platform without it", "platform: aws\nsecureboot: true", "no SecureBoot images");
        yield return Pos("schematic_id and customization", "schematic_id: 376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba", "not both");
        yield return O("bad schematic id", "- orderid: A\n  positions:\n    - {product: talos, schematic_id: xyz}\n", "64 lowercase hex");
        yield return O("uppercase schematic id", "- orderid: A\n  positions:\n    - {product: talos, schematic_id: 376567988AD370138AD8B2698212367B8EDCB69B5FD68C80BE1F2EC7D603B4BA}\n", "64 lowercase hex");
        yield return O("position without schematic", "- orderid: A\n  positions:\n    - {product: talos}\n", "needs schematic_id or customization");
        yield return O("position without product", "- orderid: A\n  positions:\n    - {customization: {}}\n", "is required: product: talos");
        yield return O("unsupported product", "- orderid: A\n  positions:\n    - {product: debian, customization: {}}\n", "unsupported product 'debian'");
        yield return O("order without orderid", "- customer: X\n", "is required");
        yield return O("empty orderid", "- orderid: \"\"\n", "must not be empty");
        yield return O("orderid with a path", "- orderid: ../../etc/passwd\n", "cannot be used in a file name");
        yield return O("orderid with ..", "- orderid: a..b\n", "cannot be used in a file name");
        yield return O("orderid that is a device", "- orderid: con.txt\n", "device name on Windows");
        yield return O("orderid of 129 characters", $"- orderid: {new string('a', 129)}\n", "cannot be used in a file name");
        yield return O("orders that are a mapping", "orders: {a: 1}\n", "expected a list of orders");
        yield return O("bare list of system extensions", "- orderid: A\n  positions:\n    - product: talos\n      customization:\n        systemExtensions:\n          - siderolabs/hello-world\n", "officialExtensions");
        yield return O("meta key out of range", "- orderid: A\n  positions:\n    - {product: talos, customization: {meta: [{key: 300, value: x}]}}\n", "from 0 to 255");
        yield return O("meta without key", "- orderid: A\n  positions:\n    - {product: talos, customization: {meta: [{value: x}]}}\n", "is required (0..255)");
        yield return O("bad bootloader", "- orderid: A\n  positions:\n    - {product: talos, customization: {bootloader: grubb}}\n", "is not a bootloader");
        yield return O("bad enrollKeys", "- orderid: A\n  positions:\n    - {product: talos, customization: {secureboot: {enrollKeys: always}}}\n", "is not allowed");
        yield return O("extension name with a space", "- orderid: A\n  positions:\n    - {product: talos, customization: {systemExtensions: {officialExtensions: [\"a b\"]}}}\n", "is not an extension name");
        yield return O("extension listed twice", "- orderid: A\n  positions:\n    - {product: talos, customization: {systemExtensions: {officialExtensions: [siderolabs/iscsi-tools, siderolabs/iscsi-tools]}}}\n", "is listed twice");
        yield return O("unknown customization key", "- orderid: A\n  positions:\n    - {product: talos, customization: {extraKernelArg: [x]}}\n", "did you mean 'extraKernelArgs'?");
        yield return O("overlay without name", "- orderid: A\n  positions:\n    - {product: talos, overlay: {image: siderolabs/sbc-raspberrypi}}\n", "needs both image");
        yield return Pos("unsafe host", "push: {hosts: [{host: \"-oProxyCommand=touch /tmp/x\"}]}", "is not a host name");
        yield return Pos("host with a space", "push: {hosts: [\"pve 02\"]}", "is not a host name");
        yield return Pos("host without host", "push: {hosts: [{iso_dir: /x}]}", "is required");
        yield return Pos("unsafe iso_dir", "push: {hosts: [{host: pve-01, iso_dir: \"/x\\necho INJECTED\"}]}", "not a safe remote folder");
        yield return Pos("unknown push key", "push: {enable: true}", "did you mean 'enabled'?");
        yield return Pos("hosts that are a string", "push: {hosts: pve-01}", "expected a list of hosts");
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void The_schemas_reject_what_the_loader_rejects(string what, Kind kind, string yaml, string message)
    {
        var loader = LoaderProblems(kind, yaml);
        Assert.True(loader is not null, $"{what}: the loader accepts it");
        Assert.Contains(message, loader);
        Assert.True(SchemaProblems(kind, yaml) is not null, $"{what}: the schema accepts it (the loader says: {loader})");
    }

    /// <summary>
    /// Where a JSON Schema of one file cannot say what the loader checks, or says more: each case with the verdict of
    /// the loader and of the schema, and why. The test keeps the list true.
    /// </summary>
    public static readonly IReadOnlyList<(string What, Kind Kind, string Yaml, bool LoaderAccepts, bool SchemaAccepts, string Why)> Limits = new[]
    {
        ("duplicate orderid", Kind.Orders, "- orderid: A\n- orderid: a\n", false, true,
            "uniqueness of a property across list items (ignoring case) is not expressible in JSON Schema"),
        ("an extension and its old name (an alias of it)", Kind.Orders, "- orderid: A\n  positions:\n    - {product: talos, customization: {systemExtensions: {officialExtensions: [siderolabs/i915-ucode, siderolabs/i915]}}}\n", false, true,
            "the factory's alias table (siderolabs/i915-ucode -> siderolabs/i915) is the loader's; the schema refuses only the same name twice (uniqueItems)"),
        ("push.proxmox names an endpoint config.yaml lacks", Kind.Orders, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, push: {proxmox: [lab]}}\n", false, true,
            "a reference into the other file: each schema sees one file"),
        ("rsync option that runs a command", Kind.Config, "defaults:\n  push:\n    rsync_opts: \"-av --rsh=evil\"\n", false, true,
            "ssh_opts/rsync_opts are split like shell words and checked option by option (SshSafety); the schema only refuses control characters"),
        ("ssh option that runs a command", Kind.Config, "defaults:\n  push:\n    ssh_opts: \"-o ProxyCommand=evil\"\n", false, true,
            "as above"),
        ("customer written as a plain boolean", Kind.Orders, "- orderid: A\n  customer: yes\n", true, false,
            "the loader takes any plain scalar as a string's text; the schemas allow numbers where they are natural (orderid, customer, name, minor) but not booleans: quote it"),
        ("fingerprint written as a plain number", Kind.Config, "proxmox:\n  lab: {url: \"https://h:8006\", node: pve1, fingerprint: 12}\n", true, false,
            "as above: a string key written as a number; quote it"),
        ("image_format with spaces and capitals", Kind.Orders, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, image_format: \" RAW.XZ\"}\n", true, false,
            "the loader trims and lower-cases image_format; the schema ignores case but not surrounding spaces"),
        ("version type in capitals", Kind.Orders, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, version: {type: LATEST}}\n", true, true,
            "both ignore case (the schema with a pattern beside the enum editors complete)"),
        ("another user's home written with a backslash", Kind.Config, "defaults:\n  cache_dir: \"~\\\\x\"\n", false, true,
            "on Linux and macOS ~\\x names user \\x (refused); on Windows it is the home folder: the schema takes the Windows reading"),
        ("template on a position that publishes no disk image to import content", Kind.Orders, "- orderid: A\n  positions:\n    - {product: talos, customization: {}, image_format: iso, template: {storage: local-lvm}}\n", false, true,
            "a rule across the position's keys (image_format, push.prefer_decompressed, push.proxmox) that the loader states in one sentence; the schema checks the template's own keys"),
        ("more than one YAML document", Kind.Config, "defaults: {}\n---\ndefaults: {}\n", false, true,
            "limits of the file itself (documents, depth, size, aliases, UTF-8, duplicate keys) are the YAML reader's, not the schema's; editors check duplicate keys themselves (the converter here keeps the first document)"),
    };

    [Fact]
    public void The_list_of_what_a_schema_cannot_say_is_true()
    {
        foreach (var (what, kind, yaml, loaderAccepts, schemaAccepts, _) in Limits)
        {
            Assert.True((LoaderProblems(kind, yaml) is null) == loaderAccepts, $"{what}: the loader {(loaderAccepts ? "refuses" : "accepts")} it: {LoaderProblems(kind, yaml)}");
            Assert.True((SchemaProblems(kind, yaml.Split("\n---\n")[0]) is null) == schemaAccepts, $"{what}: the schema {(schemaAccepts ? "refuses" : "accepts")} it");
        }
    }

    [Fact]
    public void The_patterns_restated_for_the_schemas_agree_with_the_engines_rules()
    {
        var hosts = new[] { "pve-01", "root@pve-01.example.lan", "[::1]", "_h", "-oProxyCommand=x", "a b", "a;b", "pve'1", "", "@h", "u@", "h\n" };
        foreach (var h in hosts)
        {
            Assert.True(Regex.IsMatch(h, InputSchema.HostJsonPattern) == (h.Length <= 320 && SshSafety.HostProblem(h) is null), $"host '{h}'");
        }
        var dirs = new[] { "/", "/var/lib/vz", "/a/../b", "/a/..", "/..", "/a..b/c", "relative", "/a b", "/a;b", "/x/./y", "//x", "/a/.../b", "/ISO Store/ünï", "/it's $x `y`", "/a\nb", "/a\u0001b", "/a\u0085b", "/a\tb" };
        foreach (var d in dirs)
        {
            Assert.True(Regex.IsMatch(d, InputSchema.RemoteDirJsonPattern) == (SshSafety.RemotePathProblem(d) is null), $"remote dir '{d}'");
        }
        foreach (var n in new[] { "pve1", "pve-1.lab", "-pve", "pve_1", "p", new string('a', 63), new string('a', 64), "" })
        {
            Assert.True(Regex.IsMatch(n, InputSchema.NodeJsonPattern) == (ProxmoxTarget.NodeProblem(n) is null), $"node '{n}'");
        }
        foreach (var s in new[] { "local", "local-lvm", "nfs_images.1", "9local", "-x", "", "a b" })
        {
            Assert.True(Regex.IsMatch(s, InputSchema.StorageJsonPattern) == (ProxmoxTarget.StorageProblem(s) is null), $"storage '{s}'");
        }
    }

    [Fact]
    public void The_schematic_keys_are_the_ones_SchematicReader_reads()
    {
        // SchematicReader (also used for schematic files) keeps its own key lists; the orders schema must say the same.
        string[] Keys(string field) => (string[])typeof(SchematicReader).GetField(field, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;
        Assert.Equal(Keys("CustomizationKeys"), InputSchema.Customization.Keys);
        Assert.Equal(Keys("OverlayKeys"), InputSchema.Overlay.Keys);
        Assert.Equal(Keys("MetaKeys"), ((ObjectSchema)((ListSchema)InputSchema.Customization["meta"].Node).Item).Keys);
        Assert.Equal(Keys("SystemExtensionKeys"), ((ObjectSchema)InputSchema.Customization["systemExtensions"].Node).Keys);
        Assert.Equal(Keys("SecureBootKeys"), ((ObjectSchema)InputSchema.Customization["secureboot"].Node).Keys);
        Assert.Equal(Keys("DiskImageKeys"), ((ObjectSchema)InputSchema.Customization["diskImage"].Node).Keys);
    }

    [Fact]
    public void Every_key_the_loader_reads_is_in_the_schema_and_described()
    {
        // The schema is the list of allowed keys: a key missing from it is refused by the loader as unknown.
        foreach (var obj in new[] { InputSchema.Config, InputSchema.Defaults, InputSchema.PushDefaults, InputSchema.CachePolicy, InputSchema.Manifest, InputSchema.ProxmoxEndpoint, InputSchema.Order, InputSchema.Position, InputSchema.PositionPush, InputSchema.PushHost, InputSchema.VersionObject })
        {
            Assert.NotEmpty(obj.Keys);
            Assert.Equal(obj.Keys.Count, obj.Keys.Distinct().Count());
        }
        Assert.All(InputSchema.Defaults.Properties.Where(p => p.Node is ScalarSchema), p => Assert.NotEqual("", p.Node.Description));
    }
}
