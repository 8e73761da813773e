using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;

namespace HbOps.Engine.Sandbox;

/// <summary>A run's hold on what it makes on the docker host (see <see cref="SandboxLease"/>); a seam for unit tests.</summary>
internal interface IRunLease
{
    /// <summary>Waits until the lease listens and names a folder made for the run (null: none) so a dropped connection removes it.</summary>
    Task ArmAsync(string? scratchFolder, CancellationToken ct);

    /// <summary>Ends the lease: released when nothing is left to remove, a sweep of the run's labelled resources otherwise.</summary>
    Task EndAsync(bool nothingLeft);
}

/// <summary>Takes a lease for a run (it starts listening at once).</summary>
internal delegate IRunLease LeaseFactory(string runId, CancellationToken ct);

/// <summary>
/// The host-side <see cref="SandboxLease"/> of one run, taken at construction: it listens while the run's first steps
/// (checksum, image probe) go on, and anything made on the host waits for <see cref="ArmAsync"/>.
/// </summary>
internal sealed class HostRunLease(ICommandHost host, string runId, CancellationToken ct) : IRunLease
{
    private readonly Task<SandboxLease> _lease = SandboxLease.TakeAsync(host, runId, ct);

    /// <summary>Leases on <paramref name="host"/>.</summary>
    public static LeaseFactory On(ICommandHost host) => (runId, ct) => new HostRunLease(host, runId, ct);

    /// <inheritdoc />
    public async Task ArmAsync(string? scratchFolder, CancellationToken ct)
    {
        var held = await _lease.WaitAsync(ct).ConfigureAwait(false);
        if (scratchFolder is not null) await held.AddScratchFolderAsync(scratchFolder, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task EndAsync(bool nothingLeft)
    {
        SandboxLease held;
        try
        {
            held = await _lease.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException)
        {
            return; // never listened: nothing was made under it
        }
        await using (held)
        {
            if (nothingLeft) await held.ReleaseAsync().ConfigureAwait(false);
            else await held.SweepAsync().ConfigureAwait(false);
        }
    }
}
