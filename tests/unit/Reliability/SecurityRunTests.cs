using System.Security.Cryptography;
using System.Text;
using Newtonsoft.Json;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Publishing.Proxmox;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Whole order runs against the loopback factory (which is also the GitHub API) and the Proxmox API fake: file names
/// from the server never choose where a file lands, TLS verification cannot be turned off, and no token appears in any
/// artifact of a run, even when a server echoes the Authorization header back.
/// </summary>
public sealed class SecurityRunTests : IAsyncLifetime, IDisposable
{
    private static readonly byte[] Iso = Enumerable.Range(0, 40_000).Select(i => (byte)(i * 13 + 5)).ToArray();

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private FakeImageFactory _factory = null!;
    private FakeProxmox _pve = null!;

    public SecurityRunTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        _factory = await FakeImageFactory.StartAsync();
        _factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso : null;
        _factory.Releases = FakeImageFactory.ReleasesOf("v1.11.4", "v1.11.5");
        _pve = await FakeProxmox.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _pve.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private string Config(string root, string? fingerprint, string extraDefaults = "", string? factoryUrl = null) => _dir.Write(Path.Combine(root, "config.yaml"), $"""
        defaults:
          cache_dir: {_dir.File(root)}/cache
          factory_url: {factoryUrl ?? _factory.BaseUrl}
          github_api_url: {_factory.BaseUrl}
        {extraDefaults}
        manifest:
          dir: {_dir.File(root)}/manifests
        proxmox:
          lab:
            url: {_pve.Endpoint}
            node: pve1
            token_env: SEC_PVE_TOKEN
        {(fingerprint is null ? "" : $"    fingerprint: \"{fingerprint}\"")}
        """);

    private string Orders(string root, string version = "v1.11.5", bool proxmox = true) => _dir.Write(Path.Combine(root, "orders.yaml"), $"""
        orders:
          - orderid: SEC-1
            customer: Security Lab
            positions:
              - name: iso
                product: talos
                version: {version}
                customization: {(proxmox ? "{}\n        push: {enabled: true, proxmox: [lab]}" : "{}")}
              - name: ext
                product: talos
                version: v1.11.5
                customization: {"{systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]}}"}
        """);

