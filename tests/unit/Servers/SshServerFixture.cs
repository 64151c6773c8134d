using System.Net;
using System.Net.Sockets;

namespace TalosImage.Tests.Servers;

/// <summary>
/// A real OpenSSH server on 127.0.0.1 and a free high port, for the SSH publishing tests: host and user keys are
/// generated with ssh-keygen into a temp folder, with an sshd_config, authorized_keys and a known_hosts that pins the
/// host key. Log in as the current user (root in CI) with <see cref="Host"/> and <see cref="SshOptions"/>.
/// When sshd, ssh, ssh-keygen or rsync is missing, <see cref="Unavailable"/> says why and nothing is started
/// (tests skip). Disposing stops sshd and deletes the folder.
/// </summary>
public sealed class SshServerFixture : IDisposable
{
    public const string SshdPath = "/usr/sbin/sshd";

    private readonly ChildProcess? _sshd;

    public SshServerFixture() : this("ERROR")
    {
    }

    /// <summary>A server whose <see cref="Log"/> has sshd's messages down to <paramref name="logLevel"/> (INFO: one "Accepted publickey" line per connection).</summary>
    internal SshServerFixture(string logLevel) : this(logLevel, stockLoginShell: false)
    {
    }

    /// <summary>
    /// As <see cref="SshServerFixture(string)"/>; with <paramref name="stockLoginShell"/>, sessions get a HOME of their own
    /// (sshd's SetEnv) holding Debian's stock root .bashrc (base-files' dot.bashrc, else an empty one), as a Proxmox VE
    /// node's root has, instead of this machine's root .bashrc (which may start programs of its own: pyenv here). For
    /// benchmarks that measure the tool, not the login shell of the machine they run on.
    /// </summary>
    internal SshServerFixture(string logLevel, bool stockLoginShell)
    {
        Unavailable = MissingTools();
        Folder = Path.Combine(Path.GetTempPath(), "talosimage-sshd-" + Guid.NewGuid().ToString("N")[..10]);
        if (Unavailable is not null)
        {
            return;
        }
        Directory.CreateDirectory(Folder);
        HostKeyPath = Path.Combine(Folder, "host_ed25519");
        KeyPath = Path.Combine(Folder, "user_ed25519");
        WrongKeyPath = Path.Combine(Folder, "other_ed25519");
        KnownHostsPath = Path.Combine(Folder, "known_hosts");
        foreach (var key in new[] { HostKeyPath, KeyPath, WrongKeyPath })
        {
            Run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "talosimage-test", "-f", key);
        }
        File.WriteAllText(Path.Combine(Folder, "authorized_keys"), File.ReadAllText(KeyPath + ".pub"));
        Port = FreePort();
        var hostKey = File.ReadAllText(HostKeyPath + ".pub").Trim().Split(' ');
        File.WriteAllText(KnownHostsPath, $"[127.0.0.1]:{Port} {hostKey[0]} {hostKey[1]}\n");
        var config = Path.Combine(Folder, "sshd_config");
        File.WriteAllText(config, string.Join("\n",
            "ListenAddress 127.0.0.1",
            $"Port {Port}",
            $"HostKey {HostKeyPath}",
            $"AuthorizedKeysFile {Path.Combine(Folder, "authorized_keys")}",
            $"PidFile {Path.Combine(Folder, "sshd.pid")}",
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PrintMotd no",
            "MaxStartups 100",
            "MaxSessions 100",
            // The sftp transport (SSH.NET) needs the sftp subsystem; internal-sftp needs no sftp-server program.
            "Subsystem sftp internal-sftp",
            "LogLevel " + logLevel,
            stockLoginShell ? "SetEnv HOME=" + StockHome() : "",
            "") + "\n");
        if (Environment.UserName == "root")
        {
            // Privilege separation directory that sshd insists on when it runs as root.
            Directory.CreateDirectory("/run/sshd");
        }
        // Runs until Dispose; its output is collected in the background for Log.
        _sshd = ChildProcess.Start(SshdPath, new[] { "-D", "-e", "-f", config });
        try
        {
            WaitForPort();
        }
        catch
        {
            // sshd that could not bind (or never listened) leaves no process and no folder behind; a caller may retry.
            Dispose();
            throw;
        }
        Host = Environment.UserName + "@127.0.0.1";
        SshOptions = $"-p {Port} -i {KeyPath} -o IdentitiesOnly=yes -o UserKnownHostsFile={KnownHostsPath} -o GlobalKnownHostsFile=/dev/null " +
            "-o StrictHostKeyChecking=yes -o BatchMode=yes";
    }

    /// <summary>A HOME with Debian's stock root .bashrc, for <c>stockLoginShell</c>.</summary>
    private string StockHome()
    {
        var home = Path.Combine(Folder, "home");
        Directory.CreateDirectory(home);
        const string stock = "/usr/share/base-files/dot.bashrc";
        File.WriteAllText(Path.Combine(home, ".bashrc"), File.Exists(stock) ? File.ReadAllText(stock) : "");
        return home;
    }

    /// <summary>Why the server cannot run here, or null.</summary>
    public string? Unavailable { get; }

    /// <summary>The fixture's temp folder (keys, config); tests may create remote destinations under it.</summary>
    public string Folder { get; }

    public int Port { get; }

    /// <summary><c>user@127.0.0.1</c> (the current user).</summary>
    public string Host { get; } = "";

    /// <summary>ssh options that reach this server: port, key, pinned host key, BatchMode.</summary>
    public string SshOptions { get; } = "";

    public string KeyPath { get; } = "";

    /// <summary>A valid key that is not authorized (for permission-denied tests).</summary>
    public string WrongKeyPath { get; } = "";

    public string HostKeyPath { get; } = "";

    public string KnownHostsPath { get; } = "";

    /// <summary>What sshd wrote so far (for failing-test messages).</summary>
    public string Log
    {
        get { return _sshd is null ? "" : _sshd.StdoutSoFar + _sshd.StderrSoFar; }
    }

    /// <summary>A new empty folder under <see cref="Folder"/>.</summary>
    public string NewFolder(string name)
    {
        var path = Path.Combine(Folder, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        _sshd?.Dispose(); // kills the tree when it still runs and waits for it to go
        try
        {
            if (Directory.Exists(Folder))
            {
                Directory.Delete(Folder, recursive: true);
            }
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Null when sshd, ssh, ssh-keygen and rsync are all present.</summary>
    public static string? MissingTools()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return "the SSH tests need a Unix host with OpenSSH";
        }
        if (!File.Exists(SshdPath))
        {
            return $"{SshdPath} is not installed (apt-get install openssh-server)";
        }
        foreach (var tool in new[] { "ssh", "ssh-keygen", "rsync" })
        {
            if (FindOnPath(tool) is null)
            {
                return $"{tool} is not installed (apt-get install openssh-client rsync)";
            }
        }
        return null;
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, program)).FirstOrDefault(File.Exists);

    private void WaitForPort()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_sshd!.HasExited)
            {
                throw new InvalidOperationException($"sshd exited with {_sshd.ExitCode}: {Log}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new TimeoutException($"sshd did not listen on 127.0.0.1:{Port}: {Log}");
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void Run(string program, params string[] args) => ChildProcess.Run(program, args).EnsureSuccess();
}
