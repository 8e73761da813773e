using System.Security.Cryptography;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>What a <see cref="SandboxRun"/> starts for an artefact.</summary>
internal sealed class SandboxStart
{
    /// <summary>The artefact the sandbox mounts.</summary>
    public required HbBackupArtefact Artefact { get; init; }

    /// <summary>The image, name, settings and timeouts of the sandbox.</summary>
    public required RestoreRequest Request { get; init; }

    /// <summary>Accepts the artefact as observed on the docker host, or throws (a checksum that is not the recorded one).</summary>
    public required Action<ArtefactOnHost> Accept { get; init; }

    /// <summary>Make the sandbox while the checksum is verified when the artefact's folder is already on the docker host.</summary>
    public bool CreateWhileVerifying { get; init; }

    /// <summary>Remove expired sandboxes of the host meanwhile.</summary>
    public bool SweepExpired { get; init; }

    /// <summary>What runs in the sandbox the moment its server accepts connections (null: only wait until it does).</summary>
    public IReadOnlyList<string>? Command { get; init; }

    /// <summary>How <see cref="Command"/> is shown in verbose output.</summary>
    public string CommandText { get; init; } = "";

    /// <summary>Put age and the request's identity into the sandbox's tmpfs before the command (which decrypts).</summary>
    public bool Decrypt { get; init; }

    /// <summary>Where the steps are recorded.</summary>
    public IPhases Phases { get; init; } = UnrecordedPhases.Instance;

    /// <summary>Receives what the result should note (a restore into a newer major).</summary>
    public Action<string>? Note { get; init; }
}

/// <summary>
/// One run's sandbox and everything made for it — the lease on the docker host, the uploaded copy or the local socket
/// directory, the container and its volume, the SQL endpoint, the psql session of the smoke tests, the command started in
/// the sandbox — owned together and let go of together (<see cref="DisposeAsync"/>): torn down unless kept, whatever
/// was made before a failure or Ctrl+C removed, and the lease ended with "nothing left" or a sweep.
/// </summary>
internal sealed class SandboxRun : IAsyncDisposable
{
    private readonly ISandboxGateway _sandboxes;
    private readonly IArtefactStaging _staging;
    private readonly ISandboxSql _sql;
    private readonly IHbReporter _report;
    private readonly bool _localEngine;
    private readonly IRunLease _lease;
    // Cancels what runs beside the checksum (and the command started in the sandbox, which outlives StartAsync) when
    // the run is cancelled or the checksum fails.
    private readonly CancellationTokenSource _side;
    private Task<PsqlSession>? _smokeSession;
    private bool _creationBegan;
    private bool _tornDown;
    private bool _ended;
    private HbSandboxRemoval? _removal;

    /// <summary>Takes the run's lease at once: it listens while the first steps go on.</summary>
    public SandboxRun(ISandboxGateway sandboxes, IArtefactStaging staging, ISandboxSql sql, LeaseFactory leases, bool localEngine,
        IHbReporter report, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(leases);
        _sandboxes = sandboxes;
        _staging = staging;
        _sql = sql;
        _report = report;
        _localEngine = localEngine;
        RunId = Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();
        _lease = leases(RunId, ct);
        _side = CancellationTokenSource.CreateLinkedTokenSource(ct);
    }

    /// <summary>The id that labels everything the run makes.</summary>
    public string RunId { get; }

    /// <summary>The sandbox, once created.</summary>
    public HbSandbox? Sandbox { get; private set; }

    /// <summary>The sandbox's database as its owner, once the server is ready.</summary>
    public ISqlEndpoint? Sql { get; private set; }

    /// <summary>The command started in the sandbox (<see cref="SandboxStart.Command"/>), running or done.</summary>
    public Task<CommandResult>? Command { get; private set; }

    private string? UploadFolder { get; set; }

    private string? SocketDirectory { get; set; }

