using System;

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

    public const string DefaultIsoDir = "/var/lib/vz/template/iso";
    public const string DefaultImportDir = "/var/lib/vz/import";

    public override string ToString() => Host;
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
}
