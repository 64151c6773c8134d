using System.Diagnostics;
using System.Text;

namespace TalosImage.Tests;

/// <summary>How <see cref="ChildProcess"/> starts a program. Every member is optional.</summary>
public sealed class ChildOptions
{
    /// <summary>The child's working directory; the current one when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>
    /// Changes to the inherited environment, applied in order: a value sets the variable, null removes it.
    /// </summary>
    public IEnumerable<KeyValuePair<string, string?>>? Environment { get; init; }

    /// <summary>Bytes written to the child's stdin, which is then closed.</summary>
    public byte[]? StdinBytes { get; init; }

    /// <summary>A file copied to the child's stdin, which is then closed.</summary>
    public string? StdinFile { get; init; }

    /// <summary>
    /// How long the child (and the end of its output) may take; on expiry the whole process tree is killed and
    /// <see cref="TimeoutException"/> names the command line. Ten minutes unless set; <see cref="Timeout.InfiniteTimeSpan"/> for none.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Stdout copied to this stream (left open) instead of kept in memory; <see cref="ChildResult.Stdout"/> is then empty.</summary>
    public Stream? StdoutTo { get; init; }

    /// <summary>Stdout written to this file (created or truncated) instead of kept in memory.</summary>
    public string? StdoutFile { get; init; }
}

/// <summary>What a finished child did.</summary>
public sealed record ChildResult(string CommandLine, int ExitCode, string Stdout, string Stderr, TimeSpan Duration)
{
    /// <summary>This result when the exit code is 0; else an exception with the command line, the code and stderr.</summary>
    public ChildResult EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException($"{CommandLine} failed with exit code {ExitCode}: {Stderr.Trim()}");
        }
        return this;
    }
}

