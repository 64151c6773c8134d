using TalosImage.Core;
using TalosImage.Core.Orders;
using TalosImage.Core.Publishing.Ssh;
using Xunit;

namespace TalosImage.Tests.Publishing.Ssh;

/// <summary>The one rule for hosts, remote folders and ssh/rsync options (no sshd needed).</summary>
public sealed class SshSafetyTests
{
    [Theory]
    [InlineData("-o BatchMode=yes", new[] { "-o", "BatchMode=yes" })]
    [InlineData("  -p 2222\t-i '/root/my key'  ", new[] { "-p", "2222", "-i", "/root/my key" })]
    [InlineData("-o \"UserKnownHostsFile=/a b/k\" -o\\ x", new[] { "-o", "UserKnownHostsFile=/a b/k", "-o x" })]
    [InlineData("-o \"a\\\"b\\$c\\d\"", new[] { "-o", "a\"b$c\\d" })]
    [InlineData("-o'Port'=22", new[] { "-oPort=22" })]
    [InlineData("", new string[0])]
    public void Options_are_split_like_a_shell_splits_words_without_expanding_anything(string options, string[] expected)
    {
        Assert.Equal(expected, SshSafety.SplitOptions(options, "ssh_opts"));
    }

    [Theory]
    [InlineData("-o 'BatchMode=yes")]
    [InlineData("-o \"BatchMode=yes")]
    [InlineData("-o BatchMode=yes\n-o ProxyCommand=x")]
    [InlineData("-o BatchMode=yes\\")]
    public void Unbalanced_quotes_and_line_breaks_are_refused(string options)
    {
        var e = Assert.Throws<TalosException>(() => SshSafety.SplitOptions(options, "ssh_opts"));
        Assert.Equal("UnsafeOption", e.ErrorId);
    }

    [Theory]
    [InlineData("-o BatchMode=yes")]
    [InlineData("-p 2222 -i /root/.ssh/id_ed25519 -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/root/.ssh/known_hosts")]
    [InlineData("-4 -C -q -o ConnectTimeout=5 -o ControlMaster=auto -o ControlPath=/tmp/cm-%r@%h:%p -o ControlPersist=60")]
    [InlineData("-J admin@bastion:2222,jump2 -l root -oPort=22")]
    [InlineData("-o ProxyJump=bastion.example.lan")]
    [InlineData("")]
    public void Ordinary_ssh_options_are_accepted(string options)
    {
        SshSafety.CheckSshOptions(options);
    }

    [Theory]
    [InlineData("-av --progress --inplace")]
    [InlineData("-a --inplace --partial --bwlimit=20m --timeout=60 --chmod=F644 -z")]
    [InlineData("-hh --info=progress2 -B 8192 --checksum")]
    [InlineData("")]
    public void Ordinary_rsync_options_are_accepted(string options)
    {
        SshSafety.CheckRsyncOptions(options);
    }

    [Theory]
    [InlineData("-o PKCS11Provider=/tmp/evil.so")]
    [InlineData("-I /tmp/evil.so")]
    [InlineData("-o KnownHostsCommand=/bin/sh")]
    [InlineData("-L 8080:localhost:80")]
    [InlineData("-N")]
    [InlineData("-- host")]
    [InlineData("-o SendEnv=LD_PRELOAD")]
    [InlineData("-o Frobnicate=yes")]
    [InlineData("-p")]
    public void Other_ssh_options_are_refused(string options)
    {
        var e = Assert.Throws<TalosException>(() => SshSafety.CheckSshOptions(options));
        Assert.Equal("UnsafeOption", e.ErrorId);
    }

    [Theory]
    [InlineData("-n")]
    [InlineData("--dry-run")]
    [InlineData("-R")]
    [InlineData("--files-from=/etc/list")]
    [InlineData("--log-file=/tmp/x")]
    [InlineData("--write-batch=/tmp/x")]
    [InlineData("--no-protect-args")]
    [InlineData("--temp-dir=/tmp")]
    [InlineData("--chmod=a;touch")]
    [InlineData("--bwlimit 1000")]
    public void Other_rsync_options_are_refused(string options)
    {
        var e = Assert.Throws<TalosException>(() => SshSafety.CheckRsyncOptions(options));
        Assert.Equal("UnsafeOption", e.ErrorId);
    }

    [Theory]
    [InlineData("pve-01")]
    [InlineData("root@pve-01.example.lan")]
    [InlineData("10.0.0.5")]
    [InlineData("root@[fd00::5]")]
    public void Plain_hosts_are_accepted(string host) => Assert.Null(SshSafety.HostProblem(host));

    [Fact]
    public void Quote_single_quotes_for_a_posix_shell()
    {
        Assert.Equal("'/var/lib/vz'", SshSafety.Quote("/var/lib/vz"));
        Assert.Equal("'a'\"'\"'b'", SshSafety.Quote("a'b"));
        Assert.Equal("UnsafeRemotePath", Assert.Throws<TalosException>(() => SshSafety.Quote("a\nb")).ErrorId);
    }

