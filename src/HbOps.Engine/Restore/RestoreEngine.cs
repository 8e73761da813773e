using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Proof;
using HbOps.Engine.RowCounts;
using HbOps.Engine.Sandbox;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>
/// Proves an artefact restores: verify its checksum, restore it into an isolated sandbox of the same
/// PostgreSQL major with <c>pg_restore --no-owner --no-privileges --clean --if-exists</c>, classify
/// every message, run smoke tests, and tear the sandbox down (verified) unless asked to keep it. A copy on an SFTP storage
/// host is read from there (<paramref name="copySource"/>): it is streamed into the docker host and hashed on the way, so
/// the restore proves the copy, not the original.
/// </summary>
public sealed class RestoreEngine(ICommandHost dockerHost, IHbReporter? reporter = null, IArtefactSource? copySource = null)
{
    private const int ProgressId = 42;
    private const string Activity = "Test-HbRestore";
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;
    private readonly DockerCli _docker = new(dockerHost);

    /// <summary>Runs the restore test. Failures of the restored data are a Failed result; failures to run are exceptions.</summary>
    public async Task<HbRestoreTestResult> RunAsync(HbBackupArtefact artefact, RestoreRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Jobs is < 1 or > 64) throw HbOpsException.Invalid("-Jobs must be between 1 and 64.", request.Jobs);
        foreach (var a in request.Assertions) ReadOnlyQuery.RequireText(a.Sql);
        RequireIdentity(artefact, request);
        if (artefact.Encryption is null && request.Identity is not null) _report.Verbose("-Identity is not used: the artefact is not encrypted.");
        var total = Stopwatch.StartNew();
        var runId = NewRunId();
        var result = new HbRestoreTestResult { Artefact = artefact, StartedUtc = DateTime.UtcNow, Jobs = request.Jobs };
        var sandboxes = new SandboxManager(dockerHost, _report);
        HbSandbox? sandbox = null;
        string? uploadFolder = null;
        string? socketDirectory = null;
        Task<CommandResult>? restoreRun = null;
        ISqlEndpoint? sandboxSql = null;
        Task<PsqlSession>? smokeSession = null;
        Task<IPendingTextFile>? record = null;
        // The lease removes whatever this run makes on the docker host if the connection drops; it listens from the
        // start (alongside the checksum and the image probe), and the sandbox is made only once it does.
        var lease = SandboxLease.TakeAsync(dockerHost, runId, ct);
        var creationBegan = false;
        try
        {
            // 1. The artefact must be what was recorded before anything reads it. Creating the sandbox does not read it,
            //    so when the artefact's folder is already on the docker host the sandbox is made (and its server
            //    initialised) while the checksum is verified; a mismatch cancels it and tears it down. The sweep of
            //    expired sandboxes runs alongside. A local artefact for a remote engine is uploaded first.
            var image = ImageFor(artefact, request);
            var checksumVerified = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var restoreArgs = new List<string> { "pg_restore", "-U", artefact.User, "-d", PgEndpoint.DatabaseArgument(artefact.Database), "--no-owner", "--no-privileges", "--clean", "--if-exists",
                "-j", request.Jobs.ToString(CultureInfo.InvariantCulture), SandboxManager.ArtefactMount + "/" + artefact.FileName };
            result.RestoreCommand = string.Join(' ', restoreArgs.Select(ShellQuote.Quote));
            if (artefact.Encryption is not null)
            {
                // Decrypted inside the sandbox into pg_restore's standard input, which allows one job only.
                restoreArgs = DecryptingRestoreArgv(artefact);
                result.Jobs = 1;
                result.RestoreCommand = $"age -d -i {SandboxManager.SecretMount}/identity {SandboxManager.ArtefactMount}/{artefact.FileName} | " +
                    string.Join(' ', restoreArgs.Skip(DecryptScriptArgs).Select(ShellQuote.Quote));
                _report.Verbose("The artefact is encrypted (age): it is decrypted inside the sandbox with the identity on a tmpfs and restored from the stream with one job.");
            }
            using var creationCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var needsUpload = (HostFiles.IsLocal(artefact) && dockerHost.Host.Kind != HbHostKind.Local) || artefact.Location == HbArtefactLocation.Sftp;
            // The sweep starts once the image was probed, so the probe (first on the critical path) has the engine
            // connection to itself and the sweep reuses it instead of opening another.
            var probed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (needsUpload) probed.TrySetResult();
            Task? creation = needsUpload ? null : CreateSandboxAsync(HostFolder(artefact), creationCts.Token);
            var sweep = request.SweepExpired ? SweepAsync(sandboxes, probed.Task, ct) : Task.CompletedTask;
            try
            {
                var artefactFolder = await Phase(result, "VerifyChecksum", 1, async () =>
                {
                    var onHost = await EnsureArtefactOnHostAsync(artefact, runId, lease, ct).ConfigureAwait(false);
                    uploadFolder = onHost.Uploaded ? onHost.Folder : null;
                    result.ObservedSha256 = onHost.Sha256;
                    RequireChecksum(artefact, onHost, result);
                    return onHost.Folder;
                }).ConfigureAwait(false);
                checksumVerified.TrySetResult();
                if (creation is null)
                {
                    probed.TrySetResult();
                    creation = CreateSandboxAsync(artefactFolder, creationCts.Token);
                }
                await creation.ConfigureAwait(false);
            }
            finally
            {
                // Never leave a side task running unobserved, whatever happened; the first failure is the one reported.
                checksumVerified.TrySetCanceled(CancellationToken.None);
                if (creation is { IsCompleted: false }) await creationCts.CancelAsync().ConfigureAwait(false);
                try { await Task.WhenAll(creation ?? Task.CompletedTask, sweep).ConfigureAwait(false); }
                catch (Exception) when (creation is { IsCompletedSuccessfully: false } || !sweep.IsCompletedSuccessfully) { }
            }
            await sweep.ConfigureAwait(false);

            async Task CreateSandboxAsync(string artefactFolder, CancellationToken token)
            {
                // 2. Sandbox of the same major (never lower), isolated, ready. Readiness is awaited by the pg_restore
                //    command itself: one docker exec waits inside the container until the server accepts connections
                //    and then becomes pg_restore, started once the checksum matched (it reads the artefact).
                int major;
                try { major = await ProbeMajorAsync(sandboxes, image, artefact, token).ConfigureAwait(false); }
                finally { probed.TrySetResult(); }
                if (NewerMajorNote(image, major, artefact) is { } note) result.Notes.Add(note);
                await Phase(result, "CreateSandbox", 2, async () =>
                {
                    socketDirectory = NewSocketDirectory();
                    await ArmAsync(lease, ScratchFolder(null, socketDirectory), token).ConfigureAwait(false);
                    creationBegan = true;
                    sandbox = await sandboxes.CreateAsync(Spec(artefact, request, image, major, artefactFolder, socketDirectory, uploadFolder, runId, artefact.Encryption is not null), token).ConfigureAwait(false);
                    result.Sandbox = sandbox;
                    await checksumVerified.Task.WaitAsync(token).ConfigureAwait(false);
                    if (artefact.Encryption is not null)
                    {
                        var age = await sandboxes.PrepareDecryptionAsync(sandbox, request.Identity!, token).ConfigureAwait(false);
                        // Its one use is done: this process's copy is cleared (the sandbox's goes once age has read it).
                        Array.Clear(request.Identity!);
                        _report.Verbose($"age {age} and the identity are in the sandbox's tmpfs {SandboxManager.SecretMount}.");
                    }
                    var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _report.Verbose($"Restoring as soon as the server is ready: docker exec {sandbox.Name} {result.RestoreCommand}");
                    restoreRun = sandboxes.RunWhenReadyAsync(sandbox, restoreArgs, request.ReadyTimeout, () => ready.TrySetResult(), token);
                    await Task.WhenAny(ready.Task, restoreRun).ConfigureAwait(false);
                    if (!ready.Task.IsCompleted) await restoreRun.ConfigureAwait(false); // never ready: SandboxStartFailed
                    sandboxSql = SqlEndpoint(sandbox);
                    // Remote smoke tests go through psql in docker exec: its session opens while pg_restore runs.
                    if (sandboxSql is PgEndpoint viaPsql) smokeSession = Task.Run(() => PsqlSession.StartAsync(viaPsql, PgEndpoint.ApplicationNamePrefix, ct), ct);
                    return true;
                }).ConfigureAwait(false);
            }

            // 3. pg_restore (already running), every message classified.
            var sb = sandbox!;
            var pg = sandboxSql!;
            await Phase(result, "Restore", 3, async () =>
            {
                var r = await restoreRun!.ConfigureAwait(false);
                if (artefact.Encryption is not null) CheckDecryption(artefact, r.StandardOutput, result);
                result.RestoreExitCode = r.ExitCode;
                result.Messages = RestoreMessageClassifier.Classify(r.StandardError);
                var ignored = RestoreMessageClassifier.IgnoredErrorCount(result.Messages);
                var errors = result.Messages.Count(m => m.Text.StartsWith("pg_restore: error:", StringComparison.Ordinal));
                if (result.FatalCount > 0) result.FailureReasons.Add($"pg_restore reported {result.FatalCount} fatal message(s).");
                if (r.ExitCode != 0 && result.FatalCount == 0 && (ignored is null || ignored != errors))
                {
                    result.FailureReasons.Add($"pg_restore exited {r.ExitCode} and its messages do not account for it (ignored={ignored?.ToString(CultureInfo.InvariantCulture) ?? "none"}, errors={errors}).");
                }
                return result.FailureReasons.Count == 0;
            }).ConfigureAwait(false);

            // 4. Smoke tests in the sandbox.
            await Phase(result, "SmokeTests", 4, async () =>
            {
                async Task<string> AsOwnerAsync(string sql)
                {
                    if (smokeSession is null) return await pg.QueryAsync(sql, ct).ConfigureAwait(false);
                    var session = await smokeSession.ConfigureAwait(false);
                    return await session.ExecuteAsync(sql, ct).ConfigureAwait(false);
                }
                async Task<JsonDocument> SmokeJsonAsync(string sql) => JsonDocument.Parse((await AsOwnerAsync(sql).ConfigureAwait(false)).Trim());
                // One read-only statement (one round trip, which matters when psql runs through docker exec over SSH):
                // the server's own version, tables per schema, and exact counts of the snapshot's tables.
                var snapshot = artefact.RowCountSnapshot;
                var compareCounts = snapshot is not null && snapshot.Mode != RowCountMode.None;
                var countSql = compareCounts
                    ? "(" + RowCounter.BuildSelect(RowCountMode.Exact, snapshot!.Tables.Select(t => t.QualifiedName).ToList()) + ")"
                    : "NULL::json";
                var countedAt = DateTime.UtcNow;
                using (var doc = await SmokeJsonAsync(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" +
                    "SELECT json_build_object('version', current_setting('server_version'), 'num', current_setting('server_version_num')::int, " +
                    "'schemas', coalesce((SELECT json_agg(json_build_object('s', nspname, 'n', n) ORDER BY nspname) FROM (" +
                    "SELECT n.nspname, count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
                    "WHERE c.relkind IN ('r','p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' GROUP BY 1) x), '[]'::json), " +
                    "'counts', " + countSql + ");\nCOMMIT;").ConfigureAwait(false))
                {
                    var root = doc.RootElement;
                    sb.ServerVersion = root.GetProperty("version").GetString() ?? "";
                    // The image's declared major is checked before creation; the running server has the last word.
                    var runningMajor = root.GetProperty("num").GetInt32() / 10000;
                    if (runningMajor < artefact.ServerMajor)
                    {
                        result.FailureReasons.Add($"The sandbox server is PostgreSQL {sb.ServerVersion}, lower than the artefact's server major {artefact.ServerMajor}.");
                    }
                    result.TablesPerSchema = root.GetProperty("schemas").EnumerateArray()
                        .Select(e => new HbSchemaTableCount { Schema = e.GetProperty("s").GetString()!, Tables = e.GetProperty("n").GetInt32() }).ToList();
                    result.TableCount = result.TablesPerSchema.Sum(s => s.Tables);
                    if (result.TableCount == 0)
                    {
                        // An empty database restores to an empty database: the dump's own snapshot is the evidence (a
                        // snapshot of key tables never counts 0: they must exist). Without one, no tables means nothing was restored.
                        if (snapshot is { Mode: not RowCountMode.None, TableCount: 0 })
                        {
                            result.Notes.Add("The database has no tables, as the dump's own snapshot recorded: only its other objects were restored.");
                        }
                        else
                        {
                            result.FailureReasons.Add(snapshot is { Mode: not RowCountMode.None }
                                ? $"The restored database has no tables; the dump's snapshot counted {snapshot.TableCount}."
                                : "The restored database has no tables (the artefact carries no snapshot saying production had none).");
                        }
                    }

                    if (!compareCounts)
                    {
                        result.RowCountCheck = HbCheckStatus.NotRun;
                        _report.Warning("The artefact carries no row-count snapshot; row counts were not compared (use -RowCounts Exact on Invoke-HbBackup).");
                    }
                    else
                    {
                        var restored = new HbRowCountSnapshot { Mode = RowCountMode.Exact, TakenAtUtc = countedAt, Tables = RowCounter.Parse(root.GetProperty("counts").GetRawText()) };
                        // The sandbox is always counted exactly; estimated snapshots are compared with tolerance.
                        foreach (var t in restored.Tables) t.LiveTuplesEstimate = t.ExactRows;
                        result.RowCounts = RowCounter.Compare(snapshot!, RowCountSource.ArtefactSnapshot, restored, RowCountSource.Sandbox,
                            snapshot!.Mode, request.EstimateTolerance);
                        result.RowCountCheck = result.RowCountMismatches == 0 ? HbCheckStatus.Passed : HbCheckStatus.Failed;
                        if (result.RowCountMismatches > 0)
                        {
                            result.FailureReasons.Add($"{result.RowCountMismatches} table(s) differ from the artefact's {snapshot.Mode} row counts: " +
                                string.Join(", ", result.RowCounts.Where(c => !c.Match).Take(5).Select(c => $"{c.QualifiedName} {c.Reference}->{c.Difference}")));
                        }
                    }
                }
                // Assertions are the operator's queries, run as data: one statement returning rows, read-only, rolled
                // back, as a role that reads everything and is no superuser (see ReadOnlyQuery).
                var asserting = request.Assertions.Count == 0 ? null : SqlEndpoint(sb, ReadOnlyQuery.Role);
                if (asserting is not null) await AsOwnerAsync(ReadOnlyQuery.RoleSetupSql).ConfigureAwait(false);
                foreach (var a in request.Assertions)
                {
                    var ar = new HbAssertionResult { Name = a.Name, Sql = a.Sql, Expected = a.Expected.Trim() };
                    try
                    {
                        ar.Actual = (await asserting!.QueryReadOnlyAsync(a.Sql, ct).ConfigureAwait(false)).Trim();
                        ar.Status = ar.Actual == ar.Expected ? HbCheckStatus.Passed : HbCheckStatus.Failed;
                    }
                    catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.QueryFailed)
                    {
                        ar.Actual = ex.Message;
                        ar.Status = HbCheckStatus.Failed;
                    }
                    if (!ar.Passed) result.FailureReasons.Add($"Assertion '{a.Name}' failed: expected '{ar.Expected}', got '{ar.Actual}'.");
                    result.Assertions.Add(ar);
                }
                return result.FailureReasons.Count == 0;
            }).ConfigureAwait(false);

