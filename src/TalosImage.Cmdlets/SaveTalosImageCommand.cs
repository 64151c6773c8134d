using System.Management.Automation;
using TalosImage.Core;
using TalosImage.Core.Artifacts;
using TalosImage.Core.Cache;
using TalosImage.Core.Factory;

namespace TalosImage.Cmdlets;

/// <summary>
/// Downloads a factory asset into the verified cache (&lt;cache&gt;/artifacts/&lt;schematic&gt;/&lt;version&gt;/&lt;asset&gt;),
/// or returns the cached file when its metadata matches (no bytes read). Binds by property name from
/// TalosSchematic (SchematicId) and TalosVersion (Version).
/// </summary>
[Cmdlet(VerbsData.Save, "TalosImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(TalosArtifact))]
public sealed class SaveTalosImageCommand : TalosCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(SchematicIdCompleter))]
    public string SchematicId { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VersionCompleter))]
    public string Version { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(PlatformCompleter))]
    public string Platform { get; set; } = "nocloud";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateSet("amd64", "arm64")]
    [ArgumentCompleter(typeof(ArchitectureCompleter))]
    public string Architecture { get; set; } = "amd64";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(FormatCompleter))]
    public string Format { get; set; } = "iso";

    [Parameter(ValueFromPipelineByPropertyName = true)]
    public SwitchParameter SecureBoot { get; set; }

    /// <summary>Default: $XDG_CACHE_HOME/talosimage or ~/.cache/talosimage; %LOCALAPPDATA%\TalosImage on Windows.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CacheDirectory { get; set; }

    /// <summary>Default: the FactoryUrl of a piped TalosSchematic, else TALOS_FACTORY_URL, else https://factory.talos.dev.
    /// An empty value (a schematic computed offline has none) means the default.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? FactoryUrl { get; set; }

    /// <summary>-Format pxe only: the factory's PXE host. Default: https://pxe.talos.dev for the public factory, else the factory itself.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PxeUrl { get; set; }

    /// <summary>Credentials of a factory behind a login: a user name and password (HTTP Basic), or the user name "bearer" with a bearer token as the password. Sent only to the factory's own scheme, host and port.</summary>
    [Parameter]
    [Credential]
    public PSCredential? FactoryCredential { get; set; }

    /// <summary>Re-hash a cached file; a corrupt one is deleted and downloaded again.</summary>
    [Parameter]
    public SwitchParameter Verify { get; set; }

    /// <summary>Download again even when the file is cached.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var cacheDir = CacheDirectory is null ? CachePaths.DefaultCacheDirectory() : GetUnresolvedProviderPathFromPSPath(CacheDirectory);
        var request = new ArtifactRequest
        {
            SchematicId = SchematicId,
            Version = Version,
            Platform = Platform,
            Architecture = Architecture,
            Format = Format,
            SecureBoot = SecureBoot,
            FactoryUrl = string.IsNullOrEmpty(FactoryUrl) ? FactoryClient.DefaultUrl() : FactoryUrl!,
            PxeUrl = PxeUrl,
        };
        var options = new SaveOptions { Verify = Verify, Force = Force };
        var http = FactoryHttp(request.FactoryUrl, FactoryCredential);
        RunEngine(async (events, token) =>
        {
            var stage = new SaveStage(cacheDir, events, http, CacheAccess.PerCall());
            var step = stage.Plan(request, options);
            // A cache hit is passed on without asking (-WhatIf too), so that Save | Expand -WhatIf | Publish -WhatIf
            // reaches the last stage with the real artifact.
            if (step.Cached is null && !ShouldProcessFromEngine(step.Path, step.Action))
            {
                return;
            }
            Emit((await stage.RunAsync(step, token).ConfigureAwait(false)).Artifact);
        }, target: $"{SchematicId}/{Version}/{Platform}-{Architecture}.{Format}");
    }
}
