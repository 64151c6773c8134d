using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using TalosImage.Core;
using TalosImage.Core.Publishing;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;

namespace TalosImage.Cmdlets;

/// <summary>
/// Publishes artifacts to Proxmox VE nodes: over SSH with rsync or sftp (parameter set Ssh, hosts in parallel) or through the
/// Proxmox API (parameter set ProxmoxApi). One ShouldProcess per host or node names the remote path or volume id;
/// one TalosPublishResult per host or node; a failed host also writes a non-terminating error.
/// </summary>
[Cmdlet(VerbsData.Publish, "TalosImage", SupportsShouldProcess = true, DefaultParameterSetName = SshSet, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TalosPublishResult))]
public sealed class PublishTalosImageCommand : TalosCmdlet, IDisposable
{
    private const string SshSet = "Ssh";
    private const string ApiSet = "ProxmoxApi";

    /// <summary>An artifact from Save-TalosImage or Expand-TalosImage (Get-TalosCache entries bind through -Path).</summary>
    [Parameter(ValueFromPipeline = true)]
    public TalosArtifact? InputObject { get; set; }

    /// <summary>A plain file to publish (its cache metadata is used when present; otherwise it is hashed).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    public string? Path { get; set; }

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SshSet)]
    [Alias("Host")]
    [ValidateNotNullOrEmpty]
    public string[] ComputerName { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = SshSet)]
    public string IsoDirectory { get; set; } = SshTarget.DefaultIsoDir;

    [Parameter(ParameterSetName = SshSet)]
    public string ImportDirectory { get; set; } = SshTarget.DefaultImportDir;

    /// <summary>ssh options as in config.yaml's ssh_opts, e.g. '-p 2222 -i ~/.ssh/pve'.</summary>
    [Parameter(ParameterSetName = SshSet)]
    public string SshOption { get; set; } = "-o BatchMode=yes";

    /// <summary>rsync options as in config.yaml's rsync_opts.</summary>
    [Parameter(ParameterSetName = SshSet)]
    public string RsyncOption { get; set; } = "-av --progress --inplace";

    /// <summary>Push a raw.xz/raw.zst/raw.gz compressed and expand it on the host into the .raw.</summary>
    [Parameter(ParameterSetName = SshSet)]
    public SwitchParameter RemoteExpand { get; set; }

    /// <summary>
    /// Replace a remote file or Proxmox volume of the same name whose SHA-256 (or size) differs, instead of failing
    /// (RemoteFileConflict, ProxmoxVolumeConflict): over SSH atomically (temporary name, verify, rename); over the API
    /// the old volume is removed, then the artifact sent. Never while a VM or template uses it, unless -ReplaceInUse.
    /// </summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>With -Force: replace it even when a VM or template configuration references it.</summary>
    [Parameter]
    public SwitchParameter ReplaceInUse { get; set; }

    /// <summary>
    /// Rsync (the ssh and rsync programs), Sftp (built in: SSH.NET, no programs) or Auto (rsync when both programs are
    /// on PATH, else sftp).
    /// </summary>
    /// <remarks>A string, not the engine's enum: a script must be able to name every parameter type (the engine's types
    /// live in the module's private load context on PowerShell 7).</remarks>
    [Parameter(ParameterSetName = SshSet)]
    [ValidateSet("Auto", "Rsync", "Sftp", IgnoreCase = true)]
    public string Transport { get; set; } = "Auto";

    /// <summary>The passphrase of a protected identity file (sftp transport). Without it: $env:TALOSIMAGE_SSH_PASSPHRASE.</summary>
    [Parameter(ParameterSetName = SshSet)]
    public SecureString? KeyPassphrase { get; set; }

    /// <summary>Hosts published at once.</summary>
    [Parameter(ParameterSetName = SshSet)]
    [ValidateRange(1, 32)]
    public int ThrottleLimit { get; set; } = 4;

    [Parameter(Mandatory = true, ParameterSetName = ApiSet)]
    public Uri? ProxmoxUri { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = ApiSet)]
    [ValidateNotNullOrEmpty]
    public string[] Node { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = ApiSet)]
    public string Storage { get; set; } = "local";

    /// <summary>The whole token USER@REALM!TOKENID=SECRET. Without it and -Credential: $env:PROXMOX_API_TOKEN.</summary>
    [Parameter(ParameterSetName = ApiSet)]
    public SecureString? ApiToken { get; set; }

    /// <summary>User name = token id (USER@REALM!TOKENID), password = token secret.</summary>
    [Parameter(ParameterSetName = ApiSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>SHA-256 fingerprint of the node's certificate to pin (AA:BB:...).</summary>
    [Parameter(ParameterSetName = ApiSet)]
    public string? CertificateFingerprint { get; set; }

    [Parameter(ParameterSetName = ApiSet)]
    public ProxmoxMethod Method { get; set; } = ProxmoxMethod.Upload;

    /// <summary>The environment variable read when neither -ApiToken nor -Credential is given.</summary>
    public const string TokenVariable = ProxmoxApiToken.DefaultVariable;

    protected override void ProcessRecord()
    {
        TalosArtifact artifact;
        try
        {
            artifact = InputObject ?? (Path is { Length: > 0 } p
                ? LocalArtifact.FromFile(GetUnresolvedProviderPathFromPSPath(p))
                : throw new TalosException(TalosErrors.ArtifactMissing, "Give an artifact (-InputObject or the pipeline) or a file (-Path)."));
        }
        catch (TalosException e)
        {
            WriteError(ErrorRecordFor(e, Path));
            return;
        }
        if (ParameterSetName == ApiSet)
        {
            PublishOverApi(artifact);
        }
        else
        {
            PublishOverSsh(artifact);
        }
    }

    /// <summary>The sftp transport's connections: one per host for all the artifacts this pipeline publishes.</summary>
    private SftpConnectionPool? _connections;

    /// <summary>The rsync transport's shared OpenSSH connection per host for all the artifacts this pipeline publishes.</summary>
    private SshRun? _run;

    private SshPublishOptions SshOptions() => new()
    {
        MaxParallelHosts = ThrottleLimit,
        Connections = _connections ??= new SftpConnectionPool(),
        Run = _run ??= new SshRun(),
        Credentials = new SftpCredentials { Passphrase = KeyPassphrase },
    };

    protected override void EndProcessing()
    {
        _run?.Dispose();
        _run = null;
        _connections?.Dispose();
        _connections = null;
    }

    /// <summary>PowerShell disposes a cmdlet after a stopped or failed pipeline too (EndProcessing does not run then).</summary>
    void IDisposable.Dispose()
    {
        _run?.Dispose();
        _run = null;
        _connections?.Dispose();
        _connections = null;
        Dispose();
    }

    private void PublishOverSsh(TalosArtifact artifact)
    {
        var mode = RemoteExpand ? SshPublishMode.RemoteExpand : SshPublishMode.AsIs;
        var approved = new List<SshTarget>();
        var options = SshOptions();
        foreach (var host in ComputerName)
        {
            var target = new SshTarget { Host = host, IsoDir = IsoDirectory, ImportDir = ImportDirectory, SshOptions = SshOption, RsyncOptions = RsyncOption, Transport = SshTransports.Parse(Transport), Replace = Force, ReplaceInUse = ReplaceInUse };
            string destination;
            try
            {
                destination = SshPublisher.DestinationFor(artifact, target, mode, options);
            }
            catch (TalosException e)
            {
                ThrowTerminatingError(ErrorRecordFor(e, host));
                return;
            }
            if (ShouldProcess($"{host}:{destination}", $"Publish {Describe(artifact)} over SSH{(SshPublisher.TransportFor(target, options) == SshTransport.Sftp ? " (sftp)" : "")}"))
            {
                approved.Add(target);
            }
        }
        if (approved.Count == 0)
        {
            return;
        }
        RunEngine(async (events, ct) =>
        {
            var publisher = new SshPublisher(events, options);
            foreach (var result in await publisher.PublishManyAsync(artifact, approved, mode, ct).ConfigureAwait(false))
            {
                Report(result);
            }
        }, target: artifact.Path);
    }

    private void PublishOverApi(TalosArtifact artifact)
    {
        var target = new ProxmoxTarget
        {
            Endpoint = ProxmoxUri!,
            Nodes = Node,
            Storage = Storage,
            FingerprintSha256 = CertificateFingerprint,
            Method = Method,
            Replace = Force,
            ReplaceInUse = ReplaceInUse,
        };
        string volumeId;
        try
        {
            volumeId = ProxmoxPublisher.VolumeIdOf(artifact, target);
            // Before anything is asked, so that -WhatIf reports a token given twice too; the token itself is read
            // only once a node is approved (-WhatIf needs none).
            ProxmoxApiToken.EnsureOneSource(ApiToken, Credential?.Password);
        }
        catch (TalosException e)
        {
            ThrowTerminatingError(ErrorRecordFor(e, ProxmoxUri?.ToString()));
            return;
        }
        var approved = Node.Where(n => ShouldProcess($"{n} ({target.Endpoint.Host}): {volumeId}", $"Publish {Describe(artifact)} through the Proxmox API ({Method})")).ToList();
        if (approved.Count == 0)
        {
            return;
        }
        ProxmoxApiToken token;
        try
        {
            token = ProxmoxApiToken.Resolve(ApiToken, Credential?.UserName, Credential?.Password, TokenVariable);
        }
        catch (TalosException e)
        {
            ThrowTerminatingError(ErrorRecordFor(e, ProxmoxUri?.ToString()));
            return;
        }
        RunEngine(async (events, ct) =>
        {
            var input = Method == ProxmoxMethod.Upload ? await LocalArtifact.WithSha256Async(artifact, ct).ConfigureAwait(false) : artifact;
            var publisher = new ProxmoxPublisher(token, events);
            foreach (var result in await publisher.PublishAsync(input, target with { Nodes = approved }, ct).ConfigureAwait(false))
            {
                Report(result);
            }
        }, target: artifact.Path);
    }

    private void Report(TalosPublishResult result)
    {
        if (result.Is(PublishStatus.Failed))
        {
            var id = result.ErrorId ?? TalosErrors.PublishFailed.Id;
            EmitError(new TalosException(TalosErrors.Get(id), $"{result.Host}: {result.Error}", result), result);
        }
        Emit(result);
    }

    private static string Describe(TalosArtifact artifact) =>
        artifact.Asset is { Length: > 0 } asset ? $"{asset} {artifact.Version}".Trim() : System.IO.Path.GetFileName(artifact.Path);
}
