using System.Text;
using Microsoft.AspNetCore.Http;
using Newtonsoft.Json;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Core.Versions;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Publishing.Proxmox;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

/// <summary>
/// Issue 14, items 5, 6 and 13: secrets are redacted before anything is cut (servers that echo the Authorization header
/// at offsets around every cut, through the engine and through talos-order), URLs never show their user info, and
/// every output (log, console, JSON, manifests, error texts) escapes control and line-separator characters alike.
/// </summary>
public sealed class SecretRedactionTests : IAsyncLifetime, IDisposable
{
    private static readonly byte[] Iso = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7 + 3)).ToArray();

    /// <summary>Characters a terminal or a log reader acts on: ESC, BEL, NUL, U+2028 (line separator), NEL.</summary>
    private static readonly char[] Hostile = { '\u001b', '\u0007', '\0', '\u2028', '\u0085' };

    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private FakeImageFactory _factory = null!;
    private LoopbackHttpServer _github = null!;
    private FakeProxmox _pve = null!;

    /// <summary>The GitHub API's answer to every request: status and body made from the Authorization header received.</summary>
    private Func<string, (int Status, string Body)> _githubAnswer = _ => (401, "");

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _githubAuth = new();

    public SecretRedactionTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        _factory = await FakeImageFactory.StartAsync();
        _factory.Images = (_, _, asset) => asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso : null;
        _github = await LoopbackHttpServer.StartAsync(async ctx =>
        {
            var auth = ctx.Request.Headers.Authorization.ToString();
            _githubAuth.Enqueue(auth);
            var (status, body) = _githubAnswer(auth);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync(body);
        });
        _pve = await FakeProxmox.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _github.DisposeAsync();
        await _pve.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    private static string NewGitHubToken() => "ghp_" + Guid.NewGuid().ToString("N") + "Q7xZ"; // 40 characters

    private static string Padding(int length) => new('.', length);

    private string Config(string root, string source) => _dir.Write(Path.Combine(root, "config.yaml"), $"""
        defaults:
          cache_dir: {_dir.File(root)}/cache
          factory_url: {_factory.BaseUrl}
          github_api_url: {_github.BaseUrl}
          version_source: {source}
          version_cache_ttl: 0
        manifest:
          dir: {_dir.File(root)}/manifests
        proxmox:
          lab:
            url: {_pve.Endpoint}
            node: pve1
            token_env: SEC_PVE_TOKEN
            fingerprint: "{_pve.Fingerprint}"
        """);

    private string Orders(string root, string version, bool push, string name = "iso") => _dir.Write(Path.Combine(root, "orders.yaml"), $"""
        orders:
          - orderid: RED-1
            customer: Redaction Lab
            positions:
              - name: {name}
                product: talos
                version: {version}
                customization: {(push ? "{}\n        push: {enabled: true, proxmox: [lab]}" : "{}")}
        """);

    private Task<RunResult> RunEngineAsync(string config, string orders, string log, IDictionary<string, string> env, IEngineEvents events) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            LogPath = log,
            Environment = n => env.TryGetValue(n, out var v) ? v : null,
        }, events).RunAsync(CancellationToken.None);

    /// <summary>Every 8-character fragment of <paramref name="secret"/> found in any of the texts.</summary>
    private static List<string> Fragments(string secret, IEnumerable<(string Name, string Text)> sources)
    {
        var hits = new List<string>();
        foreach (var (name, text) in sources)
        {
            for (var i = 0; i + SafeText.MinSecretFragment <= secret.Length; i++)
            {
                var fragment = secret.Substring(i, SafeText.MinSecretFragment);
                if (text.Contains(fragment, StringComparison.Ordinal))
                {
                    hits.Add($"{name} holds '{fragment}' (secret characters {i}..{i + 7}): ...{Around(text, text.IndexOf(fragment, StringComparison.Ordinal))}...");
                    break;
                }
            }
        }
        return hits;
    }

    private static string Around(string text, int at) => text.Substring(Math.Max(0, at - 40), Math.Min(text.Length, at + 60) - Math.Max(0, at - 40));

    private static IEnumerable<(string Name, string Text)> FilesUnder(string root)
    {
        foreach (var f in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            var bytes = File.ReadAllBytes(f);
            yield return (f, Encoding.UTF8.GetString(bytes));
            yield return (f + " (latin1)", Encoding.Latin1.GetString(bytes));
        }
    }

    /// <summary>
    /// Sets up the servers for one case and returns the secret to look for and the environment of the run.
    /// github: a 401 (or a 200 that is not JSON) whose text body holds "Bearer TOKEN" at <paramref name="offset"/>;
    /// with <paramref name="keep"/> &gt; 0 the body ends after that many token characters (a server, or a bounded read,
    /// that cut it). proxmox: a 400 with a non-JSON body holding "PVEAPIToken=ID=SECRET" at <paramref name="offset"/>.
    /// </summary>
    private (string Secret, Dictionary<string, string> Env, string Source, string Version, bool Push) Arrange(string server, int offset, int keep, int status)
    {
        var env = new Dictionary<string, string>();
        if (server == "github")
        {
            var token = NewGitHubToken();
            env["GITHUB_TOKEN"] = token;
            _githubAnswer = auth =>
            {
                var echo = keep > 0 ? auth.Substring(0, "Bearer ".Length + keep) : auth + " was refused; see the documentation";
                return (status, Padding(offset) + echo);
            };
            return (token, env, "github", "latest", false);
        }
        var secret = Guid.NewGuid().ToString();
        env["SEC_PVE_TOKEN"] = FakeProxmox.TokenId + "=" + secret;
        _pve.Intercept = async ctx =>
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync(Padding(offset) + ctx.Request.Headers.Authorization + " is not valid here");
            return true;
        };
        return (secret, env, "factory", "v1.11.5", true);
    }

    // ---- item 5: through the engine ----

    public static TheoryData<string, int, int, int> EngineCases => new()
    {
        // GitHub: the body is cut at 500 characters; the token starts 7 characters after the header ("Bearer ").
        { "github", 440, 0, 401 }, { "github", 455, 0, 401 }, { "github", 470, 0, 401 }, { "github", 485, 0, 401 },
        { "github", 492, 0, 401 }, { "github", 493, 0, 401 }, { "github", 500, 0, 401 },
        // The body itself ends inside the token (cut before it reached the client), at the start and around the cut.
        { "github", 100, 20, 401 }, { "github", 480, 30, 401 }, { "github", 4080, 30, 401 },
        // A 200 that is not JSON: "expected JSON, got: ..." cuts at 200.
        { "github", 150, 0, 200 }, { "github", 175, 0, 200 },
        // Proxmox: a non-JSON error body is cut at 300; the secret starts 27 characters after the header.
        { "proxmox", 230, 0, 400 }, { "proxmox", 243, 0, 400 }, { "proxmox", 255, 0, 400 }, { "proxmox", 265, 0, 400 },
        { "proxmox", 272, 0, 400 }, { "proxmox", 280, 0, 400 },
    };

    [Theory]
    [MemberData(nameof(EngineCases))]
    public async Task A_secret_echoed_around_a_cut_leaves_no_fragment_in_any_output_of_the_engine(string server, int offset, int keep, int status)
    {
        var (secret, env, source, version, push) = Arrange(server, offset, keep, status);
        var root = _dir.File("engine");
        var log = Path.Combine(root, "logs", "run.log");
        var events = new RecordingEvents();
        var seen = new StringBuilder();
        try
        {
            var result = await RunEngineAsync(Config("engine", source), Orders("engine", version, push), log, env, events);
            Assert.Equal(ExitCodes.Failed, result.ExitCode);
            seen.AppendLine(JsonConvert.SerializeObject(new { result.Orders, result.Failures, result.ExitCode, Plan = RunReport.PlanRows(result.Plan) }));
            seen.AppendLine(RunReport.Summary(result));
            var failure = Assert.Single(result.Failures);
            Assert.Contains(status == 200 ? "expected JSON" : status.ToString(), failure.Message);
            Assert.Contains("....", failure.Message); // the server's body is shown, cut
            _output.WriteLine(failure.Message);
        }
        catch (TalosException e)
        {
            seen.AppendLine(e.ToString());
            _output.WriteLine(e.Message);
        }
        seen.AppendLine(string.Join("\n", events.Warnings.Concat(events.Verbose)));

        if (server == "github")
        {
            Assert.Contains("Bearer " + secret, _githubAuth); // the server did get the token it echoed
        }
        var sources = new List<(string, string)> { ("engine results, events, exceptions", seen.ToString()) };
        sources.AddRange(FilesUnder(root));
        Assert.True(File.Exists(log), "no log to search");
        var hits = Fragments(secret, sources);
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }

    // ---- item 5: through talos-order (--json, --log, stdout, stderr) ----

    [Theory]
    [InlineData("github", 470, 0, 401)]
    [InlineData("github", 480, 30, 401)]
    [InlineData("proxmox", 243, 0, 400)]
    public async Task A_secret_echoed_around_a_cut_leaves_no_fragment_in_talos_order_output_log_or_manifests(string server, int offset, int keep, int status)
    {
        var (secret, env, source, version, push) = Arrange(server, offset, keep, status);
        var root = _dir.File("cli");
        var config = Config("cli", source);
        var orders = Orders("cli", version, push);
        var log = Path.Combine(root, "logs", "run.log");
        env["TALOS_FACTORY_URL"] = _factory.BaseUrl;

        var json = await TalosOrderProcess.RunAsync(root, env, "--config", config, "--orders", orders, "--log", log, "--json", "--verbose");
        var text = await TalosOrderProcess.RunAsync(root, env, "--config", config, "--orders", orders, "--log", log, "--verbose");

        Assert.True(json.ExitCode == 1, json.Stderr);
        Assert.Equal(1, text.ExitCode);
        Assert.Contains(status.ToString(), json.Stdout + json.Stderr);
        Assert.Contains("....", text.Stdout + text.Stderr);
        var sources = new List<(string, string)>
        {
            ("stdout --json", json.Stdout), ("stderr --json", json.Stderr), ("stdout", text.Stdout), ("stderr", text.Stderr),
        };
        sources.AddRange(FilesUnder(root));
        Assert.Contains(sources, s => s.Item1.EndsWith("run.log", StringComparison.Ordinal));
        Assert.Contains(sources, s => s.Item1.EndsWith("manifest-RED-1.yaml", StringComparison.Ordinal));
        var hits = Fragments(secret, sources);
        _output.WriteLine(File.ReadAllLines(log).First(l => l.Contains("outcome=failed", StringComparison.Ordinal)));
        Assert.True(hits.Count == 0, string.Join("\n", hits));
    }

    // ---- item 5: the mechanism itself, at every offset around each cut ----

    [Fact]
    public void Excerpt_and_ForMessage_redact_before_they_cut_at_every_offset()
    {
        var secret = NewGitHubToken();
        SafeText.AddSecret(secret);
        var checks = 0;
        foreach (var max in new[] { 200, 300, 500 })
        {
            for (var offset = max - secret.Length - 10; offset <= max + 10; offset++)
            {
                var whole = Padding(offset) + "Bearer " + secret + " refused";
                for (var keep = 0; keep <= secret.Length; keep += keep < 12 ? 1 : 7)
                {
                    // keep > 0: the text already ends inside the secret (cut before it got here).
                    var text = keep == 0 ? whole : Padding(offset) + "Bearer " + secret.Substring(0, keep);
                    var outputs = new[]
                    {
                        SafeText.Excerpt(text, max), SafeText.ForMessage(text, max), SafeText.Printable(text), SafeText.Redact(text),
                        new TalosException(TalosErrors.InvalidServerAnswer, text).Message,
                        SafeText.Excerpt(secret.Substring(keep / 2) + Padding(offset), max), // starts inside the secret
                    };
                    var hits = Fragments(secret, outputs.Select((o, i) => ($"output {i}, max {max}, offset {offset}, keep {keep}", o)));
                    Assert.True(hits.Count == 0, string.Join("\n", hits));
                    checks += outputs.Length;
                }
            }
        }
        _output.WriteLine($"{checks} texts checked");
    }

    // ---- item 6: URLs never show their user info ----

    [Fact]
    public void A_refused_url_with_a_password_never_shows_it_and_the_environment_message_says_what_is_wrong()
    {
        const string factoryPassword = "fAct0ryPassw0rd";
        const string githubPassword = "gitHubPassw0rd";
        const string envPassword = "envVariablePassw0rd";
        var c = _dir.Write("urls/config.yaml", $"""
            defaults:
              factory_url: http://alice:{factoryPassword}@127.0.0.1:1
              github_api_url: https://bob:{githubPassword}@127.0.0.1:2/api
            """);
        var o = _dir.Write("urls/orders.yaml", "- orderid: A\n");

        var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(c, o, n => n == OrderLoader.FactoryUrlVariable ? $"http://carol:{envPassword}@127.0.0.1:3" : null));

        _output.WriteLine(e.Message);
        Assert.Equal(3, e.Problems.Count);
        foreach (var password in new[] { factoryPassword, githubPassword, envPassword })
        {
            Assert.DoesNotContain(password, e.Message);
            Assert.DoesNotContain(password, e.ToString());
            Assert.All(e.Problems, p => Assert.DoesNotContain(password, p.ToString()));
        }
        var env = Assert.Single(e.Problems, p => p.Key == OrderLoader.FactoryUrlVariable);
        Assert.DoesNotContain("must be an http(s) URL", env.Message); // it is one: the password is what is wrong
        Assert.Contains("user name or password", env.Message);
        Assert.Contains("http://***@127.0.0.1:3", env.Message);
        Assert.Contains(e.Problems, p => p.Key == "defaults.factory_url" && p.Message.Contains("http://***@127.0.0.1:1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_github_api_url_with_a_password_given_to_the_engine_never_shows_it()
    {
        const string password = "resolverPassw0rd";
        var e = await Assert.ThrowsAnyAsync<TalosException>(() => new VersionResolver(new VersionSourceOptions
        {
            Source = "github",
            FactoryUrl = _factory.BaseUrl,
            GitHubApiUrl = $"ftp://dave:{password}@127.0.0.1:4/api",
            Environment = _ => null,
            Http = FastHttp.Options,
        }, NullEngineEvents.Instance).ResolveAsync(VersionRequest.Latest, CancellationToken.None));

        _output.WriteLine(e.Message);
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            Assert.DoesNotContain(password, x.Message);
            Assert.DoesNotContain(password, (x as TalosException)?.Target?.ToString() ?? "");
        }
        Assert.DoesNotContain(password, e.ToString());
    }

    [Fact]
    public async Task Talos_order_with_a_password_in_TALOS_FACTORY_URL_exits_2_without_showing_it()
    {
        const string password = "cronPassw0rd";
        var c = _dir.Write("cron/config.yaml", $"defaults:\n  cache_dir: {_dir.File("cron/cache")}\n");
        var o = _dir.Write("cron/orders.yaml", "- orderid: A\n  positions:\n    - {name: a, product: talos, version: v1.11.5, customization: {}}\n");

        var r = await TalosOrderProcess.RunAsync(_dir.File("cron"), new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = $"https://ops:{password}@127.0.0.1:5" },
            "--config", c, "--orders", o);

        Assert.True(r.ExitCode == 2, r.Stderr);
        Assert.DoesNotContain(password, r.Stdout + r.Stderr);
        Assert.Contains("TALOS_FACTORY_URL", r.Stderr);
        Assert.Contains("user name or password", r.Stderr);
        _output.WriteLine(r.Stderr);
    }

    // ---- item 13: one escaping rule for every output ----

    [Fact]
    public async Task Control_and_line_separator_characters_from_names_and_server_bodies_reach_no_output_raw()
    {
        // The name holds ESC, BEL, NUL, U+2028 and NEL (YAML escapes), and so does the GitHub API's error body.
        const string name = "\"pos\\e[31m\\a\\0\\L\\N-end\"";
        _githubAnswer = _ => (401, "denied \u001b[2J\u0007 nul\0 ls\u2028 nel\u0085 forged-line");
        var env = new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = _factory.BaseUrl };

        // Through the engine (the log, the failures, the manifests) ...
        var events = new RecordingEvents();
        var result = await RunEngineAsync(Config("esc-engine", "github"), Orders("esc-engine", "latest", push: false, name), _dir.File("esc-engine/logs/run.log"), env, events);
        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var failure = Assert.Single(result.Failures);
        _output.WriteLine(failure.Message);
        Assert.Contains("forged-line", failure.Message);

        // ... and through talos-order (--log, --json, stdout, stderr).
        var root = _dir.File("esc-cli");
        var config = Config("esc-cli", "github");
        var orders = Orders("esc-cli", "latest", push: false, name);
        var log = Path.Combine(root, "logs", "run.log");
        var json = await TalosOrderProcess.RunAsync(root, env, "--config", config, "--orders", orders, "--log", log, "--json", "--verbose");
        var text = await TalosOrderProcess.RunAsync(root, env, "--config", config, "--orders", orders, "--log", log, "--verbose");
        Assert.True(json.ExitCode == 1, json.Stderr);
        Assert.Equal(1, text.ExitCode);

        var logs = new[] { _dir.File("esc-engine/logs/run.log"), log }.Select(f => (f, File.ReadAllText(f))).ToList();
        Assert.All(logs, l => Assert.Contains("forged-line", l.Item2)); // the server's text is in the log ...
        Assert.All(logs, l => Assert.Contains("-end", l.Item2)); // ... and so is the name
        var sources = new List<(string Name, string Text)>(logs)
        {
            ("failure message", failure.Message), ("warnings", string.Join("\n", events.Warnings)),
            ("stdout --json", json.Stdout), ("stderr --json", json.Stderr), ("stdout", text.Stdout), ("stderr", text.Stderr),
        };
        sources.AddRange(Directory.GetFiles(_dir.Path, "manifest-*.yaml", SearchOption.AllDirectories).Select(f => (f, File.ReadAllText(f))));
        var raw = sources.SelectMany(s => Hostile.Where(c => s.Text.Contains(c)).Select(c => $"{s.Name} holds U+{(int)c:X4} raw")).ToList();
        Assert.True(raw.Count == 0, string.Join("\n", raw));
        // One record per line, and the same escapes as on the console.
        Assert.All(logs, l => Assert.All(File.ReadAllLines(l.Item1), line => Assert.StartsWith("time=", line)));
        Assert.Contains(@"\x1b[31m", File.ReadAllText(log).Replace(@"\\", @"\"));
        Assert.Contains(@"\u2028", File.ReadAllText(log).Replace(@"\\", @"\"));
        _output.WriteLine(File.ReadAllLines(log).First(l => l.Contains("outcome=failed", StringComparison.Ordinal)));
    }
}
