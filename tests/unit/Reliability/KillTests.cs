using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Http;
using TalosImage.Tests.Cli;
using TalosImage.Tests.Servers;
using Xunit;
using Xunit.Abstractions;

namespace TalosImage.Tests.Reliability;

public sealed class KillFactory : ReliabilityFactory
{
    protected override int IsoSize => 2 << 20;
    protected override int RawSize => 24 << 20;
}

/// <summary>
/// talos-order as a separate process, SIGKILLed (with its rsync/ssh children) at seeded random points while it
/// downloads, expands and pushes; and a push whose ssh connection dies mid-transfer. After every kill: no cache file,
/// manifest or remote file under a final name is incomplete (all hashed); the next run is not blocked by the dead
/// run's lock and, once the last kill is done, completes with exit 0.
/// </summary>
[Collection("sshd")]
public sealed class KillTests : IClassFixture<KillFactory>, IDisposable
{
    private const int KillsPerStage = 3;

    /// <summary>rsync options for a push that must still be running when the test cuts it: 2 MiB takes 8 s.</summary>
    private const string SlowRsync = "-a --bwlimit=256";
    private readonly SshServerFixture _sshd;
    private readonly KillFactory _images;
    private readonly ITestOutputHelper _output;
    private readonly TempDir _dir = new();
    private readonly string _remote;
    private readonly string _cache;
    private int _audited;

    public KillTests(SshServerFixture sshd, KillFactory images, ITestOutputHelper output)
    {
        _sshd = sshd;
        _images = images;
        _output = output;
        _remote = Path.Combine(_dir.Path, "remote");
        _cache = Path.Combine(_dir.Path, "cache");
    }

    private FakeImageFactory Factory => _images.Factory;

    public void Dispose()
    {
        Factory.ImageFault = null;
        _dir.Dispose();
    }

    private void SkipWithoutSshd() => Skip.If(_sshd.Unavailable is not null, "no real sshd here: " + _sshd.Unavailable);

    private string Config(string rsyncOptions = "-a")
    {
        var known = _dir.Write("known_hosts", "talos-rel " + string.Join(' ', File.ReadAllText(_sshd.HostKeyPath + ".pub").Trim().Split(' ').Take(2)) + "\n");
        return _dir.Write("config.yaml", $"""
            defaults:
              cache_dir: {_cache}
              proxmox_default_iso_dir: {_remote}/iso
              proxmox_default_import_dir: {_remote}/import
              concurrency: 1
              lock_timeout: 5
              push:
                ssh_opts: "-p {_sshd.Port} -i {_sshd.KeyPath} -o IdentitiesOnly=yes -o HostName=127.0.0.1 -o HostKeyAlias=talos-rel -o UserKnownHostsFile={known} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes"
                rsync_opts: "{rsyncOptions}"
            manifest:
              dir: {_dir.Path}/manifests
            """);
    }

    private const string IsoPush = """
        - orderid: KILL-1
          positions:
            - {name: iso, product: talos, version: v1.11.5, customization: {}, push: {enabled: true, hosts: [pve-01.example.lan]}}
        """;

    private const string Disk = """
        - orderid: KILL-1
          positions:
            - {name: disk, product: talos, version: v1.11.5, image_format: raw.xz, decompress_raw: true, customization: {}}
        """;

    private Dictionary<string, string> Environment(IDictionary<string, string>? extra = null)
    {
        var env = new Dictionary<string, string> { ["TALOS_FACTORY_URL"] = Factory.BaseUrl };
        foreach (var kv in extra ?? new Dictionary<string, string>())
        {
            env[kv.Key] = kv.Value;
        }
        return env;
    }

    private string[] Args(string config, string orders) => new[] { "--config", config, "--orders", _dir.Write("orders.yaml", orders) };

