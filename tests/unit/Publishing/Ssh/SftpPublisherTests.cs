using System.Security;
using TalosImage.Core;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Ssh;
using TalosImage.Tests.Servers;
using Xunit;

namespace TalosImage.Tests.Publishing.Ssh;

/// <summary>
/// The sftp transport (SSH.NET) against the same real sshd: every test of <see cref="SshPublisherTests"/> runs again
/// here with the ssh and rsync programs hidden (the publisher is given program names that exist nowhere, and the
/// targets ask for <c>auto</c>, which therefore picks sftp), plus the host key, key and option cases of the sftp route.
/// </summary>
[Collection("sshd")]
public sealed class SftpPublisherTests : SshPublisherTests
{
    private const string HiddenSsh = "/nonexistent/talosimage-test/ssh";
    private const string HiddenRsync = "/nonexistent/talosimage-test/rsync";

    public SftpPublisherTests(SshServerFixture sshd) : base(sshd)
    {
    }

    protected override SshTransport Transport => SshTransport.Auto;

    protected override SshPublishOptions Options(SshPublishOptions options) =>
        options with { SshProgram = HiddenSsh, RsyncProgram = HiddenRsync };

    private SshPublisher Sftp(SftpConnectionPool? pool = null, SftpCredentials? credentials = null, IEngineEvents? events = null) =>
        new(events ?? NullEngineEvents.Instance, new SshPublishOptions
        {
            SshProgram = HiddenSsh,
            RsyncProgram = HiddenRsync,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            Connections = pool,
            Credentials = credentials ?? new SftpCredentials { Environment = _ => null },
        });

