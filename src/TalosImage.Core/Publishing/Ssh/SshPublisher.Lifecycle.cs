using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core.Publishing.Retention;

namespace TalosImage.Core.Publishing.Ssh;

public sealed partial class SshPublisher
{
    /// <summary>
    /// After the probe, before any byte moves: an existing file with another SHA-256 fails with RemoteFileConflict (both
    /// hashes) unless the target says Replace, and with
    /// Replace fails with RemoteFileInUse while a VM/template configuration references it (unless ReplaceInUse); then the
    /// folder's free space must hold the file (minus what a resumed temporary file already has), else
    /// PublishSpaceInsufficient. A replace then goes the usual way: temporary name, verify, rename over the old file.
    /// A file that cannot be compared (remote expansion without a known raw hash) is replaced as before.
    /// Where no file is there to compare, the probe's free space (<paramref name="probed"/>) is used; only a conflict
    /// costs a round trip of its own (<see cref="LifecycleScripts.Preflight"/>: the file's own hash, its users, df).
    /// </summary>
    private async Task<TalosPublishResult?> PreflightAsync(Push push, string? remoteSize, IReadOnlyDictionary<string, string> probed, CancellationToken ct)
    {
        var plan = push.Plan;
        var target = plan.Target;
        var conflict = remoteSize is not null && push.Want is not null;
        // The probe's hash may come from the sidecar; a conflict is declared only on the file's own hash.
        var hash = conflict ? plan.Final : null;
        var users = conflict && target.Replace ? plan.FinalName : null;
        var output = "";
        var ownTrip = conflict || !probed.ContainsKey(LifecycleScripts.Avail);
        if (ownTrip)
        {
            var outcome = await RunRemoteAsync(push, LifecycleScripts.Preflight(plan.Dir, hash, users, _options.PveConfigDir), ct).ConfigureAwait(false);
            if (outcome.ExitCode != 0)
            {
                return Failed(push, "checking free space", outcome);
            }
            output = outcome.StandardOutput;
        }
        var lines = ownTrip ? RemoteMarker.Parse(output) : probed;
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
            var configs = LifecycleScripts.All(output, LifecycleScripts.User).Distinct(StringComparer.Ordinal).ToList();
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

    /// <summary>
    /// What TalosImage published on <paramref name="target"/> (Get-TalosPublished over SSH): the files of its iso and
    /// import folders that have TalosImage's naming (<see cref="PublishedName"/>) AND a <c>.sha256</c> sidecar naming
    /// them (every push writes one), with the VM/template configurations under <see cref="SshPublishOptions.PveConfigDir"/>
    /// that reference them. With <paramref name="keepVersions"/>, those retention would remove are WouldRemove (InUse
    /// when referenced). Connection and command failures throw TalosException.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishedImage>> ListPublishedAsync(SshTarget target, int? keepVersions, CancellationToken ct, IReadOnlyCollection<string>? protect = null)
    {
        var (push, own) = await HostPushAsync(target, ct).ConfigureAwait(false);
        using (own)
        {
            return await ListPublishedAsync(push, target, keepVersions, protect, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Removes <paramref name="items"/> of this host (file and sidecar), after listing again: only a file still there,
    /// still of TalosImage's naming with its sidecar, and referenced by no VM or template configuration. Returns each as
    /// Removed, InUse or Failed.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishedImage>> RemovePublishedAsync(SshTarget target, IEnumerable<TalosPublishedImage> items, CancellationToken ct)
    {
        var wanted = items.Where(i => i.Transport == PublishTransport.Ssh.ToString() && i.Host == target.Host).ToList();
        if (wanted.Count == 0)
        {
            return Array.Empty<TalosPublishedImage>();
        }
        var (push, own) = await HostPushAsync(target, ct).ConfigureAwait(false);
        using (own)
        {
            var now = await ListPublishedAsync(push, target, null, null, ct).ConfigureAwait(false);
            var results = new List<TalosPublishedImage>();
            var remove = new List<TalosPublishedImage>();
            foreach (var item in wanted)
            {
                var current = now.FirstOrDefault(n => n.Path == item.Path);
                if (current is null)
                {
                    _events.Verbose($"{target.Host}: {item.Path} is no longer there.");
                }
                else if (current.UsedBy.Length > 0)
                {
                    results.Add(current with { State = nameof(PublishedState.InUse) });
                }
                else
                {
                    remove.Add(current);
                }
            }
            foreach (var dir in remove.GroupBy(r => r.Storage, StringComparer.Ordinal))
            {
                var outcome = await RunRemoteAsync(push, LifecycleScripts.Remove(dir.Key, dir.Select(r => r.Name)), ct).ConfigureAwait(false);
                var gone = new HashSet<string>(LifecycleScripts.All(outcome.StandardOutput, LifecycleScripts.Removed), StringComparer.Ordinal);
                foreach (var r in dir)
                {
                    results.Add(gone.Contains(r.Name)
                        ? r with { State = nameof(PublishedState.Removed) }
                        : r with
                        {
                            State = nameof(PublishedState.Failed),
                            Error = $"rm {r.Path} on {target.Host} failed (exit {outcome.ExitCode}): {Trim(outcome.StandardError)}",
                            ErrorId = outcome.ExitCode == (int)RemoteExit.SshFailed ? TalosErrors.SshConnectionFailed.Id : TalosErrors.RemoteCommandFailed.Id,
                        });
                    if (gone.Contains(r.Name))
                    {
                        _events.Verbose($"{target.Host}: removed {r.Path} and its sidecar ({r.Version}, {r.Family}).");
                    }
                }
            }
            return results;
        }
    }

    /// <summary>
    /// A push-like handle on a host for commands that send no file (listing, removing): on the run's shared connection
    /// (<see cref="SshPublishOptions.Run"/>, <see cref="SshPublishOptions.Connections"/>), or on its own that the caller
    /// disposes.
    /// </summary>
    private async Task<(Push Push, IDisposable Own)> HostPushAsync(SshTarget target, CancellationToken ct)
    {
        var plan = SshPublishPlan.For(new TalosArtifact { Format = "iso", Asset = "inventory.iso" }, target, SshPublishMode.AsIs, needFile: false, _options);
        var own = new OwnedConnections(_options.Run is null ? new SshRun() : null, _options.Connections is null && plan.Sftp is not null ? new SftpConnectionPool() : null);
        var push = new Push(plan, "", 0) { Run = _options.Run ?? own.Run! };
        try
        {
            if (plan.Sftp is { } settings)
            {
                push.Connection = await (_options.Connections ?? own.Pool)!.GetAsync(settings, _options.Credentials, _events, _options.ConnectTimeout, ct).ConfigureAwait(false);
            }
        }
        catch
        {
            own.Dispose();
            throw;
        }
        return (push, own);
    }

    /// <summary>The run and connection pool a host handle made for itself (null where the options lend the run's).</summary>
    private sealed class OwnedConnections : IDisposable
    {
        public OwnedConnections(SshRun? run, SftpConnectionPool? pool)
        {
            Run = run;
            Pool = pool;
        }

        public SshRun? Run { get; }

        public SftpConnectionPool? Pool { get; }

        public void Dispose()
        {
            Pool?.Dispose();
            Run?.Dispose();
        }
    }

    private async Task<IReadOnlyList<TalosPublishedImage>> ListPublishedAsync(Push push, SshTarget target, int? keep, IReadOnlyCollection<string>? protect, CancellationToken ct)
    {
        var isoDir = SshSafety.CheckRemoteDir(target.IsoDir, $"iso folder for {target.Host}");
        var importDir = SshSafety.CheckRemoteDir(target.ImportDir, $"import folder for {target.Host}");
        var dirs = new[] { isoDir, importDir }.Distinct(StringComparer.Ordinal).ToList();
        var found = new List<(string Dir, PublishedName Name, long Size, string Sha)>();
        foreach (var dir in dirs)
        {
            var outcome = await RunRemoteAsync(push, LifecycleScripts.List(dir), ct).ConfigureAwait(false);
            if (outcome.ExitCode != 0)
            {
                throw new TalosException(outcome.ExitCode == (int)RemoteExit.SshFailed ? TalosErrors.SshConnectionFailed : TalosErrors.RemoteCommandFailed,
                    $"Listing {dir} on {target.Host} failed (exit {outcome.ExitCode}): {Trim(outcome.StandardError)}", target.Host);
            }
            var sidecars = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var line in LifecycleScripts.All(outcome.StandardOutput, LifecycleScripts.SidecarLine))
            {
                var words = line.Split(new[] { ' ' }, 2);
                if (words.Length == 2 && LocalArtifact.IsSha256(words[0]))
                {
                    sidecars[words[1]] = words[0].ToLowerInvariant();
                }
            }
            foreach (var line in LifecycleScripts.All(outcome.StandardOutput, LifecycleScripts.File))
            {
                var words = line.Split(new[] { ' ' }, 3);
                if (words.Length == 3 && long.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size) &&
                    PublishedName.TryParse(words[2]) is { } name && sidecars.TryGetValue(words[2], out var sha) &&
                    // Where TalosImage puts them: ISO images in the iso folder, disk images in the import folder.
                    (name.Format == "iso" ? dir == isoDir : dir == importDir))
                {
                    found.Add((dir, name, size, sha));
                }
            }
        }
        var users = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (found.Count > 0)
        {
            var script = string.Concat(found.Select(f => f.Name.Name).Distinct(StringComparer.Ordinal)
                .Select(n => "echo " + SshSafety.Quote(LifecycleScripts.User + "-for " + n) + "; " + LifecycleScripts.Users(n, _options.PveConfigDir))) + "exit 0";
            var outcome = await RunRemoteAsync(push, script, ct).ConfigureAwait(false);
            if (outcome.ExitCode != 0)
            {
                throw new TalosException(outcome.ExitCode == (int)RemoteExit.SshFailed ? TalosErrors.SshConnectionFailed : TalosErrors.RemoteCommandFailed,
                    $"Reading the VM configurations on {target.Host} failed (exit {outcome.ExitCode}): {Trim(outcome.StandardError)}", target.Host);
            }
            string? current = null;
            foreach (var raw in outcome.StandardOutput.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith(LifecycleScripts.User + "-for ", StringComparison.Ordinal))
                {
                    current = line.Substring(LifecycleScripts.User.Length + 5);
                }
                else if (current is not null && line.StartsWith(LifecycleScripts.User + " ", StringComparison.Ordinal))
                {
                    (users.TryGetValue(current, out var l) ? l : users[current] = new List<string>()).Add(line.Substring(LifecycleScripts.User.Length + 1));
                }
            }
        }
        var beyond = keep is { } k ? PublishedName.Beyond(found.Select(f => f.Name), k) : new HashSet<string>();
        return found.Select(f =>
        {
            var path = (f.Dir == "/" ? "" : f.Dir) + "/" + f.Name.Name;
            var usedBy = users.TryGetValue(f.Name.Name, out var u) ? u.Distinct(StringComparer.Ordinal).ToArray() : Array.Empty<string>();
            var older = beyond.Contains(f.Name.Name) && !(protect?.Contains(path) ?? false);
            var state = !older ? PublishedState.Published : usedBy.Length > 0 ? PublishedState.InUse : PublishedState.WouldRemove;
            return f.Name.Describe() with
            {
                Transport = PublishTransport.Ssh.ToString(),
                Endpoint = target.Host,
                Host = target.Host,
                Storage = f.Dir,
                Path = path,
                Size = f.Size,
                Sha256 = f.Sha,
                UsedBy = usedBy,
                State = state.ToString(),
            };
        }).OrderBy(i => i.Family, StringComparer.Ordinal).ThenByDescending(i => PublishedName.TryParse(i.Name)!.Version).ToList();
    }
}
