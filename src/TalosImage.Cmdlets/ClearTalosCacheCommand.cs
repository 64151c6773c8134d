using System;
using System.Management.Automation;
using TalosImage.Core;
using TalosImage.Core.Cache;

namespace TalosImage.Cmdlets;

/// <summary>
/// Applies retention to the cache (keep the newest -KeepVersions versions per family), or with -All removes every
/// artifact. Only &lt;cache&gt;/artifacts is touched: manifests, the version cache and foreign files stay (and are
/// reported). Writes what was removed, or with -WhatIf what would be.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "TalosCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = KeepSet)]
[OutputType(typeof(TalosCacheEntry))]
public sealed class ClearTalosCacheCommand : TalosCmdlet
{
    private const string KeepSet = "Keep";
    private const string AllSet = "All";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CacheDirectory { get; set; }

    [Parameter(ParameterSetName = KeepSet)]
    [ValidateRange(0, int.MaxValue)]
    public int KeepVersions { get; set; } = 3;

    /// <summary>Remove every artifact (a purge). Asks first (high impact) unless -Force.</summary>
    [Parameter(Mandatory = true, ParameterSetName = AllSet)]
    public SwitchParameter All { get; set; }

    /// <summary>With -All: do not ask.</summary>
    [Parameter(ParameterSetName = AllSet)]
    public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var cacheDir = CacheDirectory is null ? CachePaths.DefaultCacheDirectory() : GetUnresolvedProviderPathFromPSPath(CacheDirectory);
        var root = CachePaths.ArtifactRoot(cacheDir);
        var action = All ? "Remove every cached artifact" : $"Remove cached artifacts beyond the newest {KeepVersions} version(s) per family";
        var dryRun = !ShouldProcess(root, action);
        if (!dryRun && All && !Force && !Confirmed($"Remove every artifact under {root}?", root))
        {
            return;
        }
        RunEngine(async (events, token) =>
        {
            var clearing = new CacheClearing { All = All, KeepVersions = KeepVersions, DryRun = dryRun };
            foreach (var entry in await CacheCleaner.ClearAsync(cacheDir, clearing, CacheAccess.PerCall(), events, token).ConfigureAwait(false))
            {
                Emit(entry);
            }
        }, target: root, terminating: true);
    }

    /// <summary>ShouldContinue, or a clear error where the host cannot ask (pwsh -NonInteractive, a scheduled task).</summary>
    private bool Confirmed(string question, string root)
    {
        try
        {
            return ShouldContinue(question, "Clear-TalosCache -All");
        }
        catch (Exception e) when (e is PSInvalidOperationException or System.Management.Automation.Host.HostException or NotImplementedException)
        {
            ThrowTerminatingError(ErrorRecordFor(new TalosException(TalosErrors.ConfirmationUnavailable,
                $"Clear-TalosCache -All asks before it removes every artifact under {root}, and this PowerShell host cannot ask (it is non-interactive). Add -Force to remove them without asking, or -WhatIf to see what would be removed.", root, e), root));
            return false;
        }
    }
}
