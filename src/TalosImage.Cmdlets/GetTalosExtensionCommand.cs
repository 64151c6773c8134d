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

    /// <summary>Credentials of a factory behind a login: a user name and password (HTTP Basic), or the user name "bearer" with a bearer token as the password. Sent only to the factory's own scheme, host and port.</summary>
    [Parameter]
    [Credential]
    public PSCredential? FactoryCredential { get; set; }

    protected override void ProcessRecord()
    {
        var url = FactoryUrl ?? FactoryClient.DefaultUrl();
        var http = FactoryHttp(url, FactoryCredential);
        RunEngine(async (events, token) =>
        {
            _service ??= new SchematicService(new FactoryClient(url, http), events);
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
