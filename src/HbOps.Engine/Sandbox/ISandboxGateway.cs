using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Sandbox;

/// <summary>
/// What a sandbox run needs of the docker host's sandboxes (<see cref="SandboxManager"/>): probe an image, create a
/// sandbox, run a command in it once its server is ready, tear it down. A seam so the restore orchestration has unit tests.
/// </summary>
internal interface ISandboxGateway
{
    /// <summary>See <see cref="SandboxManager.ProbeImageMajorAsync"/>.</summary>
    Task<int> ProbeImageMajorAsync(string image, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.CreateAsync"/>.</summary>
    Task<HbSandbox> CreateAsync(SandboxSpec spec, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.PrepareDecryptionAsync"/>.</summary>
    Task<string> PrepareDecryptionAsync(HbSandbox sandbox, byte[] identity, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.WaitReadyAsync"/>.</summary>
    Task WaitReadyAsync(HbSandbox sandbox, TimeSpan timeout, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.RunWhenReadyAsync"/>.</summary>
    Task<CommandResult> RunWhenReadyAsync(HbSandbox sandbox, IReadOnlyList<string> argv, TimeSpan timeout, Action onReady, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.RemoveAsync"/>.</summary>
    Task<HbSandboxRemoval> RemoveAsync(string name, CancellationToken ct, string? volumeName = null, string? scratchFolder = null, string? runId = null);

    /// <summary>See <see cref="SandboxManager.RemoveScratchFolderAsync"/>.</summary>
    Task<string?> RemoveScratchFolderAsync(string folder, CancellationToken ct);

    /// <summary>See <see cref="SandboxManager.ListAsync"/>.</summary>
    Task<List<HbSandbox>> ListAsync(CancellationToken ct);
}
