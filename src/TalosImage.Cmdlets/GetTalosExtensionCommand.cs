using System;
using System.Management.Automation;
using TalosImage.Core.Factory;
using TalosImage.Core.Schematics;

namespace TalosImage.Cmdlets;

/// <summary>Lists the official system extensions of a Talos version, as the Image Factory offers them.</summary>
[Cmdlet(VerbsCommon.Get, "TalosExtension")]
[OutputType(typeof(TalosExtension))]
public sealed class GetTalosExtensionCommand : TalosCmdlet
{
    private SchematicService? _service;

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(VersionCompleter))]
    public string Version { get; set; } = "";

    /// <summary>Names or wildcards, matched against the whole name (siderolabs/qemu-guest-agent) or the part after '/'.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ExtensionCompleter))]
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
            var (extensions, errors) = await _service.FindExtensionsAsync(Version, Name, token).ConfigureAwait(false);
            foreach (var e in extensions)
            {
                Emit(e);
            }
            foreach (var error in errors)
            {
                EmitError(error, error.Target);
            }
        }, target: Version);
    }
}
