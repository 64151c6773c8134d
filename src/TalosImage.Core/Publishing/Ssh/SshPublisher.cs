using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// Publishes artifacts to hosts with the system's ssh and rsync (talos_order.py's route, made safe): programs are
/// started with argument lists, never through a shell; options are split and checked by <see cref="SshSafety"/>;
/// remote commands are built only from validated, single-quoted paths. Per host: create the folder, skip when the
/// remote file already has the same size and SHA-256, otherwise rsync to a temporary name in the same folder, verify
/// its SHA-256 remotely and rename it into place (a half-copied image never has the final name). With
/// <see cref="SshPublishMode.RemoteExpand"/> a raw.xz/raw.zst/raw.gz is pushed compressed and expanded on the host.
/// </summary>
public sealed class SshPublisher
{
    /// <summary><see cref="TalosPublishResult.Transport"/> of every result.</summary>
    public const string Transport = "Ssh";

    private static int _nextActivityId = 7000;

    private readonly IEngineEvents _events;
    private readonly SshPublishOptions _options;

    public SshPublisher(IEngineEvents events, SshPublishOptions? options = null)
    {
        _events = events ?? NullEngineEvents.Instance;
        _options = options ?? new SshPublishOptions();
    }

    /// <summary>
    /// The remote path the artifact gets on <paramref name="target"/> (for -WhatIf; nothing is contacted): ISO images in
    /// <see cref="SshTarget.IsoDir"/>, disk images in <see cref="SshTarget.ImportDir"/>, named as the Proxmox API route
    /// names them (<c>talos-&lt;schematic12&gt;-&lt;version&gt;-&lt;asset stem&gt;&lt;ext&gt;</c>); with RemoteExpand a
    /// raw.xz/raw.zst/raw.gz gets the <c>.raw</c> name. Throws TalosException for an unsafe host, folder or option.
    /// </summary>
    public static string DestinationFor(TalosArtifact artifact, SshTarget target, SshPublishMode mode) =>
        SshPublishPlan.For(artifact, target, mode, needFile: false).Final;

