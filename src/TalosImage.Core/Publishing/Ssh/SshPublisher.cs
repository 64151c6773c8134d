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
/// The pushes of one <see cref="SshRun"/> share one connection per host (an OpenSSH master for rsync, the pooled
/// SSH.NET connection for sftp), and their probes go to the host in one command (<see cref="ProbeBatcher"/>).
/// </summary>
public sealed partial class SshPublisher
{
    /// <summary><see cref="TalosPublishResult.Transport"/> of every result.</summary>
    public static readonly string Transport = PublishTransport.Ssh.ToString();

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
    public static string DestinationFor(TalosArtifact artifact, SshTarget target, SshPublishMode mode, SshPublishOptions? options = null) =>
        SshPublishPlan.For(artifact, target, mode, needFile: false, options).Final;

    /// <summary>The transport a push to <paramref name="target"/> uses (Auto resolved) — for -WhatIf and messages.</summary>
    public static SshTransport TransportFor(SshTarget target, SshPublishOptions? options = null)
    {
        options ??= new SshPublishOptions();
        return SshTransports.Resolve(target.Transport, options.SshProgram, options.RsyncProgram, options.Environment);
    }

    /// <summary>
    /// Publishes one artifact to one host. Remote failures (connection, authentication, mkdir, rsync, verification,
    /// a missing decompressor) give Status Failed with Error and ErrorId; bad input (unsafe host, folder or option, a
    /// missing local file) throws <see cref="TalosException"/> before anything runs; cancellation throws
    /// <see cref="OperationCanceledException"/> (a partial temporary file stays for the next run to resume).
    /// </summary>
    public Task<TalosPublishResult> PublishAsync(TalosArtifact artifact, SshTarget target, SshPublishMode mode, CancellationToken ct) =>
        PublishAsync(artifact, target, mode, null, ct);

