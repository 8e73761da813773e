using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps.Engine.Tests;

/// <summary>
/// Sandboxes in memory: creation, the command run once "ready", teardown (verified by what is still live) and the
/// scratch folders removed; each step can be held or made to fail by a test.
/// </summary>
internal sealed class FakeSandboxGateway : ISandboxGateway
{
    private readonly object _sync = new();
    public int ImageMajor { get; set; } = 15;
    public HashSet<string> Live { get; } = new();
    public List<string> Created { get; } = new();
    public List<string> TornDown { get; } = new();
    public List<string> ScratchRemoved { get; } = new();
    public List<IReadOnlyList<string>> Commands { get; } = new();
    public byte[]? IdentitySeen { get; private set; }

    /// <summary>Runs inside creation, after the container exists (a test can hold it there or fail it).</summary>
    public Func<CancellationToken, Task>? DuringCreate { get; set; }

    /// <summary>The command once the server is ready (default: pg_restore exits 0 without messages).</summary>
    public Func<IReadOnlyList<string>, CancellationToken, Task<CommandResult>> Command { get; set; } =
        (_, _) => Task.FromResult(new CommandResult(0, "", ""));

    /// <summary>Thrown by the teardown (null: it removes and verifies).</summary>
    public Exception? TeardownFails { get; set; }

    public async Task<int> ProbeImageMajorAsync(string image, CancellationToken ct)
    {
        await Task.Yield(); // a round trip to the engine, as on a real host
        return ImageMajor;
    }

    public async Task<HbSandbox> CreateAsync(SandboxSpec spec, CancellationToken ct)
    {
        var name = spec.Name ?? "pg-restore-test-" + spec.Tag + "-" + spec.RunId;
        lock (_sync)
        {
            Live.Add(name);
            Created.Add(name);
        }
        try
        {
            if (DuringCreate is { } during) await during(ct);
        }
        catch (Exception)
        {
            // As SandboxManager does: a failed or cancelled creation removes what it made.
            lock (_sync) Live.Remove(name);
            throw;
        }
        return new HbSandbox
        {
            Name = name, VolumeName = name + "-data", RunId = spec.RunId, Image = spec.Image, ImageMajor = spec.ImageMajor,
            Database = spec.Database, User = spec.User, Running = true,
        };
    }

    public Task<string> PrepareDecryptionAsync(HbSandbox sandbox, byte[] identity, CancellationToken ct)
    {
        IdentitySeen = identity.ToArray();
        return Task.FromResult("v1.2.1");
    }

    public Task WaitReadyAsync(HbSandbox sandbox, TimeSpan timeout, CancellationToken ct) => Task.CompletedTask;

    public async Task<CommandResult> RunWhenReadyAsync(HbSandbox sandbox, IReadOnlyList<string> argv, TimeSpan timeout, Action onReady, CancellationToken ct)
    {
        lock (_sync) Commands.Add(argv);
        onReady();
        return await Command(argv, ct);
    }

    public Task<HbSandboxRemoval> RemoveAsync(string name, CancellationToken ct, string? volumeName = null, string? scratchFolder = null, string? runId = null)
    {
        lock (_sync) TornDown.Add(name);
        if (TeardownFails is { } ex) throw ex;
        lock (_sync)
        {
            Live.Remove(name);
            if (scratchFolder is not null) ScratchRemoved.Add(scratchFolder);
        }
        return Task.FromResult(new HbSandboxRemoval
        {
            Name = name, VolumeName = volumeName ?? name + "-data", Status = HbRemovalStatus.Removed, Verified = true, Message = "0 remaining",
        });
    }

    public Task<string?> RemoveScratchFolderAsync(string folder, CancellationToken ct)
    {
        lock (_sync) ScratchRemoved.Add(folder);
        return Task.FromResult<string?>(null);
    }

    public Task<List<HbSandbox>> ListAsync(CancellationToken ct) => Task.FromResult(new List<HbSandbox>());
}

/// <summary>The artefact as observed on the docker host: already there (mountable) or uploaded into a run folder.</summary>
internal sealed class FakeStaging(string sha256, bool upload = false) : IArtefactStaging
{
    public const string HostFolder = "/srv/backups/run-1";

    /// <summary>Runs while the checksum is read (a test can hold it there or fail it).</summary>
    public Func<CancellationToken, Task>? DuringChecksum { get; set; }

    public string? UploadedTo { get; private set; }

    public string? MountableFolder(HbBackupArtefact artefact) => upload ? null : HostFolder;

    public async Task<ArtefactOnHost> EnsureOnHostAsync(HbBackupArtefact artefact, string runId, IRunLease lease, CancellationToken ct)
    {
        if (DuringChecksum is { } during) await during(ct);
        if (!upload) return new ArtefactOnHost(HostFolder, sha256, true, false);
        UploadedTo = $"/tmp/hbops-upload-{runId}";
        await lease.ArmAsync(UploadedTo, ct);
        return new ArtefactOnHost(UploadedTo, sha256, true, true);
    }
}

/// <summary>A lease that records what it was told.</summary>
internal sealed class FakeLease : IRunLease
{
    public List<string> Armed { get; } = new();
    public int Ends { get; private set; }
    public bool? NothingLeft { get; private set; }

    public Task ArmAsync(string? scratchFolder, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (scratchFolder is not null) lock (Armed) Armed.Add(scratchFolder);
        return Task.CompletedTask;
    }

    public Task EndAsync(bool nothingLeft)
    {
        Ends++;
        NothingLeft = nothingLeft;
        return Task.CompletedTask;
    }
}

/// <summary>The sandbox's database, answering each statement from a handler.</summary>
internal sealed class FakeSandboxSql(Func<string, CancellationToken, Task<string>> answer) : ISandboxSql
{
    public List<string> Roles { get; } = new();

    public ISqlEndpoint Endpoint(HbSandbox sandbox, string? role = null)
    {
        Roles.Add(role ?? "(owner)");
        if (role is null) sandbox.SqlRoute = "fake";
        return new Answering(answer);
    }

    private sealed class Answering(Func<string, CancellationToken, Task<string>> answer) : ISqlEndpoint
    {
        public string Route => "fake";
        public Task<string> QueryAsync(string sql, CancellationToken ct) => answer(sql, ct);
        public Task<string> QueryReadOnlyAsync(string query, CancellationToken ct) => answer(query, ct);
    }
}

/// <summary>Keeps what the engine narrated.</summary>
internal sealed class RecordingReporter : IHbReporter
{
    public List<string> Verbose { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<HbProgress> Progress { get; } = new();

    void IHbReporter.Verbose(string message) { lock (Verbose) Verbose.Add(message); }
    void IHbReporter.Warning(string message) { lock (Warnings) Warnings.Add(message); }
    void IHbReporter.Progress(HbProgress progress) { lock (Progress) Progress.Add(progress); }
}

/// <summary>Waits a test can hold a step at, then release or cancel.</summary>
internal static class Hold
{
    /// <summary>A step that signals it was reached and then waits until the run is cancelled.</summary>
    public static Func<CancellationToken, Task> UntilCancelled(TaskCompletionSource reached) => async ct =>
    {
        reached.TrySetResult();
        await Task.Delay(Timeout.Infinite, ct);
    };

    public static HbOpsException ConnectionLost() =>
        new(HbErrorIds.SshConnectionLost, HbErrorCategory.ConnectionError, "The SSH connection to fake was lost.", "fake");
}
