using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace TalosImage.Core.Publishing.Ssh;

/// <summary>
/// What the pushes of one run share per host (an order run, one Publish-TalosImage pipeline): with the rsync transport
/// one OpenSSH connection per host (connection sharing: a master started once, every ssh and rsync of the run a client
/// of it, its socket in a private folder of this run), and for both transports the probes of a host's files answered
/// by one remote command (<see cref="RemoteScripts.ProbeBatch"/>). Dispose ends the masters (<c>ssh -O exit</c>) and
/// removes the folder; the owner disposes it also after a failure or a cancellation.
/// </summary>
public sealed class SshRun : IDisposable
{
    private readonly ConcurrentDictionary<string, ProbeBatcher> _batchers = new(StringComparer.Ordinal);
    private bool _disposed;

    public SshRun()
    {
        Control = new OpenSshControl();
    }

    /// <summary>How long a probe waits for the next of its host's announced pushes (see <see cref="ProbeBatcher"/>).</summary>
    internal TimeSpan Gather { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a probe waits at most for its host's announced pushes.</summary>
    internal TimeSpan MaxGather { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The OpenSSH masters of this run (rsync transport).</summary>
    internal OpenSshControl Control { get; }

    /// <summary>How many batched probe commands ran (for tests: one per host in a warm run).</summary>
    internal int ProbeCommands => _batchers.Values.Sum(b => b.Commands);

    /// <summary>The private folder of the masters' sockets while the run has one (for tests), else null.</summary>
    internal string? ControlFolder => Control.Folder;

    /// <summary>The key that groups the pushes one remote command and one connection can serve: transport, host, ssh options.</summary>
    internal static string KeyOf(SshPublishPlan plan) =>
        string.Join("\u0001", new[] { plan.Transport.ToString(), plan.SshHost }.Concat(plan.SshOptions));

    internal ProbeBatcher Batcher(string key)
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(SshRun));
        }
        return _batchers.GetOrAdd(key, _ => new ProbeBatcher(Gather, MaxGather));
    }

    /// <summary>
    /// Announces a push to <paramref name="target"/> that this run will make, so that the host's probe waits for it
    /// (briefly) and answers it in the same command as the others. The ticket is used by the push's probe; withdraw it
    /// when the push will not probe (it failed before, or another position's push serves it). Null when the target
    /// cannot be planned (the push will fail with the reason).
    /// </summary>
    internal ProbeTicket? Expect(SshTarget target, SshPublishOptions options)
    {
        string key;
        try
        {
            var transport = SshTransports.Resolve(target.Transport, options.SshProgram, options.RsyncProgram, options.Environment);
            var host = SshSafety.CheckHost(target.Host).Replace("[", "").Replace("]", "");
            key = string.Join("\u0001", new[] { transport.ToString(), host }.Concat(SshSafety.CheckSshOptions(target.SshOptions)));
        }
        catch (TalosException)
        {
            return null;
        }
        var batcher = Batcher(key);
        batcher.Expect();
        return new ProbeTicket(batcher);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Control.Dispose();
    }
}

/// <summary>One announced push's place in its host's probe batch (see <see cref="SshRun.Expect"/>).</summary>
internal sealed class ProbeTicket
{
    private readonly ProbeBatcher _batcher;
    private int _done;

    public ProbeTicket(ProbeBatcher batcher) => _batcher = batcher;

    internal ProbeBatcher Batcher => _batcher;

    /// <summary>True once: for the first of the probe that uses the ticket and <see cref="Withdraw"/>.</summary>
    internal bool Take() => Interlocked.Exchange(ref _done, 1) == 0;

    /// <summary>The push will not probe: the host's batch stops waiting for it.</summary>
    public void Withdraw()
    {
        if (Take())
        {
            _batcher.Withdrawn();
        }
    }
}

/// <summary>
/// The probes of one host (one <see cref="SshRun.KeyOf"/>) gathered into one remote command: a probe waits until every
/// announced push of the host has asked (or withdrawn), or until no other one asked for a while (gather: 50 ms after
/// the last one, at most 250 ms after the first: an announced push may still be downloading, and the pushes that are
/// ready must not wait for it), then all that are waiting go
/// in one command (at most <see cref="MaxFiles"/> files or <see cref="MaxScript"/> characters each). Without
/// announcements a probe goes at once, alone.
/// </summary>
internal sealed class ProbeBatcher
{
    public const int MaxFiles = 32;
    /// <summary>Characters of one batched command (Linux takes 128 KiB as one argument).</summary>
    public const int MaxScript = 64 * 1024;