    /// <summary>
    /// Verifies the artefact and makes its sandbox, overlapping what does not depend on the checksum: the image is probed
    /// beside the verification and, when the artefact's folder is already on the docker host (and the start asks for
    /// it), the sandbox is made and its server initialised meanwhile too; a mismatch cancels that and the sandbox goes
    /// with the run. The sweep of expired sandboxes follows the probe, which (first on the critical path) has the engine
    /// connection to itself. Nothing reads the artefact before its checksum matched: the command starts after, in one
    /// docker exec that waits inside the container until the server accepts connections, and a psql session for the
    /// smoke tests opens while it runs.
    /// </summary>
    public async Task<HbSandbox> StartAsync(SandboxStart start, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(start);
        var verified = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = ProbeAsync(start, _side.Token);
        var early = start.CreateWhileVerifying ? _staging.MountableFolder(start.Artefact) : null;
        var creation = early is null ? null : CreateAsync(start, probe, early, verified.Task, _side.Token, ct);
        var sweep = start.SweepExpired ? SweepAsync(probe, ct) : Task.CompletedTask;
        try
        {
            var folder = await VerifyAsync(start, ct).ConfigureAwait(false);
            verified.TrySetResult();
            creation ??= CreateAsync(start, probe, folder, verified.Task, _side.Token, ct);
            await creation.ConfigureAwait(false);
        }
        finally
        {
            // Never leave a side task running unobserved, whatever happened; the first failure is the one reported.
            verified.TrySetCanceled(CancellationToken.None);
            if (!probe.IsCompleted || creation is { IsCompleted: false }) await _side.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(probe, creation ?? Task.CompletedTask, sweep).ConfigureAwait(false); }
            catch (Exception) when (!probe.IsCompletedSuccessfully || creation is { IsCompletedSuccessfully: false } || !sweep.IsCompletedSuccessfully) { }
        }
        await sweep.ConfigureAwait(false);
        return Sandbox!;
    }

    /// <summary>Runs SQL in the sandbox as its owner: in the smoke-test session when there is one.</summary>
    public async Task<string> QueryAsOwnerAsync(string sql, CancellationToken ct)
    {
        if (_smokeSession is null) return await Sql!.QueryAsync(sql, ct).ConfigureAwait(false);
        var session = await _smokeSession.ConfigureAwait(false);
        return await session.ExecuteAsync(sql, ct).ConfigureAwait(false);
    }

    /// <summary>The sandbox's database as another role.</summary>
    public ISqlEndpoint As(string role) => _sql.Endpoint(Sandbox!, role);

    /// <summary>
    /// Ends the smoke-test session, then removes the sandbox and verifies it (with its own 60 s, whatever cancelled the
    /// run) unless it is <paramref name="keep"/>; <paramref name="removing"/> is told just before the removal begins.
    /// Null when no sandbox was made. Later calls return the first one's answer.
    /// </summary>
    public async Task<HbSandboxRemoval?> TeardownAsync(bool keep, Action? removing = null)
    {
        if (_tornDown) return _removal;
        _tornDown = true;
        await CloseSmokeSessionAsync().ConfigureAwait(false);
        if (Sandbox is not { } sandbox) return null;
        if (keep) return _removal = Kept(sandbox);
        removing?.Invoke();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _removal = await RemoveAsync(sandbox, cts.Token).ConfigureAwait(false);
        sandbox.Running = false;
        return _removal;
    }

    /// <summary>The sandbox outlives the run (New-HbSandbox): the lease lets go of it and nothing is removed.</summary>
    public async Task HandOverAsync()
    {
        _tornDown = _ended = true;
        _side.Dispose();
        await _lease.EndAsync(nothingLeft: true).ConfigureAwait(false);
    }

    /// <summary>
    /// Tears the sandbox down if <see cref="TeardownAsync"/> did not, waits for the command started in it, removes the
    /// folder made for a sandbox that does not exist, and ends the lease.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_ended) return;
        _ended = true;
        await TeardownAsync(keep: false).ConfigureAwait(false);
        await ObserveCommandAsync().ConfigureAwait(false);
        _side.Dispose();
        // The sandbox's folder (upload or socket directory) went with its teardown, or stays with a kept sandbox
        // (Remove-HbSandbox removes it); without a sandbox it is removed here.
        if (Sandbox is null) await RemoveScratchAsync().ConfigureAwait(false);
        await _lease.EndAsync(NothingLeft()).ConfigureAwait(false);
    }

    private Task<string> VerifyAsync(SandboxStart start, CancellationToken ct) =>
        start.Phases.RunAsync("VerifyChecksum", 1, async () =>
        {
            var onHost = await _staging.EnsureOnHostAsync(start.Artefact, RunId, _lease, ct).ConfigureAwait(false);
            UploadFolder = onHost.Uploaded ? onHost.Folder : null;
            start.Accept(onHost);
            return onHost.Folder;
        });

    // Sandbox of the same major (never lower), isolated; the command (or the wait for readiness) starts once the
    // checksum matched.
    private async Task CreateAsync(SandboxStart start, Task<int> probe, string artefactFolder, Task verified, CancellationToken token, CancellationToken ct)
    {
        var major = await probe.ConfigureAwait(false);
        if (NewerMajorNote(ImageFor(start), major, start.Artefact) is { } note) start.Note?.Invoke(note);
        await start.Phases.RunAsync("CreateSandbox", 2, async () =>
        {
            SocketDirectory = NewSocketDirectory();
            // The sandbox is made only once the lease listens (and knows the folder made for it, when there is one).
            await _lease.ArmAsync(LocalScratch, token).ConfigureAwait(false);
            _creationBegan = true;
            Sandbox = await _sandboxes.CreateAsync(Spec(start, major, artefactFolder), token).ConfigureAwait(false);
            await verified.WaitAsync(token).ConfigureAwait(false);
            if (start.Command is null) await WaitReadyAsync(start, token).ConfigureAwait(false);
            else await StartCommandAsync(start, token, ct).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    private async Task WaitReadyAsync(SandboxStart start, CancellationToken ct)
    {
        _report.Verbose($"Waiting until the server in '{Sandbox!.Name}' accepts connections (pg_isready -h 127.0.0.1).");
        await _sandboxes.WaitReadyAsync(Sandbox, start.Request.ReadyTimeout, ct).ConfigureAwait(false);
        Sql = _sql.Endpoint(Sandbox);
    }

    // Readiness is awaited by the command itself: one docker exec waits inside the container until the server accepts
    // connections and then becomes the command.
    private async Task StartCommandAsync(SandboxStart start, CancellationToken token, CancellationToken ct)
    {
        var sandbox = Sandbox!;
        if (start.Decrypt)
        {
            var age = await _sandboxes.PrepareDecryptionAsync(sandbox, start.Request.Identity!, token).ConfigureAwait(false);
            // Its one use is done: this process's copy is cleared (the sandbox's goes once age has read it).
            Array.Clear(start.Request.Identity!);
            _report.Verbose($"age {age} and the identity are in the sandbox's tmpfs {SandboxManager.SecretMount}.");
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _report.Verbose($"Restoring as soon as the server is ready: docker exec {sandbox.Name} {start.CommandText}");
        Command = _sandboxes.RunWhenReadyAsync(sandbox, start.Command!, start.Request.ReadyTimeout, () => ready.TrySetResult(), token);
        await Task.WhenAny(ready.Task, Command).ConfigureAwait(false);
        if (!ready.Task.IsCompleted) await Command.ConfigureAwait(false); // never ready: SandboxStartFailed
        Sql = _sql.Endpoint(sandbox);
        // Remote smoke tests go through psql in docker exec: its session opens while the command runs.
        if (Sql is PgEndpoint viaPsql) _smokeSession = Task.Run(() => PsqlSession.StartAsync(viaPsql, PgEndpoint.ApplicationNamePrefix, ct), ct);
    }

    private static string ImageFor(SandboxStart start) => ImageFor(start.Artefact, start.Request);

    /// <summary>The sandbox image: the artefact server's major unless the caller names one.</summary>
    public static string ImageFor(HbBackupArtefact artefact, RestoreRequest request)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(request);
        return request.Image ?? $"postgres:{artefact.ServerMajor}";
    }

    // A sandbox of a lower major than the artefact's server proves nothing.
    private async Task<int> ProbeAsync(SandboxStart start, CancellationToken ct)
    {
        var image = ImageFor(start);
        var major = await _sandboxes.ProbeImageMajorAsync(image, ct).ConfigureAwait(false);
        if (major < start.Artefact.ServerMajor)
        {
            throw new HbOpsException(HbErrorIds.SandboxMajorTooLow, HbErrorCategory.InvalidArgument,
                $"Image '{image}' has PostgreSQL {major}, lower than the artefact's server major {start.Artefact.ServerMajor}; a restore test there proves nothing.",
                image, $"Use -Image postgres:{start.Artefact.ServerMajor} (or newer).");
        }
        return major;
    }

    // A restore into a newer major is allowed (pg_restore reads archives of older servers) but proves less than one into
    // the artefact's own major: the result says so.
    private static string? NewerMajorNote(string image, int major, HbBackupArtefact artefact) => major > artefact.ServerMajor
        ? $"Restored into a newer major: image '{image}' is PostgreSQL {major}, the artefact was dumped from PostgreSQL {artefact.ServerVersion} " +
          $"(major {artefact.ServerMajor}); a restore into {artefact.ServerMajor} itself was not tested."
        : null;

    private async Task SweepAsync(Task probe, CancellationToken ct)
    {
        await probe.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        ct.ThrowIfCancellationRequested();
        foreach (var old in (await _sandboxes.ListAsync(ct).ConfigureAwait(false)).Where(s => s.Expired))
        {
            _report.Verbose($"Sweeping expired sandbox '{old.Name}' (expired {old.ExpiresUtc:u}).");
            await _sandboxes.RemoveAsync(old.Name, ct, old.VolumeName).ConfigureAwait(false);
        }
    }

    private SandboxSpec Spec(SandboxStart start, int major, string artefactFolder)
    {
        var (artefact, request) = (start.Artefact, start.Request);
        return new SandboxSpec
        {
            SecretTmpfs = start.Decrypt,
            SocketDirectory = SocketDirectory, ServerSettings = request.ServerSettings, Initialization = request.Initialization,
            Tag = artefact.Tag.Length > 0 ? artefact.Tag : "hbops", Name = request.SandboxName, Image = ImageFor(start), ImageMajor = major,
            Database = artefact.Database, User = artefact.User, ArtefactFolder = artefactFolder, TimeToLive = request.SandboxTimeToLive, RunId = RunId,
            ScratchFolder = ScratchFolder,
        };
    }

    // Local engine: the server's socket directory is bind-mounted so Npgsql can reach it without a TCP port. The sandbox
    // server trusts connections on its socket, so the directory sits inside a folder only this user may enter (0700):
    // no other account of this machine can reach the restored copy. The socket directory itself stays open (0777) for
    // the container's postgres user, whatever its uid.
    private string? NewSocketDirectory()
    {
        if (!_localEngine) return null;
        var scratch = Directory.CreateTempSubdirectory("hbops-sock-").FullName;
        var socket = Path.Combine(scratch, "socket");
        Directory.CreateDirectory(socket);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(socket, (UnixFileMode)0x1FF);
        }
        return socket;
    }

    // The private folder holding a local socket directory (null: none).
    private string? LocalScratch => SocketDirectory is null ? null : Path.GetDirectoryName(SocketDirectory)!;

    // The folder HbOps made for the sandbox, removed with it: the uploaded copy's, or the local socket folder's.
    private string? ScratchFolder => UploadFolder ?? LocalScratch;

    private async Task CloseSmokeSessionAsync()
    {
        // The smoke-test session ends before its sandbox (rolling back nothing); a failure to open it was reported.
        if (_smokeSession is null) return;
        try { await (await _smokeSession.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false); }
        catch (Exception) when (!_smokeSession.IsCompletedSuccessfully) { }
    }

    // A command interrupted by an error or Ctrl+C ends with its container; observe it.
    private async Task ObserveCommandAsync()
    {
        if (Command is null) return;
        try { await Command.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception) when (!Command.IsCompletedSuccessfully) { }
    }

    private static HbSandboxRemoval Kept(HbSandbox sandbox) => new()
    {
        Name = sandbox.Name, VolumeName = sandbox.VolumeName, Host = sandbox.Host, Status = HbRemovalStatus.Skipped,
        ContainersRemaining = 1, VolumesRemaining = 1, Message = "kept (-KeepSandbox); remove with Remove-HbSandbox",
    };

    // Removes this run's sandbox (only what carries its run id) and verifies it; a connection that is gone cannot verify
    // anything: the lease on the host removes the sandbox, and the failed teardown says so.
    private async Task<HbSandboxRemoval> RemoveAsync(HbSandbox sandbox, CancellationToken ct)
    {
        try
        {
            return await _sandboxes.RemoveAsync(sandbox.Name, ct, sandbox.VolumeName, ScratchFolder, RunId).ConfigureAwait(false);
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.SshConnectionLost)
        {
            _report.Warning($"The connection is gone; the host-side lease removes sandbox '{sandbox.Name}'.");
            return new HbSandboxRemoval
            {
                Name = sandbox.Name, VolumeName = sandbox.VolumeName, Host = sandbox.Host, Status = HbRemovalStatus.Failed,
                ContainersRemaining = -1, VolumesRemaining = -1, Message = "not verified: " + ex.Message,
            };
        }
    }

    // Removes the folder made for a sandbox that does not exist (its creation failed or never came): the uploaded copy
    // on the docker host, or the local socket folder.
    private async Task RemoveScratchAsync()
    {
        if (LocalScratch is { } local) DeleteLocalFolder(local);
        if (UploadFolder is { } upload) await ArtefactStaging.RemoveUploadAsync(_sandboxes, upload, _report).ConfigureAwait(false);
    }

    private void DeleteLocalFolder(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { _report.Warning($"Could not remove '{folder}': {ex.Message}"); }
    }

    // Released when nothing is left to remove (the teardown was verified, the sandbox is kept on purpose, or its creation
    // never began); otherwise the lease sweeps what the run labelled.
    private bool NothingLeft() =>
        Sandbox is null ? !_creationBegan : _removal is { } t && (t.Verified || t.Status == HbRemovalStatus.Skipped);
}
