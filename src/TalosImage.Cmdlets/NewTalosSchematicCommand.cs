using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using TalosImage.Core.Factory;
using TalosImage.Core.Orders;
using TalosImage.Core.Schematics;

namespace TalosImage.Cmdlets;

/// <summary>
/// Creates a schematic on the Image Factory (POST /schematics) from parameters or a schematic.yaml and returns its
/// ID. With -Offline or -WhatIf the ID is computed locally. With -Version (for example from Resolve-TalosVersion) the
/// extension names are checked against that version's official list first.
/// </summary>
[Cmdlet(VerbsCommon.New, "TalosSchematic", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = ParametersSet)]
[OutputType(typeof(TalosSchematic))]
public sealed class NewTalosSchematicCommand : TalosCmdlet
{
    private const string ParametersSet = "Parameters";
    private const string PathSet = "Path";

    private SchematicService? _factory;
    private SchematicService? _local;

    /// <summary>Official extension names, e.g. siderolabs/qemu-guest-agent (order matters to the ID).</summary>
    [Parameter(Position = 0, ParameterSetName = ParametersSet)]
    [Alias("Extension")]
    [ArgumentCompleter(typeof(ExtensionCompleter))]
    public string[] SystemExtension { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = ParametersSet)]
    public string[] KernelArg { get; set; } = Array.Empty<string>();

    /// <summary>META values: @{ 10 = '...' } (keys 0..255, written in key order).</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public Hashtable? Meta { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public string? OverlayImage { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    [ArgumentCompleter(typeof(OverlayCompleter))]
    public string? OverlayName { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public Hashtable? OverlayOption { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    [ValidateSet("off", "manual", "if-safe", "force")]
    public string? SecureBootEnrollKeys { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public SwitchParameter SecureBootIncludeWellKnownCertificates { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    [ValidateSet("none", "dual-boot", "sd-boot", "grub")]
    public string? Bootloader { get; set; }

    [Parameter(ParameterSetName = ParametersSet)]
    public uint SectorSize { get; set; }

    /// <summary>Talos 1.12 and later.</summary>
    [Parameter(ParameterSetName = ParametersSet)]
    public string? EmbeddedMachineConfiguration { get; set; }

    /// <summary>A schematic.yaml as the factory takes it.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Check the extension names against this Talos version and pass it on in the output.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VersionCompleter))]
    public string? Version { get; set; }

    /// <summary>Compute the ID locally; ask no server.</summary>
    [Parameter]
    public SwitchParameter Offline { get; set; }

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
        Schematic schematic;
        try
        {
            schematic = ParameterSetName == PathSet
                ? SchematicReader.Load(GetUnresolvedProviderPathFromPSPath(Path))
                : SchematicBuilder.Build(new SchematicParameters
                {
                    SystemExtensions = SystemExtension,
                    KernelArgs = KernelArg,
                    Meta = Meta is null ? Array.Empty<KeyValuePair<object, object?>>() : Meta.Cast<DictionaryEntry>().Select(e => new KeyValuePair<object, object?>(Unwrap(e.Key)!, Unwrap(e.Value))).ToList(),
                    OverlayImage = OverlayImage,
                    OverlayName = OverlayName,
                    OverlayOptions = (IDictionary?)Unwrap(OverlayOption),
                    Bootloader = Bootloader,
                    SecureBootEnrollKeys = SecureBootEnrollKeys,
                    SecureBootIncludeWellKnownCertificates = SecureBootIncludeWellKnownCertificates,
                    SectorSize = SectorSize,
                    EmbeddedMachineConfiguration = EmbeddedMachineConfiguration,
                });
        }
        catch (Core.TalosException e)
        {
            ThrowTerminatingError(ErrorRecordFor(e, ParameterSetName == PathSet ? Path : null));
            return;
        }

        var url = FactoryUrl ?? FactoryClient.DefaultUrl();
        var online = !Offline && ShouldProcess(url, $"Create schematic {schematic.ComputeId()}");
        var version = Version;
        var http = online ? FactoryHttp(url, FactoryCredential) : null;
        RunEngine(async (events, token) =>
        {
            var service = online ? (_factory ??= new SchematicService(new FactoryClient(url, http), events)) : (_local ??= new SchematicService(null, events));
            Emit(await service.CreateAsync(schematic, version, token).ConfigureAwait(false));
        }, target: ParameterSetName == PathSet ? Path : schematic.ComputeId());
    }

    /// <summary>PowerShell wraps values in PSObject; the engine wants the values.</summary>
    private static object? Unwrap(object? value) => value switch
    {
        PSObject ps => Unwrap(ps.BaseObject),
        IDictionary map => map.Cast<DictionaryEntry>().Aggregate(new Hashtable(), (h, e) => { h[Unwrap(e.Key)!] = Unwrap(e.Value); return h; }),
        IList list when value is not string => list.Cast<object?>().Select(Unwrap).ToArray(),
        _ => value,
    };
}
