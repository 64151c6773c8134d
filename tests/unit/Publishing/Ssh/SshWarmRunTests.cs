using System.Security.Cryptography;
using TalosImage.Core;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Publishing.Ssh;

/// <summary>An sshd of its own that logs each accepted connection ("Accepted publickey"), so a test can count them.</summary>
public sealed class CountingSshd : IDisposable
{
    public SshServerFixture Server { get; } = new("INFO");

    public void Dispose() => Server.Dispose();
}

/// <summary>
/// One SSH connection per host per run and one probe command per host: the rsync transport's ssh runs counted through
/// a wrapper program (logs each invocation, then execs the real ssh) and through sshd's own log of accepted
/// connections; the sftp transport's through its connection pool. Two hosts are two host entries of one sshd
/// (<c>user@127.0.0.1</c> and <c>127.0.0.1</c>), each with its own remote folders.
/// </summary>
public sealed class SshWarmRunTests : IClassFixture<CountingSshd>, IDisposable
{
    private const string Schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

    private readonly SshServerFixture _sshd;
    private readonly TempDir _dir = new();
    private readonly string _log;
    private readonly string _wrapper;

    public SshWarmRunTests(CountingSshd sshd)
    {
        _sshd = sshd.Server;
        _log = Directory.CreateDirectory(Path.Combine(_dir.Path, "ssh-log")).FullName;
        _wrapper = Path.Combine(_dir.Path, "bin", "ssh");
        if (_sshd.Unavailable is null && !OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_wrapper)!);
            var real = SshServerFixture.FindOnPath("ssh")!;
            // One file per invocation (invocations run in parallel), the arguments separated by \037.
            File.WriteAllText(_wrapper, "#!/bin/sh\n" +
                $"f=$(mktemp '{_log}/ssh.XXXXXXXX') || exit 97\n" +
                "for a in \"$@\"; do printf '%s\\037' \"$a\"; done > \"$f\"\n" +
                $"exec '{real}' \"$@\"\n");
            File.SetUnixFileMode(_wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// A run whose probes wait long for the announced pushes: the batch then goes when the last announced push asked
    /// (what these tests check), never because a slow machine stretched the time between two of them.
    /// </summary>
    private static SshRun Run() => new() { Gather = TimeSpan.FromSeconds(20), MaxGather = TimeSpan.FromSeconds(20) };

    private void SkipWithoutSshd() => Skip.If(_sshd.Unavailable is not null, "no real sshd here: " + _sshd.Unavailable);

    /// <summary>The ssh invocations logged since the last <see cref="Invocations"/> call with <paramref name="clear"/>.</summary>
    private List<string[]> Invocations(bool clear = false)
    {
        var all = Directory.GetFiles(_log).Select(f => File.ReadAllText(f).TrimEnd('\u001f').Split('\u001f')).ToList();
        LearnSockets(all);
        if (clear)
        {
            foreach (var f in Directory.GetFiles(_log))
            {
                File.Delete(f);
            }
        }
        return all;
    }

    private static bool IsMaster(string[] args) => args.Contains("ControlMaster=yes") && args.Contains("-N");
    private static bool IsExit(string[] args) => Array.IndexOf(args, "-O") is var i and >= 0 && args.ElementAtOrDefault(i + 1) == "exit";
    private static bool IsProbeBatch(string[] args) => args[^1].Contains("talosimage-file");
    /// <summary>The ssh that rsync starts: <c>... HOST rsync --server ...</c>.</summary>
    private static bool IsRsync(string[] args) => Array.IndexOf(args, "--server") > 1;
    /// <summary>The host an invocation is for, by its control socket (rsync passes ssh <c>-l USER HOST</c>, not the target's name).</summary>
    private string HostOf(string[] args) => args.LastOrDefault(a => a.StartsWith("ControlPath=", StringComparison.Ordinal)) is { } path
        ? _sockets.TryGetValue(path, out var host) ? host : path
        : args[^2];

    /// <summary>ControlPath=... to the host whose master was started with it.</summary>
    private readonly Dictionary<string, string> _sockets = new(StringComparer.Ordinal);

    private void LearnSockets(IEnumerable<string[]> calls)
    {
        foreach (var master in calls.Where(IsMaster))
        {
            _sockets[master.Last(a => a.StartsWith("ControlPath=", StringComparison.Ordinal))] = master[^1];
        }
    }

    private int Accepted => _sshd.Log.Split('\n').Count(l => l.Contains("Accepted publickey"));

    private (string Host, string Root)[] Hosts => new[] { (_sshd.Host, "host-a"), ("127.0.0.1", "host-b") };

    private SshTarget Target(string host, string root, string? ssh = null, SshTransport transport = SshTransport.Rsync) => new()
    {
        Host = host,
        Transport = transport,
        IsoDir = Path.Combine(_dir.Path, "remote", root, "iso"),
        ImportDir = Path.Combine(_dir.Path, "remote", root, "import"),
        SshOptions = ssh ?? (host == Hosts[1].Host ? HostBOptions : _sshd.SshOptions),
        RsyncOptions = "-a --inplace",
    };

    /// <summary>Host b's ssh options: its own copy of known_hosts, so that the sftp transport (whose pool shares one
    /// connection per user, host, port and files) connects to it on its own, as to another host.</summary>
    private string HostBOptions
    {
        get
        {
            var copy = Path.Combine(_dir.Path, "known_hosts_b");
            if (!File.Exists(copy))
            {
                File.Copy(_sshd.KnownHostsPath, copy);
            }
            return _sshd.SshOptions.Replace(_sshd.KnownHostsPath, copy);
        }
    }

    private TalosArtifact Artifact(string asset, string format, byte[] content)
    {
        var path = Path.Combine(_dir.Path, "local", asset);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return new TalosArtifact
        {
            Path = path,
            Sha256 = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant(),
            Size = content.Length,
            SchematicId = Schematic,
            Version = "v1.11.5",
            Platform = asset.Split('-')[0],
            Architecture = "amd64",
            Format = format,
            Asset = asset,
        };
    }

    private static byte[] Bytes(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Four files: two ISOs and two raw disk images.</summary>
    private TalosArtifact[] FourFiles() => new[]
    {
        Artifact("nocloud-amd64.iso", "iso", Bytes(96 * 1024, 1)),
        Artifact("metal-amd64.iso", "iso", Bytes(64 * 1024, 2)),
        Artifact("nocloud-amd64.raw", "raw", Bytes(128 * 1024, 3)),
        Artifact("metal-amd64.raw", "raw", Bytes(32 * 1024, 4)),
    };

    private SshPublishOptions Options(SshRun run, SftpConnectionPool? pool = null, bool hideSsh = false) => new()
    {
        SshProgram = hideSsh ? "/nonexistent/talosimage-test/ssh" : _wrapper,
        RsyncProgram = hideSsh ? "/nonexistent/talosimage-test/rsync" : "rsync",
        ConnectTimeout = TimeSpan.FromSeconds(10),
        Run = run,
        Connections = pool,
        Credentials = new SftpCredentials { Environment = _ => null },
    };

    /// <summary>Every file to every target, all at once, announced first as an order run does.</summary>
    private static async Task<TalosPublishResult[]> PublishAllAsync(SshPublishOptions options, TalosArtifact[] files, SshTarget[] targets, CancellationToken ct = default)
    {
        var publisher = new SshPublisher(NullEngineEvents.Instance, options);
        var pushes = files.SelectMany(f => targets.Select(t => (File: f, Target: t))).ToList();
        var tickets = pushes.Select(p => options.Run!.Expect(p.Target, options)).ToList();
        return await Task.WhenAll(pushes.Select((p, i) => publisher.PublishAsync(p.File, p.Target, SshPublishMode.AsIs, tickets[i], ct)));
    }

    /// <summary>Processes whose command line names <paramref name="text"/> (a master left running would).</summary>
    private static List<int> ProcessesNaming(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(text, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    private static void AssertNoMasterLeft(string folder)
    {
        Assert.False(Directory.Exists(folder), folder + " is still there after the run");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (ProcessesNaming(folder).Count > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
        }
        Assert.Empty(ProcessesNaming(folder));
    }

    [SkippableFact]
    public async Task A_warm_run_of_four_files_to_two_hosts_opens_one_connection_and_runs_one_probe_per_host()
    {
        SkipWithoutSshd();
        var files = FourFiles();
        var targets = Hosts.Select(h => Target(h.Host, h.Root)).ToArray();
        string cold;
        using (var run = Run())
        {
            var first = await PublishAllAsync(Options(run), files, targets);
            Assert.All(first, r => Assert.True(r.Status == "Published", $"{r.Host} {r.Destination}: {r.Status} {r.Error}"));
            cold = run.ControlFolder!;
            Assert.Equal(2, run.Control.Started);
        }
        AssertNoMasterLeft(cold);
        var coldCalls = Invocations(clear: true);
        // Cold: per host one master, every push's rsync and finish through it.
        foreach (var (host, _) in Hosts)
        {
            var mine = coldCalls.Where(a => HostOf(a) == host).ToList();
            Assert.Single(mine, IsMaster);
            Assert.Equal(4, mine.Count(IsRsync));
            Assert.All(mine.Where(a => !IsMaster(a) && !IsExit(a)), a => Assert.Contains("ControlMaster=no", a));
        }

        var accepted = Accepted;
        string warm;
        TalosPublishResult[] second;
        using (var run = Run())
        {
            second = await PublishAllAsync(Options(run), files, targets);
            warm = run.ControlFolder!;
            Assert.True(Directory.Exists(warm));
            Assert.Equal(2, run.ProbeCommands);
        }

        Assert.All(second, r => Assert.True(r.Status == "Skipped" && r.Verified && r.BytesSent == 0, $"{r.Host} {r.Destination}: {r.Status} {r.Error}"));
        AssertNoMasterLeft(warm);
        var calls = Invocations();
        foreach (var (host, _) in Hosts)
        {
            var mine = calls.Where(a => HostOf(a) == host).ToList();
            Assert.Single(mine, IsMaster);
            Assert.Single(mine, IsProbeBatch);
            Assert.Single(mine, IsExit);
            Assert.Equal(3, mine.Count);
            Assert.DoesNotContain(mine, IsRsync);
        }
        // sshd saw exactly one connection per host: the masters (the probe and -O exit went over them).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Accepted - accepted < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Equal(2, Accepted - accepted);
    }

    [SkippableFact]
    public async Task A_changed_remote_file_is_still_found_and_sent_again_while_the_others_are_skipped()
    {
        SkipWithoutSshd();
        var files = FourFiles();
        var targets = Hosts.Select(h => Target(h.Host, h.Root)).ToArray();
        using (var run = Run())
        {
            Assert.All(await PublishAllAsync(Options(run), files, targets), r => Assert.Equal("Published", r.Status));
        }
        // On host b: one file changed behind our back with the same size (its sidecar is now older than it), one truncated.
        var changed = SshPublisher.DestinationFor(files[0], targets[1], SshPublishMode.AsIs);
        var truncated = SshPublisher.DestinationFor(files[2], targets[1], SshPublishMode.AsIs);
        File.WriteAllBytes(changed, Bytes(96 * 1024, 99));
        File.SetLastWriteTimeUtc(changed, DateTime.UtcNow.AddMinutes(1));
        File.WriteAllBytes(truncated, new byte[10]);
        Invocations(clear: true);

        // A changed file of the same name is replaced only when asked (push.replace / -Force, issue 19); else it is a
        // RemoteFileConflict, which SshPublisherTests covers.
        TalosPublishResult[] again;
        using (var run = Run())
        {
            again = await PublishAllAsync(Options(run), files, targets.Select(t => t with { Replace = true }).ToArray());
        }

        var resent = again.Where(r => r.Status == "Published").Select(r => r.Destination).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { changed, truncated }.Order(StringComparer.Ordinal), resent);
        Assert.All(again.Where(r => r.Status == "Published"), r => Assert.True(r.Verified));
        Assert.Equal(6, again.Count(r => r.Status == "Skipped"));
        Assert.Equal(files[0].Sha256, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(changed))).ToLowerInvariant());
        Assert.Equal(files[2].Sha256, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(truncated))).ToLowerInvariant());
        var hostB = Invocations().Where(a => HostOf(a) == Hosts[1].Host).ToList();
        Assert.Single(hostB, IsMaster);
        Assert.Single(hostB, IsProbeBatch);
        Assert.Equal(2, hostB.Count(IsRsync));
    }

    [SkippableFact]
    public async Task A_host_that_cannot_connect_fails_its_files_with_the_ssh_error_and_leaves_no_folder_or_master()
    {
        SkipWithoutSshd();
        var files = FourFiles();
        var good = Target(Hosts[0].Host, Hosts[0].Root);
        var bad = Target(Hosts[1].Host, Hosts[1].Root, ssh: _sshd.SshOptions.Replace(_sshd.KeyPath, _sshd.WrongKeyPath));
        string folder;
        TalosPublishResult[] results;
        using (var run = Run())
        {
            results = await PublishAllAsync(Options(run), files, new[] { good, bad });
            folder = run.ControlFolder!;
        }

        Assert.All(results.Where(r => r.Host == good.Host), r => Assert.Equal("Published", r.Status));
        Assert.All(results.Where(r => r.Host == bad.Host), r =>
        {
            Assert.Equal(("Failed", "SshConnectionFailed"), (r.Status, r.ErrorId));
            Assert.Contains("Permission denied", r.Error);
        });
        AssertNoMasterLeft(folder);
        // The failed master is tried once for the run: its four files do not each try again.
        Assert.Single(Invocations(), a => HostOf(a) == bad.Host);
    }

    [SkippableFact]
    public async Task A_cancelled_run_ends_its_masters_and_removes_the_folder()
    {
        SkipWithoutSshd();
        var files = new[] { Artifact("nocloud-amd64.raw", "raw", Bytes(48 << 20, 5)) };
        var targets = Hosts.Select(h => Target(h.Host, h.Root) with { RsyncOptions = "-a --inplace --bwlimit=2000" }).ToArray();
        using var cancel = new CancellationTokenSource();
        string? folder = null;
        using (var run = Run())
        {
            var pushing = PublishAllAsync(Options(run), files, targets, cancel.Token);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!Invocations().Any(IsRsync) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            Assert.Contains(Invocations(), IsRsync);
            folder = run.ControlFolder;
            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pushing);
        }

        Assert.NotNull(folder);
        AssertNoMasterLeft(folder!);
    }

    [SkippableFact]
    public async Task Connection_sharing_set_in_the_ssh_options_is_theirs_and_ours_stays_off()
    {
        SkipWithoutSshd();
        var files = FourFiles().Take(2).ToArray();
        var theirs = Path.Combine(_dir.Path, "their-socket");
        var target = Target(Hosts[0].Host, Hosts[0].Root, ssh: _sshd.SshOptions + " -o ControlMaster=no -o ControlPath=" + theirs);
        using (var run = Run())
        {
            Assert.All(await PublishAllAsync(Options(run), files, new[] { target }), r => Assert.Equal("Published", r.Status));
            Assert.Equal(0, run.Control.Started);
            Assert.Null(run.ControlFolder);
        }

        var calls = Invocations();
        Assert.DoesNotContain(calls, IsMaster);
        Assert.All(calls, a => Assert.Contains("ControlPath=" + theirs, a));
        Assert.Single(calls, IsProbeBatch);
        Assert.True(OpenSshControl.UserSetsSharing(new[] { "-p", "22", "-qS", "/x" }));
        Assert.True(OpenSshControl.UserSetsSharing(new[] { "-oControlPersist=5" }));
        Assert.False(OpenSshControl.UserSetsSharing(new[] { "-o", "BatchMode=yes", "-i", "/k/S" }));
    }

    [SkippableFact]
    public async Task The_sftp_transport_answers_a_hosts_warm_probes_with_one_command_on_its_one_connection()
    {
        SkipWithoutSshd();
        var files = FourFiles();
        var targets = Hosts.Select(h => Target(h.Host, h.Root, transport: SshTransport.Auto)).ToArray();
        using (var run = Run())
        using (var pool = new SftpConnectionPool())
        {
            Assert.All(await PublishAllAsync(Options(run, pool, hideSsh: true), files, targets), r => Assert.Equal("Published", r.Status));
        }
        var accepted = Accepted;

        using (var run = Run())
        using (var pool = new SftpConnectionPool())
        {
            var warm = await PublishAllAsync(Options(run, pool, hideSsh: true), files, targets);

            Assert.All(warm, r => Assert.True(r.Status == "Skipped" && r.Verified, $"{r.Host} {r.Destination}: {r.Status} {r.Error}"));
            Assert.Equal(2, pool.Opened);
            Assert.Equal(2, pool.CommandsRun);
            Assert.Equal(2, run.ProbeCommands);
            Assert.Null(run.ControlFolder);
        }
        Assert.Empty(Invocations());
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Accepted - accepted < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Equal(2, Accepted - accepted);
    }

    [SkippableFact]
    public async Task Without_announcements_each_probe_goes_at_once_and_a_single_push_still_shares_one_connection()
    {
        SkipWithoutSshd();
        var file = FourFiles()[0];
        var target = Target(Hosts[0].Host, Hosts[0].Root);
        var publisher = new SshPublisher(NullEngineEvents.Instance, new SshPublishOptions { SshProgram = _wrapper, ConnectTimeout = TimeSpan.FromSeconds(10) });

        var result = await publisher.PublishAsync(file, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Published", result.Status);
        var calls = Invocations();
        Assert.Single(calls, IsMaster);
        Assert.Single(calls, IsProbeBatch);
        Assert.Single(calls, IsExit);
        Assert.Single(calls, IsRsync);
        // probe (which also reads the free space before any byte moves), rsync, finish as clients, plus the master and its
        // exit: a new file costs no preflight round trip of its own.
        Assert.Equal(5, calls.Count);
        Assert.All(calls.Where(a => !IsMaster(a) && !IsExit(a)), a => Assert.Contains("ControlMaster=no", a));
    }

    [SkippableFact]
    public async Task A_connection_opened_ahead_is_the_one_the_hosts_pushes_use()
    {
        SkipWithoutSshd();
        var file = FourFiles()[0];
        var target = Target(Hosts[0].Host, Hosts[0].Root);
        var accepted = Accepted;
        using var run = Run();
        var publisher = new SshPublisher(NullEngineEvents.Instance, Options(run));

        await publisher.ConnectAheadAsync(target, CancellationToken.None);

        // The master runs before any push asked for it: one connection, no command yet.
        var ahead = Invocations();
        Assert.Single(ahead, IsMaster);
        Assert.Single(ahead);
        Assert.Equal(1, run.Control.Started);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (Accepted - accepted < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.Equal(1, Accepted - accepted);

        var result = await publisher.PublishAsync(file, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        var calls = Invocations();
        Assert.Single(calls, IsMaster);
        Assert.Equal(1, run.Control.Started);
        Assert.All(calls.Where(a => !IsMaster(a)), a => Assert.Contains("ControlMaster=no", a));
        Assert.Equal(1, Accepted - accepted);
    }

    [SkippableFact]
    public async Task A_connection_that_fails_ahead_says_nothing_and_the_push_reports_it()
    {
        SkipWithoutSshd();
        var file = FourFiles()[0];
        // A known_hosts without the server's key: ssh refuses the host (StrictHostKeyChecking=yes).
        var empty = Path.Combine(_dir.Path, "known_hosts_empty");
        File.WriteAllText(empty, "");
        var target = Target(Hosts[0].Host, Hosts[0].Root, ssh: _sshd.SshOptions.Replace(_sshd.KnownHostsPath, empty));
        var events = new Artifacts.RecordingEvents();
        using var run = Run();
        var publisher = new SshPublisher(events, Options(run));

        await publisher.ConnectAheadAsync(target, CancellationToken.None);

        Assert.Empty(events.Warnings);
        var result = await publisher.PublishAsync(file, target, SshPublishMode.AsIs, CancellationToken.None);
        Assert.Equal("Failed", result.Status);
        Assert.Equal("SshConnectionFailed", result.ErrorId);
        Assert.Contains("Host key verification failed", result.Error);
        // The failure is remembered: the push did not connect again.
        Assert.Single(Invocations(), IsMaster);
        Assert.False(Directory.Exists(target.IsoDir), "a file was written to a refused host");
    }
}
