using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Scripts;

namespace HbOps.Engine.Sandbox;

/// <summary>
/// Ties a run's sandbox to the connection that makes it (<c>Scripts/sandbox-lease.sh</c>): a command on the docker host
/// that listens to the run and, when its input ends without a release (the SSH connection dropped, or the process
/// running HbOps was killed), removes every container and volume labelled with the run's id and the folder made for
/// it. Nothing of a run that lost its connection outlives it, whatever the Engine API calls in flight did.
/// </summary>
internal sealed class SandboxLease : IAsyncDisposable
{
    private readonly IRunningCommand _cmd;
    private readonly Task<string> _stderr;
    private bool _ended;

    private SandboxLease(IRunningCommand cmd)
    {
        _cmd = cmd;
        _stderr = new StreamReader(cmd.StandardError, Encoding.UTF8).ReadToEndAsync();
    }

    /// <summary>Starts the lease and returns once it listens (armed).</summary>
    public static async Task<SandboxLease> TakeAsync(ICommandHost host, string runId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        var cmd = await host.StartAsync(new[] { "sh", "-c", HostScripts.SandboxLease, "hbops-lease", runId }, ct).ConfigureAwait(false);
        var lease = new SandboxLease(cmd);
        try
        {
            using var reader = new StreamReader(cmd.StandardOutput, Encoding.UTF8, false, 1024, leaveOpen: true);
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line == "armed=1") return lease;
            }
            var exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
            throw new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.ResourceUnavailable,
                $"The sandbox lease on {host.Host} did not start (exit {exit}): {Util.Redaction.Redact((await lease._stderr.ConfigureAwait(false)).Trim())}",
                host.Host.ToString());
        }
        catch
        {
            await lease.EndAsync("sweep").ConfigureAwait(false);
            await lease.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Names a folder HbOps made on the host for the sandbox: removed with it if the connection drops.</summary>
    public async Task AddScratchFolderAsync(string folder, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (folder.Any(char.IsControl)) throw HbOpsException.Invalid("A scratch folder name must be one line.", folder);
        await _cmd.StandardInput.WriteAsync(Encoding.UTF8.GetBytes($"scratch={folder}\n"), ct).ConfigureAwait(false);
        await _cmd.StandardInput.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The sandbox was removed (verified) or is kept on purpose: the lease ends without touching anything.</summary>
    public Task ReleaseAsync() => EndAsync("release");

    /// <summary>The teardown could not be verified: the lease removes the run's containers, volumes and folder.</summary>
    public Task SweepAsync() => EndAsync("sweep");

    private async Task EndAsync(string request)
    {
        if (_ended) return;
        _ended = true;
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await _cmd.StandardInput.WriteAsync(Encoding.ASCII.GetBytes(request + "\n"), grace.Token).ConfigureAwait(false);
            // The script reads to the end of its input before it exits (an end-of-file after a closed channel would
            // make OpenSSH drop the whole connection).
            await _cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
            await _cmd.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection is gone: the lease saw its input end and sweeps on its own.
        }
    }

    /// <inheritdoc />
    /// <remarks>A lease nobody released sweeps: what was made for the run is removed.</remarks>
    public async ValueTask DisposeAsync()
    {
        await EndAsync("sweep").ConfigureAwait(false);
        await _cmd.DisposeAsync().ConfigureAwait(false);
        try { await _stderr.ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or HbOpsException) { }
    }
}
