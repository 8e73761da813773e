using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Proof;
using HbOps.Engine.Records;
using HbOps.Engine.RowCounts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Backup;

/// <summary>Makes the dump run of a backup: streamed to this machine (<paramref name="local"/>) or written on the docker host.</summary>
internal delegate DumpRun DumpRunFactory(bool local, HostDumpSpec spec, IReadOnlyList<string> dumpArgv, Action<long> progress, PgEndpoint pg);

/// <summary>
/// Makes a backup the way the reference procedure does: <c>docker exec &lt;c&gt; pg_dump -F c -Z n</c> (or
/// <c>-Z zstd:n</c> / <c>lz4:n</c>, see <see cref="DumpCompression"/>),
/// streamed into a <c>.partial</c> file while SHA-256 is computed, renamed only after pg_dump exited 0
/// and the checksum is in SHA256SUMS; row counts taken in the dump's own exported snapshot.
/// Production is only read: pg_dump and read-only SQL.
/// </summary>
public sealed class BackupEngine
{
    /// <summary>Suffix of the manifest written beside each dump.</summary>
    public const string ManifestSuffix = ".manifest.yml";
    /// <summary>Name of the checksum file in each run folder.</summary>
    public const string ChecksumFileName = "SHA256SUMS";
    private const string DumpExtension = ".dump";
    private const int ProgressId = 41;
    private readonly ICommandHost _dockerHost;
    private readonly IHbReporter _report;
    private readonly DockerCli _docker;
    private readonly DumpRunFactory _dumps;

    /// <summary>A backup engine on the docker host <paramref name="dockerHost"/>.</summary>
    /// <param name="dockerHost">Where production's container runs.</param>
    /// <param name="reporter">Where progress, verbose output and warnings go.</param>
    public BackupEngine(ICommandHost dockerHost, IHbReporter? reporter = null)
        : this(dockerHost, reporter, null)
    {
    }

    internal BackupEngine(ICommandHost dockerHost, IHbReporter? reporter, DumpRunFactory? dumps)
    {
        _dockerHost = dockerHost;
        _report = reporter ?? NullReporter.Instance;
        _docker = new DockerCli(dockerHost);
        _dumps = dumps ?? RealDumps;
    }

    private DumpRun RealDumps(bool local, HostDumpSpec spec, IReadOnlyList<string> dumpArgv, Action<long> progress, PgEndpoint pg) => local
        ? new StreamedDumpRun(_dockerHost, spec, dumpArgv, progress)
        : new HostSideDumpRun(_dockerHost, spec, dumpArgv, progress, pg, _report);

    /// <summary>Runs the backup.</summary>
    public async Task<HbBackupArtefact> RunAsync(BackupRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var started = Stopwatch.StartNew();
        var plan = Plan(request);
        var probes = StartProbes(plan, ct);
        var snapshot = await ResolveAsync(plan, probes, ct).ConfigureAwait(false);
        var dumped = await DumpAsync(plan, probes, snapshot, ct).ConfigureAwait(false);
        await FinishAsync(plan, dumped, snapshot, started, ct).ConfigureAwait(false);
        _report.Verbose($"Artefact {plan.Artefact.Path}: {plan.Artefact.SizeBytes:N0} bytes, sha256 {plan.Artefact.Sha256}, {plan.Artefact.DurationSeconds}s.");
        return plan.Artefact;
    }

    // What the run makes and where: the artefact as far as the request decides it.
    private sealed record BackupPlan(BackupRequest Request, HbBackupArtefact Artefact, IReadOnlyList<string> Recipients,
        DumpCompression Compression, string RunId, string BaseName, IHostFiles Files, PgEndpoint Pg)
    {
        public string RunFolder => Artefact.RunFolder;
        public bool Local => Request.LocalDestination;
    }