    private readonly object _lock = new();
    private readonly List<Request> _pending = new();
    private int _outstanding;
    private Timer? _timer;
    private int _commands;
    private readonly TimeSpan _gather;
    private readonly TimeSpan _maxGather;
    private DateTime _first;

    public ProbeBatcher(TimeSpan gather, TimeSpan maxGather)
    {
        _gather = gather;
        _maxGather = maxGather;
    }

    public int Commands => _commands;

    /// <summary>The remote command for a batch: the combined script in, the outcome out (ssh or the sftp connection).</summary>
    public delegate Task<ProcessOutcome> Runner(string command, CancellationToken ct);

    private sealed class Request
    {
        public Request(string script, Runner run, CancellationToken ct)
        {
            Script = script;
            Run = run;
            Ct = ct;
        }

        public string Script { get; }
        public Runner Run { get; }
        public CancellationToken Ct { get; }
        // Continuations run inline, in request order: the pushes then queue for the transfer gate in the order they asked.
        public TaskCompletionSource<ProcessOutcome?> Done { get; } = new();
    }

    public void Expect()
    {
        lock (_lock)
        {
            _outstanding++;
        }
    }

    /// <summary>
    /// The probe's outcome: its exit code and its own lines; null when it must run alone (it failed inside the batch,
    /// whose stderr it shares, or its section is missing).
    /// </summary>
    public async Task<ProcessOutcome?> ProbeAsync(string script, Runner run, ProbeTicket? ticket, CancellationToken ct)
    {
        var request = new Request(script, run, ct);
        List<Request>? flush;
        lock (_lock)
        {
            _pending.Add(request);
            if (ticket is not null && ticket.Batcher == this && ticket.Take())
            {
                _outstanding = Math.Max(0, _outstanding - 1);
            }
            flush = TakeIfReady();
            if (flush is null)
            {
                // Gather: again after this arrival, but not past the limit counted from the first.
                var now = DateTime.UtcNow;
                if (_timer is null)
                {
                    _first = now;
                    _timer = new Timer(_ => OnTimer(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                }
                var due = _first + _maxGather - now;
                _timer.Change(due < _gather ? (due < TimeSpan.Zero ? TimeSpan.Zero : due) : _gather, Timeout.InfiniteTimeSpan);
            }
        }
        if (flush is not null)
        {
            _ = RunAsync(flush);
        }
        using (ct.Register(() => request.Done.TrySetCanceled()))
        {
            return await request.Done.Task.ConfigureAwait(false);
        }
    }

    /// <summary>An announced push that will not probe (see <see cref="ProbeTicket.Withdraw"/>).</summary>
    public void Withdrawn()
    {
        List<Request>? flush;
        lock (_lock)
        {
            _outstanding = Math.Max(0, _outstanding - 1);
            flush = _pending.Count > 0 ? TakeIfReady() : null;
        }
        if (flush is not null)
        {
            _ = RunAsync(flush);
        }
    }

    private List<Request>? TakeIfReady()
    {
        if (_outstanding > 0 && _pending.Count < MaxFiles)
        {
            return null;
        }
        return TakeAll();
    }

    private List<Request> TakeAll()
    {
        var all = new List<Request>(_pending);
        _pending.Clear();
        _timer?.Dispose();
        _timer = null;
        return all;
    }

    private void OnTimer()
    {
        List<Request> flush;
        lock (_lock)
        {
            flush = TakeAll();
        }
        if (flush.Count > 0)
        {
            _ = RunAsync(flush);
        }
    }

    private async Task RunAsync(List<Request> requests)
    {
        // In chunks a remote shell takes as one argument; the chunks of one flush run one after the other.
        var chunk = new List<Request>();
        var length = 0;
        foreach (var r in requests)
        {
            if (chunk.Count > 0 && (chunk.Count >= MaxFiles || length + r.Script.Length > MaxScript))
            {
                await RunChunkAsync(chunk).ConfigureAwait(false);
                chunk = new List<Request>();
                length = 0;
            }
            chunk.Add(r);
            length += r.Script.Length + 64;
        }
        if (chunk.Count > 0)
        {
            await RunChunkAsync(chunk).ConfigureAwait(false);
        }
    }

    private async Task RunChunkAsync(List<Request> chunk)
    {
        var live = chunk.Where(r => !r.Ct.IsCancellationRequested).ToList();
        foreach (var r in chunk.Except(live))
        {
            r.Done.TrySetCanceled();
        }
        if (live.Count == 0)
        {
            return;
        }
        ProcessOutcome outcome;
        try
        {
            Interlocked.Increment(ref _commands);
            outcome = await live[0].Run(RemoteScripts.ProbeBatch(live.Select(r => r.Script).ToList()), live[0].Ct).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var r in live)
            {
                if (e is OperationCanceledException)
                {
                    r.Done.TrySetCanceled();
                }
                else
                {
                    r.Done.TrySetException(e);
                }
            }
            return;
        }
        if (outcome.ExitCode != (int)RemoteExit.Ok)
        {
            // The shell or the connection failed: every file of the batch has that outcome (ssh's message with it).
            foreach (var r in live)
            {
                r.Done.TrySetResult(outcome);
            }
            return;
        }
        var sections = RemoteScripts.ParseProbeBatch(outcome.StandardOutput);
        for (var i = 0; i < live.Count; i++)
        {
            live[i].Done.TrySetResult(sections.TryGetValue(i, out var s) && s.ExitCode == (int)RemoteExit.Ok
                ? new ProcessOutcome(s.ExitCode, s.Output, outcome.StandardError)
                : null);
        }
    }
}

/// <summary>
/// OpenSSH connection sharing for one run: a private folder (mode 0700, in the temp folder) for the control sockets, one
/// master per host and ssh options (<c>ssh -M -N -f</c> with <c>ControlPersist</c>), started when the host is first
/// contacted and again if it ended; every other ssh and rsync of the run to that host is a client of it
/// (<c>ControlMaster=no</c>, <c>ControlPath</c>). A master that cannot connect is remembered: the host's later commands
/// get its outcome at once. Not used on Windows (its OpenSSH has no connection sharing) or when the user's ssh options
/// set ControlMaster, ControlPath, ControlPersist or -S (theirs apply). Dispose sends <c>ssh -O exit</c> to every master and
/// removes the folder; a master left behind by a killed process ends after <see cref="Persist"/> without clients.
/// </summary>
internal sealed class OpenSshControl : IDisposable
{
    /// <summary>How long a master stays without clients before it ends by itself (a safety net; Dispose ends it).</summary>
    public static readonly TimeSpan Persist = TimeSpan.FromSeconds(120);

