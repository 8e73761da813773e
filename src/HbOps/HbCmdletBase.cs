using System.Collections.Concurrent;
using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Base of every HbOps cmdlet: owns cancellation (Ctrl+C cancels the engine's token), runs engine
/// work on a background task while writing its progress and messages on the pipeline thread, and
/// maps engine exceptions onto ErrorRecords with stable ids.
/// </summary>
public abstract class HbCmdletBase : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private bool _disposed;

    /// <summary>Cancelled when the user presses Ctrl+C.</summary>
    protected CancellationToken CancellationToken => _cts.Token;

    /// <inheritdoc />
    protected override void StopProcessing() => _cts.Cancel();

    /// <summary>Runs engine work to completion, pumping its messages onto this (pipeline) thread.</summary>
    protected T RunEngine<T>(Func<IHbReporter, CancellationToken, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var reporter = new QueueReporter();
        var task = Task.Run(() => work(reporter, _cts.Token));
        Pump(task, reporter);
        return task.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Runs <paramref name="work"/> once per item, at most <paramref name="throttleLimit"/> at a time, and hands each
    /// item's result (or exception) to <paramref name="onResult"/> (or <paramref name="onError"/>) on the pipeline thread
    /// as soon as that item ends: one failing item never stops the others. Verbose and warning messages carry the item's
    /// label; each item has its own progress bar.
    /// </summary>
    protected void RunEngineEach<TItem, T>(IReadOnlyList<TItem> items, int throttleLimit, Func<TItem, string> label,
        Func<TItem, IHbReporter, CancellationToken, Task<T>> work, Action<TItem, T> onResult, Action<TItem, Exception> onError)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(onResult);
        ArgumentNullException.ThrowIfNull(onError);
        using var reporter = new QueueReporter();
        var ct = _cts.Token;
        async Task RunAll()
        {
            using var gate = new SemaphoreSlim(Math.Max(1, throttleLimit));
            await Task.WhenAll(items.Select(async (item, i) =>
            {
                try
                {
                    await gate.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex)
                {
                    reporter.Post(() => onError(item, ex));
                    return;
                }
                try
                {
                    IHbReporter own = items.Count == 1 ? reporter : new LabelledReporter(reporter, label(item), i);
                    var result = await work(item, own, ct).ConfigureAwait(false);
                    reporter.Post(() => onResult(item, result));
                }
                catch (Exception ex)
                {
                    reporter.Post(() => onError(item, ex));
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
        }
        var task = Task.Run(RunAll);
        Pump(task, reporter);
        task.GetAwaiter().GetResult();
    }

    // Drains the engine's messages onto this (pipeline) thread until the work ends.
    private void Pump(Task task, QueueReporter reporter)
    {
        // The pump below wakes at once when the work ends (not at its next wait timeout).
        _ = task.ContinueWith(_ => reporter.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (!task.IsCompleted)
            {
                reporter.Drain(this, TimeSpan.FromMilliseconds(100));
            }
            reporter.Drain(this, TimeSpan.Zero);
        }
        catch (RuntimeException)
        {
            // Ctrl+C, or an error written with -ErrorAction Stop: nothing may be written any more, but the engine's
            // cleanup (stopping remote work, removing partial files and sandboxes) must finish before connections close.
            _cts.Cancel();
            try { task.Wait(); } catch (AggregateException) { }
            throw;
        }
    }

    /// <summary>Maps any exception onto an ErrorRecord with a stable id.</summary>
    protected static ErrorRecord ToErrorRecord(Exception exception, object? target) => ToErrorRecord(exception, target, false);

    /// <summary>
    /// Maps any exception onto an ErrorRecord with a stable id; with <paramref name="targetWins"/> the record's
    /// TargetObject is <paramref name="target"/> even when the exception names its own (one of several targets).
    /// </summary>
    protected static ErrorRecord ToErrorRecord(Exception exception, object? target, bool targetWins)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is AggregateException { InnerExceptions.Count: 1 } agg) exception = agg.InnerExceptions[0];
        // A library's exception wrapping HbOps' own (a transport that failed because the SSH connection went away)
        // keeps HbOps' stable id instead of becoming Unexpected.
        if (exception is not (HbOpsException or OperationCanceledException))
        {
            for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
            {
                if (inner is HbOpsException wrapped)
                {
                    exception = wrapped;
                    break;
                }
            }
        }
        ErrorRecord record = exception switch
        {
            HbOpsException hb => new ErrorRecord(hb, hb.ErrorId, MapCategory(hb.Category), targetWins ? target : hb.Target ?? target),
            OperationCanceledException => new ErrorRecord(exception, HbErrorIds.OperationCancelled, ErrorCategory.OperationStopped, target),
            _ => new ErrorRecord(exception, HbErrorIds.Unexpected, ErrorCategory.NotSpecified, target),
        };
        if (exception is HbOpsException { RecommendedAction: { } action })
        {
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = action };
        }
        return record;
    }

    /// <summary>Writes a non-terminating error for one failed item.</summary>
    protected void WriteHbError(Exception exception, object? target) => WriteError(ToErrorRecord(exception, target));

    /// <summary>
    /// The one failure rule of the Test-* cmdlets: the result object is always written; a result that failed is also
    /// reported as a non-terminating error (category InvalidResult) with a stable id and the result object as its
    /// TargetObject. -ErrorAction Stop therefore ends a runbook at the first failed test, while -ErrorAction
    /// SilentlyContinue or -ErrorVariable keep going with the result in hand. Call it after the result was written and
    /// outside any catch: under -ErrorAction Stop it throws.
    /// </summary>
    protected void WriteResultFailure(string errorId, string message, object result, string? recommendedAction = null) =>
        WriteHbError(new HbOpsException(errorId, HbErrorCategory.OperationFailed, message, result, recommendedAction), result);

    /// <summary>Stops the command with a terminating error.</summary>
    protected void ThrowHbError(Exception exception, object? target) => ThrowTerminatingError(ToErrorRecord(exception, target));

    private static ErrorCategory MapCategory(HbErrorCategory c) => c switch
    {
        HbErrorCategory.InvalidArgument => ErrorCategory.InvalidArgument,
        HbErrorCategory.ObjectNotFound => ErrorCategory.ObjectNotFound,
        HbErrorCategory.ConnectionError => ErrorCategory.ConnectionError,
        HbErrorCategory.SecurityError => ErrorCategory.SecurityError,
        HbErrorCategory.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        HbErrorCategory.OperationFailed => ErrorCategory.InvalidResult,
        HbErrorCategory.InvalidData => ErrorCategory.InvalidData,
        HbErrorCategory.OperationStopped => ErrorCategory.OperationStopped,
        HbErrorCategory.PermissionDenied => ErrorCategory.PermissionDenied,
        _ => ErrorCategory.NotSpecified,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the cancellation source.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed) return;
        if (disposing) _cts.Dispose();
        _disposed = true;
    }

    // One item's messages among several running at once: labelled, and a progress bar of its own.
    private sealed class LabelledReporter(IHbReporter inner, string label, int index) : IHbReporter
    {
        public void Verbose(string message) => inner.Verbose($"[{label}] {message}");
        public void Warning(string message) => inner.Warning($"[{label}] {message}");
        public void Progress(HbProgress progress) =>
            inner.Progress(progress with { ActivityId = progress.ActivityId * 1000 + index + 1, Activity = $"{progress.Activity} [{label}]" });
    }

    // Engine threads post here; the pipeline thread drains and writes. Completed when the work ends: the drain then
    // returns as soon as the queue is empty, and anything posted later (by a side task) is dropped.
    private sealed class QueueReporter : IHbReporter, IDisposable
    {
        private readonly BlockingCollection<(char Kind, object Payload)> _queue = new();
        private readonly object _sync = new();
        private bool _complete;

        public void Verbose(string message) => Post('v', message);
        public void Warning(string message) => Post('w', message);
        public void Progress(HbProgress progress) => Post('p', progress);

        /// <summary>Runs <paramref name="action"/> on the pipeline thread (where WriteObject and WriteError are allowed).</summary>
        public void Post(Action action) => Post('a', action);

        public void Complete()
        {
            lock (_sync)
            {
                if (_complete) return;
                _complete = true;
                _queue.CompleteAdding();
            }
        }

        private void Post(char kind, object payload)
        {
            lock (_sync)
            {
                if (!_complete) _queue.Add((kind, payload));
            }
        }

        public void Drain(Cmdlet cmdlet, TimeSpan wait)
        {
            while (_queue.TryTake(out var item, wait))
            {
                switch (item.Kind)
                {
                    case 'v': cmdlet.WriteVerbose((string)item.Payload); break;
                    case 'w': cmdlet.WriteWarning((string)item.Payload); break;
                    case 'a': ((Action)item.Payload)(); break;
                    default:
                        var p = (HbProgress)item.Payload;
                        cmdlet.WriteProgress(new ProgressRecord(p.ActivityId, p.Activity, p.Status)
                        {
                            PercentComplete = p.PercentComplete,
                            RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                        });
                        break;
                }
                wait = TimeSpan.Zero;
            }
        }

        public void Dispose()
        {
            Complete();
            _queue.Dispose();
        }
    }
}