    private BackupPlan Plan(BackupRequest request)
    {
        var recipients = AgeEncryption.ValidateRecipients(request.Recipients);
        var compression = DumpCompression.Parse(request.Compression);
        var timestamp = DateTime.UtcNow;
        var runId = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var artefact = new HbBackupArtefact
        {
            ToolVersion = EngineInfo.Version,
            RunId = runId,
            Host = _dockerHost.Host,
            Container = request.Container,
            Database = request.Database,
            User = request.User,
            Tag = request.Tag,
            TimestampUtc = timestamp,
            Compression = compression.ToString(),
            CompressionLevel = compression.Level,
            SafetyFactor = request.SafetyFactor,
            Location = request.LocalDestination ? HbArtefactLocation.Local : HbArtefactLocation.Host,
            Encryption = recipients.Count == 0 ? null : new HbEncryption { Recipients = recipients.ToList() },
        };
        artefact.RunFolder = JoinPath(request.LocalDestination, request.Destination,
            $"{request.Tag}_{timestamp.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
        // The name the artefact gets unless another run of the same second claimed it first (then the claim adds the
        // run id; see ClaimAsync).
        var baseName = ArtefactFileName.ForDump(request.Database, timestamp)[..^DumpExtension.Length];
        SetFileName(artefact, request.LocalDestination, baseName + DumpExtension);
        artefact.ChecksumPath = JoinPath(request.LocalDestination, artefact.RunFolder, ChecksumFileName);
        return new BackupPlan(request, artefact, recipients, compression, runId, baseName, HostFiles.For(_dockerHost, request.LocalDestination),
            new PgEndpoint(_docker, request.Container, request.User, request.Database));
    }

    // The preflight's independent read-only probes, all started at once.
    private sealed record Probes(Task<ProductionContainer?> Container, Task<(PsqlSession?, string?, string?, string?)> Snapshot, Task<string> Info,
        Task<(long FreeBytes, bool FileExists)> Destination, Task<string> Age)
    {
        // None may be left unobserved, and a snapshot transaction that opened is closed.
        public async Task AbandonAsync()
        {
            foreach (var t in new Task[] { Container, Snapshot, Info, Destination, Age })
            {
                try { await t.ConfigureAwait(false); } catch (Exception) when (!t.IsCompletedSuccessfully) { }
            }
            if (Snapshot.IsCompletedSuccessfully && Snapshot.Result.Item1 is { } opened) await opened.DisposeAsync().ConfigureAwait(false);
        }
    }

    // Preflight: container, server, pg_dump, destination. The container inspection, the server facts with pg_dump's
    // version (read by the snapshot session, or by one psql call without counts) and the destination check are
    // independent read-only probes, so they run at once; nothing is created before all of them passed (the run
    // folder is made by the dump itself). The container's own state decides which error is reported first.
    private Probes StartProbes(BackupPlan plan, CancellationToken ct)
    {
        var request = plan.Request;
        _report.Verbose($"Preflight: inspecting container '{request.Container}' on {_dockerHost.Host}; checking '{plan.RunFolder}'.");
        var needsSnapshot = SnapshotProof.NeedsSnapshot(request);
        return new Probes(
            _docker.InspectProductionAsync(request.Container, ct),
            !needsSnapshot
                ? Task.FromResult<(PsqlSession?, string?, string?, string?)>((null, null, null, null))
                : OpenSnapshotAsync(plan.Pg, plan.RunId, plan.Artefact, request, ct),
            !needsSnapshot ? plan.Pg.QueryAsync(DumpVersionMeta + "SELECT " + ServerFactsSql(request.KeyTables) + ";", ct) : Task.FromResult(""),
            plan.Files.CheckDestinationAsync(plan.RunFolder, plan.Artefact.Path, ct),
            // Encryption runs on the docker host (the plaintext never crosses the network): age must be there.
            plan.Recipients.Count == 0 ? Task.FromResult("") : AgeEncryption.ProbeHostAsync(_dockerHost, ct));
    }

    // The dump's snapshot: the session holding it open and its id (both null when no snapshot was needed).
    private sealed record Snapshot(PsqlSession? Session, string? Id);

    // The container must exist and run; the server's facts, pg_dump's version, the compression and age are checked
    // before anything is created.
    private async Task<Snapshot> ResolveAsync(BackupPlan plan, Probes probes, CancellationToken ct)
    {
        var (request, artefact) = (plan.Request, plan.Artefact);
        try
        {
            RecordContainer(artefact, request, await probes.Container.ConfigureAwait(false));
            var (session, snapshotId, facts, dumpVersion) = await probes.Snapshot.ConfigureAwait(false);
            if (facts is null) (dumpVersion, facts) = SplitDumpVersion(await probes.Info.ConfigureAwait(false));
            ReadServerFacts(artefact, facts);
            artefact.PgDumpVersion = dumpVersion ?? await DumpVersionAsync(request, ct).ConfigureAwait(false);
            // lz4 and zstd need pg_dump 16: refused here, before the run folder or any file exists.
            plan.Compression.RequireSupportedBy(artefact.PgDumpVersion, request.Container);
            if (artefact.Encryption is { } encryption) encryption.ToolVersion = await probes.Age.ConfigureAwait(false);
            _report.Verbose($"Server {artefact.ServerVersion}, {artefact.PgDumpVersion}, database size {artefact.DatabaseSizeBytes:N0} bytes.");
            return new Snapshot(session, snapshotId);
        }
        catch (Exception)
        {
            await probes.AbandonAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void RecordContainer(HbBackupArtefact artefact, BackupRequest request, ProductionContainer? container)
    {
        if (container is null)
        {
            throw new HbOpsException(HbErrorIds.ContainerNotFound, HbErrorCategory.ObjectNotFound,
                $"Container '{request.Container}' does not exist on {_dockerHost.Host}.", request.Container, "Check -Container with 'docker ps'.");
        }
        if (!container.Running)
        {
            throw new HbOpsException(HbErrorIds.ContainerNotRunning, HbErrorCategory.ResourceUnavailable,
                $"Container '{request.Container}' is not running.", request.Container, "Start it; HbOps never starts or changes production.");
        }
        artefact.ContainerImage = container.Image;
        artefact.ContainerImageId = container.ImageId;
        artefact.ContainerRestartCountBefore = container.RestartCount;
        artefact.ContainerStartedAtBefore = container.StartedAt;
    }

    // psql could not run it (no shell in the image?): ask docker exec directly.
    private async Task<string> DumpVersionAsync(BackupRequest request, CancellationToken ct)
    {
        var r = await _docker.RunAsync(DockerCli.ExecArgv(request.Container, new[] { "pg_dump", "--version" }), ct).ConfigureAwait(false);
        if (!r.Succeeded) throw DockerCli.Failed("exec pg_dump --version", r, HbErrorIds.DumpFailed);
        return r.StandardOutput.Trim();
    }

    // The destination must have room for the database times the safety factor (unless forced).
    private void RequireFreeSpace(BackupPlan plan, long free)
    {
        var (request, artefact) = (plan.Request, plan.Artefact);
        artefact.FreeDiskBytesBefore = free;
        var required = (long)(artefact.DatabaseSizeBytes * request.SafetyFactor);
        if (artefact.FreeDiskBytesBefore >= required) return;
        if (!request.Force)
        {
            throw new HbOpsException(HbErrorIds.InsufficientDiskSpace, HbErrorCategory.ResourceUnavailable,
                $"Only {artefact.FreeDiskBytesBefore:N0} bytes free at '{plan.RunFolder}'; {request.SafetyFactor}x the database size ({required:N0} bytes) is required.",
                plan.RunFolder, "Free space, choose another -Destination, lower -SafetyFactor, or pass -Force.");
        }
        artefact.SpaceCheckForced = true;
        _report.Warning($"Free space {artefact.FreeDiskBytesBefore:N0} bytes is below {request.SafetyFactor}x the database size; continuing because -Force was given.");
    }

    // pg_dump in the exported snapshot, with the row counts, the catalog and the content fingerprints taken in that
    // snapshot beside it. Failed, cancelled (Ctrl+C) or cut off: the dump stops its server side and removes its own
    // partial file, and the snapshot transaction closes.
    private async Task<Dumped> DumpAsync(BackupPlan plan, Probes probes, Snapshot snapshot, CancellationToken ct)
    {
        var (request, artefact, session) = (plan.Request, plan.Artefact, snapshot.Session);
        DumpRun? dump = null;
        Task<(HbCatalogSnapshot?, HbContentFingerprintSnapshot?)>? proofTask = null;
        try
        {
            RequireFreeSpace(plan, (await probes.Destination.ConfigureAwait(false)).FreeBytes);
            var countTask = request.RowCounts == RowCountMode.None ? null : session?.ExecuteAsync(RowCounter.BuildQuery(request.RowCounts, request.KeyTables), ct);
            // The catalog and the content fingerprints follow the counts on the same session (Proof/SnapshotProof).
            proofTask = session is null ? null : SnapshotProof.CaptureAsync(session, countTask, request, artefact, snapshot.Id, _report, ct);
            dump = NewDump(plan, snapshot.Id);
            var result = await dump.RunAsync(ct).ConfigureAwait(false);
            RecordDump(artefact, result);
            if (countTask is not null) await RecordCountsAsync(plan, countTask, snapshot.Id).ConfigureAwait(false);
            if (proofTask is not null)
            {
                if (!proofTask.IsCompleted) _report.Verbose("pg_dump finished; waiting for the content fingerprints taken in its snapshot.");
                (artefact.Catalog, artefact.ContentFingerprints) = await proofTask.ConfigureAwait(false);
            }
            return new Dumped(dump, result.After);
        }
        catch (Exception ex)
        {
            if (dump is not null)
            {
                await dump.AbortAsync(ex).ConfigureAwait(false);
                await dump.DisposeAsync().ConfigureAwait(false);
            }
            if (session is not null) await session.DisposeAsync().ConfigureAwait(false);
            if (proofTask is not null)
            {
                try { await proofTask.ConfigureAwait(false); } catch (Exception) when (!proofTask.IsCompletedSuccessfully) { }
            }
            throw;
        }
        finally
        {
            _report.Progress(new HbProgress(ProgressId, "Invoke-HbBackup", "done", 100, Completed: true));
        }
    }

    // The dump that ran, and the container as its command observed it right after pg_dump exited (null: not observed).
    private sealed record Dumped(DumpRun Run, (int RestartCount, string StartedAt)? After);

    private DumpRun NewDump(BackupPlan plan, string? snapshotId)
    {
        var (request, artefact) = (plan.Request, plan.Artefact);
        var appName = $"{PgEndpoint.ApplicationNamePrefix}-dump-{plan.RunId}";
        var dumpArgs = new List<string> { "pg_dump", "-U", request.User, "-d", PgEndpoint.DatabaseArgument(request.Database), "-F", "c", "-Z", plan.Compression.DumpArgument };
        if (snapshotId is not null) dumpArgs.Add("--snapshot=" + snapshotId);
        if (LockTimeoutMs(request) is { } lockMs) dumpArgs.Add("--lock-wait-timeout=" + lockMs);
        artefact.DumpCommand = string.Join(' ', dumpArgs.Select(ShellQuote.Quote));
        var dumpArgv = DockerCli.ExecArgv(request.Container, dumpArgs, env: new Dictionary<string, string> { ["PGAPPNAME"] = appName });
        // The run folder and this run's partial file are made only now, by the dump itself.
        var spec = new HostDumpSpec(plan.RunId, request.GroupReadable, request.Container, request.User, request.Database, appName, plan.RunFolder, plan.BaseName, plan.Recipients);
        var sw = Stopwatch.StartNew();
        void Progress(long bytes) => ReportBytes(bytes, artefact.DatabaseSizeBytes, sw.Elapsed);
        var dump = _dumps(request.LocalDestination, spec, dumpArgv, Progress, plan.Pg);
        _report.Verbose($"Dumping: docker exec {request.Container} {artefact.DumpCommand}{(plan.Recipients.Count > 0 ? $" | age -R <{plan.Recipients.Count} recipient(s)>" : "")} -> {plan.RunFolder}/{plan.BaseName}.dump.{plan.RunId}.partial");
        return dump;
    }

    private static void RecordDump(HbBackupArtefact artefact, DumpResult dumped)
    {
        artefact.Sha256 = dumped.Sha256;
        artefact.SizeBytes = dumped.Size;
        artefact.Stderr = dumped.Stderr;
        if (artefact.Encryption is { } encrypted)
        {
            encrypted.PlaintextSha256 = dumped.PlainSha256!;
            encrypted.PlaintextSizeBytes = dumped.PlainSize!.Value;
        }
    }

    private async Task RecordCountsAsync(BackupPlan plan, Task<string> countTask, string? snapshotId)
    {
        var json = await countTask.ConfigureAwait(false);
        plan.Artefact.RowCountSnapshot = new HbRowCountSnapshot
        {
            Mode = plan.Request.RowCounts, TakenAtUtc = plan.Artefact.TimestampUtc, SnapshotId = snapshotId, Tables = RowCounter.Parse(json.Trim()),
        };
        _report.Verbose($"Counted rows of {plan.Artefact.RowCountSnapshot.TableCount} tables in snapshot {snapshotId}.");
    }

    // Claim the file under its final name (never over another file), write the manifest for that name, then record the
    // checksum; a claim that fails undoes itself. The snapshot transaction closes meanwhile.
    private async Task FinishAsync(BackupPlan plan, Dumped dumped, Snapshot snapshot, Stopwatch started, CancellationToken ct)
    {
        var (request, artefact, dump, after) = (plan.Request, plan.Artefact, dumped.Run, dumped.After);
        var closing = snapshot.Session is { } session ? session.DisposeAsync().AsTask() : Task.CompletedTask;
        await using (dump)
        {
            try
            {
                // The container as observed right after pg_dump exited (by the dump command itself; a separate look if that failed).
                if (after is null && await _docker.InspectProductionAsync(request.Container, ct).ConfigureAwait(false) is { } c) after = (c.RestartCount, c.StartedAt);
                artefact.ContainerRestartCountAfter = after?.RestartCount ?? -1;
                artefact.ContainerStartedAtAfter = after?.StartedAt ?? "";
                artefact.DurationSeconds = Math.Round(started.Elapsed.TotalSeconds, 3);
                var claimed = await dump.ClaimAsync(artefact.Sha256, name =>
                {
                    SetFileName(artefact, request.LocalDestination, name);
                    return HbYaml.Serialize(artefact);
                }, ct).ConfigureAwait(false);
                SetFileName(artefact, request.LocalDestination, claimed);
            }
            catch (Exception ex)
            {
                await dump.AbortAsync(ex).ConfigureAwait(false);
                throw;
            }
            finally
            {
                await closing.ConfigureAwait(false);
            }
        }
    }
    private static void SetFileName(HbBackupArtefact artefact, bool local, string fileName)
    {
        artefact.FileName = fileName;
        artefact.Path = JoinPath(local, artefact.RunFolder, fileName);
        artefact.ManifestPath = artefact.Path + ManifestSuffix;
    }

    // Opens REPEATABLE READ, READ ONLY on production and exports its snapshot for pg_dump --snapshot.
    private async Task<(PsqlSession?, string?, string?, string?)> OpenSnapshotAsync(PgEndpoint pg, string runId, HbBackupArtefact artefact,
        BackupRequest request, CancellationToken ct)
    {
        var keyTables = request.KeyTables;
        // The counts and proof read in this transaction wait for a table's lock no longer than pg_dump does.
        var lockTimeout = LockTimeoutMs(request) is { } ms ? $"SET LOCAL lock_timeout = {ms};\n" : "";
        _report.Verbose("Opening a read-only repeatable-read transaction and exporting its snapshot.");
        var session = await PsqlSession.StartAsync(pg, $"{PgEndpoint.ApplicationNamePrefix}-snapshot-{runId}", ct).ConfigureAwait(false);
        try
        {
            // The server facts and pg_dump's version come from the same session (fewer round trips); facts as JSON.
            var reply = await session.ExecuteAsync(DumpVersionMeta +
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" + lockTimeout + "SELECT pg_export_snapshot() || '|' || current_setting('transaction_isolation') || '|' || " +
                "current_setting('transaction_read_only') || '|' || " + ServerFactsSql(keyTables) + ";", ct).ConfigureAwait(false);
            var (version, record) = SplitDumpVersion(reply);
            var opened = record.Split('|', 4);
            if (opened.Length != 4) throw new HbOpsException(HbErrorIds.QueryFailed, HbErrorCategory.OperationFailed, $"Unexpected snapshot reply from psql: {Redaction.Redact(record)}", pg.Database);
            artefact.SnapshotTransaction = $"{opened[1]}, {(opened[2] == "on" ? "read only" : "read write")}";
            return (session, opened[0], opened[3], version);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The lock wait timeout in milliseconds (what --lock-wait-timeout and lock_timeout take without a unit); null: none.
    private static long? LockTimeoutMs(BackupRequest request) =>
        request.LockWaitTimeout is { } t ? Math.Max(1, (long)t.TotalMilliseconds) : null;

    // psql runs pg_dump --version itself (a meta-command, in the container's environment, where docker exec pg_dump runs
    // too), so the version needs no docker exec of its own.
    private const string DumpVersionMeta = "\\! pg_dump --version\n";

    // Separates pg_dump's version line (when psql printed one) from the query's one-line result, the reply's last line.
    private static (string? Version, string Record) SplitDumpVersion(string reply)
    {
        var lines = reply.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var version = lines.FirstOrDefault(l => l.StartsWith("pg_dump (PostgreSQL) ", StringComparison.Ordinal));
        return (version, lines.LastOrDefault(l => !ReferenceEquals(l, version)) ?? "");
    }

    // Server version, version number, database size and the -KeyTables that name no countable table, as one JSON value.
    private static string ServerFactsSql(IReadOnlyCollection<string> keyTables) =>
        "json_build_object('v', current_setting('server_version'), 'n', current_setting('server_version_num')::int, 's', pg_database_size(current_database()), " +
        "'m', " + RowCounter.MissingTablesSelect(keyTables) + ")::text";

    private static void ReadServerFacts(HbBackupArtefact artefact, string json)
    {
        using var info = JsonDocument.Parse(json);
        artefact.ServerVersion = info.RootElement.GetProperty("v").GetString() ?? "";
        artefact.ServerMajor = info.RootElement.GetProperty("n").GetInt32() / 10000;
        artefact.DatabaseSizeBytes = info.RootElement.GetProperty("s").GetInt64();
        // A misspelled key table would otherwise count nothing and pass: refused before anything is written.
        var missing = info.RootElement.GetProperty("m").EnumerateArray().Select(e => e.GetString()!).ToList();
        if (missing.Count > 0)
        {
            throw new HbOpsException(HbErrorIds.KeyTableNotFound, HbErrorCategory.ObjectNotFound,
                $"-KeyTables names no ordinary or partitioned table of database '{artefact.Database}': {string.Join(", ", missing.Select(Validation.Printable))}.",
                missing[0], "Check the schema and table names (case-sensitive, as stored: schema.table).");
        }
    }

    /// <summary>
    /// The artefact's SHA256SUMS lines (sha256sum -c format): the dump's, and the manifest's over its exact UTF-8 bytes,
    /// so an edited manifest (a row count, the recorded hash) no longer verifies.
    /// </summary>
    public static string SumsLines(HbBackupArtefact artefact, string manifest)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var manifestSha = Convert.ToHexString(SHA256.HashData(new System.Text.UTF8Encoding(false).GetBytes(manifest))).ToLowerInvariant();
        return $"{artefact.Sha256}  {artefact.FileName}\n{manifestSha}  {artefact.FileName}{ManifestSuffix}";
    }

    /// <summary>Reads a manifest back into an artefact.</summary>
    public static HbBackupArtefact ParseManifest(string yaml) => HbYaml.Deserialize<HbBackupArtefact>(yaml);

    private static void Validate(BackupRequest r)
    {
        Validation.ContainerName(r.Container, "Container");
        Validation.PgIdentifier(r.Database, "Database");
        Validation.PgIdentifier(r.User, "User");
        Validation.Tag(r.Tag, "Tag");
        SnapshotProof.Validate(r);
        if (r.LocalDestination)
        {
            if (string.IsNullOrWhiteSpace(r.Destination) || r.Destination.Any(char.IsControl))
            {
                throw HbOpsException.Invalid($"-Destination '{Validation.Printable(r.Destination)}' is not a usable path.", r.Destination);
            }
        }
        else
        {
            Validation.PosixPath(r.Destination, "Destination");
        }
        if (r.SafetyFactor is < 0 or > 100) throw HbOpsException.Invalid("-SafetyFactor must be between 0 and 100.", r.SafetyFactor);
        foreach (var t in r.KeyTables)
        {
            // The server decides whether it names a table (KeyTableNotFound); here only the form is checked.
            if (!t.Contains('.', StringComparison.Ordinal) || t.Any(char.IsControl)) throw HbOpsException.Invalid($"-KeyTables entry '{Validation.Printable(t)}' must be schema.table.", t);
        }
    }

    private static string JoinPath(bool local, string a, string b) =>
        local ? System.IO.Path.GetFullPath(System.IO.Path.Combine(a, b)) : a.TrimEnd('/') + "/" + b;

    private void ReportBytes(long bytes, long dbSize, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? bytes / elapsed.TotalSeconds / 1048576.0 : 0;
        // The compressed size is unknown in advance; a third of the database size is a typical -Fc ratio.
        var pct = dbSize > 0 ? (int)Math.Min(99, bytes * 100 / Math.Max(1, dbSize / 3)) : -1;
        _report.Progress(new HbProgress(ProgressId, "Invoke-HbBackup",
            string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB streamed at {rate:F1} MiB/s"), pct));
    }
}
