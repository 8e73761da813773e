using HbOps.Model;
namespace HbOps.Engine.Hosts;

/// <summary>A command started on a host: its standard streams and its exit.</summary>
public interface IRunningCommand : IAsyncDisposable
{
    /// <summary>
    /// Writes to the command's standard input; dispose it to send EOF. Over SSH (SSH.NET) EOF is only sent when something
    /// was written, so a command that reads its input must be given at least one byte.
    /// </summary>
    Stream StandardInput { get; }

    /// <summary>The command's standard output.</summary>
    Stream StandardOutput { get; }

    /// <summary>The command's standard error.</summary>
    Stream StandardError { get; }

    /// <summary>Completes with the exit code when the command has exited (-1 when killed by a signal).</summary>
    Task<int> WaitForExitAsync(CancellationToken ct);

    /// <summary>Asks the command to stop (best effort; docker exec does not forward signals).</summary>
    Task KillAsync();
}

/// <summary>Captured result of a command run to completion.</summary>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>True when the exit code is 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// A machine that can run commands given as an argument vector: locally as a process (no shell),
/// remotely over SSH (each argument shell-quoted, so nothing is interpreted). The single gateway
/// through which HbOps reaches a docker host.
/// </summary>
public interface ICommandHost : IAsyncDisposable
{
    /// <summary>Where the commands run.</summary>
    HbHost Host { get; }

    /// <summary>Starts a command; the caller owns the returned handle.</summary>
    Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct);

    /// <summary>
    /// Starts a command whose standard output is a bulk stream that one reader consumes continuously (a dump). The
    /// command is then held back whenever the reader falls behind, so memory stays bounded whatever the output's size.
    /// Local processes already get this from their OS pipes.
    /// </summary>
    Task<IRunningCommand> StartStreamingAsync(IReadOnlyList<string> argv, CancellationToken ct) => StartAsync(argv, ct);
}
