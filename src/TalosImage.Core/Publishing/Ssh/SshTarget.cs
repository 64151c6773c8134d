using System;
using System.Linq;
using System.Threading;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>One host reached over SSH, the folders for ISO and disk images on it, and the ssh/rsync options.</summary>
public sealed record SshTarget
{
    /// <summary><c>[user@]host</c> (or <c>[user@][v6addr]</c>); validated by <see cref="SshSafety.HostProblem"/>.</summary>
    public string Host { get; init; } = "";

    /// <summary>Where ISO images go (Proxmox's <c>local</c> storage: <c>/var/lib/vz/template/iso</c>).</summary>
    public string IsoDir { get; init; } = DefaultIsoDir;

    /// <summary>Where disk images go (Proxmox's <c>import</c> content: <c>/var/lib/vz/import</c>).</summary>
    public string ImportDir { get; init; } = DefaultImportDir;

    /// <summary>config.yaml's <c>ssh_opts</c>: split like a shell would (quotes respected), never run through one.</summary>
    public string SshOptions { get; init; } = "-o BatchMode=yes";

    /// <summary>config.yaml's <c>rsync_opts</c>: split like a shell would (quotes respected), never run through one.</summary>
    public string RsyncOptions { get; init; } = "-av --progress --inplace";

    /// <summary>rsync (the ssh and rsync programs), sftp (SSH.NET, no programs) or auto (<see cref="SshTransports.Resolve"/>).</summary>
    public SshTransport Transport { get; init; } = SshTransport.Auto;

    /// <summary>
    /// A file of the same name but another SHA-256 is replaced (-Force, <c>push.replace: true</c>: sent under a temporary
    /// name in the same folder, verified, then renamed over it) instead of failing with RemoteFileConflict, when no VM or
    /// template configuration in /etc/pve references it.
    /// </summary>
    public bool Replace { get; init; }

    /// <summary>With <see cref="Replace"/>: replace it even when a VM or template configuration references it.</summary>
    public bool ReplaceInUse { get; init; }

    public const string DefaultIsoDir = "/var/lib/vz/template/iso";
    public const string DefaultImportDir = "/var/lib/vz/import";

    public override string ToString() => Host;
}

/// <summary>How files travel over SSH: config.yaml's <c>push.transport</c>, Publish-TalosImage -Transport.</summary>
public enum SshTransport
{
    /// <summary>rsync when the ssh and rsync programs are on PATH, else sftp.</summary>
    Auto,
    /// <summary>The system's ssh and rsync programs (~/.ssh/config, the agent, ProxyJump apply).</summary>
    Rsync,
    /// <summary>SSH.NET inside the module: sftp for the file, exec channels for the remote checks; no programs needed.</summary>
    Sftp,
}

/// <summary>The words of <see cref="SshTransport"/> and the choice <c>auto</c> makes.</summary>
public static class SshTransports
{
    /// <summary><c>auto</c>, <c>rsync</c>, <c>sftp</c> (as config.yaml spells them).</summary>
    public static readonly string[] Words = { "auto", "rsync", "sftp" };

    public static SshTransport Parse(string? word) => (word ?? "auto").Trim().ToLowerInvariant() switch
    {
        "rsync" => SshTransport.Rsync,
        "sftp" => SshTransport.Sftp,
        _ => SshTransport.Auto,
    };

    public static string Word(this SshTransport transport) => Words[(int)transport];

    /// <summary>
    /// <see cref="SshTransport.Auto"/> as rsync when both <paramref name="sshProgram"/> and <paramref name="rsyncProgram"/>
    /// can be found (a path, or a name on PATH; with PATHEXT on Windows), else sftp. Other values as they are.
    /// </summary>
    public static SshTransport Resolve(SshTransport transport, string sshProgram = "ssh", string rsyncProgram = "rsync", Func<string, string?>? environment = null)
    {
        if (transport != SshTransport.Auto)
        {
            return transport;
        }
        environment ??= Environment.GetEnvironmentVariable;
        return Found(sshProgram, environment) && Found(rsyncProgram, environment) ? SshTransport.Rsync : SshTransport.Sftp;
    }