    private Task<RunResult> RunAsync(string config, string orders, IDictionary<string, string>? env = null, IEngineEvents? events = null) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => env is not null && env.TryGetValue(n, out var v) ? v : null,
        }, events ?? NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    // ---- (b) file names from the server ----

    [Theory]
    [InlineData("attachment; filename=../../../../tmp/{marker}", null)]
    [InlineData("attachment; filename=\"/tmp/{marker}\"; filename*=UTF-8''..%2F..%2F..%2Ftmp%2F{marker}", null)]
    [InlineData("attachment; filename=..\\..\\..\\{marker}", null)]
    [InlineData(null, "/cdn/a/b/../../../../../../tmp/{marker}/nocloud-amd64.iso")]
    [InlineData("attachment; filename=../../{marker}", "/cdn/..%2F..%2F{marker}")]
    public async Task File_names_and_redirects_from_the_server_never_choose_where_the_file_lands(string? disposition, string? redirect)
    {
        var marker = "talos-pwned-" + Guid.NewGuid().ToString("N");
        _factory.ContentDisposition = disposition?.Replace("{marker}", marker);
        _factory.RedirectImages = redirect is null ? null : _ => redirect.Replace("{marker}", marker);
        var config = Config("run", _pve.Fingerprint);
        var orders = Orders("run", proxmox: false);

        var result = await RunAsync(config, orders);

        Assert.True(result.ExitCode == 0, string.Join("\n", result.Failures.Select(f => f.Message)));
        var artifacts = Path.Combine(_dir.File("run"), "cache", "artifacts");
        var isos = Directory.GetFiles(_dir.Path, "*.iso", SearchOption.AllDirectories);
        Assert.Equal(2, isos.Length);
        Assert.All(isos, f => Assert.Matches("/artifacts/[0-9a-f]{64}/v1\\.11\\.5/nocloud-amd64\\.iso$", f));
        Assert.All(isos, f => Assert.StartsWith(artifacts + "/", f));
        Assert.All(isos, f => Assert.Equal(Iso, File.ReadAllBytes(f)));
        Assert.Empty(Directory.GetFileSystemEntries(_dir.Path, "*" + marker + "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetTempPath(), marker + "*"));
        Assert.False(File.Exists("/" + marker));
        if (redirect is not null)
        {
            Assert.Contains(_factory.Log, s => s.Path.Contains(marker, StringComparison.Ordinal)); // the redirect was followed
        }
    }

    // ---- (c) TLS ----

    [Theory]
    [InlineData("defaults", "verify_tls: false")]
    [InlineData("defaults", "insecure: true")]
    [InlineData("defaults", "tls_verify: false")]
    [InlineData("defaults", "skip_tls_verify: true")]
    [InlineData("defaults", "insecure_skip_verify: true")]
    [InlineData("defaults", "ca_cert: /tmp/evil.pem")]
    [InlineData("proxmox", "verify_tls: false")]
    [InlineData("proxmox", "insecure: true")]
    [InlineData("proxmox", "verify_ssl: false")]
    [InlineData("proxmox", "tls_verify: no")]
    [InlineData("proxmox", "skip_verify: yes")]
    [InlineData("top", "insecure: true")]
    public void No_config_key_turns_TLS_verification_off(string where, string line)
    {
        var config = where switch
        {
            "defaults" => $"defaults:\n  {line}\n",
            "proxmox" => $"proxmox:\n  lab:\n    url: https://127.0.0.1:9\n    node: pve1\n    {line}\n",
            _ => line + "\n",
        };
        var c = _dir.Write("tls/config.yaml", config);
        var o = _dir.Write("tls/orders.yaml", "- orderid: A\n");

        var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(c, o, _ => null));

        var key = line.Split(':')[0];
        Assert.Contains(e.Problems, p => p.Message.StartsWith($"unknown key '{key}'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_Proxmox_endpoint_without_a_pin_or_with_another_pin_is_refused_in_a_run_showing_the_fingerprint()
    {
        var env = new Dictionary<string, string> { ["SEC_PVE_TOKEN"] = FakeProxmox.Token };
        using var other = FakeProxmox.CreateCertificate("pve1");
        var otherPin = Convert.ToHexString(SHA256.HashData(other.RawData));

        var unpinned = await RunAsync(Config("nopin", null), Orders("nopin"), env);
        var wrong = await RunAsync(Config("wrongpin", otherPin), Orders("wrongpin"), env);

        var f1 = Assert.Single(unpinned.Failures);
        Assert.Equal(ExitCodes.Failed, unpinned.ExitCode);
        Assert.Contains(_pve.Fingerprint, f1.Message);
        Assert.Contains("fingerprint", f1.Message);
        var f2 = Assert.Single(wrong.Failures);
        Assert.Contains("not the pinned", f2.Message);
        Assert.Contains(_pve.Fingerprint, f2.Message);
        Assert.Equal(0, _pve.Requests); // no request (and no token) went to an unverified server
        Assert.Contains("status: failed", File.ReadAllText(Path.Combine(_dir.File("nopin"), "manifests", "manifest-SEC-1.yaml")));
        _output.WriteLine(f1.Message);
    }

    [Fact]
    public async Task An_https_factory_with_a_self_signed_certificate_fails_clearly_and_nothing_is_downloaded()
    {
        // The Proxmox fake's self-signed HTTPS endpoint stands in for a factory behind an untrusted certificate.
        var config = Config("selfsigned", null, factoryUrl: _pve.Endpoint.ToString().TrimEnd('/'));
        var orders = Orders("selfsigned", proxmox: false);

        var result = await RunAsync(config, orders);

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        Assert.NotEmpty(result.Failures);
        Assert.All(result.Failures, f => Assert.Matches("(?i)certificate|SSL|TLS", f.Message));
        Assert.All(result.Failures, f => Assert.Contains(_pve.Endpoint.Authority, f.Message));
        Assert.Equal(0, _pve.Requests);
        var cache = Path.Combine(_dir.File("selfsigned"), "cache", "artifacts");
        Assert.True(!Directory.Exists(cache) || Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Length == 0);
        _output.WriteLine(result.Failures[0].Message);
    }

    // ---- (d) secrets ----

    public static TheoryData<string> SecretCases => new() { "all-good", "github-token-refused", "proxmox-token-refused-and-echoed", "both-refused" };

    [Theory]
    [MemberData(nameof(SecretCases))]
    public async Task No_token_appears_in_any_artifact_of_a_whole_run(string @case)
    {
        var githubGood = "ghp_" + Guid.NewGuid().ToString("N") + "GOOD";
        var githubSent = @case is "github-token-refused" or "both-refused" ? "ghp_" + Guid.NewGuid().ToString("N") + "BAD" : githubGood;
        var pveSent = @case is "proxmox-token-refused-and-echoed" or "both-refused" ? "root@pam!talos=" + Guid.NewGuid() : FakeProxmox.Token;
        _factory.RequiredToken = githubGood;
        _pve.EchoAuthorization = true;
        var secrets = new[]
        {
            githubGood, githubSent, githubSent.Substring(4), pveSent, pveSent.Split('=')[1], FakeProxmox.Token, FakeProxmox.Secret, "Bearer " + githubSent,
        }.Distinct().ToArray();
        var env = new Dictionary<string, string> { ["GITHUB_TOKEN"] = githubSent, ["SEC_PVE_TOKEN"] = pveSent, ["TALOS_FACTORY_URL"] = _factory.BaseUrl };
        const string versionSource = "  version_source: github\n  version_cache_ttl: 0";

        // talos-order as a person or cron runs it: --verbose, --json, --log.
        var config = Config("cli", _pve.Fingerprint, versionSource);
        var orders = Orders("cli", version: "latest");
        var log = _dir.File("cli/logs/run.log");
        var json = await TalosOrderProcess.RunAsync(_dir.File("cli"), env, "--config", config, "--orders", orders, "--log", log, "--json", "--verbose");
        var text = await TalosOrderProcess.RunAsync(_dir.File("cli"), env, "--config", config, "--orders", orders, "--log", log, "--verbose");

        // The engine in-process: results, failures, events and any exception.
        var events = new RecordingEvents();
        var inProcess = new StringBuilder();
        try
        {
            var result = await RunAsync(Config("engine", _pve.Fingerprint, versionSource), Orders("engine", version: "latest"), env, events);
            inProcess.AppendLine(JsonConvert.SerializeObject(new { result.Orders, result.Failures, result.ExitCode, Plan = RunReport.PlanRows(result.Plan) }));
            inProcess.AppendLine(RunReport.Summary(result));
        }
        catch (Exception e)
        {
            inProcess.AppendLine(e.ToString());
        }
        inProcess.AppendLine(string.Join("\n", events.Warnings.Concat(events.Verbose)));

        var expectedExit = @case == "all-good" ? 0 : 1;
        Assert.True(json.ExitCode == expectedExit, $"exit {json.ExitCode}: {json.Stderr}");
        Assert.Equal(expectedExit, text.ExitCode);
        if (@case != "all-good")
        {
            // The servers did echo what they were sent: the test would see a leak.
            Assert.True(@case == "proxmox-token-refused-and-echoed" || _factory.Log.Any(s => s.Authorization == "Bearer " + githubSent));
            Assert.Contains("401", json.Stderr + json.Stdout);
        }

        var sources = new List<(string Name, string Text)>
        {
            ("stdout --json", json.Stdout), ("stderr --json", json.Stderr), ("stdout", text.Stdout), ("stderr", text.Stderr), ("engine results, events, exceptions", inProcess.ToString()),
        };
        var files = Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories);
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            sources.Add((f, Encoding.UTF8.GetString(bytes)));
            sources.Add((f + " (latin1)", Encoding.Latin1.GetString(bytes)));
        }
        var hits = sources.SelectMany(s => secrets.Where(t => s.Text.Contains(t, StringComparison.Ordinal)).Select(t => $"{s.Name} holds {t}")).ToList();
        _output.WriteLine($"{@case}: {secrets.Length} secret strings x ({files.Length} files + 5 outputs); {sources.Sum(s => s.Text.Length)} characters searched");
        Assert.True(files.Any(f => f.EndsWith("run.log", StringComparison.Ordinal)) && files.Count(f => f.Contains("manifest-SEC-1", StringComparison.Ordinal)) == 2,
            "the run left no log or manifest to search");
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }
}
