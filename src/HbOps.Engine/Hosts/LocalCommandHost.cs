using System.ComponentModel;
using System.Diagnostics;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>Runs commands on this machine as child processes (argument vector, no shell).</summary>
public sealed class LocalCommandHost : ICommandHost
{
    /// <inheritdoc />
    public HbHost Host => HbHost.Local;

    /// <inheritdoc />
    public Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var psi = new ProcessStartInfo(argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        try
        {
            var p = Process.Start(psi) ?? throw new InvalidOperationException("process did not start");
            return Task.FromResult<IRunningCommand>(new LocalRunningCommand(p));
        }
        catch (Win32Exception ex)
        {
            throw new HbOpsException(HbErrorIds.DockerUnavailable, HbErrorCategory.ResourceUnavailable,
                $"Cannot run '{argv[0]}' on this machine: {ex.Message}", argv[0], "Install it or put it on PATH.", ex);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class LocalRunningCommand(Process process) : IRunningCommand
    {
        public Stream StandardInput => process.StandardInput.BaseStream;
        public Stream StandardOutput => process.StandardOutput.BaseStream;
        public Stream StandardError => process.StandardError.BaseStream;

        public async Task<int> WaitForExitAsync(CancellationToken ct)
        {
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            return process.ExitCode;
        }

        public Task KillAsync()
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            await KillAsync().ConfigureAwait(false);
            process.Dispose();
        }
    }
}
