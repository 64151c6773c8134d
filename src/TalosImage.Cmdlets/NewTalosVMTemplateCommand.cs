using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using TalosImage.Core;
using TalosImage.Core.Publishing.Proxmox;

namespace TalosImage.Cmdlets;

/// <summary>
/// Makes a Proxmox VE VM template from a Talos disk image already in a storage's import content, through the API:
/// from Publish-TalosImage's results (<c>... | Publish-TalosImage -ProxmoxUri ... | New-TalosVMTemplate -ProxmoxUri ...</c>)
/// or a volume named with -VolumeId. Idempotent by the image's SHA-256; keep-N retirement only with -Keep.
/// </summary>
[Cmdlet(VerbsCommon.New, "TalosVMTemplate", SupportsShouldProcess = true, DefaultParameterSetName = PublishedSet, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TalosVMTemplate))]
public sealed class NewTalosVMTemplateCommand : TalosCmdlet
{
    private const string PublishedSet = "Published";
    private const string VolumeSet = "Volume";

    /// <summary>A result of Publish-TalosImage -ProxmoxUri for a disk image (import content).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = PublishedSet)]
    public TalosPublishResult? InputObject { get; set; }

    /// <summary>The disk image's volume id, e.g. local:import/talos-376567988ad3-v1.11.5-nocloud-amd64.raw.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VolumeSet)]
    [ValidateNotNullOrEmpty]
    public string VolumeId { get; set; } = "";

    /// <summary>The node whose storage holds the volume; the template is made there.</summary>
    [Parameter(Mandatory = true, ParameterSetName = VolumeSet)]
    [ValidateNotNullOrEmpty]
    public string Node { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = VolumeSet)]
    [ValidateNotNullOrEmpty]
    public string Sha256 { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = VolumeSet)]
    [ValidateNotNullOrEmpty]
    public string SchematicId { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = VolumeSet)]
    [ValidateNotNullOrEmpty]
    public string Version { get; set; } = "";

    /// <summary>The factory platform of the image (nocloud, metal ...); it decides the installer image and nocloud's cloud-init drive.</summary>
    [Parameter(ParameterSetName = VolumeSet)]
    public string Platform { get; set; } = "";

    [Parameter(ParameterSetName = VolumeSet)]
    public string Architecture { get; set; } = "";

    /// <summary>A SecureBoot image: OVMF, q35 and an EFI disk without pre-enrolled keys.</summary>
    [Parameter(ParameterSetName = VolumeSet)]
    public SwitchParameter SecureBoot { get; set; }

    /// <summary>The installer image reference to record (default: the public factory's for the image).</summary>
    [Parameter(ParameterSetName = VolumeSet)]
    public string InstallerImage { get; set; } = "";

    [Parameter(Mandatory = true)]
    public Uri? ProxmoxUri { get; set; }

    /// <summary>The storage the disk is imported into (not the import storage the image is on).</summary>
    [Parameter]
    public string Storage { get; set; } = TemplateSettings.DefaultStorage;

    /// <summary>The VM id; without it the next free id (GET /cluster/nextid).</summary>
    [Parameter]
    [ValidateRange(TemplateSettings.MinVmId, TemplateSettings.MaxVmId)]
    public int? VmId { get; set; }

    [Parameter]
    public string? Name { get; set; }

    /// <summary>MiB.</summary>
    [Parameter]
    public int Memory { get; set; } = TemplateSettings.DefaultMemory;

    [Parameter]
    public int Cores { get; set; } = TemplateSettings.DefaultCores;

    [Parameter]
    public string Bridge { get; set; } = TemplateSettings.DefaultBridge;

    [Parameter]
    public string[] Tag { get; set; } = Array.Empty<string>();

    /// <summary>qemu config keys that replace or add to the defaults (@{ cpu = 'host'; ide2 = '' }); an empty value removes a default.</summary>
    [Parameter]
    public Hashtable? Option { get; set; }

    /// <summary>Keep this many templates of the image's family (newest versions) and retire older ones, never one with linked clones.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int? Keep { get; set; }

    /// <summary>The whole token USER@REALM!TOKENID=SECRET. Without it and -Credential: $env:PROXMOX_API_TOKEN.</summary>
    [Parameter]
    public SecureString? ApiToken { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    public string? CertificateFingerprint { get; set; }

    protected override void ProcessRecord()
    {
        TemplateRequest request;
        try
        {
            var settings = Settings();
            if (ParameterSetName == PublishedSet)
            {
                var published = InputObject!;
                if (published.Is(PublishStatus.Failed))
                {
                    WriteWarning($"{published.Host}: {published.VolumeId ?? published.Destination} was not published ({published.ErrorId}); no template is made from it.");
                    return;
                }
                request = ProxmoxTemplateBuilder.ForPublished(published, ProxmoxUri!, CertificateFingerprint, settings);
            }
            else
            {
                request = ProxmoxTemplateBuilder.Complete(new TemplateRequest
                {
                    Endpoint = ProxmoxUri!,
                    Node = Node,
                    FingerprintSha256 = CertificateFingerprint,
                    SourceVolumeId = VolumeId,
                    Sha256 = Sha256,
                    SchematicId = SchematicId,
                    Version = Version,
                    Platform = Platform,
                    Architecture = Architecture,
                    SecureBoot = SecureBoot,
                    InstallerImage = InstallerImage,
                    Settings = settings,
                }, null, null);
            }
            request = ProxmoxTemplateBuilder.Check(request);
            ProxmoxApiToken.EnsureOneSource(ApiToken, Credential?.Password);
        }
        catch (TalosException e)
        {
            WriteError(ErrorRecordFor(e, (object?)InputObject ?? VolumeId));
            return;
        }
        var id = request.Settings.VmId is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "the next free id";
        if (!ShouldProcess($"{request.Node} ({request.Endpoint.Host}): {request.SourceVolumeId}",
                $"Create VM template {ProxmoxTemplateBuilder.NameFor(request)} ({id}, disk on {request.Settings.Storage}) unless one records this image"))
        {
            return;
        }
        ProxmoxApiToken token;
        try
        {
            token = ProxmoxApiToken.Resolve(ApiToken, Credential?.UserName, Credential?.Password, PublishTalosImageCommand.TokenVariable);
        }
        catch (TalosException e)
        {
            ThrowTerminatingError(ErrorRecordFor(e, ProxmoxUri?.ToString()));
            return;
        }
        RunEngine(async (events, ct) =>
        {
            var builder = new ProxmoxTemplateBuilder(token, events);
            foreach (var template in await builder.EnsureAsync(request, ct, ShouldProcessFromEngine).ConfigureAwait(false))
            {
                Emit(template);
            }
        }, target: request.SourceVolumeId);
    }

    private TemplateSettings Settings()
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in (IDictionary?)Option ?? new Hashtable())
        {
            options[e.Key?.ToString() ?? ""] = e.Value is null ? "" : LanguagePrimitives.ConvertTo<string>(e.Value);
        }
        return new TemplateSettings
        {
            VmId = VmId,
            Name = Name,
            Storage = Storage,
            Memory = Memory,
            Cores = Cores,
            Bridge = Bridge,
            Tags = Tag.ToList(),
            Options = options,
            Keep = Keep,
        };
    }
}
