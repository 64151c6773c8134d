using Newtonsoft.Json;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Injection and traversal attempts in every field of config.yaml and orders.yaml that reaches ssh, rsync, an HTTP
/// path or a file path: each is refused at load time, naming the key, before any request or file is made; free text
/// (name, customer, kernel arguments) is carried as data, never run and never part of a path.
/// </summary>
public sealed class InjectionTests : IClassFixture<InjectionTests.Factory>, IDisposable
{
    /// <summary>A loopback factory serving a small ISO for any schematic.</summary>
    public sealed class Factory : IAsyncLifetime
    {
        public FakeImageFactory Fake { get; private set; } = null!;
        public static readonly byte[] Iso = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7)).ToArray();

        public async Task InitializeAsync()
        {
            Fake = await FakeImageFactory.StartAsync();
            Fake.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso : null;
        }

        public async Task DisposeAsync() => await Fake.DisposeAsync();
    }

    private readonly FakeImageFactory _factory;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _marker = Path.Combine(Path.GetTempPath(), "talos-pwned-" + Guid.NewGuid().ToString("N"));

    public InjectionTests(Factory factory, ITestOutputHelper output)
    {
        _factory = factory.Fake;
        _output = output;
    }

    public void Dispose()
    {
        _dir.Dispose();
        File.Delete(_marker);
    }

    /// <summary>Shell metacharacters, a command substitution, a line break, an option and traversal, each touching the marker if run.</summary>
    private string[] Payloads => new[]
    {
        $"$(touch {_marker})", $"`touch {_marker}`", $"x;touch {_marker}", $"x|touch {_marker}", $"x&&touch {_marker}", $"x\ntouch {_marker}",
        $"-oProxyCommand=touch {_marker}", "../../../../../tmp/" + Path.GetFileName(_marker), "/etc/../" + Path.GetFileName(_marker), "x\0y",
    };

    private static string Q(string s) => JsonConvert.SerializeObject(s); // a JSON string is a YAML double-quoted string

    private string Config(string defaults = "", string proxmox = "", string manifest = "") => $"""
        defaults:
          cache_dir: {_dir.Path}/cache
          factory_url: {_factory.BaseUrl}
        {defaults}
        manifest:
          dir: {_dir.Path}/manifests
        {manifest}
        proxmox:
          lab:
            url: https://127.0.0.1:9
            node: pve1
        {proxmox}
        """;

    private const string Position = "      - {name: p, product: talos, version: v1.11.5, customization: {}}\n";

    /// <summary>Field, the key its problem names, and the config and orders with the value in that field.</summary>
    private IEnumerable<(string Field, string Key, string Config, string Orders)> RefusedFields(string v)
    {
        var pos = "orders[0].positions[0]";
        string Orders(string position) => "orders:\n  - orderid: INJ-1\n    positions:\n      - " + position + "\n";
        yield return ("host", pos + ".push.hosts[0].host", Config(), Orders($"{{product: talos, customization: {{}}, push: {{enabled: true, hosts: [{{host: {Q(v)}}}]}}}}"));
        yield return ("bare host", pos + ".push.hosts[0]", Config(), Orders($"{{product: talos, customization: {{}}, push: {{enabled: true, hosts: [{Q(v)}]}}}}"));
        yield return ("iso_dir", pos + ".push.hosts[0].iso_dir", Config(), Orders($"{{product: talos, customization: {{}}, push: {{enabled: true, hosts: [{{host: pve-01, iso_dir: {Q(v)}}}]}}}}"));
        yield return ("import_dir", pos + ".push.hosts[0].import_dir", Config(), Orders($"{{product: talos, customization: {{}}, push: {{enabled: true, hosts: [{{host: pve-01, import_dir: {Q(v)}}}]}}}}"));
        yield return ("proxmox_default_iso_dir", "defaults.proxmox_default_iso_dir", Config($"  proxmox_default_iso_dir: {Q(v)}"), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox_default_import_dir", "defaults.proxmox_default_import_dir", Config($"  proxmox_default_import_dir: {Q(v)}"), Orders("{product: talos, customization: {}}"));
        yield return ("ssh_opts", "defaults.push.ssh_opts", Config($"  push: {{ssh_opts: {Q("-o BatchMode=yes " + v)}}}"), Orders("{product: talos, customization: {}}"));
        yield return ("rsync_opts", "defaults.push.rsync_opts", Config($"  push: {{rsync_opts: {Q("-a " + v)}}}"), Orders("{product: talos, customization: {}}"));
        yield return ("orderid", "orders[0].orderid", Config(), $"orders:\n  - orderid: {Q(v)}\n    positions: []\n");
        yield return ("proxmox url", "proxmox.lab.url", Config(proxmox: $"    url: {Q(v)}").Replace("    url: https://127.0.0.1:9\n", ""), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox url path", "proxmox.lab.url", Config(proxmox: $"    url: {Q("https://127.0.0.1:9/?" + v)}").Replace("    url: https://127.0.0.1:9\n", ""), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox node", "proxmox.lab.node", Config(proxmox: "").Replace("node: pve1", $"node: {Q(v)}"), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox nodes", "proxmox.lab.nodes", Config(proxmox: "").Replace("node: pve1", $"nodes: [pve1, {Q(v)}]"), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox storage", "proxmox.lab.storage", Config(proxmox: $"    storage: {Q(v)}"), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox token_env", "proxmox.lab.token_env", Config(proxmox: $"    token_env: {Q(v)}"), Orders("{product: talos, customization: {}}"));
        yield return ("proxmox endpoint name", "proxmox." + v, Config().Replace("  lab:", $"  {Q(v)}:"), Orders("{product: talos, customization: {}}"));
        yield return ("position proxmox", pos + ".push.proxmox", Config(), Orders($"{{product: talos, customization: {{}}, push: {{enabled: true, proxmox: [{Q(v)}]}}}}"));
        yield return ("schematic_id", pos + ".schematic_id", Config(), Orders($"{{product: talos, schematic_id: {Q(v)}}}"));
        yield return ("version", pos + ".version", Config(), Orders($"{{product: talos, customization: {{}}, version: {Q(v)}}}"));
        yield return ("version value", pos + ".version.value", Config(), Orders($"{{product: talos, customization: {{}}, version: {{type: exact, value: {Q(v)}}}}}"));
        yield return ("version minor", pos + ".version.minor", Config(), Orders($"{{product: talos, customization: {{}}, version: {{type: latest-in-minor, minor: {Q(v)}}}}}"));
        yield return ("platform", pos + ".platform", Config(), Orders($"{{product: talos, customization: {{}}, platform: {Q(v)}}}"));
        yield return ("image_format", pos + ".image_format", Config(), Orders($"{{product: talos, customization: {{}}, image_format: {Q(v)}}}"));
        yield return ("arch", pos + ".arch", Config(), Orders($"{{product: talos, customization: {{}}, arch: {Q(v)}}}"));
        yield return ("factory_url", "defaults.factory_url", Config($"  factory_url: {Q(v)}").Replace($"  factory_url: {_factory.BaseUrl}\n", ""), Orders("{product: talos, customization: {}}"));
        yield return ("github_api_url", "defaults.github_api_url", Config($"  github_api_url: {Q(v)}"), Orders("{product: talos, customization: {}}"));
    }

    [Fact]
    public async Task Every_field_that_reaches_ssh_rsync_http_or_a_path_refuses_injection_before_anything_runs()
    {
        var fields = new HashSet<string>();
        var tried = 0;
        var failures = new List<string>();
        foreach (var payload in Payloads)
        {
            foreach (var (field, key, config, orders) in RefusedFields(payload))
            {
                fields.Add(field);
                tried++;
                var c = _dir.Write("config.yaml", config);
                var o = _dir.Write("orders.yaml", orders);
                var requests = _factory.Log.Count;
                try
                {
                    // A real run, not a dry run: the only thing between the value and ssh/rsync/HTTP is the check.
                    await new OrderRunner(new RunOptions
                    {
                        ConfigPath = c,
                        OrdersPath = o,
                        BaseDirectory = _dir.Path,
                        Http = FastHttp.Options,
                        Environment = _ => null,
                    }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
                    failures.Add($"{field} = {Q(payload)}: accepted, the run went ahead");
                }
                catch (TalosValidationException e)
                {
                    var expectedKey = SafeText.ForMessage(key, 300);
                    if (!e.Problems.Any(p => p.Key == expectedKey || p.Key.StartsWith(expectedKey + "[", StringComparison.Ordinal)))
                    {
                        failures.Add($"{field} = {Q(payload)}: refused, but no problem names {expectedKey}: {e.Message}");
                    }
                }
                catch (Exception e)
                {
                    failures.Add($"{field} = {Q(payload)}: {e.GetType().Name}: {e.Message}");
                }
                if (_factory.Log.Count != requests)
                {
                    failures.Add($"{field} = {Q(payload)}: the factory was asked before the refusal");
                }
                if (Directory.Exists(_dir.File("cache")) || Directory.Exists(_dir.File("manifests")))
                {
                    failures.Add($"{field} = {Q(payload)}: a cache or manifest folder was made");
                }
            }
        }

        _output.WriteLine($"{tried} attempts: {Payloads.Length} payloads x {fields.Count} fields ({string.Join(", ", fields)})");
        Assert.False(File.Exists(_marker), "an injected command ran");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Free_text_and_local_paths_are_data_never_run_and_free_text_never_becomes_a_path()
    {
        var runs = 0;
        foreach (var payload in Payloads.Where(p => !p.Contains('\0') && !p.Contains("..")))
        {
            using var run = new TempDir();
            // Local folders from the config may hold any character a file name may: they are used literally, never run.
            var cacheDir = Path.Combine(run.Path, "cache-" + payload.Replace("/", "_"));
            var manifestDir = Path.Combine(run.Path, "manifests-" + payload.Replace("/", "_"));
            var config = run.Write("config.yaml", $"""
                defaults:
                  cache_dir: {Q(cacheDir)}
                  factory_url: {_factory.BaseUrl}
                manifest:
                  path_template: {Q(manifestDir + "/m-{orderid}-" + payload.Replace("/", "_") + ".yaml")}
                """);
            var orders = run.Write("orders.yaml", $$"""
                orders:
                  - orderid: DATA-1
                    customer: {{Q(payload)}}
                    positions:
                      - name: {{Q(payload)}}
                        product: talos
                        version: v1.11.5
                        customization:
                          extraKernelArgs: [{{Q("talos.x=" + payload)}}]
                          meta: [{key: 12, value: {{Q(payload)}}}]
                """);
            var log = Path.Combine(run.Path, "run.log");

            var result = await new OrderRunner(new RunOptions
            {
                ConfigPath = config,
                OrdersPath = orders,
                BaseDirectory = run.Path,
                Http = FastHttp.Options,
                LogPath = log,
                Environment = _ => null,
            }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);
            runs++;

            Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => f.Message)));
            Assert.False(File.Exists(_marker), $"{Q(payload)} ran");
            // Every file is inside the cache or the manifest folder (or is the inputs and the log).
            var files = Directory.GetFiles(run.Path, "*", SearchOption.AllDirectories);
            Assert.All(files, f => Assert.True(
                f.StartsWith(cacheDir + "/", StringComparison.Ordinal) || f.StartsWith(manifestDir + "/", StringComparison.Ordinal) || f == config || f == orders || f == log, f));
            // Free text never became part of a path: only the config's own folder names carry the payload.
            var fromFreeText = Directory.GetFileSystemEntries(cacheDir, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(cacheDir, f)).Where(f => f.Contains("touch", StringComparison.Ordinal) || f.Contains('|') || f.Contains(';'));
            Assert.Empty(fromFreeText);
            var manifest = Assert.Single(Directory.GetFiles(manifestDir));
            var text = File.ReadAllText(manifest);
            Assert.Contains("DATA-1", text);
            // The log keeps one record per line whatever the name holds.
            Assert.All(File.ReadAllLines(log), l => Assert.StartsWith("time=", l));
        }
        _output.WriteLine($"{runs} whole runs with payloads in name, customer, extraKernelArgs, meta, cache_dir and manifest.path_template");
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../x")]
    [InlineData("a/../../b")]
    [InlineData("/etc/cron.d/x")]
    [InlineData("C:\\Windows\\x")]
    [InlineData("C:x")]
    [InlineData("\\\\server\\share")]
    [InlineData("CON")]
    [InlineData("nul")]
    [InlineData("com1.txt")]
    [InlineData("LPT9")]
    [InlineData(".")]
    [InlineData("~root")]
    [InlineData("a\u202Eb")]
    public async Task Orderids_that_could_leave_the_manifest_folder_or_name_a_device_are_refused_by_talos_order(string orderId)
    {
        var config = _dir.Write("config.yaml", Config());
        var orders = _dir.Write("orders.yaml", $"orders:\n  - orderid: {Q(orderId)}\n    positions:\n{Position}");
        var before = BadInputTests.Snapshot(_dir.Path);

        var r = await TalosOrderProcess.RunAsync(_dir.Path, null, "--config", config, "--orders", orders);

        Assert.True(r.ExitCode == 2, r.Stderr);
        Assert.Contains("orders[0].orderid", r.Stderr);
        Assert.Contains("cannot be used in a file name", r.Stderr);
        Assert.Equal(before, BadInputTests.Snapshot(_dir.Path));
    }

    [Fact]
    public async Task A_name_with_terminal_escapes_and_line_breaks_is_shown_escaped_on_the_console()
    {
        var config = _dir.Write("config.yaml", Config());
        var orders = _dir.Write("orders.yaml", $"orders:\n  - orderid: TTY-1\n    customer: {Q("\u001b[2J\u001b]0;owned\u0007")}\n    positions:\n" +
                                              $"      - {{name: {Q("a\nerror: forged\r\u001b[31m")}, product: talos, version: v1.11.5, customization: {{}}}}\n");

        var r = await TalosOrderProcess.RunAsync(_dir.Path, null, "--config", config, "--orders", orders, "--dry-run", "--offline");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.DoesNotContain('\u001b', r.Stdout + r.Stderr);
        Assert.DoesNotContain('\r', r.Stdout + r.Stderr);
        Assert.DoesNotContain('\u0007', r.Stdout + r.Stderr);
        Assert.DoesNotContain(r.Stdout.Split('\n'), l => l.StartsWith("error: forged", StringComparison.Ordinal));
        Assert.Contains("a\\x0aerror: forged", r.Stdout);
    }
}
