using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core;
using TalosImage.Core.Publishing.Proxmox;
using TalosImage.Core.Publishing.Ssh;

namespace TalosImage.Cmdlets;

/// <summary>
/// The target parameters of Get-TalosPublished and Clear-TalosPublished: a host over SSH (parameter set Ssh) or a
/// Proxmox API endpoint (ProxmoxApi), as Publish-TalosImage takes them. The engine decides what is TalosImage's and
/// what is in use (ProxmoxInventory, SshPublisher.ListPublishedAsync).
/// </summary>
public abstract class TalosPublishedCommandBase : TalosCmdlet
{
    protected const string SshSet = "Ssh";
    protected const string ApiSet = "ProxmoxApi";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SshSet)]
    [Alias("Host")]
    [ValidateNotNullOrEmpty]
    public string[] ComputerName { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = SshSet)]
    public string IsoDirectory { get; set; } = SshTarget.DefaultIsoDir;

    [Parameter(ParameterSetName = SshSet)]
    public string ImportDirectory { get; set; } = SshTarget.DefaultImportDir;

    /// <summary>ssh options as in config.yaml's ssh_opts.</summary>
    [Parameter(ParameterSetName = SshSet)]
    public string SshOption { get; set; } = "-o BatchMode=yes";

    /// <summary>Rsync (the ssh program), Sftp (built in) or Auto.</summary>
    [Parameter(ParameterSetName = SshSet)]
    [ValidateSet("Auto", "Rsync", "Sftp", IgnoreCase = true)]
    public string Transport { get; set; } = "Auto";

    /// <summary>The passphrase of a protected identity file (sftp transport).</summary>
    [Parameter(ParameterSetName = SshSet)]
    public SecureString? KeyPassphrase { get; set; }

    /// <summary>Where the hosts keep the Proxmox cluster configuration (VM and template configurations are read below it).</summary>
    [Parameter(ParameterSetName = SshSet)]
    [ValidateNotNullOrEmpty]
    public string PveConfigDirectory { get; set; } = "/etc/pve";

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

    /// <summary>User name = token id, password = token secret.</summary>
    [Parameter(ParameterSetName = ApiSet)]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>SHA-256 fingerprint of the node's certificate to pin (AA:BB:...).</summary>
    [Parameter(ParameterSetName = ApiSet)]
    public string? CertificateFingerprint { get; set; }

    private SftpConnectionPool? _connections;

    private protected ProxmoxTarget ApiTarget() => new() { Endpoint = ProxmoxUri!, Nodes = Node, Storage = Storage, FingerprintSha256 = CertificateFingerprint };

    private protected IEnumerable<SshTarget> SshTargets() => ComputerName.Select(h => new SshTarget
    {
        Host = h, IsoDir = IsoDirectory, ImportDir = ImportDirectory, SshOptions = SshOption, Transport = SshTransports.Parse(Transport),
    });

    private protected SshPublisher SshEngine(IEngineEvents events) => new(events, new SshPublishOptions
    {
        Connections = _connections ??= new SftpConnectionPool(),
        Credentials = new SftpCredentials { Passphrase = KeyPassphrase },
        PveConfigDir = PveConfigDirectory,
    });

    private protected ProxmoxApiToken Token() =>
        ProxmoxApiToken.Resolve(ApiToken, Credential?.UserName, Credential?.Password, ProxmoxApiToken.DefaultVariable);

    /// <summary>Lists every target (one non-terminating error per host that fails) and hands each target's list to <paramref name="then"/>.</summary>
    private protected void ForEachTarget(int? keep, Func<IEngineEvents, object, IReadOnlyList<TalosPublishedImage>, CancellationToken, Task> then)
    {
        ProxmoxApiToken? token = null;
        if (ParameterSetName == ApiSet)
        {
            try
            {
                ProxmoxApiToken.EnsureOneSource(ApiToken, Credential?.Password);
                token = Token();
            }
            catch (TalosException e)
            {
                ThrowTerminatingError(ErrorRecordFor(e, ProxmoxUri?.ToString()));
                return;
            }
        }
        RunEngine(async (events, ct) =>
        {
            if (token is not null)
            {
                var target = ApiTarget();
                try
                {
                    await then(events, target, await new ProxmoxInventory(token, events).ListAsync(target, keep, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                }
                catch (TalosException e)
                {
                    EmitError(e, ProxmoxUri?.ToString());
                }
                return;
            }
            var ssh = SshEngine(events);
            foreach (var target in SshTargets())
            {
                try
                {
                    await then(events, target, await ssh.ListPublishedAsync(target, keep, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                }
                catch (TalosException e)
                {
                    EmitError(e, target.Host);
                }
            }
        }, target: ParameterSetName == ApiSet ? ProxmoxUri?.ToString() : string.Join(",", ComputerName));
    }

    private protected async Task<IReadOnlyList<TalosPublishedImage>> RemoveAsync(IEngineEvents events, object target, IReadOnlyList<TalosPublishedImage> items, CancellationToken ct, ProxmoxApiToken? token = null) =>
        target is ProxmoxTarget api
            ? await new ProxmoxInventory(token ?? Token(), events).RemoveAsync(api, items, ct).ConfigureAwait(false)
            : await SshEngine(events).RemovePublishedAsync((SshTarget)target, items, ct).ConfigureAwait(false);

    protected override void EndProcessing()
    {
        base.EndProcessing();
        _connections?.Dispose();
        _connections = null;
    }
}

/// <summary>
/// Lists the images TalosImage published on a host's iso/import folders (over SSH) or a Proxmox storage (API): only
/// names of TalosImage's own naming (and, over SSH, with its .sha256 sidecar), each with its version, family, size,
/// SHA-256 (SSH) and the VMs and templates that use it. With -KeepVersions, those Clear-TalosPublished would remove
/// are WouldRemove (InUse when a VM uses them). Changes nothing.
/// </summary>
[Cmdlet(VerbsCommon.Get, "TalosPublished", DefaultParameterSetName = SshSet)]
[OutputType(typeof(TalosPublishedImage))]
public sealed class GetTalosPublishedCommand : TalosPublishedCommandBase
{
    /// <summary>Mark what retention keeping this many versions per family would remove.</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int? KeepVersions { get; set; }

    protected override void EndProcessing()
    {
        ForEachTarget(KeepVersions, (_, _, list, _) =>
        {
            foreach (var item in list)
            {
                Emit(item);
            }
            return Task.CompletedTask;
        });
        base.EndProcessing();
    }
}

/// <summary>
/// Remote retention: removes the images TalosImage published on the target beyond the newest -KeepVersions versions per
/// family, or exactly the images piped in from Get-TalosPublished. Never one a VM or template uses (checked again right
/// before removing), never a file TalosImage did not publish; a shared Proxmox storage once. One ShouldProcess per
/// image; writes each one Removed, InUse (kept), WouldRemove (-WhatIf, declined) or Failed.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "TalosPublished", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = SshSet)]
[OutputType(typeof(TalosPublishedImage))]
public sealed class ClearTalosPublishedCommand : TalosPublishedCommandBase
{
    private readonly List<TalosPublishedImage> _piped = new();

    /// <summary>Versions kept per family (without piped images: required).</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int? KeepVersions { get; set; }

    /// <summary>Images from Get-TalosPublished to remove (each still checked: there, TalosImage's, unused).</summary>
    [Parameter(ValueFromPipeline = true)]
    public TalosPublishedImage[]? InputObject { get; set; }

    protected override void ProcessRecord()
    {
        if (InputObject is { } items)
        {
            _piped.AddRange(items.Where(i => i is not null));
        }
    }

    protected override void EndProcessing()
    {
        if (_piped.Count == 0 && KeepVersions is null)
        {
            ThrowTerminatingError(ErrorRecordFor(new TalosException(TalosErrors.RetentionKeepMissing,
                "Clear-TalosPublished needs -KeepVersions N, or images piped in from Get-TalosPublished."), null));
            return;
        }
        var piped = _piped.Count > 0;
        ForEachTarget(piped ? null : KeepVersions, async (events, target, list, ct) =>
        {
            var candidates = piped
                ? list.Where(i => _piped.Any(p => p.Path == i.Path && p.Host == i.Host)).ToList()
                : list.Where(i => i.State == nameof(PublishedState.WouldRemove)).ToList();
            foreach (var kept in list.Where(i => !piped && i.State == nameof(PublishedState.InUse)))
            {
                Emit(kept);
            }
            var approved = new List<TalosPublishedImage>();
            foreach (var c in candidates)
            {
                if (ShouldProcessFromEngine($"{c.Host}:{c.Path}", $"Remove {c.Name} ({c.Version}), published by TalosImage"))
                {
                    approved.Add(c);
                }
                else
                {
                    Emit(c with { State = nameof(PublishedState.WouldRemove) });
                }
            }
            if (approved.Count == 0)
            {
                return;
            }
            foreach (var r in await RemoveAsync(events, target, approved, ct).ConfigureAwait(false))
            {
                Emit(r);
                if (r.State == nameof(PublishedState.Failed))
                {
                    EmitError(new TalosException(TalosErrors.Find(r.ErrorId) ?? TalosErrors.RemoteCommandFailed, r.Error ?? "removal failed", r.Path), r.Path);
                }
            }
        });
        base.EndProcessing();
    }
}