    /// <summary>A known_hosts file of its own for a test, with <paramref name="lines"/>.</summary>
    private string KnownHosts(params string[] lines)
    {
        var path = Path.Combine(_local, "known_hosts-" + Guid.NewGuid().ToString("N")[..6]);
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));
        return path;
    }

    private string HostKeyBase64 => File.ReadAllText(_sshd.HostKeyPath + ".pub").Split(' ')[1];

    private string OptionsWithKnownHosts(string file, string strict = "yes") =>
        $"-p {_sshd.Port} -i {_sshd.KeyPath} -o UserKnownHostsFile={file} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking={strict}";

    private static string Fingerprint(string pubFile)
    {
        var run = ChildProcess.Run("ssh-keygen", new[] { "-l", "-E", "sha256", "-f", pubFile });
        run.EnsureSuccess();
        return run.Stdout.Split(' ')[1];
    }

    [SkippableFact]
    public void Auto_picks_sftp_when_the_programs_are_missing_and_rsync_when_they_are_there()
    {
        SkipWithoutSshd();
        Assert.Equal(SshTransport.Sftp, SshPublisher.TransportFor(Target(), Options(new SshPublishOptions())));
        Assert.Equal(SshTransport.Rsync, SshPublisher.TransportFor(Target(), new SshPublishOptions()));
        var emptyPath = new SshPublishOptions { Environment = name => name == "PATH" ? "/nonexistent" : null };
        Assert.Equal(SshTransport.Sftp, SshPublisher.TransportFor(Target(), emptyPath));
        Assert.Equal(SshTransport.Rsync, SshPublisher.TransportFor(Target() with { Transport = SshTransport.Rsync }, emptyPath));
    }

    [SkippableFact]
    public async Task All_files_for_one_host_in_a_run_share_one_connection()
    {
        SkipWithoutSshd();
        using var pool = new SftpConnectionPool();
        var publisher = Sftp(pool);
        var iso = Artifact("nocloud-amd64.iso", "iso", RandomBytes(64 * 1024));
        var raw = Artifact("nocloud-amd64.raw", "raw", RawImage(), withSha: false);
        var target = Target();

        var results = new List<TalosPublishResult>
        {
            await publisher.PublishAsync(iso, target, SshPublishMode.AsIs, CancellationToken.None),
            await publisher.PublishAsync(raw, target, SshPublishMode.AsIs, CancellationToken.None),
            await publisher.PublishAsync(iso, target, SshPublishMode.AsIs, CancellationToken.None),
        };
        results.AddRange(await publisher.PublishManyAsync(raw, new[] { target with { ImportDir = Path.Combine(_remote, "b") }, target with { ImportDir = Path.Combine(_remote, "c") } },
            SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal(new[] { "Published", "Published", "Skipped", "Published", "Published" }, results.Select(r => r.Status));
        Assert.All(results, r => Assert.Equal("Ssh", r.Transport));
        Assert.Equal(1, pool.Opened);
        Assert.True(pool.AllExecOnSameConnection, "the remote scripts ran on a second connection");
    }

    [Fact]
    public void Push_transport_is_read_from_config_and_a_host_entry_overrides_it()
    {
        var dir = Path.Combine(Path.GetTempPath(), "talosimage-transport-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var config = Path.Combine(dir, "config.yaml");
            var orders = Path.Combine(dir, "orders.yaml");
            File.WriteAllText(config, "defaults:\n  push:\n    transport: sftp\n");
            File.WriteAllText(orders, "- orderid: A\n  positions:\n    - product: talos\n      customization: {}\n      push:\n        enabled: true\n" +
                "        hosts:\n          - pve1\n          - {host: pve2, transport: rsync, iso_dir: \"/mnt/pve/ISO Store/template/iso\"}\n");

            var input = TalosImage.Core.Orders.OrderLoader.Load(config, orders, _ => null);

            Assert.Equal("sftp", input.Config.Push.Transport);
            var hosts = input.Orders[0].Positions[0].Push.Hosts;
            Assert.Null(hosts[0].Transport);
            Assert.Equal("rsync", hosts[1].Transport);
            Assert.Equal("/mnt/pve/ISO Store/template/iso", hosts[1].IsoDir);

            File.WriteAllText(config, "defaults:\n  push:\n    transport: scp\n");
            var e = Assert.Throws<TalosImage.Core.Orders.TalosValidationException>(() => TalosImage.Core.Orders.OrderLoader.Load(config, orders, _ => null));
            Assert.Contains(e.Problems, p => p.Key == "defaults.push.transport");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    public async Task An_unknown_host_is_refused_with_its_fingerprint_and_the_line_to_add_and_nothing_is_written()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var known = KnownHosts("# nothing yet", "[127.0.0.1]:1 ssh-ed25519 " + HostKeyBase64);
        var target = Target(ssh: OptionsWithKnownHosts(known));

        var result = await Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("SshHostKeyUnknown", result.ErrorId);
        Assert.Contains(Fingerprint(_sshd.HostKeyPath + ".pub"), result.Error);
        Assert.Contains($"[127.0.0.1]:{_sshd.Port} ssh-ed25519 {HostKeyBase64}", result.Error);
        Assert.False(Directory.Exists(target.IsoDir));
        Assert.Equal(2, File.ReadAllLines(known).Length);
    }

    [SkippableFact]
    public async Task A_changed_host_key_is_refused_and_nothing_is_written()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var other = File.ReadAllText(_sshd.WrongKeyPath + ".pub").Split(' ')[1];
        var known = KnownHosts($"[127.0.0.1]:{_sshd.Port} ssh-ed25519 {other}");
        var target = Target(ssh: OptionsWithKnownHosts(known, strict: "accept-new"));

        var result = await Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("Failed", result.Status);
        Assert.Equal("SshHostKeyChanged", result.ErrorId);
        Assert.Contains(known + ":1", result.Error);
        Assert.Contains(Fingerprint(_sshd.HostKeyPath + ".pub"), result.Error);
        Assert.False(Directory.Exists(target.IsoDir));
        // accept-new never replaces a known key.
        Assert.Single(File.ReadAllLines(known));
    }

    [SkippableFact]
    public async Task A_revoked_host_key_is_refused_even_when_also_listed()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var known = KnownHosts($"[127.0.0.1]:{_sshd.Port} ssh-ed25519 {HostKeyBase64}", $"@revoked * ssh-ed25519 {HostKeyBase64}");
        var target = Target(ssh: OptionsWithKnownHosts(known));

        var result = await Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.Equal("SshHostKeyChanged", result.ErrorId);
        Assert.Contains("@revoked", result.Error);
        Assert.False(Directory.Exists(target.IsoDir));
    }

    [SkippableFact]
    public async Task A_hashed_known_hosts_entry_is_recognised()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var name = $"[127.0.0.1]:{_sshd.Port}";
        var hashed = TalosImage.Core.Publishing.Ssh.KnownHosts.Hash(name, Enumerable.Range(1, 20).Select(i => (byte)i).ToArray());
        var known = KnownHosts($"|1|AAAAAAAAAAAAAAAAAAAAAAAAAAA=|AAAAAAAAAAAAAAAAAAAAAAAAAAA= ssh-ed25519 {HostKeyBase64}", $"{hashed} ssh-ed25519 {HostKeyBase64}");
        var target = Target(ssh: OptionsWithKnownHosts(known));

        var result = await Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(result.Status == "Published", result.Error);
        // The same entry as ssh-keygen -H writes it is found by ssh-keygen -F: the hash is OpenSSH's.
        var found = ChildProcess.Run("ssh-keygen", new[] { "-F", name, "-f", known });
        Assert.Contains(hashed, found.Stdout);
    }

    [SkippableFact]
    public async Task Accept_new_adds_an_unknown_host_and_later_pushes_check_against_it()
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var known = Path.Combine(_local, "fresh", ".ssh", "known_hosts");
        var events = new RecordingEvents();

        var first = await Sftp(events: events).PublishAsync(artifact, Target(ssh: OptionsWithKnownHosts(known, strict: "accept-new")), SshPublishMode.AsIs, CancellationToken.None);
        var strict = await Sftp().PublishAsync(artifact, Target(ssh: OptionsWithKnownHosts(known)), SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(first.Status == "Published", first.Error);
        Assert.Equal(new[] { $"[127.0.0.1]:{_sshd.Port} ssh-ed25519 {HostKeyBase64}" }, File.ReadAllLines(known));
        Assert.Contains(events.Warnings, w => w.Contains("Permanently added") && w.Contains(Fingerprint(_sshd.HostKeyPath + ".pub")));
        Assert.Equal("Skipped", strict.Status);
        // ssh itself trusts the line written.
        var ssh = ChildProcess.Run("ssh", new[] { "-p", _sshd.Port.ToString(), "-i", _sshd.KeyPath, "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + known,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", _sshd.Host, "true" });
        Assert.True(ssh.ExitCode == 0, ssh.Stderr);
    }

    [SkippableFact]
    public async Task A_passphrase_protected_key_is_opened_with_the_passphrase_from_the_environment_or_a_securestring_and_never_printed()
    {
        SkipWithoutSshd();
        const string secret = "correct horse battery";
        var key = Path.Combine(_local, "locked_ed25519");
        ChildProcess.Run("ssh-keygen", new[] { "-q", "-t", "ed25519", "-N", secret, "-C", "locked", "-f", key }).EnsureSuccess();
        File.AppendAllText(Path.Combine(_sshd.Folder, "authorized_keys"), File.ReadAllText(key + ".pub"));
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var target = Target(ssh: _sshd.SshOptions.Replace(_sshd.KeyPath, key));
        var secure = new SecureString();
        foreach (var c in secret)
        {
            secure.AppendChar(c);
        }

        var fromEnvironment = await Sftp(credentials: new SftpCredentials { Environment = n => n == SftpCredentials.PassphraseVariable ? secret : null })
            .PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        var fromSecureString = await Sftp(credentials: new SftpCredentials { Passphrase = secure, Environment = _ => null })
            .PublishAsync(artifact, target with { IsoDir = Path.Combine(_remote, "second") }, SshPublishMode.AsIs, CancellationToken.None);
        var wrong = await Sftp(credentials: new SftpCredentials { Environment = _ => "not the passphrase" })
            .PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);
        var none = await Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None);

        Assert.True(fromEnvironment.Status == "Published", fromEnvironment.Error);
        Assert.True(fromSecureString.Status == "Published", fromSecureString.Error);
        Assert.Equal("SshKeyUnreadable", wrong.ErrorId);
        Assert.DoesNotContain("not the passphrase", wrong.Error);
        Assert.Equal("SshKeyUnreadable", none.ErrorId);
        Assert.Contains(SftpCredentials.PassphraseVariable, none.Error);
        Assert.DoesNotContain(secret, none.Error + wrong.Error);
    }

    [SkippableTheory]
    [InlineData("-J bastion", "-J")]
    [InlineData("-o ProxyJump=bastion", "-o ProxyJump")]
    [InlineData("-C -o ControlMaster=auto -o ControlPath=/tmp/cm", "-C, -o ControlMaster, -o ControlPath")]
    [InlineData("-4 -o ServerAliveInterval=5", "-4, -o ServerAliveInterval")]
    public async Task Ssh_options_sftp_cannot_honour_are_refused_by_name(string extra, string named)
    {
        SkipWithoutSshd();
        var artifact = Artifact("nocloud-amd64.iso", "iso", RandomBytes(1024));
        var target = Target(ssh: _sshd.SshOptions + " " + extra);

        var e = await Assert.ThrowsAsync<TalosException>(() => Sftp().PublishAsync(artifact, target, SshPublishMode.AsIs, CancellationToken.None));

        Assert.Equal("SftpOptionUnsupported", e.ErrorId);
        Assert.Contains(named + " cannot be honoured by the sftp transport", e.Message);
        Assert.Contains("rsync", e.Message);
        Assert.False(Directory.Exists(target.IsoDir));
        // The rsync transport takes them (they pass SshSafety).
        SshPublisher.DestinationFor(artifact, target with { Transport = SshTransport.Rsync }, SshPublishMode.AsIs);
    }

    [SkippableTheory]
    [InlineData("root@pve", "", "root", 22)]
    [InlineData("pve", "-l admin -p 2222", "admin", 2222)]
    [InlineData("root@pve", "-l admin", "admin", 22)]
    [InlineData("root@pve", "-o User=a -l b -o Port=7 -p 8", "a", 7)]
    [InlineData("pve", "-p8 -oPort=7 -oUser=c", "c", 8)]
    [InlineData("root@[fd00::5]", "-o 'Port 2200'", "root", 2200)]
    public void User_and_port_mean_what_they_mean_to_ssh(string host, string options, string user, int port)
    {
        var settings = SftpSettings.From(host, SshSafety.CheckSshOptions(options));

        Assert.Equal(user, settings.User);
        Assert.Equal(port, settings.Port);
        if (SshServerFixture.FindOnPath("ssh") is not null)
        {
            // ssh -G prints what ssh would use, without connecting.
            var args = SshSafety.CheckSshOptions(options).Concat(new[] { "-G", "-F", "/dev/null", host.Replace("[", "").Replace("]", "") }).ToArray();
            var g = ChildProcess.Run("ssh", args).Stdout.Split('\n');
            Assert.Contains($"user {user}", g);
            Assert.Contains($"port {port}", g);
        }
    }

    [Fact]
    public void Identity_files_known_hosts_files_and_the_host_key_policy_come_from_the_options()
    {
        var s = SftpSettings.From("pve", SshSafety.CheckSshOptions(
            "-i ~/.ssh/pve -o IdentityFile=/k2 -o 'UserKnownHostsFile=/a/kh ~/kh2' -o StrictHostKeyChecking=accept-new -o ConnectTimeout=7 -o BatchMode=yes -o IdentitiesOnly=yes -q"), home: "/home/u");

        Assert.Equal(new[] { "/home/u/.ssh/pve", "/k2" }, s.IdentityFiles);
        Assert.Equal(new[] { "/a/kh", "/home/u/kh2" }, s.UserKnownHostsFiles);
        Assert.Equal(new[] { "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2" }, s.GlobalKnownHostsFiles);
        Assert.Equal(HostKeyPolicy.AcceptNew, s.Policy);
        Assert.Equal(TimeSpan.FromSeconds(7), s.ConnectTimeout);
        Assert.Equal("pve", s.KnownHostsName);

        var d = SftpSettings.From("pve", SshSafety.CheckSshOptions("-o BatchMode=yes -p 2222"), home: "/home/u");
        Assert.Empty(d.IdentityFiles);
        Assert.Equal(new[] { "/home/u/.ssh/known_hosts", "/home/u/.ssh/known_hosts2" }, d.UserKnownHostsFiles);
        Assert.Equal(HostKeyPolicy.Strict, d.Policy);
        Assert.Equal("[pve]:2222", d.KnownHostsName);
        Assert.Equal(new[] { "id_ed25519", "id_ecdsa", "id_rsa" }, SftpSettings.DefaultIdentityNames);
    }

    [Fact]
    public void Known_hosts_patterns_match_like_openssh()
    {
        Assert.True(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("pve1,pve2", "pve2"));
        Assert.True(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("*.lan", "pve.lan"));
        Assert.False(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("*.lan,!evil.lan", "evil.lan"));
        Assert.True(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("[pve]:2222", "[pve]:2222"));
        Assert.False(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("pve", "[pve]:2222"));
        Assert.True(TalosImage.Core.Publishing.Ssh.KnownHosts.Matches("pv?", "PVE"));
    }

    /// <summary>Collects warnings.</summary>
    private sealed class RecordingEvents : IEngineEvents
    {
        public List<string> Warnings { get; } = new();

        public void Verbose(string message)
        {
        }

        public void Warning(string message)
        {
            lock (Warnings)
            {
                Warnings.Add(message);
            }
        }

        public void Progress(EngineProgress progress)
        {
        }
    }
}