    /// <summary>
    /// Starts talos-order, waits until <paramref name="stage"/> says the stage is under way, waits
    /// <paramref name="delay"/> more and SIGKILLs the process tree. True when the process was still running.
    /// </summary>
    private async Task<bool> KillDuringAsync(string[] args, Func<CancellationToken, Task> stage, TimeSpan delay, IDictionary<string, string>? env = null)
    {
        using var process = TalosOrderProcess.Start(_dir.Path, Environment(env), args);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reached = stage(stop.Token);
        var first = await Task.WhenAny(reached, process.WaitForExitAsync(stop.Token));
        if (first != reached)
        {
            stop.Cancel();
            Assert.Fail($"talos-order ended (exit {(process.HasExited ? process.ExitCode : -1)}) before the stage was reached: {process.StderrSoFar}");
        }
        await reached;
        await Task.Delay(delay);
        var alive = !process.HasExited;
        process.Kill(); // the whole tree
        await process.WaitForExitAsync(CancellationToken.None);
        return alive;
    }

    /// <summary>Completes when a file matching <paramref name="match"/> appears under <paramref name="root"/>.</summary>
    private static async Task Appears(string root, Func<string, bool> match, CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (Directory.Exists(root) && Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Any(f => match(Path.GetFileName(f))))
            {
                return;
            }
            await Task.Delay(2, ct);
        }
    }

    private void AuditAll()
    {
        _audited += Audit.CacheHoldsOnlyCompleteFiles(_cache);
        _audited += Audit.RemoteHoldsOnlyWholeFiles(_remote, _images.Iso, _images.Raw);
        _audited += Audit.ManifestsAreComplete(Path.Combine(_dir.Path, "manifests"));
    }

    private async Task FinalRunCompletes(string config, string orders, bool tookOverLock)
    {
        var r = await TalosOrderProcess.RunAsync(_dir.Path, Environment(), Args(config, orders));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        if (tookOverLock)
        {
            Assert.Contains("stale cache lock", r.Stderr);
        }
        Assert.Contains("KILL-1: Succeeded", r.Stdout);
        AuditAll();
    }

    [SkippableFact]
    public async Task Killed_during_download_leaves_no_incomplete_final_file_and_the_next_run_completes()
    {
        SkipWithoutSshd();
        var config = Config();
        var sending = new TaskCompletionSource();
        // The image trickles out (64 KiB every 10 ms), so a kill after the first bytes lands mid-download.
        Factory.ImageFault = async (ctx, bytes) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentLength = bytes.Length;
            try
            {
                for (var at = 0; at < bytes.Length; at += 64 << 10)
                {
                    await ctx.Response.Body.WriteAsync(bytes.AsMemory(at, Math.Min(64 << 10, bytes.Length - at)), ctx.RequestAborted);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                    sending.TrySetResult();
                    await Task.Delay(10, ctx.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
            return true;
        };
        var rng = new Random(2101);
        var landed = 0;
        var alive = false;
        for (var k = 0; k < KillsPerStage; k++)
        {
            sending = new TaskCompletionSource();
            alive = await KillDuringAsync(Args(config, IsoPush), ct => sending.Task.WaitAsync(ct), TimeSpan.FromMilliseconds(rng.Next(0, 300)));
            landed += alive ? 1 : 0;
            AuditAll();
        }
        Factory.ImageFault = null;
        await FinalRunCompletes(config, IsoPush, alive);
        _output.WriteLine($"figures: download kills {KillsPerStage} ({landed} while running), files hash-checked {_audited}");
    }

    [SkippableFact]
    public async Task Killed_during_expansion_leaves_no_incomplete_final_file_and_the_next_run_completes()
    {
        SkipWithoutSshd();
        var config = Config();
        var rng = new Random(2102);
        var landed = 0;
        var alive = false;
        for (var k = 0; k < KillsPerStage; k++)
        {
            alive = await KillDuringAsync(Args(config, Disk), ct => Appears(_cache, n => n.EndsWith(".raw.part", StringComparison.Ordinal), ct),
                TimeSpan.FromMilliseconds(rng.Next(0, 150)));
            landed += alive ? 1 : 0;
            AuditAll();
        }
        await FinalRunCompletes(config, Disk, alive);
        var raw = Assert.Single(Directory.GetFiles(_cache, "*.raw", SearchOption.AllDirectories));
        Assert.Equal(Audit.Sha256(_images.Raw), Audit.Sha256(raw));
        _output.WriteLine($"figures: expansion kills {KillsPerStage} ({landed} while running), files hash-checked {_audited}");
    }

    [SkippableFact]
    public async Task Killed_during_push_leaves_no_incomplete_remote_file_and_the_next_run_completes()
    {
        SkipWithoutSshd();
        // 2 MiB at 256 KiB/s: the push takes 8 s, so a kill at most 600 ms after its temporary file appears lands
        // mid-transfer even on a loaded machine (at 2 MB/s, one CI run in many finished the push first). The final run is not slowed.
        var config = Config(SlowRsync);
        var rng = new Random(2103);
        var landed = 0;
        var alive = false;
        for (var k = 0; k < KillsPerStage; k++)
        {
            alive = await KillDuringAsync(Args(config, IsoPush), ct => Appears(Path.Combine(_remote, "iso"), n => n.StartsWith('.'), ct),
                TimeSpan.FromMilliseconds(rng.Next(0, 600)));
            landed += alive ? 1 : 0;
            AuditAll();
            Assert.Empty(Directory.GetFiles(Path.Combine(_remote, "iso"), "*.iso"));
        }
        Assert.Equal(KillsPerStage, landed); // every kill cut a running push
        await FinalRunCompletes(Config(), IsoPush, alive);
        var iso = Assert.Single(Directory.GetFiles(Path.Combine(_remote, "iso"), "*.iso"));
        Assert.Equal(Audit.Sha256(_images.Iso), Audit.Sha256(iso));
        _output.WriteLine($"figures: push kills {KillsPerStage} ({landed} while running), files hash-checked {_audited}");
    }

    [SkippableTheory]
    [InlineData(11)]
    [InlineData(12)]
    public async Task An_ssh_connection_that_dies_mid_transfer_fails_the_push_clearly_and_a_rerun_finishes(int seed)
    {
        SkipWithoutSshd();
        var realSsh = SshServerFixture.FindOnPath("ssh")!;
        // A fake ssh first in PATH: rsync's connection (remote command rsync --server) is SIGKILLed after
        // TALOS_TEST_SSH_KILL_AFTER seconds, while rsync (slowed to 256 KiB/s, 8 s in all) is still sending the 2 MiB image.
        var bin = Path.Combine(_dir.Path, "bin");
        var fake = _dir.Write("bin/ssh", $$"""
            #!/bin/sh
            case "$*" in
              *"rsync --server"*)
                if [ -n "$TALOS_TEST_SSH_KILL_AFTER" ]; then exec timeout -s KILL "$TALOS_TEST_SSH_KILL_AFTER" {{realSsh}} "$@"; fi ;;
            esac
            exec {{realSsh}} "$@"
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var path = bin + ":" + System.Environment.GetEnvironmentVariable("PATH");
        var after = (new Random(seed).Next(150, 600) / 1000.0).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        var config = Config(SlowRsync);
        var log = Path.Combine(_dir.Path, "run.log");

        var broken = await TalosOrderProcess.RunAsync(_dir.Path, Environment(new Dictionary<string, string> { ["PATH"] = path, ["TALOS_TEST_SSH_KILL_AFTER"] = after }),
            Args(config, IsoPush).Concat(new[] { "--log", log }).ToArray());

        Assert.True(broken.ExitCode == 1, broken.Stdout + broken.Stderr);
        Assert.Contains("KILL-1: Failed", broken.Stdout);
        Assert.DoesNotContain("   at ", broken.Stderr);
        var failed = File.ReadAllLines(log).First(l => l.Contains("stage=publish outcome=failed"));
        Assert.Contains("rsync to pve-01.example.lan:", failed);
        _output.WriteLine($"ssh killed after {after} s: {failed}");
        AuditAll();
        Assert.Empty(Directory.GetFiles(Path.Combine(_remote, "iso"), "*.iso"));

        var again = await TalosOrderProcess.RunAsync(_dir.Path, Environment(new Dictionary<string, string> { ["PATH"] = path }), Args(Config(), IsoPush));

        Assert.True(again.ExitCode == 0, again.Stdout + again.Stderr);
        Assert.Equal(Audit.Sha256(_images.Iso), Audit.Sha256(Assert.Single(Directory.GetFiles(Path.Combine(_remote, "iso"), "*.iso"))));
        AuditAll();
        _output.WriteLine($"figures: ssh kills 1, files hash-checked {_audited}");
    }
}