    internal static bool Found(string program, Func<string, string?> environment)
    {
        var windows = System.IO.Path.DirectorySeparatorChar == '\\';
        var extensions = windows
            ? new[] { "" }.Concat((environment("PATHEXT") ?? ".EXE;.CMD;.BAT;.COM").Split(';').Where(e => e.Length > 0)).ToArray()
            : new[] { "" };
        bool Exists(string path) => extensions.Any(e => System.IO.File.Exists(path + e));
        if (program.IndexOf('/') >= 0 || program.IndexOf('\\') >= 0)
        {
            return Exists(program);
        }
        return (environment("PATH") ?? "").Split(System.IO.Path.PathSeparator)
            .Where(d => d.Length > 0)
            .Any(d => Exists(System.IO.Path.Combine(d, program)));
    }
}

/// <summary>How a compressed disk image reaches the host.</summary>
public enum SshPublishMode
{
    /// <summary>The artifact's file as it is.</summary>
    AsIs,
    /// <summary>raw.xz / raw.zst / raw.gz: push the compressed file and expand it on the host into the .raw (other formats: as is).</summary>
    RemoteExpand,
}

/// <summary>The programs and timing of the SSH transport.</summary>
public sealed record SshPublishOptions
{
    public string SshProgram { get; init; } = "ssh";
    public string RsyncProgram { get; init; } = "rsync";
    /// <summary>ssh's ConnectTimeout (an ssh_opts ConnectTimeout takes precedence).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
    /// <summary>Hosts published at once by <see cref="SshPublisher.PublishManyAsync"/>.</summary>
    public int MaxParallelHosts { get; init; } = 4;
    /// <summary>
    /// A temporary file of our naming for the same destination whose status has not changed for this long belongs to
    /// a push that died: the next push takes it over (rsync resumes it) and removes the others. Younger ones may
    /// belong to a push still running (another host entry on the same shared folder) and are left alone.
    /// </summary>
    public TimeSpan StaleTemporaryAge { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The sftp transport's connections. Given, they outlive the call (one connection per host for a whole run; the
    /// owner disposes them); null: each PublishAsync/PublishManyAsync call opens and closes its own.
    /// </summary>
    public SftpConnectionPool? Connections { get; init; }

    /// <summary>
    /// What the pushes of a run share per host: the OpenSSH connection of the rsync transport and the batched probes
    /// (<see cref="SshRun"/>). Given, it outlives the call (the owner disposes it, closing the connections); null: each
    /// PublishAsync/PublishManyAsync call has its own.
    /// </summary>
    public SshRun? Run { get; init; }

    /// <summary>
    /// Bounds the transfers (send and finish) of all pushes that share it, e.g. an order run's defaults.concurrency; the
    /// probes are not bounded by it, so that a host's probes can go in one command. Null: no bound beyond the caller's.
    /// </summary>
    internal SemaphoreSlim? TransferGate { get; init; }

    /// <summary>The passphrase of a protected identity file, for the sftp transport.</summary>
    public SftpCredentials Credentials { get; init; } = new();

    /// <summary>
    /// The folder of the Proxmox cluster configuration on the hosts: VM and template configurations are read from
    /// <c>&lt;dir&gt;/nodes/*/qemu-server/*.conf</c> and <c>&lt;dir&gt;/qemu-server/*.conf</c> to tell whether a file is in use.
    /// A host without it (not a Proxmox node) has no VMs that could use a file.
    /// </summary>
    public string PveConfigDir { get; init; } = "/etc/pve";

    /// <summary>Reads PATH for <see cref="SshTransport.Auto"/> (null: the process environment).</summary>
    public Func<string, string?>? Environment { get; init; }
}