/// <summary>
/// The one way tests and benchmarks run a program: an argument list (no shell, no quoting by hand), stdin closed
/// unless given, stdout and stderr read at the same time (so a child that fills one pipe while the other is being
/// drained cannot block), a timeout that kills the whole process tree and says which command it was.
/// <see cref="Run"/>/<see cref="RunAsync"/> wait for the end; <see cref="Start"/> returns the running child for
/// tests that signal it or keep it as a server. Not the engine's <c>ExternalProcess</c> (that one is the product's).
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _readers;
    private readonly Stopwatch _clock;
    private readonly FileStream? _stdoutFile;
    private bool _disposed;

    private ChildProcess(string program, IReadOnlyList<string> args, ChildOptions options)
    {
        CommandLine = Describe(program, args);
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        if (options.WorkingDirectory is not null)
        {
            start.WorkingDirectory = options.WorkingDirectory;
        }
        foreach (var kv in options.Environment ?? Array.Empty<KeyValuePair<string, string?>>())
        {
            if (kv.Value is null)
            {
                start.Environment.Remove(kv.Key);
            }
            else
            {
                start.Environment[kv.Key] = kv.Value;
            }
        }
        Stream? stdoutTo = options.StdoutTo;
        if (options.StdoutFile is not null)
        {
            _stdoutFile = File.Create(options.StdoutFile);
            stdoutTo = _stdoutFile;
        }
        _clock = Stopwatch.StartNew();
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException($"{CommandLine} did not start");
        }
        catch
        {
            _stdoutFile?.Dispose();
            throw;
        }
        var stdin = FeedStdinAsync(_process.StandardInput.BaseStream, options);
        var stdout = stdoutTo is null ? Collect(_process.StandardOutput, _stdout) : CopyAsync(_process.StandardOutput.BaseStream, stdoutTo);
        var stderr = Collect(_process.StandardError, _stderr);
        _readers = Task.WhenAll(stdin, stdout, stderr);
    }

    /// <summary>The program and its arguments as a person would type them (for messages only; never run through a shell).</summary>
    public string CommandLine { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; only after the child has exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>What the child wrote to stdout so far (empty when it goes to a stream or file).</summary>
    public string StdoutSoFar
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>What the child wrote to stderr so far.</summary>
    public string StderrSoFar
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="program"/>; its output is read in the background until it ends.</summary>
    public static ChildProcess Start(string program, IEnumerable<string> args, ChildOptions? options = null) =>
        new(program, args.ToArray(), options ?? new ChildOptions());

    /// <summary>Runs <paramref name="program"/> to its end (see <see cref="ChildOptions.Timeout"/>).</summary>
    public static async Task<ChildResult> RunAsync(string program, IEnumerable<string> args, ChildOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ChildOptions();
        using var child = Start(program, args, options);
        return await child.WaitAsync(options.Timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>As <see cref="RunAsync"/>, blocking.</summary>
    public static ChildResult Run(string program, IEnumerable<string> args, ChildOptions? options = null) =>
        Task.Run(() => RunAsync(program, args, options)).GetAwaiter().GetResult();

    /// <summary>
    /// Waits until the child has exited and its output has ended. On expiry of <paramref name="timeout"/> the whole
    /// tree is killed and <see cref="TimeoutException"/> names the command line; on cancellation it is killed too.
    /// </summary>
    public async Task<ChildResult> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var expiry = new CancellationTokenSource(timeout);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(expiry.Token, cancellationToken);
        try
        {
            await _process.WaitForExitAsync(either.Token).ConfigureAwait(false);
            await _readers.WaitAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (either.IsCancellationRequested)
        {
            var exitedAlready = _process.HasExited;
            Kill();
            await DrainAfterKillAsync().ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            var what = exitedAlready
                ? $"exited with {_process.ExitCode}, but its output did not end in {timeout.TotalSeconds:0.###} s (a process it left running holds the pipe)"
                : $"did not finish in {timeout.TotalSeconds:0.###} s and was killed (with its child processes)";
            throw new TimeoutException($"{CommandLine} {what}; stderr so far: {StderrSoFar.Trim()}");
        }
        _clock.Stop();
        await _readers.ConfigureAwait(false); // surfaces a failed copy to a caller's stream
        FlushStdoutFile();
        return new ChildResult(CommandLine, _process.ExitCode, StdoutSoFar, StderrSoFar, _clock.Elapsed);
    }

    /// <summary>Waits until the child has exited (its output may still be arriving); no timeout of its own.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Kills the child and every process it started; nothing when it has already exited.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
    }

    /// <summary>Kills the tree when it still runs, then waits a few seconds for it to go.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Kill();
        try
        {
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        DrainAfterKillAsync().GetAwaiter().GetResult();
        _stdoutFile?.Dispose();
        _process.Dispose();
    }

    private async Task DrainAfterKillAsync()
    {
        // The pipes close when the killed tree is gone; a stray holder elsewhere must not hang the test.
        try
        {
            await _readers.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private void FlushStdoutFile() => _stdoutFile?.Flush();

    private static Task Collect(StreamReader reader, StringBuilder into) => Task.Run(async () =>
    {
        var buffer = new char[16 * 1024];
        int n;
        while ((n = await reader.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false)) > 0)
        {
            lock (into)
            {
                into.Append(buffer, 0, n);
            }
        }
    });

    private static Task CopyAsync(Stream from, Stream to) => Task.Run(() => from.CopyToAsync(to));

    private static Task FeedStdinAsync(Stream stdin, ChildOptions options) => Task.Run(async () =>
    {
        try
        {
            if (options.StdinBytes is { } bytes)
            {
                await stdin.WriteAsync(bytes).ConfigureAwait(false);
            }
            else if (options.StdinFile is { } file)
            {
                await using var f = File.OpenRead(file);
                await f.CopyToAsync(stdin).ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // the child closed its stdin (or exited) before reading all of it
        }
        finally
        {
            try
            {
                stdin.Dispose();
            }
            catch (IOException)
            {
            }
        }
    });

    private static string Describe(string program, IReadOnlyList<string> args) =>
        string.Join(' ', new[] { program }.Concat(args).Select(a => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_./=:@+,%".Contains(c)) ? a : "'" + a.Replace("'", "'\\''") + "'"));
}