            // 4b. Deeper proof: content fingerprints, catalog, pg_amcheck (Proof/RestoreProof).
            await new RestoreProof(_docker, _report).RunAsync(result, sb, pg, request, (name, body) => Phase(result, name, 4, body), ct).ConfigureAwait(false);

            // The record's writer starts now: its SSH channel opens while the sandbox is torn down.
            record = BeginRecordAsync(result, runId);
        }
        finally
        {
            // The smoke-test session ends before its sandbox (rolling back nothing); a failure to open it was reported above.
            if (smokeSession is not null)
            {
                try { await (await smokeSession.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false); }
                catch (Exception) when (!smokeSession.IsCompletedSuccessfully) { }
            }
            // 5. Teardown, also on error and on cancellation, with its own token.
            if (sandbox is not null)
            {
                if (request.KeepSandbox)
                {
                    result.Teardown = new HbSandboxRemoval
                    {
                        Name = sandbox.Name, VolumeName = sandbox.VolumeName, Host = sandbox.Host, Status = HbRemovalStatus.Skipped,
                        ContainersRemaining = 1, VolumesRemaining = 1, Message = "kept (-KeepSandbox); remove with Remove-HbSandbox",
                    };
                }
                else
                {
                    var sw = Stopwatch.StartNew();
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                    _report.Progress(new HbProgress(ProgressId, Activity, "Teardown", 90));
                    result.Teardown = await TeardownAsync(sandboxes, sandbox, ScratchFolder(uploadFolder, socketDirectory), runId, cts.Token).ConfigureAwait(false);
                    sandbox.Running = false;
                    result.Phases.Add(new HbPhaseTiming { Name = "Teardown", Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), Status = result.Teardown.Verified ? HbCheckStatus.Passed : HbCheckStatus.Failed });
                    if (!result.Teardown.Verified) result.FailureReasons.Add("Teardown could not be verified: " + result.Teardown.Message);
                }
            }
            // A pg_restore interrupted by an error or Ctrl+C ends with its container; observe it.
            if (restoreRun is not null)
            {
                try { await restoreRun.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None).ConfigureAwait(false); }
                catch (Exception) when (!restoreRun.IsCompletedSuccessfully) { }
            }
            // The sandbox's folder (upload or socket directory) went with its teardown, or stays with a kept sandbox
            // (Remove-HbSandbox removes it); without a sandbox it is removed here.
            if (sandbox is null) await RemoveScratchAsync(sandboxes, uploadFolder, socketDirectory).ConfigureAwait(false);
            // The lease ends: nothing to do when the sandbox is gone (verified) or kept on purpose, a sweep otherwise.
            await EndLeaseAsync(lease, NothingLeft(creationBegan, sandbox, result.Teardown)).ConfigureAwait(false);
            _report.Progress(new HbProgress(ProgressId, Activity, "done", 100, Completed: true));
        }
        result.DurationSeconds = Math.Round(total.Elapsed.TotalSeconds, 3);
        result.Result = result.FailureReasons.Count > 0 ? HbRestoreOutcome.Failed
            : result.RestoreExitCode != 0 || result.NoteCount > 0 || result.Notes.Count > 0 ? HbRestoreOutcome.PassedWithNotes
            : HbRestoreOutcome.Passed;
        await WriteRecordAsync(result, record!, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>Suffix pattern of restore-test records written beside an artefact.</summary>
    public const string RecordInfix = ".restore-";

    // The result is kept beside the artefact so preflight checks can later prove the latest backup was restore-tested.
    // The run id makes the name this run's own: restore tests of one artefact started in the same second never write
    // one record (names still sort by time first).
    private static string RecordPath(HbRestoreTestResult result, string runId) =>
        result.Artefact.Path + RecordInfix + result.StartedUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + runId + ".yml";

    private Task<IPendingTextFile> BeginRecordAsync(HbRestoreTestResult result, string runId)
    {
        result.RecordPath = RecordPath(result, runId);
        return FilesOf(result.Artefact).BeginWriteTextAtomicAsync(result.RecordPath, CancellationToken.None);
    }

    // Where an artefact's files are: a copy on a storage host through its own connection, anything else beside the engine.
    private IHostFiles FilesOf(HbBackupArtefact artefact) => artefact.Location == HbArtefactLocation.Sftp
        ? (copySource ?? throw new HbOpsException(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument,
            $"'{artefact.Path}' is a copy on {artefact.Copy?.StorageHost?.ToString() ?? "a storage host"}, and no connection to it was given.", artefact.Path)).Files
        : HostFiles.ForArtefact(dockerHost, artefact);

    private async Task WriteRecordAsync(HbRestoreTestResult result, Task<IPendingTextFile> pending, CancellationToken ct)
    {
        try
        {
            await using var file = await pending.ConfigureAwait(false);
            await file.CommitAsync(Records.HbYaml.Serialize(Records.RecordCopies.WithArtefactReference(result)), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or UnauthorizedAccessException)
        {
            result.RecordPath = "";
            _report.Warning($"Could not record the restore test beside the artefact: {ex.Message}");
        }
    }

    // The sandbox is made only once the lease listens (and knows the folder made for it, when there is one).
    private static async Task ArmAsync(Task<SandboxLease> lease, string? scratchFolder, CancellationToken ct)
    {
        var held = await lease.WaitAsync(ct).ConfigureAwait(false);
        if (scratchFolder is not null) await held.AddScratchFolderAsync(scratchFolder, ct).ConfigureAwait(false);
    }

    // Released when nothing is left to remove (the teardown was verified, the sandbox is kept on purpose, or its creation
    // never began); otherwise the lease sweeps what the run labelled.
    private static bool NothingLeft(bool creationBegan, HbSandbox? sandbox, HbSandboxRemoval? teardown) =>
        sandbox is null ? !creationBegan : teardown is { } t && (t.Verified || t.Status == HbRemovalStatus.Skipped);

    private static async Task EndLeaseAsync(Task<SandboxLease> lease, bool nothingLeft)
    {
        SandboxLease held;
        try
        {
            held = await lease.ConfigureAwait(false);
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

    // Removes this run's sandbox (only what carries its run id) and verifies it; a connection that is gone cannot verify
    // anything: the lease on the host removes the sandbox, and the failed teardown says so.
    private async Task<HbSandboxRemoval> TeardownAsync(SandboxManager sandboxes, HbSandbox sandbox, string? scratchFolder, string runId, CancellationToken ct)
    {
        try
        {
            return await sandboxes.RemoveAsync(sandbox.Name, ct, sandbox.VolumeName, scratchFolder, runId).ConfigureAwait(false);
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

    private async Task SweepAsync(SandboxManager sandboxes, Task after, CancellationToken ct)
    {
        await after.WaitAsync(ct).ConfigureAwait(false);
        foreach (var old in (await sandboxes.ListAsync(ct).ConfigureAwait(false)).Where(s => s.Expired))
        {
            _report.Verbose($"Sweeping expired sandbox '{old.Name}' (expired {old.ExpiresUtc:u}).");
            await sandboxes.RemoveAsync(old.Name, ct, old.VolumeName).ConfigureAwait(false);
        }
    }

    private async Task<T> Phase<T>(HbRestoreTestResult result, string name, int step, Func<Task<T>> body)
    {
        _report.Progress(new HbProgress(ProgressId, Activity, name, step * 20));
        _report.Verbose($"Phase {name}.");
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

    /// <summary>
    /// Creates a sandbox for an artefact without restoring it (New-HbSandbox): the artefact's checksum is verified, the
    /// image's major must not be lower than the artefact's server, the artefact folder is mounted read-only (a local
    /// artefact for a remote engine is uploaded first), isolation is verified by inspection, and the call returns once
    /// <c>pg_isready -h 127.0.0.1</c> succeeds inside it. Whatever was made is removed again if any step fails or is
    /// cancelled. Remove it with <see cref="SandboxManager.RemoveAsync"/> (which also removes the uploaded copy).
    /// </summary>
    public async Task<HbSandbox> CreateSandboxAsync(HbBackupArtefact artefact, RestoreRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(request);
        var runId = NewRunId();
        var image = ImageFor(artefact, request);
        var sandboxes = new SandboxManager(dockerHost, _report);
        string? uploadFolder = null;
        string? socketDirectory = null;
        HbSandbox? sandbox = null;
        Task<int>? probe = null;
        var lease = SandboxLease.TakeAsync(dockerHost, runId, ct);
        var creationBegan = false;
        try
        {
            probe = ProbeMajorAsync(sandboxes, image, artefact, ct);
            var onHost = await EnsureArtefactOnHostAsync(artefact, runId, lease, ct).ConfigureAwait(false);
            uploadFolder = onHost.Uploaded ? onHost.Folder : null;
            RequireChecksum(artefact, onHost, null);
            var major = await probe.ConfigureAwait(false);
            socketDirectory = NewSocketDirectory();
            await ArmAsync(lease, ScratchFolder(null, socketDirectory), ct).ConfigureAwait(false);
            creationBegan = true;
            sandbox = await sandboxes.CreateAsync(Spec(artefact, request, image, major, onHost.Folder, socketDirectory, uploadFolder, runId), ct).ConfigureAwait(false);
            _report.Verbose($"Waiting until the server in '{sandbox.Name}' accepts connections (pg_isready -h 127.0.0.1).");
            await sandboxes.WaitReadyAsync(sandbox, request.ReadyTimeout, ct).ConfigureAwait(false);
            SqlEndpoint(sandbox);
            // The sandbox is meant to outlive this command: the lease lets go of it.
            await EndLeaseAsync(lease, nothingLeft: true).ConfigureAwait(false);
            return sandbox;
        }
        catch (Exception)
        {
            // Failed or interrupted: nothing may stay behind (the container, its volume, the uploaded copy, the socket folder).
            if (probe is not null)
            {
                try { await probe.ConfigureAwait(false); }
                catch (Exception) when (!probe.IsCompletedSuccessfully) { /* the first failure is the one reported */ }
            }
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            HbSandboxRemoval? teardown = null;
            if (sandbox is not null) teardown = await TeardownAsync(sandboxes, sandbox, ScratchFolder(uploadFolder, socketDirectory), runId, cleanup.Token).ConfigureAwait(false);
            else await RemoveScratchAsync(sandboxes, uploadFolder, socketDirectory).ConfigureAwait(false);
            await EndLeaseAsync(lease, NothingLeft(creationBegan, sandbox, teardown)).ConfigureAwait(false);
            throw;
        }
    }

    // An encrypted artefact needs the identity that decrypts it, before anything is made.
    private static void RequireIdentity(HbBackupArtefact artefact, RestoreRequest request)
    {
        if (artefact.Encryption is null || request.Identity is { Length: > 0 }) return;
        throw new HbOpsException(HbErrorIds.IdentityRequired, HbErrorCategory.InvalidArgument,
            $"'{artefact.Path}' is encrypted with age (to {string.Join(", ", artefact.Encryption.Recipients.Select(Shorten))}); pass -Identity with a file holding one of their private keys.",
            artefact.Path, "Test-HbRestore -Identity <age identity file>: it is read here and goes only into the sandbox's tmpfs.");
        static string Shorten(string r) => r.Length > 24 ? r[..20] + "..." : r;
    }

    // Arguments before pg_restore's own in the decrypting command.
    private const int DecryptScriptArgs = 6;

    // Runs in the sandbox (as root, whose tmpfs holds age and the identity): age decrypts the artefact into pg_restore's
    // standard input; a FIFO hands a copy of the plaintext to sha256sum (one pass, nothing written). Reports
    // hbops-decrypt-rc=, hbops-plain-sha256= and age's own words as hbops-decrypt-error= lines on stdout (pg_restore
    // writes nothing there) and exits with pg_restore's exit code. The identity is removed as soon as age is done.
    private const string DecryptRestoreScript = """
        f=$1; s=$2; shift 2
        mkfifo -m 600 "$s/plain" || exit 70
        sha256sum < "$s/plain" > "$s/plain.sum" &
        { "$s/age" -d -i "$s/identity" "$f" 2> "$s/age.err"; echo "$?" > "$s/age.rc"; rm -f "$s/identity"; } | tee "$s/plain" | "$@"
        rc=$?
        wait
        echo "hbops-decrypt-rc=$(cat "$s/age.rc" 2>/dev/null)"
        read -r sum _ < "$s/plain.sum" || sum=
        echo "hbops-plain-sha256=$sum"
        sed 's/^/hbops-decrypt-error=/' "$s/age.err"
        exit "$rc"
        """;

    private static List<string> DecryptingRestoreArgv(HbBackupArtefact artefact) => new()
    {
        "sh", "-c", DecryptRestoreScript, "hbops-decrypt", SandboxManager.ArtefactMount + "/" + artefact.FileName, SandboxManager.SecretMount,
        "pg_restore", "-U", artefact.User, "-d", PgEndpoint.DatabaseArgument(artefact.Database), "--no-owner", "--no-privileges", "--clean", "--if-exists",
    };

    // age must have decrypted the whole artefact (a wrong identity or an altered ciphertext stops it) and the plaintext
    // must be the one the backup hashed while encrypting it.
    internal static void CheckDecryption(HbBackupArtefact artefact, string output, HbRestoreTestResult result)
    {
        var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        string? Value(string key) => lines.LastOrDefault(l => l.StartsWith(key + "=", StringComparison.Ordinal))?[(key.Length + 1)..];
        var rc = Value("hbops-decrypt-rc");
        var errors = lines.Where(l => l.StartsWith("hbops-decrypt-error=", StringComparison.Ordinal))
            .Select(l => l["hbops-decrypt-error=".Length..].Trim()).Where(l => l.Length > 0 && !l.Contains("report unexpected", StringComparison.Ordinal)).ToList();
        if (rc != "0")
        {
            var why = Redaction.Redact(string.Join("; ", errors));
            var wrongKey = why.Contains("no identity matched", StringComparison.OrdinalIgnoreCase);
            throw new HbOpsException(HbErrorIds.DecryptionFailed, HbErrorCategory.InvalidData,
                $"age could not decrypt '{artefact.Path}' in the sandbox (exit {(string.IsNullOrEmpty(rc) ? "unknown" : rc)}): {(why.Length > 0 ? why : "no message")}" +
                (wrongKey ? "; the identity matches none of the artefact's recipients." : "."), artefact.Path,
                wrongKey ? $"Pass the identity of one of: {string.Join(", ", artefact.Encryption!.Recipients)}." : "The ciphertext may be altered or truncated: make a new backup.");
        }
        var plain = Value("hbops-plain-sha256") ?? "";
        result.DecryptedSha256 = plain;
        result.PlaintextChecksumVerified = string.Equals(plain, artefact.Encryption!.PlaintextSha256, StringComparison.OrdinalIgnoreCase);
        if (!result.PlaintextChecksumVerified)
        {
            throw new HbOpsException(HbErrorIds.ChecksumMismatch, HbErrorCategory.InvalidData,
                $"The decrypted stream of '{artefact.Path}' has SHA-256 {(plain.Length > 0 ? plain : "(none)")}, but the manifest records the plaintext's as {artefact.Encryption.PlaintextSha256}.",
                artefact.Path, "Do not rely on this backup: make a new one.");
        }
    }

    private static string NewRunId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant();

    // Same major as the artefact's server unless the caller names an image.
    private static string ImageFor(HbBackupArtefact artefact, RestoreRequest request) => request.Image ?? $"postgres:{artefact.ServerMajor}";

    // The restore may only read an artefact whose SHA-256 is the recorded one (and listed so in SHA256SUMS).
    private static void RequireChecksum(HbBackupArtefact artefact, ArtefactOnHost onHost, HbRestoreTestResult? result)
    {
        var ok = string.Equals(onHost.Sha256, artefact.Sha256, StringComparison.OrdinalIgnoreCase) && onHost.SumsLineMatches;
        if (result is not null) result.ChecksumVerified = ok;
        if (ok) return;
        throw new HbOpsException(HbErrorIds.ChecksumMismatch, HbErrorCategory.InvalidData,
            $"Refusing to restore '{artefact.Path}': its SHA-256 is {onHost.Sha256} but the manifest records {artefact.Sha256}" +
            (onHost.SumsLineMatches ? "." : " (or SHA256SUMS does not list it with that hash)."), artefact.Path,
            "The artefact was altered or corrupted; make a new backup.");
    }

    // A sandbox of a lower major than the artefact's server proves nothing.
    private static async Task<int> ProbeMajorAsync(SandboxManager sandboxes, string image, HbBackupArtefact artefact, CancellationToken ct)
    {
        var major = await sandboxes.ProbeImageMajorAsync(image, ct).ConfigureAwait(false);
        if (major < artefact.ServerMajor)
        {
            throw new HbOpsException(HbErrorIds.SandboxMajorTooLow, HbErrorCategory.InvalidArgument,
                $"Image '{image}' has PostgreSQL {major}, lower than the artefact's server major {artefact.ServerMajor}; a restore test there proves nothing.",
                image, $"Use -Image postgres:{artefact.ServerMajor} (or newer).");
        }
        return major;
    }

    // A restore into a newer major is allowed (pg_restore reads archives of older servers) but proves less than one into
    // the artefact's own major: the result says so.
    private static string? NewerMajorNote(string image, int major, HbBackupArtefact artefact) => major > artefact.ServerMajor
        ? $"Restored into a newer major: image '{image}' is PostgreSQL {major}, the artefact was dumped from PostgreSQL {artefact.ServerVersion} " +
          $"(major {artefact.ServerMajor}); a restore into {artefact.ServerMajor} itself was not tested."
        : null;

    // Local engine: the server's socket directory is bind-mounted so Npgsql can reach it without a TCP port. The sandbox
    // server trusts connections on its socket, so the directory sits inside a folder only this user may enter (0700):
    // no other account of this machine can reach the restored copy. The socket directory itself stays open (0777) for
    // the container's postgres user, whatever its uid.
    private string? NewSocketDirectory()
    {
        if (dockerHost.Host.Kind != HbHostKind.Local) return null;
        var scratch = Directory.CreateTempSubdirectory("hbops-sock-").FullName;
        var socket = System.IO.Path.Combine(scratch, "socket");
        Directory.CreateDirectory(socket);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(scratch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(socket, (UnixFileMode)0x1FF);
        }
        return socket;
    }

    // The folder HbOps made for a sandbox, removed with it: the uploaded copy's, or the private folder holding a local
    // socket directory (null: none).
    private static string? ScratchFolder(string? uploadFolder, string? socketDirectory) =>
        uploadFolder ?? (socketDirectory is null ? null : System.IO.Path.GetDirectoryName(socketDirectory)!);

    private void DeleteLocalFolder(string folder)
    {
        try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { _report.Warning($"Could not remove '{folder}': {ex.Message}"); }
    }

    private static SandboxSpec Spec(HbBackupArtefact artefact, RestoreRequest request, string image, int major, string artefactFolder,
        string? socketDirectory, string? uploadFolder, string runId, bool secretTmpfs = false) => new()
    {
        SecretTmpfs = secretTmpfs,
        SocketDirectory = socketDirectory, ServerSettings = request.ServerSettings, Initialization = request.Initialization,
        Tag = artefact.Tag.Length > 0 ? artefact.Tag : "hbops", Name = request.SandboxName, Image = image, ImageMajor = major,
        Database = artefact.Database, User = artefact.User, ArtefactFolder = artefactFolder, TimeToLive = request.SandboxTimeToLive, RunId = runId,
        ScratchFolder = ScratchFolder(uploadFolder, socketDirectory),
    };

    // How HbOps reaches the sandbox's server: Npgsql over the bind-mounted socket locally, psql through docker exec remotely;
    // as the sandbox's owner (recorded as the sandbox's route) unless another role is named.
    private ISqlEndpoint SqlEndpoint(HbSandbox sandbox, string? role = null)
    {
        ISqlEndpoint sql = sandbox.SocketDirectory is { Length: > 0 } dir
            ? new NpgsqlEndpoint(dir, role ?? sandbox.User, sandbox.Database)
            : new PgEndpoint(_docker, sandbox.Name, role ?? sandbox.User, sandbox.Database);
        if (role is null) sandbox.SqlRoute = sql.Route;
        return sql;
    }

    // The folder the sandbox mounts when the artefact is already where the engine runs.
    private static string HostFolder(HbBackupArtefact artefact) =>
        HostFiles.IsLocal(artefact) ? System.IO.Path.GetDirectoryName(artefact.Path)! : artefact.RunFolder;

    private sealed record ArtefactOnHost(string Folder, string Sha256, bool SumsLineMatches, bool Uploaded);

    // The sandbox reads the artefact through a read-only bind mount of its folder. A local artefact
    // with a remote engine is uploaded first into a private folder on the host (and re-hashed there).
    private async Task<ArtefactOnHost> EnsureArtefactOnHostAsync(HbBackupArtefact artefact, string runId, Task<SandboxLease> lease, CancellationToken ct)
    {
        if (artefact.Location == HbArtefactLocation.Sftp) return await UploadCopyAsync(artefact, runId, lease, ct).ConfigureAwait(false);
        var artefactIsLocal = HostFiles.IsLocal(artefact);
        var artefactFiles = HostFiles.ForArtefact(dockerHost, artefact);
        _report.Verbose($"Re-reading '{artefact.Path}' to verify its SHA-256.");
        var observed = await artefactFiles.ChecksumAsync(artefact.Path, artefact.ChecksumPath, artefact.ManifestPath, ct).ConfigureAwait(false)
            ?? throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
                $"The artefact '{artefact.Path}' does not exist{(artefactIsLocal ? "" : " on " + dockerHost.Host)}.", artefact.Path);
        // The manifest (which records the checksum and the row counts this test compares) must be the backup's own.
        if (ArtefactCatalog.ManifestProblem(artefact, observed) is { } manifestProblem) throw ArtefactCatalog.ManifestTampered(artefact, manifestProblem);
        var sha = observed.Sha256;
        var sumsMatch = observed.Lists(artefact.FileName);
        if (!artefactIsLocal || dockerHost.Host.Kind == HbHostKind.Local) return new ArtefactOnHost(HostFolder(artefact), sha, sumsMatch, false);

        var remoteFolder = $"/tmp/hbops-upload-{runId}";
        _report.Verbose($"Uploading the local artefact to {dockerHost.Host}:{remoteFolder} for the sandbox.");
        var remoteSha = await UploadIntoAsync(remoteFolder, lease, async files =>
        {
            await using (var input = File.OpenRead(artefact.Path))
            {
                var r = await dockerHost.RunFromStreamAsync(new[] { "sh", "-c", "umask 077; cat > \"$1\"", "hbops-upload", remoteFolder + "/" + artefact.FileName }, input, ct).ConfigureAwait(false);
                if (!r.Succeeded) throw LocalHostFiles.NotWritable(remoteFolder, r.StandardError.Trim());
            }
            return await files.Sha256Async(remoteFolder + "/" + artefact.FileName, ct).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return new ArtefactOnHost(remoteFolder, sha, sumsMatch && remoteSha == sha, true);
    }

    // The folder an upload makes on the docker host belongs to the run from before it exists: the lease removes it if the
    // connection drops, and a failure or Ctrl+C anywhere from its creation until a sandbox owns it removes it here.
    private async Task<T> UploadIntoAsync<T>(string remoteFolder, Task<SandboxLease> lease, Func<ShellHostFiles, Task<T>> upload, CancellationToken ct)
    {
        var files = new ShellHostFiles(dockerHost);
        await ArmAsync(lease, remoteFolder, ct).ConfigureAwait(false);
        try
        {
            await files.EnsureWritableDirectoryAsync(remoteFolder, ct).ConfigureAwait(false);
            return await upload(files).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // No sandbox owns the folder yet: it goes here.
            await RemoveScratchAsync(new SandboxManager(dockerHost, _report), remoteFolder, null).ConfigureAwait(false);
            throw;
        }
    }

    // A copy on an SFTP storage host, streamed from there into a private folder on the docker host in one read of the copy,
    // hashed on the way (the checksum is the copy's own), then re-hashed where the sandbox will read it. Nothing passes
    // through this machine's disk; memory is bounded by the SSH channel windows.
    private async Task<ArtefactOnHost> UploadCopyAsync(HbBackupArtefact artefact, string runId, Task<SandboxLease> lease, CancellationToken ct)
    {
        var source = copySource ?? throw new HbOpsException(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument,
            $"'{artefact.Path}' is a copy on a storage host, and no connection to it was given.", artefact.Path);
        var sums = await source.Files.ReadTextAsync(artefact.ChecksumPath, ct).ConfigureAwait(false) ?? "";
        // The copy's manifest is checked against its own SHA256SUMS line, as an original's is.
        var manifestSha = await source.Files.ReadTextAsync(artefact.ManifestPath, ct).ConfigureAwait(false) is null ? null
            : await source.Files.Sha256Async(artefact.ManifestPath, ct).ConfigureAwait(false);
        if (ArtefactCatalog.ManifestProblem(artefact, new FileChecksum(0, artefact.Sha256, sums, manifestSha)) is { } manifestProblem)
        {
            throw ArtefactCatalog.ManifestTampered(artefact, manifestProblem);
        }
        var remoteFolder = $"/tmp/hbops-upload-{runId}";
        _report.Verbose($"Streaming the copy {source.Describe(artefact.Path)} to {dockerHost.Host}:{remoteFolder} for the sandbox, hashing it on the way.");
        var target = remoteFolder + "/" + artefact.FileName;
        var (sha, remoteSha) = await UploadIntoAsync(remoteFolder, lease, async files =>
        {
            string streamed;
            using (var hash = System.Security.Cryptography.IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using var input = await source.OpenReadAsync(artefact.Path, ct).ConfigureAwait(false);
                var observed = new ObservedReadStream(input, hash);
                var r = await dockerHost.RunFromStreamAsync(new[] { "sh", "-c", "umask 077; cat > \"$1\"", "hbops-upload", target }, observed, ct).ConfigureAwait(false);
                if (!r.Succeeded) throw LocalHostFiles.NotWritable(remoteFolder, r.StandardError.Trim());
                streamed = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            }
            return (streamed, await files.Sha256Async(target, ct).ConfigureAwait(false));
        }, ct).ConfigureAwait(false);
        var sumsMatch = new FileChecksum(0, sha, sums).Lists(artefact.FileName);
        return new ArtefactOnHost(remoteFolder, sha, sumsMatch && remoteSha == sha, true);
    }

    // Removes the folder made for a sandbox that does not exist (its creation failed or never came): the uploaded copy
    // on the docker host, or the local socket folder.
    private async Task RemoveScratchAsync(SandboxManager sandboxes, string? uploadFolder, string? socketDirectory)
    {
        if (socketDirectory is not null) DeleteLocalFolder(ScratchFolder(null, socketDirectory)!);
        if (uploadFolder is null) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            if (await sandboxes.RemoveScratchFolderAsync(uploadFolder, cts.Token).ConfigureAwait(false) is { } error) _report.Warning(error);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or JsonException)
        {
            _report.Warning($"Could not remove the uploaded copy at '{uploadFolder}': {ex.Message}");
        }
    }
}