    private readonly object _lock = new();
    private readonly Dictionary<string, Master> _masters = new(StringComparer.Ordinal);
    private string? _folder;
    private bool _folderFailed;
    private bool _disposed;
    private int _started;

    /// <summary>The private socket folder while it exists.</summary>
    public string? Folder => _folder;

    /// <summary>How many masters were started (for tests: one per host in a run).</summary>
    public int Started => _started;

    private sealed class Master
    {
        public Master(string socket, string program, IReadOnlyList<string> closeArguments)
        {
            Socket = socket;
            Program = program;
            CloseArguments = closeArguments;
        }

        public string Socket { get; }
        public string Program { get; }
        public IReadOnlyList<string> CloseArguments { get; }
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public ProcessOutcome? Failed { get; set; }
        public bool Running { get; set; }
    }

    /// <summary>Whether this plan's commands share a connection: not on Windows, not when the user set connection sharing.</summary>
    public static bool Applies(SshPublishPlan plan) =>
        Path.DirectorySeparatorChar != '\\' && !UserSetsSharing(plan.SshOptions);

    /// <summary>Whether the (already checked) ssh option words set connection sharing: -S, or -o ControlMaster/ControlPath/ControlPersist.</summary>
    internal static bool UserSetsSharing(IReadOnlyList<string> words)
    {
        const string values = "bBcilJmopPS";
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            for (var j = 1; j < w.Length; j++)
            {
                var c = w[j];
                if (values.IndexOf(c) < 0)
                {
                    continue;
                }
                var value = j + 1 < w.Length ? w.Substring(j + 1) : i + 1 < words.Count ? words[++i] : "";
                if (c == 'S')
                {
                    return true;
                }
                if (c == 'o')
                {
                    var key = value.TrimStart().Split(new[] { '=', ' ', '\t' }, 2)[0];
                    if (key.Equals("ControlMaster", StringComparison.OrdinalIgnoreCase) || key.Equals("ControlPath", StringComparison.OrdinalIgnoreCase) ||
                        key.Equals("ControlPersist", StringComparison.OrdinalIgnoreCase))
                    {
                        return true;
                    }
                }
                break;
            }
        }
        return false;
    }

