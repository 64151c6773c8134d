using System.Diagnostics;
using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Publishing.Proxmox;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.EndToEnd;

/// <summary>
/// Images the loopback factory serves in the end-to-end tests: a small disk image (zeros, random data, text) and its
/// xz and zstd forms made by the real tools, and an ISO-sized blob of random bytes.
/// </summary>
public sealed class EndToEndImages : IAsyncLifetime
{
    public FakeImageFactory Factory { get; private set; } = null!;
    public byte[] Iso { get; } = RandomBytes(300_000, 1);
    public byte[] Raw { get; private set; } = Array.Empty<byte>();
    public byte[] RawXz { get; private set; } = Array.Empty<byte>();
    public byte[] RawZst { get; private set; } = Array.Empty<byte>();

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    private static byte[] RandomBytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public async Task InitializeAsync()
    {
        var raw = new byte[6 * 1024 * 1024];
        RandomBytes(512 * 1024, 2).CopyTo(raw, 1024 * 1024);
        System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("talos end to end ", 4000))).CopyTo(raw, 3 * 1024 * 1024);
        Raw = raw;
        (RawXz, RawZst) = await TestImages.CompressAsync(raw, zstdLevel: 3);
        Factory = await FakeImageFactory.StartAsync();
        Factory.Extensions = new()
        {
            new("siderolabs/qemu-guest-agent"), new("siderolabs/iscsi-tools"), new("siderolabs/amd-ucode"),
            new("siderolabs/binfmt-misc"), new("siderolabs/btrfs"),
        };
        Factory.Images = (_, _, asset) =>
            asset.EndsWith(".iso", StringComparison.Ordinal) ? Iso
            : asset.EndsWith(".raw.xz", StringComparison.Ordinal) ? RawXz
            : asset.EndsWith(".raw.zst", StringComparison.Ordinal) ? RawZst
            : null;
    }

    public async Task DisposeAsync() => await Factory.DisposeAsync();
}

/// <summary>
/// Whole runs through the order runner and talos-order against the loopback factory, a real sshd and the Proxmox API
/// fake: talos_order.py's own orders.yaml, shared work, failures that stay with their position, a second run that
/// changes nothing, and a dry run that touches no file.
/// </summary>
[Collection("sshd")]
public sealed class EndToEndTests : IClassFixture<EndToEndImages>, IDisposable
{
    private readonly SshServerFixture _sshd;
    private readonly EndToEndImages _images;
    private readonly TempDir _dir = new();
    private readonly string _remote;

    public EndToEndTests(SshServerFixture sshd, EndToEndImages images)
    {
        _sshd = sshd;
        _images = images;
        _remote = Path.Combine(_dir.Path, "remote");
    }

    public void Dispose() => _dir.Dispose();

    private FakeImageFactory Factory => _images.Factory;

    private void SkipWithoutSshd() => Skip.If(_sshd.Unavailable is not null, "no real sshd here: " + _sshd.Unavailable);

    /// <summary>
    /// ssh options that send every host name of the orders (pve-01.example.lan ...) to the loopback sshd: HostName
    /// redirects, HostKeyAlias pins the test host key under one name. No other address is ever contacted.
    /// </summary>
    private string SshOptions()
    {
        var known = _dir.Write("known_hosts", "talos-e2e " + string.Join(' ', File.ReadAllText(_sshd.HostKeyPath + ".pub").Trim().Split(' ').Take(2)) + "\n");
        return $"-p {_sshd.Port} -i {_sshd.KeyPath} -o IdentitiesOnly=yes -o HostName=127.0.0.1 -o HostKeyAlias=talos-e2e " +
               $"-o UserKnownHostsFile={known} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes";
    }

    private string Config(int concurrency = 4, string extra = "") => _dir.Write("config.yaml", $"""
        defaults:
          cache_dir: {_dir.Path}/cache
          proxmox_default_iso_dir: {_remote}/iso
          proxmox_default_import_dir: {_remote}/import
          concurrency: {concurrency}
          push:
            ssh_opts: "{SshOptions()}"
            rsync_opts: "-a"
          cache_policy:
            enabled: true
            keep_versions: 3
        manifest:
          dir: {_dir.Path}/manifests
        {extra}
        """);

