using System;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Publishing.Ssh;

public sealed partial class SshPublisher
{
    /// <summary>
    /// After the probe, before any byte moves (one round trip, <see cref="LifecycleScripts.Preflight"/>): an existing
    /// file with another SHA-256 fails with RemoteFileConflict (both hashes) unless the target says Replace, and with
    /// Replace fails with RemoteFileInUse while a VM/template configuration references it (unless ReplaceInUse); then the
    /// folder's free space must hold the file (minus what a resumed temporary file already has), else
    /// PublishSpaceInsufficient. A replace then goes the usual way: temporary name, verify, rename over the old file.
    /// A file that cannot be compared (remote expansion without a known raw hash) is replaced as before.
    /// </summary>
    private async Task<TalosPublishResult?> PreflightAsync(Push push, string? remoteSize, string? remoteSha, CancellationToken ct)
    {
        var plan = push.Plan;
        var target = plan.Target;
        var conflict = remoteSize is not null && push.Want is not null;
        // The probe's hash may come from the sidecar; a conflict is declared only on the file's own hash.
        var hash = conflict ? plan.Final : null;
        var users = conflict && target.Replace ? plan.FinalName : null;
        _ = remoteSha;
        var outcome = await RunRemoteAsync(push, LifecycleScripts.Preflight(plan.Dir, hash, users, _options.PveConfigDir), ct).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
        {
            return Failed(push, "checking free space", outcome);
        }
        var lines = RemoteMarker.Parse(outcome.StandardOutput);
        var theirs = lines.TryGetValue(RemoteMarker.Sha, out var h) && h.Length == 64 ? h : "unknown";
        if (conflict && string.Equals(theirs, push.Want, StringComparison.OrdinalIgnoreCase))
        {
            // Only its sidecar disagreed (or its size, for an expansion): the file is what this push sends; sent again,
            // which rewrites the sidecar.
            _events.Verbose($"{plan.Host}: {plan.Final} has this artifact's SHA-256 but its sidecar says otherwise; sending it again.");
            conflict = false;
        }
        if (conflict)
        {
            var what = $"{plan.Host}:{plan.Final} exists with SHA-256 {theirs} ({remoteSize} bytes); this artifact's is {push.Want}" +
                (plan.Expand ? " (expanded)" : $" ({push.Size} bytes)");
            if (!target.Replace)
            {
                return push.Failed(what + ". It is neither reused nor overwritten: publish with -Force (push.replace: true) to replace it, or remove it.",
                    TalosErrors.RemoteFileConflict.Id);
            }
            var configs = LifecycleScripts.All(outcome.StandardOutput, LifecycleScripts.User).Distinct(StringComparer.Ordinal).ToList();
            if (configs.Count > 0)
            {
                var who = "referenced by " + string.Join(", ", configs);
                if (!target.ReplaceInUse)
                {
                    return push.Failed($"{what}; not replaced: it is {who}. Detach it first, or replace it anyway with -ReplaceInUse (push.replace_in_use: true).",
                        TalosErrors.RemoteFileInUse.Id);
                }
                _events.Warning($"{plan.Host}: replacing {plan.Final} although it is {who} (-ReplaceInUse).");
            }
            _events.Verbose($"{what}; replacing it (-Force / push.replace).");
        }
        var need = Math.Max(0, push.Size - push.Resumable);
        if (LifecycleScripts.Bytes(lines.TryGetValue(LifecycleScripts.Avail, out var a) ? a : null) is { } avail)
        {
            if (avail < need)
            {
                return push.Failed(
                    $"Not enough free space for {plan.Final} on {plan.Host}: {Units.Bytes(need)} ({need.ToString(CultureInfo.InvariantCulture)} bytes) needed" +
                    (plan.Expand ? " for the compressed file (its expansion needs more)" : "") +
                    $", {Units.Bytes(avail)} ({avail.ToString(CultureInfo.InvariantCulture)} bytes) available in {plan.Dir}. Nothing was sent. " +
                    "Free space there (Clear-TalosPublished removes old versions TalosImage published) or choose another folder.",
                    TalosErrors.PublishSpaceInsufficient.Id);
            }
            _events.Verbose($"{plan.Host}: {Units.Bytes(need)} needed in {plan.Dir}, {Units.Bytes(avail)} available.");
        }
        else
        {
            _events.Verbose($"{plan.Host}: df -Pk gave no free space for {plan.Dir}; not checked.");
        }
        return null;
    }
}