    /// <summary>
    /// Makes sure the host's master runs and appends the client options to <paramref name="sshArguments"/>; returns the
    /// master's failure (ssh's exit code and message) when it cannot connect, else null. When sharing does not apply or
    /// the folder cannot be made, nothing is appended (every command connects on its own, as without sharing).
    /// </summary>
    public async Task<ProcessOutcome?> PrepareAsync(SshPublishPlan plan, string program, List<string> sshArguments, IEngineEvents events,
        Func<string, IReadOnlyList<string>, CancellationToken, Task<ProcessOutcome>> start, CancellationToken ct)
    {
        if (!Applies(plan))
        {
            return null;
        }
        var key = program + "\u0001" + SshRun.KeyOf(plan);
        Master master;
        lock (_lock)
        {
            if (_disposed || !EnsureFolder(events))
            {
                return null;
            }
            if (!_masters.TryGetValue(key, out master!))
            {
                var socket = Path.Combine(_folder!, _masters.Count.ToString(CultureInfo.InvariantCulture));
                var close = new List<string>(sshArguments) { "-o", "ControlPath=" + Escape(socket), "-O", "exit", "--", plan.SshHost };
                master = new Master(socket, program, close);
                _masters.Add(key, master);
            }
        }
        await master.Gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (master.Failed is { } failed)
            {
                return failed;
            }
            if (!master.Running || !File.Exists(master.Socket))
            {
                var args = new List<string>(sshArguments)
                {
                    "-o", "ControlMaster=yes",
                    "-o", "ControlPath=" + Escape(master.Socket),
                    "-o", "ControlPersist=" + ((int)Persist.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                    "-N", "-f", "--", plan.SshHost,
                };
                if (master.Running)
                {
                    events.Verbose($"{plan.Host}: the shared SSH connection ended; connecting again.");
                }
                var outcome = await start(program, args, ct).ConfigureAwait(false);
                if (outcome.ExitCode != 0)
                {
                    master.Failed = outcome;
                    return outcome;
                }
                Interlocked.Increment(ref _started);
                master.Running = true;
                events.Verbose($"{plan.Host}: connected over SSH; the run's other commands to it share this connection.");
            }
        }
        finally
        {
            master.Gate.Release();
        }
        sshArguments.Add("-o");
        sshArguments.Add("ControlMaster=no");
        sshArguments.Add("-o");
        sshArguments.Add("ControlPath=" + Escape(master.Socket));
        return null;
    }

    /// <summary>ssh expands % and ~ in ControlPath: the folder's own characters are kept literally.</summary>
    private static string Escape(string path) => path.Replace("%", "%%");

    private bool EnsureFolder(IEngineEvents events)
    {
        if (_folder is not null)
        {
            return true;
        }
        if (_folderFailed)
        {
            return false;
        }
        // A short base: a Unix socket path has at most 104-108 bytes.
        var bases = new[] { Path.GetTempPath(), "/tmp" }.Where(b => b.Length > 0 && b.Length <= 60 && Directory.Exists(b)).Distinct();
        foreach (var b in bases)
        {
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var path = Path.Combine(b, "talosimage-ssh-" + Guid.NewGuid().ToString("N").Substring(0, 12));
                int made;
                try
                {
                    made = Native.mkdir(path, Convert.ToUInt32("700", 8));
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
                {
                    break;
                }
                if (made == 0)
                {
                    _folder = path;
                    return true;
                }
            }
        }
        _folderFailed = true;
        events.Verbose("No private folder for shared SSH connections could be made in the temp folder; every command connects on its own.");
        return false;
    }

    public void Dispose()
    {
        List<Master> masters;
        string? folder;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            masters = _masters.Values.ToList();
            folder = _folder;
            _folder = null;
        }
        var closing = masters.Where(m => m.Running).Select(async m =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await ExternalProcess.RunAsync(m.Program, m.CloseArguments, null, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // The master ends by itself after ControlPersist without clients.
            }
        }).ToArray();
        try
        {
            Task.WaitAll(closing);
        }
        catch (AggregateException)
        {
        }
        if (folder is not null)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int mkdir(string path, uint mode);
    }
}