    private Task<RunResult> RunAsync(string config, string orders, bool dryRun = false, IDictionary<string, string>? environment = null) =>
        new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            DryRun = dryRun,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : environment is not null && environment.TryGetValue(n, out var v) ? v : null,
        }, NullEngineEvents.Instance).RunAsync(CancellationToken.None);

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    [SkippableFact]
    public async Task Talos_order_py_orders_run_end_to_end_and_a_second_run_changes_nothing()
    {
        SkipWithoutSshd();
        // talos_order.py's orders.yaml unchanged; one push at a time because both of its hosts are this machine.
        var orders = TestPaths.Compat("talos_order-orders.yaml");
        var config = Config(concurrency: 1);
        var posts = Factory.SchematicPosts;
        var gets = Factory.ImageGets;

        var first = await RunAsync(config, orders);

        Assert.True(first.ExitCode == 0, string.Join("\n", first.Failures.Select(f => f.Message)));
        var order = Assert.Single(first.Orders);
        Assert.Equal(("Succeeded", true), (order.Status, order.Changed));
        Assert.Equal(_images.RawXz.Length, order.BytesDownloaded);
        Assert.Equal(1, Factory.SchematicPosts - posts);
        Assert.Equal(1, Factory.ImageGets - gets);
        var raw = Assert.Single(Directory.GetFiles(Path.Combine(_remote, "import"), "*.raw"));
        Assert.Equal(new[] { raw + ".sha256" }, Directory.GetFiles(Path.Combine(_remote, "import"), "*.sha256"));
        Assert.Equal(EndToEndImages.Sha256(_images.Raw), Hash(raw));
        var manifest = File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-ORD-2025-0001.yaml"));
        Assert.Contains("status: Succeeded", manifest);
        Assert.Contains("installer_image: 127.0.0.1:", manifest);
        Assert.Contains("nocloud-installer-secureboot/", manifest);
        // Both host entries are one folder: whichever push gets the transfer slot first sends the file, the other finds
        // it there (each host's probe runs in its own batch, in parallel, so which one is first is not fixed).
        var sent = new[] { "pve-01.example.lan", "pve-02.example.lan" }
            .Select(h => (Host: h, Ok: manifest.Contains($"- host: {h}\n    status: ok"), Skipped: manifest.Contains($"- host: {h}\n    status: skipped")))
            .ToList();
        Assert.Single(sent, h => h.Ok && !h.Skipped);
        Assert.Single(sent, h => h.Skipped && !h.Ok); // the same file was already there
        Assert.Contains($"sha256: {EndToEndImages.Sha256(_images.Raw)}", manifest);

        var second = await RunAsync(config, orders);

        Assert.Equal(0, second.ExitCode);
        var again = Assert.Single(second.Orders);
        Assert.False(again.Changed, "a second identical run reported a change");
        Assert.Equal((0L, 0L), (again.BytesDownloaded, again.BytesPushed));
        Assert.Equal(1, Factory.ImageGets - gets);
        // Nothing needed the factory: the schematic's image is in the cache under the ID computed here.
        Assert.Equal(1, Factory.SchematicPosts - posts);
        var manifest2 = File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-ORD-2025-0001.yaml"));
        Assert.Contains("from_cache: true", manifest2);
        Assert.Contains("schematic_source: cache", manifest2);
        Assert.DoesNotContain("status: ok\n    transport", manifest2);

        // A dry run now says that nothing needs downloading or expanding.
        var plan = await RunAsync(config, orders, dryRun: true);
        var p = plan.Plan.Orders.Single().Positions.Single();
        Assert.True(p.Cached && p.ExpandedCached, "the dry run did not see the cached artifact and its expansion");
        Assert.Contains("cached " + p.CachePath, PlanReport.Format(plan.Plan));
    }

    [SkippableFact]
    public async Task Shared_work_is_done_once_and_failures_stay_with_their_position()
    {
        SkipWithoutSshd();
        await using var proxmox = await FakeProxmox.StartAsync();
        var config = Config(extra: $"""
            proxmox:
              lab:
                url: {proxmox.Endpoint}
                node: pve1
                storage: local
                token_env: E2E_PVE_TOKEN
                fingerprint: "{proxmox.Fingerprint}"
            """);
        var orders = _dir.Write("orders.yaml", $$"""
            orders:
              - orderid: E2E-1
                customer: Loopback Lab
                positions:
                  - name: iso
                    product: talos
                    version: v1.11.5
                    customization: {systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]} }
                    push: {enabled: true, hosts: [{host: pve-01.example.lan, iso_dir: {{_remote}}/a/iso}]}
                  - name: disk
                    product: talos
                    version: v1.11.5
                    image_format: raw.xz
                    decompress_raw: true
                    customization: {systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]} }
                    push:
                      enabled: true
                      prefer_decompressed: true
                      hosts:
                        - {host: pve-01.example.lan, import_dir: {{_remote}}/a/import}
                        - {host: pve-02.example.lan, import_dir: {{_remote}}/b/import}
                  - name: metal
                    product: talos
                    version: v1.11.5
                    platform: metal
                    image_format: raw.zst
                    customization: {systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agent]} }
                  - name: typo
                    product: talos
                    version: v1.11.5
                    customization: {systemExtensions: {officialExtensions: [siderolabs/qemu-guest-agnet]} }
                  - name: refused
                    product: talos
                    version: v1.11.5
                    customization: {}
                    push: {enabled: true, hosts: [{host: nobody-e2e@pve-03.example.lan, iso_dir: {{_remote}}/c/iso}]}
                  - name: api
                    product: talos
                    version: v1.11.5
                    customization: {}
                    push: {enabled: true, proxmox: [lab]}
            """);
        var posts = Factory.SchematicPosts;
        var gets = Factory.ImageGets;

        var result = await RunAsync(config, orders, environment: new Dictionary<string, string> { ["E2E_PVE_TOKEN"] = FakeProxmox.Token });

        Assert.Equal(ExitCodes.Failed, result.ExitCode);
        var order = Assert.Single(result.Orders);
        Assert.Equal(("PartiallyFailed", 6, 2), (order.Status, order.Positions, order.Failed));
        Assert.Equal(new[] { "refused", "typo" }, result.Failures.Select(f => f.Position).OrderBy(x => x));
        var typo = result.Failures.Single(f => f.Position == "typo");
        Assert.Equal("UnknownExtension", typo.ErrorId);
        Assert.Contains("siderolabs/qemu-guest-agent", typo.Message); // the nearest official name
        Assert.Equal("PublishFailed", result.Failures.Single(f => f.Position == "refused").ErrorId);

        // Three distinct schematics were created once each; the vanilla ISO is downloaded once for two positions.
        Assert.Equal(3, Factory.SchematicPosts - posts);
        Assert.Equal(4, Factory.ImageGets - gets);

        var expandedSha = EndToEndImages.Sha256(_images.Raw);
        Assert.Equal(expandedSha, Hash(Assert.Single(Directory.GetFiles(Path.Combine(_remote, "a", "import"), "*.raw"))));
        Assert.Equal(expandedSha, Hash(Assert.Single(Directory.GetFiles(Path.Combine(_remote, "b", "import"), "*.raw"))));
        Assert.Equal(EndToEndImages.Sha256(_images.Iso), Hash(Assert.Single(Directory.GetFiles(Path.Combine(_remote, "a", "iso"), "*.iso"))));
        Assert.False(Directory.Exists(Path.Combine(_remote, "c", "iso")) && Directory.GetFiles(Path.Combine(_remote, "c", "iso")).Length > 0);
        Assert.Single(proxmox.Files.SelectMany(f => f.Value.Keys), v => v.StartsWith("local:iso/", StringComparison.Ordinal));

        var manifest = File.ReadAllText(Path.Combine(_dir.Path, "manifests", "manifest-E2E-1.yaml"));
        Assert.Contains("status: PartiallyFailed", manifest);
        Assert.Contains("- name: typo\n  status: failed\n  error: \"position failed at schematic:", manifest);
        Assert.Contains("volume_id: local:iso/", manifest);
        Assert.DoesNotContain(FakeProxmox.Secret, manifest);
    }

    [SkippableFact]
    public async Task A_dry_run_changes_no_file_and_asks_the_factory_for_no_schematic_or_image()
    {
        SkipWithoutSshd();
        var config = Config();
        var orders = TestPaths.Compat("talos_order-orders.yaml");
        Directory.CreateDirectory(_remote);
        var before = Snapshot(_dir.Path);
        var posts = Factory.SchematicPosts;
        var gets = Factory.ImageGets;

        var result = await RunAsync(config, orders, dryRun: true);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Planned", Assert.Single(result.Orders).Status);
        Assert.Equal(before, Snapshot(_dir.Path));
        Assert.Equal((0, 0), (Factory.SchematicPosts - posts, Factory.ImageGets - gets));
    }

    [SkippableFact]
    public async Task Talos_order_exits_1_when_a_position_fails_and_logs_every_stage()
    {
        SkipWithoutSshd();
        var config = Config();
        var orders = _dir.Write("orders.yaml", """
            - orderid: CLI-1
              positions:
                - {name: good, product: talos, version: v1.11.5, customization: {}}
                - {name: bad, product: talos, version: v1.11.5, customization: {systemExtensions: {officialExtensions: [siderolabs/nope]}}}
            """);
        var log = Path.Combine(_dir.Path, "run.log");

        var r = await TalosOrderProcess.RunAsync(_dir.Path, new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = Factory.BaseUrl },
            "--config", config, "--orders", orders, "--log", log);

        Assert.True(r.ExitCode == 1, r.Stderr);
        Assert.Contains("CLI-1: PartiallyFailed (1 ok, 1 failed of 2)", r.Stdout);
        Assert.Contains("failed: bad:", r.Stdout);
        Assert.DoesNotContain("   at ", r.Stderr);
        var lines = File.ReadAllLines(log);
        Assert.Contains(lines, l => l.Contains("order=CLI-1") && l.Contains("name=good") && l.Contains("stage=download outcome=ok"));
        Assert.Contains(lines, l => l.Contains("name=bad") && l.Contains("stage=schematic outcome=failed"));
        Assert.Contains(lines, l => l.Contains("stage=manifest outcome=ok"));
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    public async Task A_cancelled_run_leaves_nothing_incomplete_under_a_final_name_and_the_next_run_finishes(int cancelAtEvent)
    {
        SkipWithoutSshd();
        var config = Config();
        var orders = _dir.Write("orders.yaml", $$"""
            - orderid: STOP-1
              positions:
                - name: disk
                  product: talos
                  version: v1.11.5
                  image_format: raw.xz
                  decompress_raw: true
                  customization: {}
                  push: {enabled: true, prefer_decompressed: true, hosts: [{host: pve-01.example.lan, import_dir: {{_remote}}/import}]}
                - {name: iso, product: talos, version: v1.11.5, customization: {}, push: {enabled: true, hosts: [pve-02.example.lan]} }
            """);
        using var cancel = new CancellationTokenSource();
        var events = new CancelAfterEvents(cancelAtEvent, cancel);

        // Ctrl+C (talos-order) and StopProcessing (Invoke-TalosOrder) cancel this token.
        var stopped = await Record.ExceptionAsync(() => new OrderRunner(new RunOptions
        {
            ConfigPath = config,
            OrdersPath = orders,
            BaseDirectory = _dir.Path,
            Http = FastHttp.Options,
            Environment = n => n == OrderLoader.FactoryUrlVariable ? Factory.BaseUrl : null,
        }, events).RunAsync(cancel.Token));

        Assert.True(events.Cancelled, "the run ended before the cancellation point");
        Assert.IsAssignableFrom<OperationCanceledException>(stopped);
        // Every cache file under its final name is complete: its recorded hash is its content's.
        foreach (var meta in Directory.GetFiles(Path.Combine(_dir.Path, "cache"), "*.meta.json", SearchOption.AllDirectories))
        {
            var artifact = meta[..^".meta.json".Length];
            Assert.Equal(TalosImage.Core.Cache.ArtifactMetadata.TryRead(artifact)!.Sha256, Hash(artifact));
        }
        var finals = Directory.GetFiles(Path.Combine(_dir.Path, "cache"), "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".iso", StringComparison.Ordinal) || f.EndsWith(".raw", StringComparison.Ordinal) || f.EndsWith(".raw.xz", StringComparison.Ordinal));
        Assert.All(finals, f => Assert.True(File.Exists(f + ".meta.json"), f + " has a final name but no metadata"));
        // Remote files under final names are whole.
        var remoteFinals = Directory.Exists(_remote)
            ? Directory.GetFiles(_remote, "talos-*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".sha256", StringComparison.Ordinal)).ToList()
            : new List<string>();
        Assert.All(remoteFinals, f => Assert.Contains(Hash(f), new[] { EndToEndImages.Sha256(_images.Raw), EndToEndImages.Sha256(_images.Iso) }));

        var next = await RunAsync(config, orders);

        Assert.True(next.ExitCode == 0, string.Join("\n", next.Failures.Select(f => f.Message)));
        Assert.Equal("Succeeded", Assert.Single(next.Orders).Status);
    }

    /// <summary>Cancels the run at the Nth progress event (download, expansion or push under way).</summary>
    private sealed class CancelAfterEvents : IEngineEvents
    {
        private readonly int _at;
        private readonly CancellationTokenSource _cancel;
        private int _seen;

        public CancelAfterEvents(int at, CancellationTokenSource cancel) => (_at, _cancel) = (at, cancel);

        public bool Cancelled => _cancel.IsCancellationRequested;

        public void Progress(EngineProgress progress)
        {
            if (Interlocked.Increment(ref _seen) == _at)
            {
                _cancel.Cancel();
            }
        }

        public void Verbose(string message) { }
        public void Warning(string message) { }
    }

    /// <summary>Every file under <paramref name="root"/> with its size and last write time.</summary>
    private static string Snapshot(string root) =>
        string.Join("\n", Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(p => File.Exists(p) ? $"{p} {new FileInfo(p).Length} {File.GetLastWriteTimeUtc(p).Ticks}" : p + "/"));
}
