using System;
using System.Collections.Generic;
using System.Management.Automation;
using TalosImage.Core;
using TalosImage.Core.Manifests;

namespace TalosImage.Cmdlets;

/// <summary>
/// Writes a manifest in the order manifest's format from the TalosArtifact and TalosPublishResult objects that reach
/// it, and passes every object on: <c>... | Save-TalosImage | Expand-TalosImage | Publish-TalosImage | Export-TalosManifest -Path m.yaml</c>.
/// </summary>
[Cmdlet(VerbsData.Export, "TalosManifest", SupportsShouldProcess = true)]
[OutputType(typeof(TalosArtifact), typeof(TalosPublishResult))]
public sealed class ExportTalosManifestCommand : TalosCmdlet
{
    private readonly List<TalosArtifact> _artifacts = new();
    private readonly List<TalosPublishResult> _pushes = new();

    [Parameter(Mandatory = true, Position = 0)]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public PSObject InputObject { get; set; } = null!;

    /// <summary>The order id written into the manifest (default: the file name without extension).</summary>
    [Parameter]
    public string? OrderId { get; set; }

    [Parameter]
    public string Customer { get; set; } = "";

    protected override void ProcessRecord()
    {
        switch (InputObject.BaseObject)
        {
            case TalosArtifact a:
                _artifacts.Add(a);
                break;
            case TalosPublishResult r:
                _pushes.Add(r);
                break;
            default:
                WriteWarning($"Export-TalosManifest records TalosArtifact and TalosPublishResult objects; passing on a {InputObject.BaseObject?.GetType().Name ?? "null"} without recording it.");
                break;
        }
        WriteObject(InputObject);
    }

    protected override void EndProcessing()
    {
        var path = GetUnresolvedProviderPathFromPSPath(Path);
        var manifest = ManifestBuilder.FromPipeline(OrderId ?? System.IO.Path.GetFileNameWithoutExtension(path), Customer, _artifacts, _pushes, DateTimeOffset.UtcNow);
        if (ShouldProcess(path, $"Write a manifest of {manifest.Entries.Count} entr{(manifest.Entries.Count == 1 ? "y" : "ies")}"))
        {
            try
            {
                ManifestWriter.Write(manifest, path);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                WriteError(ErrorRecordFor(new TalosException(TalosErrors.ManifestWriteFailed, $"cannot write the manifest {path}: {e.Message}", path, e), path));
            }
        }
    }
}
