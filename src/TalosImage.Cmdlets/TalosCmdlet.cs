using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core;

namespace TalosImage.Cmdlets;

/// <summary>
/// Base of every TalosImage cmdlet. Engine work runs off the pipeline thread with a CancellationToken that
/// StopProcessing (Ctrl+C) cancels; objects, progress, verbose and warning messages, and ShouldProcess questions
/// are pumped back onto the pipeline thread, the only one allowed to write. Engine exceptions become
/// ErrorRecords with the engine's stable ErrorId.
/// </summary>
public abstract class TalosCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private BlockingCollection<Action>? _pump;
    private int _pipelineThread;

    protected CancellationToken CancellationToken => _cancellation.Token;

    protected override void StopProcessing() => _cancellation.Cancel();

    public void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs <paramref name="work"/> on a worker thread and pumps its events here until it ends.</summary>
    protected void RunEngine(Func<IEngineEvents, CancellationToken, Task> work)
    {
        using var pump = new BlockingCollection<Action>();
        _pump = pump;
        _pipelineThread = Environment.CurrentManagedThreadId;
        var events = new PumpedEvents(this);
        var task = Task.Run(() => work(events, CancellationToken));
        task.ContinueWith(_ => pump.CompleteAdding(), TaskScheduler.Default);
        try
        {
            foreach (var action in pump.GetConsumingEnumerable())
            {
                action();
            }
        }
        finally
        {
            _pump = null;
        }

        if (task.IsCanceled || (task.Exception?.GetBaseException() is OperationCanceledException && CancellationToken.IsCancellationRequested))
        {
            throw new PipelineStoppedException();
        }
        if (task.Exception?.GetBaseException() is { } error)
        {
            ThrowTerminatingError(ErrorRecordFor(error, null));
        }
    }

    /// <summary>Writes <paramref name="output"/> from any thread (through the pump while engine work runs).</summary>
    protected void Emit(object output) => OnPipeline(() => WriteObject(output));

    /// <summary>Writes a non-terminating error from any thread.</summary>
    protected void EmitError(Exception error, object? target) => OnPipeline(() => WriteError(ErrorRecordFor(error, target)));

    /// <summary>ShouldProcess asked on the pipeline thread, from any thread; blocks the caller until answered.</summary>
    protected bool ShouldProcessFromEngine(string target, string action)
    {
        if (_pump is null || Environment.CurrentManagedThreadId == _pipelineThread)
        {
            return ShouldProcess(target, action);
        }
        var answer = new TaskCompletionSource<bool>();
        OnPipeline(() => answer.SetResult(ShouldProcess(target, action)));
        return answer.Task.GetAwaiter().GetResult();
    }

    private void OnPipeline(Action action)
    {
        var pump = _pump;
        if (pump is null || Environment.CurrentManagedThreadId == _pipelineThread)
        {
            action();
            return;
        }
        try
        {
            pump.Add(action);
        }
        catch (InvalidOperationException)
        {
            // The run has ended; nothing more reaches the pipeline.
        }
    }

    /// <summary>An ErrorRecord with the engine's ErrorId and a category from its kind.</summary>
    internal static ErrorRecord ErrorRecordFor(Exception error, object? target)
    {
        if (error is TalosException t)
        {
            return new ErrorRecord(t, t.ErrorId, CategoryFor(t.Kind), target ?? t.Target);
        }
        return new ErrorRecord(error, "TalosImage.UnexpectedError", ErrorCategory.NotSpecified, target);
    }

    internal static ErrorCategory CategoryFor(TalosErrorKind kind) => kind switch
    {
        TalosErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        TalosErrorKind.InvalidData => ErrorCategory.InvalidData,
        TalosErrorKind.ObjectNotFound => ErrorCategory.ObjectNotFound,
        TalosErrorKind.ConnectionError => ErrorCategory.ConnectionError,
        TalosErrorKind.ProtocolError => ErrorCategory.ProtocolError,
        TalosErrorKind.PermissionDenied => ErrorCategory.PermissionDenied,
        TalosErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        TalosErrorKind.OperationTimeout => ErrorCategory.OperationTimeout,
        TalosErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        TalosErrorKind.NotInstalled => ErrorCategory.NotInstalled,
        TalosErrorKind.WriteError => ErrorCategory.WriteError,
        TalosErrorKind.SecurityError => ErrorCategory.SecurityError,
        _ => ErrorCategory.InvalidOperation,
    };

    /// <summary>Engine events written on the pipeline thread.</summary>
    private sealed class PumpedEvents : IEngineEvents
    {
        private readonly TalosCmdlet _cmdlet;

        public PumpedEvents(TalosCmdlet cmdlet) => _cmdlet = cmdlet;

        public void Progress(EngineProgress p) => _cmdlet.OnPipeline(() =>
        {
            var record = new ProgressRecord(p.ActivityId, p.Activity, p.Status.Length > 0 ? p.Status : p.Activity)
            {
                PercentComplete = p.PercentComplete,
                SecondsRemaining = p.SecondsRemaining,
                RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            if (p.ParentActivityId is { } parent)
            {
                record.ParentActivityId = parent;
            }
            _cmdlet.WriteProgress(record);
        });

        public void Verbose(string message) => _cmdlet.OnPipeline(() => _cmdlet.WriteVerbose(message));

        public void Warning(string message) => _cmdlet.OnPipeline(() => _cmdlet.WriteWarning(message));
    }
}