    /// <summary>
    /// Publishes one artifact to one host. Remote failures (connection, authentication, mkdir, rsync, verification,
    /// a missing decompressor) give Status Failed with Error and ErrorId; bad input (unsafe host, folder or option, a
    /// missing local file) throws <see cref="TalosException"/> before anything runs; cancellation throws
    /// <see cref="OperationCanceledException"/> (a partial temporary file stays for the next run to resume).
    /// </summary>
    public async Task<TalosPublishResult> PublishAsync(TalosArtifact artifact, SshTarget target, SshPublishMode mode, CancellationToken ct)
    {
        var plan = SshPublishPlan.For(artifact, target, mode, needFile: true);
        var sha = await LocalSha256Async(artifact, plan.LocalPath, ct).ConfigureAwait(false);
        return await PublishPlannedAsync(plan, sha, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes one artifact to several hosts, at most <see cref="SshPublishOptions.MaxParallelHosts"/> at once, and
    /// returns one result per target in the order given. Every target is validated before any host is contacted
    /// (TalosException); the local file is hashed once. A failed host does not stop the others.
    /// </summary>
    public async Task<IReadOnlyList<TalosPublishResult>> PublishManyAsync(TalosArtifact artifact, IReadOnlyList<SshTarget> targets, SshPublishMode mode, CancellationToken ct)
    {
        if (targets is null)
        {
            throw new ArgumentNullException(nameof(targets));
        }
        var plans = targets.Select(t => SshPublishPlan.For(artifact, t, mode, needFile: true)).ToList();
        var duplicate = plans.GroupBy(p => (p.Host, p.Final)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new TalosException(TalosErrors.SshTargetDuplicate,
                $"{duplicate.Key.Host}:{duplicate.Key.Final} is named twice; each host and destination may appear once.", duplicate.Key.Host);
        }
        if (plans.Count == 0)
        {
            return Array.Empty<TalosPublishResult>();
        }
        var sha = await LocalSha256Async(artifact, plans[0].LocalPath, ct).ConfigureAwait(false);
        var results = new TalosPublishResult[plans.Count];
        using var gate = new SemaphoreSlim(Math.Max(1, _options.MaxParallelHosts));
        var work = plans.Select(async (plan, i) =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                results[i] = await PublishPlannedAsync(plan, sha, ct).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(work).ConfigureAwait(false);
        return results;
    }

    private async Task<string> LocalSha256Async(TalosArtifact artifact, string path, CancellationToken ct)
    {
        if (LocalArtifact.IsSha256(artifact.Sha256))
        {
            return artifact.Sha256.ToLowerInvariant();
        }
        _events.Verbose($"Hashing {path} (no SHA-256 is recorded for it).");
        return await LocalArtifact.Sha256Async(path, ct).ConfigureAwait(false);
    }

    private async Task<TalosPublishResult> PublishPlannedAsync(SshPublishPlan plan, string sha, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        long size = new System.IO.FileInfo(plan.LocalPath).Length;
        string? expectedRaw = plan.Expand ? plan.ExpectedRawSha256(sha) : null;
        TalosPublishResult Result(string status, long sent, bool verified, string? error = null, string? errorId = null) => new()
        {
            Host = plan.Host,
            Destination = plan.Final,
            Status = status,
            BytesSent = sent,
            Duration = watch.Elapsed.TotalSeconds,
            Verified = verified,
            Error = error,
            ErrorId = errorId,
            Transport = Transport,
            Path = plan.LocalPath,
            Sha256 = sha,
            Size = size,
            SchematicId = plan.Artifact.SchematicId,
            Version = plan.Artifact.Version,
            Asset = plan.Artifact.Asset,
            RemoteExpanded = plan.Expand,
        };

        try
        {
            if (!plan.Expand && plan.Format.StartsWith("raw.", StringComparison.Ordinal))
            {
                _events.Warning($"{plan.Host}: {plan.Final} is a compressed disk image; Proxmox does not list it for import. " +
                    "Publish the expanded .raw, or use remote expansion.");
            }

            // 1. Folder, existing file, decompressor: one connection.
            var want = plan.Expand ? expectedRaw : sha;
            var probe = await RunRemoteAsync(plan, ProbeScript(plan, size, expectedRaw, want, _options.StaleTemporaryAge), ct).ConfigureAwait(false);
            if (probe.ExitCode == 3)
            {
                return Result("Failed", 0, false, $"mkdir -p {plan.Dir} failed on {plan.Host}: {Trim(probe.StandardError)}", TalosErrors.RemoteMkdirFailed.Id);
            }
            if (probe.ExitCode != 0)
            {
                return Failed(Result, plan, "checking the destination", probe);
            }
            var lines = Lines(probe.StandardOutput);
            if (plan.Expand && !lines.ContainsKey("talosimage-have"))
            {
                return Result("Failed", 0, false,
                    $"{plan.Host} has no '{plan.Decompressor}' program, so it cannot expand {plan.Format} images. Install it there " +
                    $"(apt install {(plan.Decompressor == "zstd" ? "zstd" : plan.Decompressor == "xz" ? "xz-utils" : "gzip")}) or publish the expanded .raw image instead (without remote expansion).",
                    TalosErrors.RemoteDecompressorMissing.Id);
            }
            lines.TryGetValue("talosimage-size", out var remoteSize);
            lines.TryGetValue("talosimage-sha", out var remoteSha);
            if (remoteSha is not null && want is not null && string.Equals(remoteSha, want, StringComparison.OrdinalIgnoreCase) &&
                (plan.Expand || remoteSize == size.ToString(CultureInfo.InvariantCulture)))
            {
                _events.Verbose($"{plan.Host}: {plan.Final} is already there with the same SHA-256; not sent again.");
                return Result("Skipped", 0, true);
            }
            if (remoteSize is not null)
            {
                _events.Verbose($"{plan.Host}: {plan.Final} exists but differs{(want is null ? " or cannot be compared" : "")}; replacing it.");
            }
            if (lines.TryGetValue("talosimage-resume", out var resumed))
            {
                _events.Verbose($"{plan.Host}: resuming from the temporary file an interrupted push left ({resumed} bytes).");
            }

            // 2. Transfer to the temporary name.
            var (rsync, sent) = await RsyncAsync(plan, size, ct).ConfigureAwait(false);
            if (rsync.ExitCode != 0)
            {
                var id = rsync.ExitCode == 255 || rsync.StandardError.IndexOf("connection unexpectedly closed", StringComparison.OrdinalIgnoreCase) >= 0
                    ? TalosErrors.SshConnectionFailed.Id : TalosErrors.RsyncFailed.Id;
                return Result("Failed", sent, false, $"rsync to {plan.Host}:{plan.Temp} failed (exit {rsync.ExitCode}): {Trim(rsync.StandardError)}", id);
            }

            // 3. Verify remotely, expand if asked, rename into place.
            var finish = await RunRemoteAsync(plan, FinishScript(plan, sha, expectedRaw, size), ct).ConfigureAwait(false);
            var done = Lines(finish.StandardOutput);
            if (finish.ExitCode == 0 && done.ContainsKey("talosimage-identical"))
            {
                // Another push (e.g. another host entry on the same shared folder) put the same file there meanwhile.
                _events.Verbose($"{plan.Host}: {plan.Final} was put there meanwhile with the same SHA-256 (another push to the same folder); left as it is.");
                return Result("Skipped", sent, true);
            }
            switch (finish.ExitCode)
            {
                case 0 when done.ContainsKey("talosimage-ok"):
                    break;
                case 5:
                    return Result("Failed", sent, false,
                        $"{plan.Host}:{plan.Temp} has SHA-256 {Get(done, "talosimage-sha")} after the transfer; {sha} was expected. " +
                        "If the local file changed since it was recorded, download it again.", TalosErrors.RemoteVerifyFailed.Id);
                case 7:
                    return Result("Failed", sent, false, $"{plan.Decompressor} could not expand {plan.Temp} on {plan.Host}: {Trim(finish.StandardError)}", TalosErrors.RemoteExpandFailed.Id);
                case 8:
                    return Result("Failed", sent, false,
                        $"The image expanded on {plan.Host} has SHA-256 {Get(done, "talosimage-raw")}; {expectedRaw} was expected.", TalosErrors.RemoteVerifyFailed.Id);
                case 6:
                    return Result("Failed", sent, false, $"Renaming {plan.Temp} to {plan.Final} on {plan.Host} failed: {Trim(finish.StandardError)}", TalosErrors.RemoteRenameFailed.Id);
                default:
                    return Failed(Result, plan, "verifying the transfer", finish);
            }
            var verified = !plan.Expand || expectedRaw is not null;
            if (!verified)
            {
                _events.Warning($"{plan.Host}: expanded {plan.Final} (SHA-256 {Get(done, "talosimage-raw")}); no expected hash of the raw image is known, so it is not verified.");
            }
            _events.Verbose($"{plan.Host}: published {plan.Final} ({Units.Bytes(sent)} sent) in {Units.Duration(watch.Elapsed)}.");
            return Result("Published", sent, verified);
        }
        catch (TalosException e)
        {
            return Result("Failed", 0, false, e.Message, e.ErrorId);
        }
    }

    private static TalosPublishResult Failed(Func<string, long, bool, string?, string?, TalosPublishResult> result, SshPublishPlan plan, string step, ProcessOutcome outcome) =>
        outcome.ExitCode == 255
            ? result("Failed", 0, false, $"ssh {plan.Host} failed while {step}: {Trim(outcome.StandardError)}", TalosErrors.SshConnectionFailed.Id)
            : result("Failed", 0, false, $"{step} on {plan.Host} failed (exit {outcome.ExitCode}): {Trim(outcome.StandardError)}", TalosErrors.RemoteCommandFailed.Id);

    /// <summary>
    /// <c>mkdir -p -- DIR</c>; for an existing final file its size and, when it may match, its SHA-256; for an expansion
    /// whether the decompressor exists. Exit 3: mkdir failed. Then the temporary files of our own naming for this
    /// destination that no push has touched for <paramref name="staleAge"/> (see <see cref="StaleTemporaries"/>): unless
    /// the final file is already <paramref name="want"/>, the largest is taken over as this push's temporary file, so
    /// rsync resumes an interrupted transfer; the others are removed.
    /// </summary>
    internal static string ProbeScript(SshPublishPlan plan, long localSize, string? expectedRaw, string? want = null, TimeSpan? staleAge = null)
    {
        var d = SshSafety.Quote(plan.Dir);
        var f = SshSafety.Quote(plan.Final);
        var sb = new StringBuilder();
        sb.Append("mkdir -p -- ").Append(d).Append(" || exit 3; h=; ");
        sb.Append("if [ -f ").Append(f).Append(" ]; then s=$(stat -c %s -- ").Append(f).Append(") || exit 4; echo \"talosimage-size $s\"; ");
        // The pushed sidecar's hash while the file is not newer than it; else hash the file and record it.
        var sc = SshSafety.Quote(plan.Sidecar);
        var hash = "h=; if [ -f " + sc + " ] && [ ! " + f + " -nt " + sc + " ]; then read -r h _ < " + sc + " || h=; fi; " +
                   "if [ ${#h} -ne 64 ]; then h=$(sha256sum < " + f + ") || exit 4; h=${h%% *}; " + Record("\"$h\"", plan) + "fi; " +
                   "echo \"talosimage-sha $h\"; ";
        if (!plan.Expand)
        {
            sb.Append("if [ \"$s\" = '").Append(localSize.ToString(CultureInfo.InvariantCulture)).Append("' ]; then ").Append(hash).Append("fi; ");
        }
        else if (expectedRaw is not null)
        {
            sb.Append(hash);
        }
        sb.Append("fi; ");
        if (plan.Expand)
        {
            sb.Append("if command -v ").Append(plan.Decompressor).Append(" >/dev/null 2>&1; then echo talosimage-have; fi; ");
        }
        var age = (long)Math.Max(0, Math.Ceiling((staleAge ?? new SshPublishOptions().StaleTemporaryAge).TotalSeconds));
        sb.Append("now=$(date +%s) || now=0; ");
        // Nothing is taken over when the final file is already what would be pushed (the push is skipped).
        var adopt = want is null ? "true" : "[ \"$h\" != '" + want + "' ]";
        sb.Append(StaleTemporaries(plan.TempFamily, age, adoptAs: plan.Temp, adoptWhen: adopt));
        if (plan.RawTempFamily is { } raw)
        {
            sb.Append(StaleTemporaries(raw, age, adoptAs: null, adoptWhen: null));
        }
        sb.Append("exit 0");
        return sb.ToString();
    }

    /// <summary>
    /// Shell code for the temporary files of one family: <c>&lt;prefix&gt;&lt;16 hex&gt;.talosimage-part</c> and the legacy
    /// name without a token, and nothing else. One whose status changed less than <paramref name="age"/> seconds ago may
    /// belong to a running push and is not touched. Of the stale ones the largest is renamed to
    /// <paramref name="adoptAs"/> (prints <c>talosimage-resume SIZE</c>) when <paramref name="adoptWhen"/> holds, the rest
    /// removed. A rename is atomic: of two pushes that see one stale file, one gets it and the other starts afresh; a
    /// file taken over has a new status time, so no other push removes it.
    /// </summary>
    private static string StaleTemporaries((string Prefix, string Legacy) family, long age, string? adoptAs, string? adoptWhen)
    {
        var prefix = SshSafety.Quote(family.Prefix);
        var legacy = SshSafety.Quote(family.Legacy);
        var sb = new StringBuilder();
        sb.Append("b=; bs=-1; for t in ").Append(prefix).Append("*'").Append(SshPublishPlan.PartSuffix).Append("' ").Append(legacy).Append("; do ");
        sb.Append("[ -f \"$t\" ] || continue; ");
        sb.Append("if [ \"$t\" != ").Append(legacy).Append(" ]; then m=${t#").Append(prefix).Append("}; m=${m%'").Append(SshPublishPlan.PartSuffix).Append("'}; ");
        sb.Append("case \"$m\" in *[!0-9a-f]*) continue;; esac; [ ${#m} -eq ").Append(SshPublishPlan.TokenLength.ToString(CultureInfo.InvariantCulture)).Append(" ] || continue; fi; ");
        sb.Append("c=$(stat -c %Z -- \"$t\" 2>/dev/null) || continue; [ $((now - c)) -ge ").Append(age.ToString(CultureInfo.InvariantCulture)).Append(" ] || continue; ");
        if (adoptAs is null)
        {
            sb.Append("rm -f -- \"$t\"; done; ");
            return sb.ToString();
        }
        sb.Append("z=$(stat -c %s -- \"$t\" 2>/dev/null) || continue; ");
        sb.Append("if [ \"$z\" -gt \"$bs\" ]; then [ -z \"$b\" ] || rm -f -- \"$b\"; b=$t; bs=$z; else rm -f -- \"$t\"; fi; done; ");
        sb.Append("if [ -n \"$b\" ]; then if ").Append(adoptWhen ?? "true").Append("; then mv -- \"$b\" ").Append(SshSafety.Quote(adoptAs))
            .Append(" 2>/dev/null && echo \"talosimage-resume $bs\"; else rm -f -- \"$b\"; fi; fi; ");
        return sb.ToString();
    }

    /// <summary>
    /// Verify the pushed temporary file (exit 5 on a mismatch, removing it); expand it (exit 7) and verify the raw
    /// (exit 8) when asked; rename into place (exit 6); remove the compressed temporary file. When the final file
    /// turns out to be what this push would put there (another push, e.g. another host entry on the same shared folder,
    /// just put it there), this push's temporary files are removed and it prints <c>talosimage-identical</c> (exit 0)
    /// instead of replacing it or failing: before the rename when the final file's sidecar says so, and when this
    /// push's temporary file cannot be read or renamed (the final file is hashed then).
    /// </summary>
    internal static string FinishScript(SshPublishPlan plan, string sha, string? expectedRaw, long size)
    {
        var t = SshSafety.Quote(plan.Temp);
        var f = SshSafety.Quote(plan.Final);
        var sc = SshSafety.Quote(plan.Sidecar);
        var want = plan.Expand ? expectedRaw : sha;
        var temps = t + (plan.Expand ? " " + SshSafety.Quote(plan.RawTemp!) : "");
        var sb = new StringBuilder();
        // identical [full]: the final file is already the wanted content (trusting its sidecar while the file is not
        // newer than it; "full" hashes the file otherwise); then this push's temporaries go and it ends here.
        if (want is not null)
        {
            sb.Append("identical() { [ -f ").Append(f).Append(" ] || return 1; ");
            if (!plan.Expand)
            {
                sb.Append("[ \"$(stat -c %s -- ").Append(f).Append(" 2>/dev/null)\" = '").Append(size.ToString(CultureInfo.InvariantCulture)).Append("' ] || return 1; ");
            }
            sb.Append("g=; if [ -f ").Append(sc).Append(" ] && [ ! ").Append(f).Append(" -nt ").Append(sc).Append(" ]; then read -r g _ < ").Append(sc).Append(" || g=; fi; ");
            sb.Append("if [ ${#g} -ne 64 ]; then [ \"$1\" = full ] || return 1; g=$(sha256sum < ").Append(f).Append(") || return 1; g=${g%% *}; ");
            sb.Append("[ \"$g\" = '").Append(want).Append("' ] || return 1; ").Append(Record("'" + want + "'", plan)).Append("fi; ");
            sb.Append("[ \"$g\" = '").Append(want).Append("' ] || return 1; rm -f -- ").Append(temps).Append("; echo talosimage-identical; exit 0; }; ");
        }
        else
        {
            sb.Append("identical() { return 1; }; ");
        }
        sb.Append("h=$(sha256sum < ").Append(t).Append(") || { identical full; exit 4; }; h=${h%% *}; ");
        sb.Append("if [ \"$h\" != '").Append(sha).Append("' ]; then rm -f -- ").Append(t).Append("; echo \"talosimage-sha $h\"; exit 5; fi; ");
        if (!plan.Expand)
        {
            sb.Append("identical; mv -f -- ").Append(t).Append(' ').Append(f).Append(" || { identical full; exit 6; }; ")
                .Append(Record("'" + sha + "'", plan)).Append("echo talosimage-ok");
            return sb.ToString();
        }
        var r = SshSafety.Quote(plan.RawTemp!);
        var expand = plan.Decompressor switch
        {
            "xz" => "xz -dc -T0 -- ",
            "zstd" => "zstd -dcq -- ",
            _ => "gzip -dc -- ",
        };
        sb.Append("identical; ");
        sb.Append(expand).Append(t).Append(" > ").Append(r).Append(" || { rm -f -- ").Append(r).Append("; identical full; exit 7; }; ");
        sb.Append("h=$(sha256sum < ").Append(r).Append(") || { identical full; exit 4; }; h=${h%% *}; echo \"talosimage-raw $h\"; ");
        if (expectedRaw is not null)
        {
            sb.Append("if [ \"$h\" != '").Append(expectedRaw).Append("' ]; then rm -f -- ").Append(r).Append("; exit 8; fi; ");
        }
        sb.Append("identical; mv -f -- ").Append(r).Append(' ').Append(f).Append(" || { identical full; exit 6; }; rm -f -- ").Append(t).Append("; ")
            .Append(Record("\"$h\"", plan)).Append("echo talosimage-ok");
        return sb.ToString();
    }

    /// <summary>Writes the sidecar <c>&lt;hex&gt;  &lt;name&gt;</c> after the final file; a failure to write it fails nothing.</summary>
    private static string Record(string hashExpression, SshPublishPlan plan) =>
        "printf '%s  %s\\n' " + hashExpression + " " + SshSafety.Quote(plan.FinalName) + " > " + SshSafety.Quote(plan.Sidecar) + " 2>/dev/null || true; ";

    private async Task<ProcessOutcome> RunRemoteAsync(SshPublishPlan plan, string command, CancellationToken ct)
    {
        var args = plan.SshArguments(_options.ConnectTimeout);
        args.Add("--");
        args.Add(plan.SshHost);
        args.Add(command);
        var outcome = await StartAsync(_options.SshProgram, args, null, ct).ConfigureAwait(false);
        if (outcome.ExitCode == 0 && outcome.StandardError.Trim().Length > 0)
        {
            _events.Verbose($"ssh {plan.Host}: {Trim(outcome.StandardError)}");
        }
        return outcome;
    }

    private async Task<(ProcessOutcome Outcome, long Sent)> RsyncAsync(SshPublishPlan plan, long size, CancellationToken ct)
    {
        var shell = new StringBuilder(SshSafety.QuoteForRsyncShell(_options.SshProgram, "ssh program"));
        foreach (var a in plan.SshArguments(_options.ConnectTimeout))
        {
            shell.Append(' ').Append(SshSafety.QuoteForRsyncShell(a, "ssh options"));
        }
        var args = new List<string>(plan.RsyncOptions) { "--protect-args", "--stats" };
        if (!plan.Expand && plan.Format == "raw")
        {
            args.Add("--sparse");
        }
        args.AddRange(new[] { "-e", shell.ToString(), "--", plan.LocalPath, plan.Host + ":" + plan.Temp });

        var activity = Interlocked.Increment(ref _nextActivityId);
        var label = $"Sending {System.IO.Path.GetFileName(plan.LocalPath)} to {plan.Host}";
        var lastReport = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        void OnLine(string line)
        {
            var m = ProgressLine.Match(line);
            if (!m.Success || clock.Elapsed - lastReport < TimeSpan.FromMilliseconds(250))
            {
                return;
            }
            lastReport = clock.Elapsed;
            var done = ParseCount(m.Groups[1].Value);
            _events.Progress(new EngineProgress
            {
                ActivityId = activity,
                Activity = label,
                Status = $"{Units.Bytes(done)} of {Units.Bytes(size)}",
                PercentComplete = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
                BytesDone = done,
                BytesTotal = size,
            });
        }
        _events.Verbose($"{plan.Host}: rsync {System.IO.Path.GetFileName(plan.LocalPath)} -> {plan.Temp}");
        ProcessOutcome outcome;
        try
        {
            outcome = await StartAsync(_options.RsyncProgram, args, OnLine, ct).ConfigureAwait(false);
        }
        finally
        {
            _events.Progress(new EngineProgress { ActivityId = activity, Activity = label, Status = "done", Completed = true });
        }
        var sent = BytesSent(outcome.StandardOutput);
        return (outcome, sent ?? (outcome.ExitCode == 0 ? size : 0));
    }

    private static readonly Regex ProgressLine = new(@"^\s*([0-9][0-9.,]*[KMGT]?)\s+([0-9]{1,3})%", RegexOptions.CultureInvariant);

    private static readonly Regex SentLine = new(@"^Total bytes sent:\s*([0-9][0-9.,]*[KMGT]?)", RegexOptions.CultureInvariant | RegexOptions.Multiline);

    /// <summary>rsync's <c>--stats</c> "Total bytes sent" (what went over the connection, protocol included).</summary>
    internal static long? BytesSent(string stdout)
    {
        var m = SentLine.Match(stdout);
        return m.Success ? ParseCount(m.Groups[1].Value) : null;
    }

    /// <summary>1,234,567 or 1.23M (rsync -h) as bytes.</summary>
    internal static long ParseCount(string text)
    {
        var suffix = text.Length > 0 && char.IsLetter(text[text.Length - 1]) ? text[text.Length - 1] : '\0';
        if (suffix == '\0')
        {
            return long.Parse(text.Replace(",", "").Replace(".", ""), CultureInfo.InvariantCulture);
        }
        var number = double.Parse(text.Substring(0, text.Length - 1).Replace(",", ""), CultureInfo.InvariantCulture);
        var scale = suffix switch { 'K' => 1e3, 'M' => 1e6, 'G' => 1e9, _ => 1e12 };
        return (long)(number * scale);
    }

    private static async Task<ProcessOutcome> StartAsync(string program, IReadOnlyList<string> args, Action<string>? onLine, CancellationToken ct)
    {
        try
        {
            return await ExternalProcess.RunAsync(program, args, onLine, ct).ConfigureAwait(false);
        }
        catch (Win32Exception e)
        {
            throw new TalosException(program.IndexOf("rsync", StringComparison.OrdinalIgnoreCase) >= 0 ? TalosErrors.RsyncNotInstalled : TalosErrors.SshNotInstalled,
                $"Cannot start '{program}': {e.Message}. Install the OpenSSH client and rsync.", program, e);
        }
    }

    private static Dictionary<string, string> Lines(string stdout)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in stdout.Split('\n'))
        {
            var line = raw.Trim();
            if (!line.StartsWith("talosimage-", StringComparison.Ordinal))
            {
                continue;
            }
            var space = line.IndexOf(' ');
            map[space < 0 ? line : line.Substring(0, space)] = space < 0 ? "" : line.Substring(space + 1).Trim();
        }
        return map;
    }

    private static string Get(Dictionary<string, string> map, string key) => map.TryGetValue(key, out var v) ? v : "?";

    /// <summary>stderr for a message: trimmed, control characters shown, at most 1500 characters (the end).</summary>
    internal static string Trim(string stderr)
    {
        var text = SshSafety.Printable(stderr.Replace("\r", "").Trim().Replace("\n", "; "));
        if (text.Length == 0)
        {
            return "(no message)";
        }
        return text.Length > 1500 ? "..." + SafeText.Redact(text.Substring(text.Length - 1500)) : text;
    }
}