    /// <summary>
    /// <see cref="PublishAsync(TalosArtifact, SshTarget, SshPublishMode, CancellationToken)"/> for a push announced to
    /// <see cref="SshPublishOptions.Run"/> (<see cref="SshRun.Expect"/>): its probe goes with the host's others.
    /// </summary>
    internal async Task<TalosPublishResult> PublishAsync(TalosArtifact artifact, SshTarget target, SshPublishMode mode, ProbeTicket? ticket, CancellationToken ct)
    {
        var plan = SshPublishPlan.For(artifact, target, mode, needFile: true, _options);
        var sha = await LocalSha256Async(artifact, plan.LocalPath, ct).ConfigureAwait(false);
        using var own = _options.Connections is null && plan.Sftp is not null ? new SftpConnectionPool() : null;
        using var ownRun = _options.Run is null ? new SshRun() : null;
        return await PublishPlannedAsync(plan, sha, _options.Connections ?? own, _options.Run ?? ownRun!, ticket, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens the run's connection to <paramref name="target"/>'s host before its first push needs it. An order run
    /// calls it as it announces its pushes, so that the SSH handshake overlaps the schematic, cache and download stages
    /// instead of following them. Nothing is reported here: a connection that fails is remembered by the run
    /// (<see cref="OpenSshControl"/>, <see cref="SftpConnectionPool"/>) and the host's pushes report it. Without
    /// <see cref="SshPublishOptions.Run"/> (and, for sftp, <see cref="SshPublishOptions.Connections"/>) it does nothing.
    /// </summary>
    internal async Task ConnectAheadAsync(SshTarget target, CancellationToken ct)
    {
        try
        {
            var plan = SshPublishPlan.For(new TalosArtifact { Format = "iso", Asset = "inventory.iso" }, target, SshPublishMode.AsIs, needFile: false, _options);
            if (plan.Sftp is { } settings)
            {
                if (_options.Connections is { } pool)
                {
                    await pool.GetAsync(settings, _options.Credentials, _events, _options.ConnectTimeout, ct).ConfigureAwait(false);
                }
            }
            else if (_options.Run is { } run)
            {
                await run.Control.PrepareAsync(plan, _options.SshProgram, plan.SshArguments(_options.ConnectTimeout), _events, StartAsync, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is TalosException or OperationCanceledException or System.IO.IOException or System.Net.Sockets.SocketException or
                                  Renci.SshNet.Common.SshException or InvalidOperationException or ObjectDisposedException or System.ComponentModel.Win32Exception)
        {
            // The push that needs the connection meets the same failure and reports it with its file.
        }
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
        var plans = targets.Select(t => SshPublishPlan.For(artifact, t, mode, needFile: true, _options)).ToList();
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
        using var own = _options.Connections is null && plans.Any(p => p.Sftp is not null) ? new SftpConnectionPool() : null;
        var pool = _options.Connections ?? own;
        using var ownRun = _options.Run is null ? new SshRun() : null;
        var run = _options.Run ?? ownRun!;
        var results = new TalosPublishResult[plans.Count];
        using var gate = new SemaphoreSlim(Math.Max(1, _options.MaxParallelHosts));
        var work = plans.Select(async (plan, i) =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                results[i] = await PublishPlannedAsync(plan, sha, pool, run, null, ct).ConfigureAwait(false);
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

    /// <summary>
    /// One push, in three steps: <see cref="ProbeAsync"/> (folder, existing file, decompressor), <see cref="RsyncAsync"/>
    /// (to the temporary name) and <see cref="FinishAsync"/> (verify, expand, rename). Each step either passes or ends
    /// the push with its result.
    /// </summary>
    private async Task<TalosPublishResult> PublishPlannedAsync(SshPublishPlan plan, string sha, SftpConnectionPool? pool, SshRun run, ProbeTicket? ticket, CancellationToken ct)
    {
        var push = new Push(plan, sha, new System.IO.FileInfo(plan.LocalPath).Length) { Run = run, Ticket = ticket };
        try
        {
            if (plan.Sftp is { } settings)
            {
                // One connection per host for the run: the probe, the file and the finish of every push to it.
                push.Connection = await pool!.GetAsync(settings, _options.Credentials, _events, _options.ConnectTimeout, ct).ConfigureAwait(false);
            }
            if (!plan.Expand && plan.Format.StartsWith("raw.", StringComparison.Ordinal))
            {
                _events.Warning($"{plan.Host}: {plan.Final} is a compressed disk image; Proxmox does not list it for import. " +
                    "Publish the expanded .raw, or use remote expansion.");
            }
            if (await ProbeAsync(push, ct).ConfigureAwait(false) is { } probed)
            {
                return probed;
            }
            if (_options.TransferGate is { } gate)
            {
                var waited = !gate.Wait(0);
                if (waited)
                {
                    await gate.WaitAsync(ct).ConfigureAwait(false);
                }
                try
                {
                    // Another push may have put the file there while this one waited (two host entries, one shared
                    // folder): the destination is checked again, alone, before anything is sent.
                    if (waited && await ProbeAsync(push, ct, alone: true).ConfigureAwait(false) is { } again)
                    {
                        return again;
                    }
                    return await TransferAsync(push, ct).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }
            return await TransferAsync(push, ct).ConfigureAwait(false);
        }
        catch (TalosException e)
        {
            return push.Failed(e.Message, e.ErrorId);
        }
    }

    /// <summary>Steps 2 and 3: the file to the temporary name (rsync or sftp), then <see cref="FinishAsync"/>.</summary>
    private async Task<TalosPublishResult> TransferAsync(Push push, CancellationToken ct)
    {
        var plan = push.Plan;
        if (push.Connection is { } connection)
        {
            var (failed, uploaded) = await UploadAsync(push, connection, ct).ConfigureAwait(false);
            return failed ?? await FinishAsync(push, uploaded, ct).ConfigureAwait(false);
        }
        var (rsync, sent) = await RsyncAsync(push, ct).ConfigureAwait(false);
        if (rsync.ExitCode != 0)
        {
            var id = rsync.ExitCode == (int)RemoteExit.SshFailed || rsync.StandardError.IndexOf("connection unexpectedly closed", StringComparison.OrdinalIgnoreCase) >= 0
                ? TalosErrors.SshConnectionFailed.Id : TalosErrors.RsyncFailed.Id;
            return push.Failed($"rsync to {plan.Host}:{plan.Temp} failed (exit {rsync.ExitCode}): {Trim(rsync.StandardError)}", id, sent);
        }
        return await FinishAsync(push, sent, ct).ConfigureAwait(false);
    }

    /// <summary>What one push knows: its plan, the local file's hash and size, what the host must end up with, and its clock.</summary>
    private sealed class Push
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();

        public Push(SshPublishPlan plan, string sha, long size)
        {
            Plan = plan;
            Sha = sha;
            Size = size;
            ExpectedRaw = plan.Expand ? plan.ExpectedRawSha256(sha) : null;
        }

        public SshPublishPlan Plan { get; }
        public string Sha { get; }
        public long Size { get; }
        /// <summary>For a remote expansion: the raw image's SHA-256 when known.</summary>
        public string? ExpectedRaw { get; }
        /// <summary>The SHA-256 the final file must have: the raw one for an expansion, else the local file's.</summary>
        public string? Want => Plan.Expand ? ExpectedRaw : Sha;

        public TalosPublishResult Result(PublishStatus status, long sent, bool verified, string? error = null, string? errorId = null) =>
            new(Plan.Artifact.GetIdentity() with { Sha256 = Sha, Size = Size }, Plan.LocalPath)
            {
                Host = Plan.Host,
                Destination = Plan.Final,
                Status = status.ToString(),
                BytesSent = sent,
                Duration = _watch.Elapsed.TotalSeconds,
                Verified = verified,
                Error = error,
                ErrorId = errorId,
                Transport = Transport,
                RemoteExpanded = Plan.Expand,
            };

        public TalosPublishResult Failed(string error, string errorId, long sent = 0) => Result(PublishStatus.Failed, sent, false, error, errorId);

        public TalosPublishResult Skipped(long sent) => Result(PublishStatus.Skipped, sent, true);

        public TimeSpan Clock => _watch.Elapsed;

        /// <summary>Bytes of a stale temporary file the probe took over (rsync resumes it; sftp keeps its verified blocks).</summary>
        public long Resumable { get; set; }

        /// <summary>The sftp transport's connection to the host; null for rsync.</summary>
        public SftpConnection? Connection { get; set; }

        /// <summary>What the run's pushes share per host: the OpenSSH connection, the batched probes.</summary>
        public SshRun Run { get; set; } = null!;

        /// <summary>This push's announced place in its host's probe batch, or null.</summary>
        public ProbeTicket? Ticket { get; set; }
    }

    /// <summary>
    /// Step 1, one connection: makes the folder, compares an existing final file, checks the decompressor and takes
    /// over a stale temporary file. Returns the push's result when it ends here (failed, or skipped because the host
    /// already has the file), else null.
    /// </summary>
    private async Task<TalosPublishResult?> ProbeAsync(Push push, CancellationToken ct, bool alone = false)
    {
        var plan = push.Plan;
        var script = RemoteScripts.Probe(plan, push.Size, push.ExpectedRaw, push.Want, _options.StaleTemporaryAge);
        // One command answers for all of the host's files of the run that ask at about the same time; a probe that
        // failed inside it runs again alone, for its own message.
        var probe = (alone ? null : await push.Run.Batcher(SshRun.KeyOf(plan)).ProbeAsync(script, (command, t) => RunRemoteAsync(push, command, t), push.Ticket, ct).ConfigureAwait(false))
            ?? await RunRemoteAsync(push, script, ct).ConfigureAwait(false);
        if (probe.ExitCode == (int)RemoteExit.MkdirFailed)
        {
            return push.Failed($"mkdir -p {plan.Dir} failed on {plan.Host}: {Trim(probe.StandardError)}", TalosErrors.RemoteMkdirFailed.Id);
        }
        if (probe.ExitCode != (int)RemoteExit.Ok)
        {
            return Failed(push, "checking the destination", probe);
        }
        var lines = RemoteMarker.Parse(probe.StandardOutput);
        if (plan.Expand && !lines.ContainsKey(RemoteMarker.Have))
        {
            return push.Failed(
                $"{plan.Host} has no '{plan.Decompressor}' program, so it cannot expand {plan.Format} images. Install it there " +
                $"(apt install {(plan.Decompressor == "zstd" ? "zstd" : plan.Decompressor == "xz" ? "xz-utils" : "gzip")}) or publish the expanded .raw image instead (without remote expansion).",
                TalosErrors.RemoteDecompressorMissing.Id);
        }
        lines.TryGetValue(RemoteMarker.Size, out var remoteSize);
        lines.TryGetValue(RemoteMarker.Sha, out var remoteSha);
        if (remoteSha is not null && push.Want is not null && string.Equals(remoteSha, push.Want, StringComparison.OrdinalIgnoreCase) &&
            (plan.Expand || remoteSize == push.Size.ToString(CultureInfo.InvariantCulture)))
        {
            _events.Verbose($"{plan.Host}: {plan.Final} is already there with the same SHA-256; not sent again.");
            return push.Skipped(0);
        }
        if (remoteSize is not null)
        {
            _events.Verbose($"{plan.Host}: {plan.Final} exists but differs{(push.Want is null ? " or cannot be compared" : "")}.");
        }
        if (lines.TryGetValue(RemoteMarker.Resume, out var resumed))
        {
            _events.Verbose($"{plan.Host}: resuming from the temporary file an interrupted push left ({resumed} bytes).");
            push.Resumable = long.TryParse(resumed, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
        // Replace refused or in use, or not enough space: ends here (SshPublisher.Lifecycle.cs).
        return await PreflightAsync(push, remoteSize, lines, ct).ConfigureAwait(false);
    }

    /// <summary>Step 3: verifies the transferred file remotely, expands it when asked, and renames it into place.</summary>
    private async Task<TalosPublishResult> FinishAsync(Push push, long sent, CancellationToken ct)
    {
        var plan = push.Plan;
        var finish = await RunRemoteAsync(push, RemoteScripts.Finish(plan, push.Sha, push.ExpectedRaw, push.Size), ct).ConfigureAwait(false);
        var done = RemoteMarker.Parse(finish.StandardOutput);
        if (finish.ExitCode == (int)RemoteExit.Ok && done.ContainsKey(RemoteMarker.Identical))
        {
            // Another push (e.g. another host entry on the same shared folder) put the same file there meanwhile.
            _events.Verbose($"{plan.Host}: {plan.Final} was put there meanwhile with the same SHA-256 (another push to the same folder); left as it is.");
            return push.Skipped(sent);
        }
        switch ((RemoteExit)finish.ExitCode)
        {
            case RemoteExit.Ok when done.ContainsKey(RemoteMarker.Ok):
                break;
            case RemoteExit.VerifyFailed:
                return push.Failed(
                    $"{plan.Host}:{plan.Temp} has SHA-256 {Get(done, RemoteMarker.Sha)} after the transfer; {push.Sha} was expected. " +
                    "If the local file changed since it was recorded, download it again.", TalosErrors.RemoteVerifyFailed.Id, sent);
            case RemoteExit.ExpandFailed:
                return push.Failed($"{plan.Decompressor} could not expand {plan.Temp} on {plan.Host}: {Trim(finish.StandardError)}", TalosErrors.RemoteExpandFailed.Id, sent);
            case RemoteExit.RawVerifyFailed:
                return push.Failed(
                    $"The image expanded on {plan.Host} has SHA-256 {Get(done, RemoteMarker.Raw)}; {push.ExpectedRaw} was expected.", TalosErrors.RemoteVerifyFailed.Id, sent);
            case RemoteExit.RenameFailed:
                return push.Failed($"Renaming {plan.Temp} to {plan.Final} on {plan.Host} failed: {Trim(finish.StandardError)}", TalosErrors.RemoteRenameFailed.Id, sent);
            default:
                return Failed(push, "verifying the transfer", finish);
        }
        var verified = !plan.Expand || push.ExpectedRaw is not null;
        if (!verified)
        {
            _events.Warning($"{plan.Host}: expanded {plan.Final} (SHA-256 {Get(done, RemoteMarker.Raw)}); no expected hash of the raw image is known, so it is not verified.");
        }
        _events.Verbose($"{plan.Host}: published {plan.Final} ({Units.Bytes(sent)} sent) in {Units.Duration(push.Clock)}.");
        return push.Result(PublishStatus.Published, sent, verified);
    }

    private static TalosPublishResult Failed(Push push, string step, ProcessOutcome outcome) =>
        outcome.ExitCode == (int)RemoteExit.SshFailed
            ? push.Failed($"ssh {push.Plan.Host} failed while {step}: {Trim(outcome.StandardError)}", TalosErrors.SshConnectionFailed.Id)
            : push.Failed($"{step} on {push.Plan.Host} failed (exit {outcome.ExitCode}): {Trim(outcome.StandardError)}", TalosErrors.RemoteCommandFailed.Id);

    private async Task<ProcessOutcome> RunRemoteAsync(Push push, string command, CancellationToken ct)
    {
        var plan = push.Plan;
        if (push.Connection is { } connection)
        {
            var result = await connection.RunAsync(command, ct).ConfigureAwait(false);
            if (result.ExitCode == 0 && result.StandardError.Trim().Length > 0)
            {
                _events.Verbose($"sftp {plan.Host}: {Trim(result.StandardError)}");
            }
            return result;
        }
        var args = plan.SshArguments(_options.ConnectTimeout);
        if (await push.Run.Control.PrepareAsync(plan, _options.SshProgram, args, _events, StartAsync, ct).ConfigureAwait(false) is { } failed)
        {
            return failed;
        }
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

    private async Task<(ProcessOutcome Outcome, long Sent)> RsyncAsync(Push push, CancellationToken ct)
    {
        var plan = push.Plan;
        var size = push.Size;
        var sshArgs = plan.SshArguments(_options.ConnectTimeout);
        if (await push.Run.Control.PrepareAsync(plan, _options.SshProgram, sshArgs, _events, StartAsync, ct).ConfigureAwait(false) is { } failed)
        {
            return (failed, 0);
        }
        var shell = new StringBuilder(SshSafety.QuoteForRsyncShell(_options.SshProgram, "ssh program"));
        foreach (var a in sshArgs)
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

    /// <summary>
    /// The sftp transport's step 2: the local file to the temporary name over the sftp channel (replacing a temporary
    /// file an interrupted push left: sftp has no delta transfer to resume it). Returns a failed result, or the bytes sent.
    /// </summary>
    private async Task<(TalosPublishResult? Failed, long Sent)> UploadAsync(Push push, SftpConnection connection, CancellationToken ct)
    {
        var plan = push.Plan;
        var activity = Interlocked.Increment(ref _nextActivityId);
        var label = $"Sending {System.IO.Path.GetFileName(plan.LocalPath)} to {plan.Host}";
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long sent = 0;
        void Report(long done)
        {
            Interlocked.Exchange(ref sent, done);
            if (clock.Elapsed - lastReport < TimeSpan.FromMilliseconds(250))
            {
                return;
            }
            lastReport = clock.Elapsed;
            _events.Progress(new EngineProgress
            {
                ActivityId = activity,
                Activity = label,
                Status = $"{Units.Bytes(done)} of {Units.Bytes(push.Size)}",
                PercentComplete = push.Size == 0 ? 100 : (int)Math.Min(100, done * 100 / push.Size),
                BytesDone = done,
                BytesTotal = push.Size,
            });
        }
        var progress = new DirectProgress<Renci.SshNet.UploadFileProgressReport>(r => Report((long)r.TotalBytesUploaded));
        _events.Verbose($"{plan.Host}: sftp {System.IO.Path.GetFileName(plan.LocalPath)} -> {plan.Temp}");
        try
        {
            using var local = new System.IO.FileStream(plan.LocalPath, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.Read, 1 << 16, useAsync: true);
            var offset = push.Resumable > 0 ? await ResumeOffsetAsync(push, connection, local, ct).ConfigureAwait(false) : 0;
            if (offset > 0)
            {
                _events.Verbose($"{plan.Host}: the first {Units.Bytes(offset)} of {plan.Temp} match the local file; sending the rest.");
                local.Position = offset;
                using var remote = await connection.Sftp.OpenAsync(plan.Temp, System.IO.FileMode.Open, System.IO.FileAccess.Write, ct).ConfigureAwait(false);
                remote.SetLength(offset);
                remote.Position = offset;
                var buffer = new byte[256 * 1024];
                int read;
                while ((read = await local.ReadAsync(buffer, 0, buffer.Length, ct).ConfigureAwait(false)) > 0)
                {
                    await remote.WriteAsync(buffer, 0, read, ct).ConfigureAwait(false);
                    Report(local.Position - offset);
                }
                await remote.FlushAsync(ct).ConfigureAwait(false);
                return (null, local.Length - offset);
            }
            await connection.Sftp.UploadFileAsync(local, plan.Temp, true, progress, ct).ConfigureAwait(false);
            return (null, local.Length);
        }
        catch (Exception e) when (e is Renci.SshNet.Common.SshException or System.Net.Sockets.SocketException or System.IO.IOException or ObjectDisposedException && !ct.IsCancellationRequested)
        {
            var id = e is Renci.SshNet.Common.SshConnectionException or System.Net.Sockets.SocketException || !connection.IsConnected
                ? TalosErrors.SshConnectionFailed.Id : TalosErrors.SftpTransferFailed.Id;
            return (push.Failed($"sftp to {plan.Host}:{plan.Temp} failed: {Trim(e.Message)}", id, Interlocked.Read(ref sent)), 0);
        }
        finally
        {
            _events.Progress(new EngineProgress { ActivityId = activity, Activity = label, Status = "done", Completed = true });
        }
    }

    /// <summary>
    /// How much of a taken-over temporary file can stay: its blocks are hashed on the host and compared with the local
    /// file's, and the transfer continues after the last block of the unbroken run that matches (sftp has no rsync
    /// delta; the final verification still hashes the whole file).
    /// </summary>
    private async Task<long> ResumeOffsetAsync(Push push, SftpConnection connection, System.IO.Stream local, CancellationToken ct)
    {
        var plan = push.Plan;
        var usable = Math.Min(push.Resumable, push.Size);
        var block = ResumeBlockSize(usable);
        var count = usable / block;
        if (count == 0)
        {
            return 0;
        }
        var outcome = await RunRemoteAsync(push, RemoteScripts.BlockHashes(plan.Temp, block, count), ct).ConfigureAwait(false);
        if (outcome.ExitCode != 0)
        {
            return 0;
        }
        var remote = RemoteScripts.ParseBlockHashes(outcome.StandardOutput);
        var buffer = new byte[block];
        using var sha = System.Security.Cryptography.SHA256.Create();
        long offset = 0;
        for (long i = 0; i < count; i++)
        {
            var filled = 0;
            while (filled < block)
            {
                var n = await local.ReadAsync(buffer, filled, (int)block - filled, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                filled += n;
            }
            var hex = string.Concat(sha.ComputeHash(buffer, 0, filled).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
            if (filled < block || !remote.TryGetValue(i, out var theirs) || theirs != hex)
            {
                break;
            }
            offset += block;
        }
        return offset;
    }

    /// <summary>256 KiB, or larger (a power of two) so that no file needs more than 256 remote block hashes.</summary>
    internal static long ResumeBlockSize(long size)
    {
        long block = 256 * 1024;
        while (size / block > 256)
        {
            block *= 2;
        }
        return block;
    }

    /// <summary>An IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to a context).</summary>
    private sealed class DirectProgress<T> : IProgress<T>
    {
        private readonly Action<T> _report;

        public DirectProgress(Action<T> report) => _report = report;

        public void Report(T value) => _report(value);
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

    private static Task<ProcessOutcome> StartAsync(string program, IReadOnlyList<string> args, CancellationToken ct) => StartAsync(program, args, null, ct);

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
