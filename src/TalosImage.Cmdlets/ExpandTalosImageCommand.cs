using System.IO;
using System.Management.Automation;
using TalosImage.Core.Cache;
using TalosImage.Core.Expansion;

namespace TalosImage.Cmdlets;

/// <summary>
/// Expands a compressed disk image (raw.xz, raw.zst, raw.gz, raw.tar.gz, qcow2.xz, vhd.xz ...) beside it, sparse
/// and verified, and emits a TalosArtifact for the expanded file. Skips the work when a verified expansion of the
/// same source is already there (-Force redoes it).
/// </summary>
[Cmdlet(VerbsData.Expand, "TalosImage", SupportsShouldProcess = true, DefaultParameterSetName = ArtifactSet, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(TalosArtifact))]
public sealed class ExpandTalosImageCommand : TalosCmdlet
{
    private const string PathSet = "Path";
    private const string ArtifactSet = "Artifact";

    // The default set, so that a piped TalosArtifact binds here as itself (with its identity) rather than by its
    // Path property into the Path set; a file (Get-ChildItem, Get-TalosCache, a string) still binds to -Path.
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ArtifactSet)]
    [Alias("TalosArtifact")]
    public TalosArtifact? InputObject { get; set; }

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = PathSet)]
    [Alias("FullName")]
    public string Path { get; set; } = "";

    /// <summary>Where to write the expanded image; default: beside the source without the compression suffix.</summary>
    [Parameter(Position = 1)]
    public string? Destination { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>xz decoder threads; 0 (default) = one per core.</summary>
    [Parameter]
    [ValidateRange(0, 1024)]
    public int Threads { get; set; }

    /// <summary>
    /// The xz/zstd decoder: Auto (liblzma/libzstd when they load, else the managed one), Native, Managed or Program.
    /// Unset: TALOSIMAGE_DECOMPRESSOR, else Auto (DecompressorChoice).
    /// </summary>
    [Parameter]
    [ValidateSet("Auto", "Native", "Managed", "Program")]
    public string? Decompressor { get; set; }

    protected override void ProcessRecord()
    {
        var source = ParameterSetName == ArtifactSet && InputObject is not null
            ? InputObject
            : ImageExpander.ArtifactFor(GetUnresolvedProviderPathFromPSPath(Path));
        var destination = Destination is null ? null : GetUnresolvedProviderPathFromPSPath(Destination);
        RunEngine(async (events, token) =>
        {
            // The parameter wins over TALOSIMAGE_DECOMPRESSOR (read, and refused when it names no decoder, only then).
            DecompressorChoice.TryParse(Decompressor, out var asked);
            var options = new ExpandOptions
            {
                Force = Force,
                Threads = Threads,
                Backend = DecompressorChoice.Resolve(Decompressor is null ? null : asked),
            };
            // A verified expansion of this very source is what a run would return: passed on without asking, as
            // Save-TalosImage passes on a cached file, so that Save | Expand -WhatIf | Publish -WhatIf reaches Publish.
            var stage = new ExpandStage(events, options, CacheAccess.PerCall());
            var step = stage.Plan(source, destination, token);
            if (step.Existing is null && !ShouldProcessFromEngine(step.Target, step.Action))
            {
                return;
            }
            Emit(await stage.RunAsync(step, token).ConfigureAwait(false));
        }, target: source.Path);
    }
}
