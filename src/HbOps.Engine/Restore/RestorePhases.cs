using System.Diagnostics;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>Runs a named step of a run; a restore test records each one's timing and status.</summary>
internal interface IPhases
{
    /// <summary>Runs <paramref name="body"/> as phase <paramref name="name"/> (<paramref name="step"/> sets the progress).</summary>
    Task<T> RunAsync<T>(string name, int step, Func<Task<T>> body);
}

/// <summary>Phases that are not recorded (New-HbSandbox reports no phases).</summary>
internal sealed class UnrecordedPhases : IPhases
{
    /// <summary>The one instance.</summary>
    public static readonly UnrecordedPhases Instance = new();

    /// <inheritdoc />
    public Task<T> RunAsync<T>(string name, int step, Func<Task<T>> body) => body();
}

/// <summary>
/// A restore test's phases: each reports progress, says so in verbose output and adds its timing to the result's
/// <see cref="HbRestoreTestResult.Phases"/> (Failed when it threw or returned false).
/// </summary>
internal sealed class RestorePhases(HbRestoreTestResult result, IHbReporter report) : IPhases
{
    /// <summary>Progress id of Test-HbRestore.</summary>
    public const int ProgressId = 42;

    /// <summary>Progress activity of Test-HbRestore.</summary>
    public const string Activity = "Test-HbRestore";

    /// <inheritdoc />
    public async Task<T> RunAsync<T>(string name, int step, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        report.Progress(new HbProgress(ProgressId, Activity, name, step * 20));
        report.Verbose($"Phase {name}.");
        var sw = Stopwatch.StartNew();
        var timing = new HbPhaseTiming { Name = name, Status = HbCheckStatus.NotRun };
        lock (result.Phases) result.Phases.Add(timing);
        try
        {
            var value = await body().ConfigureAwait(false);
            timing.Status = value is false ? HbCheckStatus.Failed : HbCheckStatus.Passed;
            return value;
        }
        catch
        {
            timing.Status = HbCheckStatus.Failed;
            throw;
        }
        finally
        {
            timing.Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3);
        }
    }

    /// <summary>Reports a step outside the phases (teardown, done).</summary>
    public void Progress(string status, int percent, bool completed = false) =>
        report.Progress(new HbProgress(ProgressId, Activity, status, percent, Completed: completed));
}
