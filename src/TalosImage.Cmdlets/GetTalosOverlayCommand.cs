using System;
using System.Management.Automation;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;

namespace TalosImage.Cmdlets;

/// <summary>Lists the official overlays (single-board computer support) of a Talos version, as the Image Factory offers them.</summary>
[Cmdlet(VerbsCommon.Get, "TalosOverlay")]
[OutputType(typeof(TalosOverlay))]
public sealed class GetTalosOverlayCommand : TalosCmdlet
{
    private SchematicService? _service;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VersionCompleter))]
    public string Version { get; set; } = "";

    /// <summary>Names or wildcards, e.g. rpi_generic or rock*.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(OverlayCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Default: TALOS_FACTORY_URL, else https://factory.talos.dev.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? FactoryUrl { get; set; }

    protected override void ProcessRecord()
    {
        var url = FactoryUrl ?? FactoryClient.DefaultUrl();
        RunEngine(async (events, token) =>
        {
            _service ??= new SchematicService(new FactoryClient(url), events);
            var (overlays, errors) = await _service.FindOverlaysAsync(Version, Name, token).ConfigureAwait(false);
            foreach (var o in overlays)
            {
                Emit(o);
            }
            foreach (var error in errors)
            {
                EmitError(error, error.Target);
            }
        }, target: Version);
    }
}
