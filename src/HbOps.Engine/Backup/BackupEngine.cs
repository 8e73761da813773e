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

/// <summary>
/// Makes a backup the way the reference procedure does: <c>docker exec &lt;c&gt; pg_dump -F c -Z n</c> (or
/// <c>-Z zstd:n</c> / <c>lz4:n</c>, see <see cref="DumpCompression"/>),
/// streamed into a <c>.partial</c> file while SHA-256 is computed, renamed only after pg_dump exited 0
/// and the checksum is in SHA256SUMS; row counts taken in the dump's own exported snapshot.
/// Production is only read: pg_dump and read-only SQL.
/// </summary>
public sealed class BackupEngine(ICommandHost dockerHost, IHbReporter? reporter = null)
{
    /// <summary>Suffix of the manifest written beside each dump.</summary>
    public const string ManifestSuffix = ".manifest.yml";
    /// <summary>Name of the checksum file in each run folder.</summary>
    public const string ChecksumFileName = "SHA256SUMS";
    private const int ProgressId = 41;
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;
    private readonly DockerCli _docker = new(dockerHost);

    /// <summary>Runs the backup.</summary>
    public async Task<HbBackupArtefact> RunAsync(BackupRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(request);
        var compression = DumpCompression.Parse(request.Compression);
        var started = Stopwatch.StartNew();
        var timestamp = DateTime.UtcNow;
        var runId = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var files = HostFiles.For(dockerHost, request.LocalDestination);
        var artefact = new HbBackupArtefact
        {
            ToolVersion = EngineInfo.Version,
            RunId = runId,
            Host = dockerHost.Host,
            Container = request.Container,
            Database = request.Database,
            User = request.User,
            Tag = request.Tag,
            TimestampUtc = timestamp,
            Compression = compression.ToString(),
            CompressionLevel = compression.Level,
            SafetyFactor = request.SafetyFactor,
            Location = request.LocalDestination ? HbArtefactLocation.Local : HbArtefactLocation.Host,
        };

        var runFolder = JoinPath(request.LocalDestination, request.Destination,
            $"{request.Tag}_{timestamp.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}");
        artefact.RunFolder = runFolder;
        artefact.FileName = ArtefactFileName.ForDump(request.Database, timestamp);
        artefact.Path = JoinPath(request.LocalDestination, runFolder, artefact.FileName);
        artefact.ChecksumPath = JoinPath(request.LocalDestination, runFolder, ChecksumFileName);
        artefact.ManifestPath = artefact.Path + ManifestSuffix;

        // Preflight: container, server, pg_dump, destination. The container inspection, the server facts with pg_dump's
        // version (read by the snapshot session, or by one psql call without counts) and the destination check are
        // independent read-only probes, so they run at once; nothing is created before all of them passed (the run
        // folder is made by the dump itself). The container's own state decides which error is reported first.
        _report.Verbose($"Preflight: inspecting container '{request.Container}' on {dockerHost.Host}; checking '{runFolder}'.");
        var pg = new PgEndpoint(_docker, request.Container, request.User, request.Database);
        var containerTask = _docker.InspectContainerAsync(request.Container, ct);
        var snapshotTask = !SnapshotProof.NeedsSnapshot(request)
            ? Task.FromResult<(PsqlSession?, string?, string?, string?)>((null, null, null, null))
            : OpenSnapshotAsync(pg, runId, artefact, request.KeyTables, ct);
        var infoTask = !SnapshotProof.NeedsSnapshot(request)
            ? pg.QueryAsync(DumpVersionMeta + "SELECT " + ServerFactsSql(request.KeyTables) + ";", ct)
            : Task.FromResult("");
        var destinationTask = files.CheckDestinationAsync(runFolder, artefact.Path, ct);
        PsqlSession? session = null;
        string? snapshotId = null;
        try
        {
            var container = await containerTask.ConfigureAwait(false)
                ?? throw new HbOpsException(HbErrorIds.ContainerNotFound, HbErrorCategory.ObjectNotFound,
                    $"Container '{request.Container}' does not exist on {dockerHost.Host}.", request.Container, "Check -Container with 'docker ps'.");
            if (!container.Running)
            {
                throw new HbOpsException(HbErrorIds.ContainerNotRunning, HbErrorCategory.ResourceUnavailable,
                    $"Container '{request.Container}' is not running.", request.Container, "Start it; HbOps never starts or changes production.");
            }
            artefact.ContainerImage = container.Image;
            artefact.ContainerImageId = container.ImageId;
            artefact.ContainerRestartCountBefore = container.RestartCount;
            artefact.ContainerStartedAtBefore = container.StartedAt;
            (session, snapshotId, var facts, var dumpVersion) = await snapshotTask.ConfigureAwait(false);
            if (facts is null) (dumpVersion, facts) = SplitDumpVersion(await infoTask.ConfigureAwait(false));
            ReadServerFacts(artefact, facts);
            if (dumpVersion is null)
            {
                // psql could not run it (no shell in the image?): ask docker exec directly.
                var r = await _docker.RunAsync(DockerCli.ExecArgv(request.Container, new[] { "pg_dump", "--version" }), ct).ConfigureAwait(false);
                if (!r.Succeeded) throw DockerCli.Failed("exec pg_dump --version", r, HbErrorIds.DumpFailed);
                dumpVersion = r.StandardOutput.Trim();
            }
            artefact.PgDumpVersion = dumpVersion;
            // lz4 and zstd need pg_dump 16: refused here, before the run folder or any file exists.
            compression.RequireSupportedBy(dumpVersion, request.Container);
        }
        catch (Exception)
        {
            // Observe every probe (none may be left unobserved) and close the snapshot transaction if it opened.
            foreach (var t in new Task[] { containerTask, snapshotTask, infoTask, destinationTask })
            {
                try { await t.ConfigureAwait(false); } catch (Exception) when (!t.IsCompletedSuccessfully) { }
            }
            if (snapshotTask.IsCompletedSuccessfully && snapshotTask.Result.Item1 is { } opened) await opened.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _report.Verbose($"Server {artefact.ServerVersion}, {artefact.PgDumpVersion}, database size {artefact.DatabaseSizeBytes:N0} bytes.");

        var appName = $"{PgEndpoint.ApplicationNamePrefix}-dump-{runId}";
        var dumpStarted = false;
        Task<(HbCatalogSnapshot?, HbContentFingerprintSnapshot?)>? proofTask = null;
        (int RestartCount, string StartedAt)? after = null;
        try
        {
            var (free, exists) = await destinationTask.ConfigureAwait(false);
            artefact.FreeDiskBytesBefore = free;
            var required = (long)(artefact.DatabaseSizeBytes * request.SafetyFactor);
            if (artefact.FreeDiskBytesBefore < required)
            {
                if (!request.Force)
                {
                    throw new HbOpsException(HbErrorIds.InsufficientDiskSpace, HbErrorCategory.ResourceUnavailable,
                        $"Only {artefact.FreeDiskBytesBefore:N0} bytes free at '{runFolder}'; {request.SafetyFactor}x the database size ({required:N0} bytes) is required.",
                        runFolder, "Free space, choose another -Destination, lower -SafetyFactor, or pass -Force.");
                }
                artefact.SpaceCheckForced = true;
                _report.Warning($"Free space {artefact.FreeDiskBytesBefore:N0} bytes is below {request.SafetyFactor}x the database size; continuing because -Force was given.");
            }
            if (exists)
            {
                throw new HbOpsException(HbErrorIds.DestinationNotWritable, HbErrorCategory.ResourceUnavailable,
                    $"An artefact already exists at '{artefact.Path}'.", artefact.Path, "Wait a second or use another -Tag.");
            }
            var countTask = request.RowCounts == RowCountMode.None ? null : session?.ExecuteAsync(RowCounter.BuildQuery(request.RowCounts, request.KeyTables), ct);
            // The catalog and the content fingerprints follow the counts on the same session (Proof/SnapshotProof).
            proofTask = session is null ? null : SnapshotProof.CaptureAsync(session, countTask, request, artefact, snapshotId, _report, ct);
            var dumpArgs = new List<string> { "pg_dump", "-U", request.User, "-d", PgEndpoint.DatabaseArgument(request.Database), "-F", "c", "-Z", compression.DumpArgument };
            if (snapshotId is not null) dumpArgs.Add("--snapshot=" + snapshotId);
            artefact.DumpCommand = string.Join(' ', dumpArgs.Select(ShellQuote.Quote));
            var dumpArgv = ObservedDumpArgv(request.Container, DockerCli.ExecArgv(request.Container, dumpArgs, env: new Dictionary<string, string> { ["PGAPPNAME"] = appName }));
            _report.Verbose($"Dumping: docker exec {request.Container} {artefact.DumpCommand} -> {artefact.Path}.partial");
            // The run folder is made only now (the host-side dump command makes its own).
            if (request.LocalDestination) await files.EnsureWritableDirectoryAsync(runFolder, ct).ConfigureAwait(false);
            dumpStarted = true;

            (var sha, var size, var stderr, after) = request.LocalDestination
                ? await DumpToLocalAsync(dumpArgv, artefact.Path + ".partial", artefact.DatabaseSizeBytes, ct).ConfigureAwait(false)
                : await DumpOnHostAsync(dumpArgv, artefact.Path + ".partial", artefact.DatabaseSizeBytes, ct).ConfigureAwait(false);
            artefact.Sha256 = sha;
            artefact.SizeBytes = size;
            artefact.Stderr = stderr;

            if (countTask is not null)
            {
                var json = await countTask.ConfigureAwait(false);
                artefact.RowCountSnapshot = new HbRowCountSnapshot
                {
                    Mode = request.RowCounts, TakenAtUtc = timestamp, SnapshotId = snapshotId, Tables = RowCounter.Parse(json.Trim()),
                };
                _report.Verbose($"Counted rows of {artefact.RowCountSnapshot.TableCount} tables in snapshot {snapshotId}.");
            }
            if (proofTask is not null)
            {
                if (!proofTask.IsCompleted) _report.Verbose("pg_dump finished; waiting for the content fingerprints taken in its snapshot.");
                (artefact.Catalog, artefact.ContentFingerprints) = await proofTask.ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            if (dumpStarted) await AbortAsync(pg, appName, files, artefact.Path + ".partial").ConfigureAwait(false);
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

        // The container as observed right after pg_dump exited (by the dump command itself; a separate look if that failed).
        // The snapshot transaction closes while the artefact is claimed.
        var closing = session is not null ? session.DisposeAsync().AsTask() : Task.CompletedTask;
        try
        {
            if (after is null && await _docker.InspectContainerAsync(request.Container, ct).ConfigureAwait(false) is { } c) after = (c.RestartCount, c.StartedAt);
            artefact.ContainerRestartCountAfter = after?.RestartCount ?? -1;
            artefact.ContainerStartedAtAfter = after?.StartedAt ?? "";

            // Record the checksums (the dump's and the manifest's), then claim the artefact by renaming, then write the manifest.
            artefact.DurationSeconds = Math.Round(started.Elapsed.TotalSeconds, 3);
            var manifest = HbYaml.Serialize(artefact);
            await files.FinalizeArtefactAsync(artefact.ChecksumPath, SumsLines(artefact, manifest), artefact.Path + ".partial", artefact.Path,
                artefact.ManifestPath, manifest, ct).ConfigureAwait(false);
        }
        finally
        {
            await closing.ConfigureAwait(false);
        }
        _report.Verbose($"Artefact {artefact.Path}: {artefact.SizeBytes:N0} bytes, sha256 {artefact.Sha256}, {artefact.DurationSeconds}s.");
        return artefact;
    }

    // Opens REPEATABLE READ, READ ONLY on production and exports its snapshot for pg_dump --snapshot.
    private async Task<(PsqlSession?, string?, string?, string?)> OpenSnapshotAsync(PgEndpoint pg, string runId, HbBackupArtefact artefact,
        IReadOnlyCollection<string> keyTables, CancellationToken ct)
    {
        _report.Verbose("Opening a read-only repeatable-read transaction and exporting its snapshot.");
        var session = await PsqlSession.StartAsync(pg, $"{PgEndpoint.ApplicationNamePrefix}-snapshot-{runId}", ct).ConfigureAwait(false);
        try
        {
            // The server facts and pg_dump's version come from the same session (fewer round trips); facts as JSON.
            var reply = await session.ExecuteAsync(DumpVersionMeta +
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot() || '|' || current_setting('transaction_isolation') || '|' || " +
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

    // Host side: the dump never crosses the network. The run folder is made first (exit 73 when it cannot be);
    // tee writes the file, hbops_sha256 (OpenSSL or sha256sum) hashes the same stream, and the exit codes of pg_dump and tee are reported
    // separately. While it runs, a background loop reports the bytes written once a second on the same output (no
    // extra connection per report); it is stopped before the results are printed.
    private const string ProgressMarker = "hbops-progress|";
    private const string HostDumpScript = ShellHostFiles.Sha256Function + "\n" + """
        set -u
        partial=$1; errf=$2; shift 2
        mkdir -p -- "${partial%/*}" || exit 73
        rcf="$partial.rc"; teef="$partial.teerc"
        rm -f -- "$rcf" "$teef"
        ( while sleep 1 </dev/null >/dev/null 2>&1; do printf 'hbops-progress|%s\n' "$(wc -c 2>/dev/null < "$partial" || echo 0)"; done ) &
        monitor=$!
        sum=$( { "$@" 2>"$errf"; echo $? >"$rcf"; } | { tee -- "$partial"; echo $? >"$teef"; } | hbops_sha256 )
        kill "$monitor" 2>/dev/null; wait "$monitor" 2>/dev/null
        printf '%s\n' "$sum"
        printf 'rc=%s tee=%s\n' "$(cat -- "$rcf" 2>/dev/null || echo x)" "$(cat -- "$teef" 2>/dev/null || echo x)"
        wc -c 2>/dev/null < "$partial" || echo 0
        cat -- "$errf" 2>/dev/null
        rm -f -- "$rcf" "$teef" "$errf"
        """;

    // Wraps the dump (in both modes). pg_dump writes small blocks, and each would travel (docker exec, sshd, SSH.NET,
    // tee) as its own packet and wake-up; dd, where it supports full blocks, hands them on in 256 KiB blocks, which cuts
    // the receiving side's CPU several times. Both exit codes are kept: a dd failure after a clean pg_dump still fails.
    // Once pg_dump has exited, the container is observed again by the same command and reported on stderr after a
    // marker line; the exit code stays pg_dump's.
    private const string AfterMarker = "hbops-after|";
    private const string ObserveAfterScript = """
        container=$1; shift
        if printf x | dd bs=262144 iflag=fullblock status=none >/dev/null 2>&1; then
          exec 3>&1
          codes=$( { { "$@"; echo "dump=$?" >&4; } | { dd bs=262144 iflag=fullblock status=none >&3; echo "dd=$?" >&4; }; } 4>&1 )
          rc=$(printf '%s\n' "$codes" | sed -n 's/^dump=//p'); ddrc=$(printf '%s\n' "$codes" | sed -n 's/^dd=//p')
          if [ "${rc:-x}" = 0 ] && [ "${ddrc:-x}" != 0 ]; then echo "hbops: passing the dump on failed (dd exit ${ddrc:-none})" >&2; rc=125; fi
          rc=${rc:-125}
        else
          "$@"; rc=$?
        fi
        printf '\n%s%s\n' 'hbops-after|' "$(docker container inspect -f '{{.RestartCount}}|{{.State.StartedAt}}' -- "$container" 2>/dev/null)" >&2
        exit $rc
        """;

    private static List<string> ObservedDumpArgv(string container, IEnumerable<string> dumpArgv)
    {
        var argv = new List<string> { "sh", "-c", ObserveAfterScript, "hbops-dump", container };
        argv.AddRange(dumpArgv);
        return argv;
    }

    // Separates pg_dump's own stderr (redacted) from the "restarts|startedAt" observation after the marker.
    private static (string Stderr, (int RestartCount, string StartedAt)? After) SplitAfter(string stderr)
    {
        var marker = stderr.LastIndexOf(AfterMarker, StringComparison.Ordinal);
        if (marker < 0) return (Redaction.Redact(stderr.Trim()), null);
        var parts = stderr[(marker + AfterMarker.Length)..].Trim().Split('|', 2);
        var after = parts.Length == 2 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? (n, parts[1]) : ((int, string)?)null;
        return (Redaction.Redact(stderr[..marker].Trim()), after);
    }

    private async Task<(string Sha, long Size, string Stderr, (int, string)? After)> DumpOnHostAsync(List<string> dumpArgv,
        string partial, long dbSize, CancellationToken ct)
    {
        var errFile = partial + ".stderr";
        var argv = new List<string> { "sh", "-c", HostDumpScript, "hbops-dump", partial, errFile };
        argv.AddRange(dumpArgv);
        var sw = Stopwatch.StartNew();
        // Progress lines come first (until the results start); everything after them is the script's result.
        var results = false;
        var r = await dockerHost.RunObservingAsync(argv, line =>
        {
            if (results || !line.StartsWith(ProgressMarker, StringComparison.Ordinal))
            {
                results = true;
                return false;
            }
            if (long.TryParse(line.AsSpan(ProgressMarker.Length), NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes)) ReportBytes(bytes, dbSize, sw.Elapsed);
            return true;
        }, ct).ConfigureAwait(false);
        if (r.ExitCode == 73) throw LocalHostFiles.NotWritable(partial[..partial.LastIndexOf('/')], Redaction.Redact(r.StandardError.Trim()));
        // Output: the hash line, the status line, the size written, then the dump's stderr.
        var lines = r.StandardOutput.Split('\n');
        var status = lines.Length > 1 ? lines[1].Trim() : "";
        var (stderr, after) = SplitAfter(string.Join('\n', lines.Skip(3)));
        if (!r.Succeeded || lines.Length < 3 || status != "rc=0 tee=0" ||
            !long.TryParse(lines[2].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size))
        {
            var why = status.StartsWith("rc=0", StringComparison.Ordinal) && status != "rc=0 tee=0"
                ? $"writing '{partial}' failed ({Redaction.Redact(r.StandardError.Trim())})"
                : $"pg_dump failed ({status}): {stderr}";
            throw new HbOpsException(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed,
                $"Backup failed: {why}", partial, "Check the database, the destination's free space, and pg_dump's message.");
        }
        var sha = ShellHostFiles.ParseSha256(lines[0])
            ?? throw new HbOpsException(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed,
                $"Backup failed: no SHA-256 was computed for '{partial}' ({Redaction.Redact(r.StandardError.Trim())}).", partial);
        return (sha, size, stderr, after);
    }

    private void ReportBytes(long bytes, long dbSize, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? bytes / elapsed.TotalSeconds / 1048576.0 : 0;
        // The compressed size is unknown in advance; a third of the database size is a typical -Fc ratio.
        var pct = dbSize > 0 ? (int)Math.Min(99, bytes * 100 / Math.Max(1, dbSize / 3)) : -1;
        _report.Progress(new HbProgress(ProgressId, "Invoke-HbBackup",
            string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} MiB streamed at {rate:F1} MiB/s"), pct));
    }

    private async Task<(string Sha, long Size, string Stderr, (int, string)? After)> DumpToLocalAsync(List<string> dumpArgv,
        string partial, long dbSize, CancellationToken ct)
    {
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sw = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        CommandResult r;
        long written = 0;
        try
        {
            await using var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, useAsync: true);
            await using var sink = new HashingStream(file, hasher);
            r = await dockerHost.RunToStreamAsync(dumpArgv, sink, n =>
            {
                written = n;
                if (sw.Elapsed - lastReport < TimeSpan.FromMilliseconds(500)) return;
                lastReport = sw.Elapsed;
                ReportBytes(n, dbSize, sw.Elapsed);
            }, ct).ConfigureAwait(false);
            await sink.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new HbOpsException(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed,
                $"Backup failed: writing '{partial}' failed after {written:N0} bytes: {ex.Message}", partial, "Check free space and permissions.", ex);
        }
        var (stderr, after) = SplitAfter(r.StandardError);
        if (!r.Succeeded)
        {
            throw new HbOpsException(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed,
                $"Backup failed: pg_dump exited {r.ExitCode}: {stderr}", partial, "Check the database and pg_dump's message.");
        }
        return (Convert.ToHexString(hasher.GetHashAndReset()).ToLowerInvariant(), new FileInfo(partial).Length, stderr, after);
    }

    // Stops the server side of an interrupted dump (docker exec forwards no signals) and removes the partial file.
    private async Task AbortAsync(PgEndpoint pg, string appName, IHostFiles files, string partial)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            // The snapshot session too: a fingerprint query still running there would otherwise go on reading production.
            await pg.QueryAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ({PgEndpoint.Literal(appName)}, " +
                $"{PgEndpoint.Literal(appName.Replace("-dump-", "-snapshot-", StringComparison.Ordinal))});", cts.Token).ConfigureAwait(false);
            _report.Verbose($"Stopped the server side of the interrupted dump ({appName}).");
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or JsonException)
        {
            _report.Warning($"Could not stop the dump's server session: {ex.Message}");
        }
        try
        {
            await files.DeleteAsync(partial, cts.Token).ConfigureAwait(false);
            await files.DeleteAsync(partial + ".stderr", cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or UnauthorizedAccessException)
        {
            _report.Warning($"Could not remove the partial file '{partial}': {ex.Message}");
        }
    }
}
