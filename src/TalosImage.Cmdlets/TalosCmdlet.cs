using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using TalosImage.Core;

namespace TalosImage.Cmdlets;

/// <summary>
/// Base of every TalosImage cmdlet. Engine work runs off the pipeline thread with a CancellationToken that
/// StopProcessing (Ctrl+C, PowerShell.Stop()) cancels; objects, progress, verbose and warning messages, errors and
/// ShouldProcess questions are pumped back onto the pipeline thread, the only one allowed to write. Engine exceptions
/// become ErrorRecords with the engine's stable ErrorId: non-terminating by default (one bad pipeline item does not
/// stop the others), terminating where the cmdlet says the whole command cannot go on.
/// When the pipeline thread itself throws out of a pumped write or question (a "no"/Ctrl+C at a -Confirm prompt,
/// Select-Object -First n downstream, -ErrorAction Stop), the worker is cancelled and awaited before the exception
/// goes on, so that it lets go of what it holds (the cache lock, partial files) and nothing is left running.
/// </summary>
public abstract class TalosCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private BlockingCollection<Action>? _pump;
    private CancellationToken _runToken;
    private volatile bool _aborted;
    private int _pipelineThread;

    protected CancellationToken CancellationToken => _cancellation.Token;

    protected override void StopProcessing() => _cancellation.Cancel();

    public void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread and pumps its events here until it ends. An engine error is
    /// written as a non-terminating error about <paramref name="target"/>, or thrown as a terminating one when
    /// <paramref name="terminating"/> is set.
    /// </summary>
    protected void RunEngine(Func<IEngineEvents, CancellationToken, Task> work, object? target = null, bool terminating = false)
    {
        using var pump = new BlockingCollection<Action>();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(_cancellation.Token);
        _pump = pump;
        _runToken = run.Token;
        _aborted = false;
        _pipelineThread = Environment.CurrentManagedThreadId;
        var events = new PumpedEvents(this);
        var task = Task.Run(() => work(events, run.Token));
        task.ContinueWith(_ => pump.CompleteAdding(), TaskScheduler.Default);
        try
        {
            foreach (var action in pump.GetConsumingEnumerable())
            {
                action();
            }
        }
        catch
        {
            // The pipeline is being stopped from here: stop the worker, and wait until it has let go of everything.
            _aborted = true;
            run.Cancel();
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // Its own cancellation or failure: the exception from the pipeline is the one that matters.
            }
            throw;
        }
        finally
        {
            _pump = null;
        }

        var error = task.Exception?.GetBaseException();
        if (task.IsCanceled || (error is OperationCanceledException && _cancellation.IsCancellationRequested))
        {
            throw new PipelineStoppedException();
        }
        if (error is not null)
        {
            var record = ErrorRecordFor(error, target);
            if (terminating)
            {
                ThrowTerminatingError(record);
            }
            WriteError(record);
        }
    }

    /// <summary>
    /// The HTTP options of a cmdlet that talks to the factory at <paramref name="factoryUrl"/> with -FactoryCredential
    /// (null without one: the defaults). A credential that cannot be sent is a terminating error (FactoryCredentialInvalid).
    /// </summary>
    protected Core.Http.HttpOptions? FactoryHttp(string factoryUrl, PSCredential? credential)
    {
        if (credential is null || ReferenceEquals(credential, PSCredential.Empty))
        {
            return null;
        }
        try
        {
            return Core.Factory.FactoryCredentials.Options(factoryUrl, credential.GetNetworkCredential());
        }
        catch (TalosException e)
        {
            ThrowTerminatingError(ErrorRecordFor(e, factoryUrl));
            return null;
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
        // Released when the run stops, even if the question is never asked (the pipeline thread threw first).
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = _runToken.Register(() => answer.TrySetCanceled());
        OnPipeline(() => answer.TrySetResult(ShouldProcess(target, action)));
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
        if (_aborted)
        {
            return; // the pipeline is stopping: nothing more reaches it
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

    /// <summary>
    /// An ErrorRecord with the engine's ErrorId and a category from its kind (the catalogue's, TalosErrors); any other
    /// exception is TalosErrors.UnexpectedError.
    /// </summary>
    internal static ErrorRecord ErrorRecordFor(Exception error, object? target)
    {
        if (error is TalosException t)
        {
            return new ErrorRecord(t, t.ErrorId, CategoryFor(t.Kind), target ?? t.Target);
        }
        return new ErrorRecord(error, TalosErrors.UnexpectedError.Id, CategoryFor(TalosErrors.UnexpectedError.Kind), target);
    }

    /// <summary>The one map from an error's kind to its ErrorRecord category.</summary>
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
        TalosErrorKind.NotSpecified => ErrorCategory.NotSpecified,
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

        public void Verbose(string message) => _cmdlet.OnPipeline(() => _cmdlet.WriteVerbose(SafeText.PrintableLines(message)));

        public void Warning(string message) => _cmdlet.OnPipeline(() => _cmdlet.WriteWarning(SafeText.PrintableLines(message)));
    }
}