    [Fact]
    public void Remote_commands_contain_only_quoted_validated_paths()
    {
        var artifact = new TalosArtifact { Path = "/cache/a.raw.xz", Format = "raw.xz", Asset = "nocloud-amd64.raw.xz", Version = "v1.11.5" };
        var plan = SshPublishPlan.For(artifact, new SshTarget { Host = "pve1", ImportDir = "/var/lib/vz/import/" }, SshPublishMode.RemoteExpand, needFile: false);
        var sha = new string('a', 64);

        var probe = RemoteScripts.Probe(plan, 10, sha);
        var finish = RemoteScripts.Finish(plan, sha, new string('b', 64), 10);
        var token = plan.Token;

        Assert.Matches("^[0-9a-f]{16}$", token);
        Assert.Equal("/var/lib/vz/import/talos-v1.11.5-nocloud-amd64.raw", plan.Final);
        Assert.Equal($"/var/lib/vz/import/.talos-v1.11.5-nocloud-amd64.raw.xz.{token}.talosimage-part", plan.Temp);
        Assert.Equal($"/var/lib/vz/import/.talos-v1.11.5-nocloud-amd64.raw.{token}.talosimage-part", plan.RawTemp);
        // mkdir only when the folder is missing; the free space is asked in the same command when a transfer may follow.
        Assert.StartsWith("[ -d '/var/lib/vz/import' ] || mkdir -p -- '/var/lib/vz/import' || exit 3;", probe);
        Assert.EndsWith("a=$(df -Pk -- '/var/lib/vz/import' 2>/dev/null) || a=; printf '%s\\n' \"$a\" | { read -r _; read -r _ _ _ av _; echo \"talosimage-avail $av\"; }; exit 0", probe);
        // With the hash the host must end up with, df runs only when the file there is not already that one.
        Assert.Contains("if [ \"$h\" != '" + sha + "' ]; then a=$(df -Pk -- '/var/lib/vz/import' 2>/dev/null)", RemoteScripts.Probe(plan, 10, sha, sha));
        Assert.Contains("command -v xz", probe);
        Assert.Contains($"xz -dc -T0 -- '{plan.Temp}' > '{plan.RawTemp}'", finish);
        Assert.Contains($"mv -f -- '{plan.RawTemp}' '/var/lib/vz/import/talos-v1.11.5-nocloud-amd64.raw'", finish);
        // The sidecar is read only while the final file is not newer than it, and written after the rename.
        Assert.Contains("[ ! '/var/lib/vz/import/talos-v1.11.5-nocloud-amd64.raw' -nt '/var/lib/vz/import/talos-v1.11.5-nocloud-amd64.raw.sha256' ]", probe);
        Assert.True(finish.LastIndexOf("> '/var/lib/vz/import/talos-v1.11.5-nocloud-amd64.raw.sha256'", StringComparison.Ordinal)
            > finish.IndexOf($"mv -f -- '{plan.RawTemp}'", StringComparison.Ordinal));
        // Stale temporary files are looked for by this destination's own prefix and the legacy name only.
        Assert.Contains("for t in '/var/lib/vz/import/.talos-v1.11.5-nocloud-amd64.raw.xz.'*'.talosimage-part' '/var/lib/vz/import/.talos-v1.11.5-nocloud-amd64.raw.xz.talosimage-part'; do", probe);

        // Each push has a token of its own.
        Assert.NotEqual(token, SshPublishPlan.For(artifact, new SshTarget { Host = "pve1", ImportDir = "/var/lib/vz/import/" }, SshPublishMode.RemoteExpand, needFile: false).Token);
    }

    [Theory]
    [InlineData("iso", SshPublishMode.AsIs, "/iso/talos-376567988ad3-v1.11.5-nocloud-amd64.iso")]
    [InlineData("raw", SshPublishMode.AsIs, "/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.raw")]
    [InlineData("raw", SshPublishMode.RemoteExpand, "/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.raw")]
    [InlineData("raw.xz", SshPublishMode.AsIs, "/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.raw.xz")]
    [InlineData("raw.zst", SshPublishMode.RemoteExpand, "/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.raw")]
    [InlineData("qcow2", SshPublishMode.RemoteExpand, "/imp/talos-376567988ad3-v1.11.5-nocloud-amd64.qcow2")]
    public void Destinations_follow_the_content(string format, SshPublishMode mode, string expected)
    {
        var artifact = new TalosArtifact
        {
            Path = "/cache/x",
            Format = format,
            Asset = "nocloud-amd64." + format,
            SchematicId = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba",
            Version = "v1.11.5",
        };
        Assert.Equal(expected, SshPublisher.DestinationFor(artifact, new SshTarget { Host = "pve1", IsoDir = "/iso", ImportDir = "/imp" }, mode));
    }

    [Fact]
    public void Rsync_stats_give_the_bytes_sent()
    {
        Assert.Equal(1234567, SshPublisher.BytesSent("Number of files: 1\nTotal bytes sent: 1,234,567\nTotal bytes received: 35\n"));
        Assert.Equal(1230000, SshPublisher.BytesSent("Total bytes sent: 1.23M\n"));
        Assert.Null(SshPublisher.BytesSent("nothing"));
    }

    [Fact]
    public void The_order_loader_applies_the_same_rule_to_ssh_and_rsync_options()
    {
        var dir = Path.Combine(Path.GetTempPath(), "talosimage-sshsafety-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var config = Path.Combine(dir, "config.yaml");
            var orders = Path.Combine(dir, "orders.yaml");
            File.WriteAllText(config, "defaults:\n  push:\n    ssh_opts: \"-o ProxyCommand=touch /tmp/pwned\"\n    rsync_opts: \"-av --rsync-path=evil\"\n");
            File.WriteAllText(orders, "orders: []\n");

            var e = Assert.Throws<TalosValidationException>(() => OrderLoader.Load(config, orders, _ => null));

            Assert.Contains(e.Problems, p => p.Key == "defaults.push.ssh_opts" && p.Message.Contains("ProxyCommand") && p.Line == 3);
            Assert.Contains(e.Problems, p => p.Key == "defaults.push.rsync_opts" && p.Message.Contains("rsync-path"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
