namespace HbOps.Model;

/// <summary>A progress update, rendered by the cmdlet layer as Write-Progress.</summary>
public sealed record HbProgress(int ActivityId, string Activity, string Status, int PercentComplete = -1, bool Completed = false);

/// <summary>
/// Where the engine narrates what it does. Implementations must be thread-safe: the engine calls
/// them from background tasks, and the cmdlet layer queues messages for the pipeline thread.
/// </summary>
public interface IHbReporter
{
    /// <summary>A step narration (-Verbose).</summary>
    void Verbose(string message);

    /// <summary>Something the operator should notice but that does not fail the operation.</summary>
    void Warning(string message);

    /// <summary>Progress of a long phase.</summary>
    void Progress(HbProgress progress);
}

/// <summary>Discards everything.</summary>
public sealed class NullReporter : IHbReporter
{
    /// <summary>Shared instance.</summary>
    public static NullReporter Instance { get; } = new();
    /// <inheritdoc />
    public void Verbose(string message) { }
    /// <inheritdoc />
    public void Warning(string message) { }
    /// <inheritdoc />
    public void Progress(HbProgress progress) { }
}
