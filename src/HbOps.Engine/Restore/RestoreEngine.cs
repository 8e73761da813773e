using System.Diagnostics;
using System.Globalization;
using HbOps.Engine.Copies;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Proof;
using HbOps.Engine.Sandbox;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>The collaborators of a <see cref="RestoreEngine"/> (substituted by unit tests).</summary>
internal sealed record RestoreSeams(ISandboxGateway Sandboxes, IArtefactStaging Staging, ISandboxSql Sql, LeaseFactory Leases)
{
    /// <summary>The real ones, on <paramref name="dockerHost"/>.</summary>
    public static RestoreSeams On(ICommandHost dockerHost, IHbReporter report, IArtefactSource? copySource)
    {
        var sandboxes = new SandboxManager(dockerHost, report);
        return new RestoreSeams(sandboxes, new ArtefactStaging(dockerHost, sandboxes, report, copySource),
            new SandboxSql(new DockerCli(dockerHost)), HostRunLease.On(dockerHost));
    }
}

/// <summary>
/// Proves an artefact restores: verify its checksum, restore it into an isolated sandbox of the same
/// PostgreSQL major with <c>pg_restore --no-owner --no-privileges --clean --if-exists</c>, classify
/// every message, run smoke tests, and tear the sandbox down (verified) unless asked to keep it. A copy on an SFTP storage
/// host is read from there (copySource): it is streamed into the docker host and hashed on the way, so
/// the restore proves the copy, not the original.
/// </summary>
public sealed class RestoreEngine
{
    private readonly ICommandHost _dockerHost;
    private readonly IHbReporter _report;
    private readonly IArtefactSource? _copySource;
    private readonly RestoreSeams _seams;
    private readonly DockerCli _docker;

    /// <summary>A restore engine on the docker host <paramref name="dockerHost"/>.</summary>
    /// <param name="dockerHost">Where the sandboxes run.</param>
    /// <param name="reporter">Where progress, verbose output and warnings go.</param>
    /// <param name="copySource">The storage host of an artefact that is a copy there (null: none).</param>
    public RestoreEngine(ICommandHost dockerHost, IHbReporter? reporter = null, IArtefactSource? copySource = null)
        : this(dockerHost, reporter, copySource, RestoreSeams.On(dockerHost, reporter ?? NullReporter.Instance, copySource))
    {
    }

    internal RestoreEngine(ICommandHost dockerHost, IHbReporter? reporter, IArtefactSource? copySource, RestoreSeams seams)
    {
        _dockerHost = dockerHost;
        _report = reporter ?? NullReporter.Instance;
        _copySource = copySource;
        _seams = seams;
        _docker = new DockerCli(dockerHost);
    }

    /// <summary>Runs the restore test. Failures of the restored data are a Failed result; failures to run are exceptions.</summary>
    public async Task<HbRestoreTestResult> RunAsync(HbBackupArtefact artefact, RestoreRequest request, CancellationToken ct)
    {
        Validate(artefact, request);
        var total = Stopwatch.StartNew();
        var result = new HbRestoreTestResult { Artefact = artefact, StartedUtc = DateTime.UtcNow, Jobs = request.Jobs };
        var phases = new RestorePhases(result, _report);
        await using var run = NewRun(ct);
        Task<IPendingTextFile>? record = null;
        try
        {
            // Lease (taken with the run) → VerifyChecksum ∥ CreateSandbox (pg_restore starts once the checksum matched).
            result.Sandbox = await run.StartAsync(ForRestore(artefact, request, result, phases), ct).ConfigureAwait(false);
            await phases.RunAsync("Restore", 3, () => RestoreAsync(run, result)).ConfigureAwait(false);
            await phases.RunAsync("SmokeTests", 4, () => new SmokeTests(_report).RunAsync(result, run, request, ct)).ConfigureAwait(false);
            await new RestoreProof(_docker, _report).RunAsync(result, run.Sandbox!, run.Sql!, request, (name, body) => phases.RunAsync(name, 4, body), ct).ConfigureAwait(false);
            // The record's writer starts now: its SSH channel opens while the sandbox is torn down.
            record = BeginRecordAsync(result, run.RunId);
        }
        finally
        {
            await EndAsync(run, result, phases, request.KeepSandbox).ConfigureAwait(false);
        }
        Conclude(result, total);
        await WriteRecordAsync(result, record!, ct).ConfigureAwait(false);
        return result;
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
        // Failed or interrupted: nothing may stay behind (the container, its volume, the uploaded copy, the socket folder).
        await using var run = NewRun(ct);
        var sandbox = await run.StartAsync(new SandboxStart
        {
            Artefact = artefact, Request = request, Accept = onHost => RequireChecksum(artefact, onHost, null),
        }, ct).ConfigureAwait(false);
        // The sandbox is meant to outlive this command: the lease lets go of it.
        await run.HandOverAsync().ConfigureAwait(false);
        return sandbox;
    }

    private SandboxRun NewRun(CancellationToken ct) =>
        new(_seams.Sandboxes, _seams.Staging, _seams.Sql, _seams.Leases, _dockerHost.Host.Kind == HbHostKind.Local, _report, ct);

    private void Validate(HbBackupArtefact artefact, RestoreRequest request)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Jobs is < 1 or > 64) throw HbOpsException.Invalid("-Jobs must be between 1 and 64.", request.Jobs);
        foreach (var a in request.Assertions) ReadOnlyQuery.RequireText(a.Sql);
        RequireIdentity(artefact, request);
        if (artefact.Encryption is null && request.Identity is not null) _report.Verbose("-Identity is not used: the artefact is not encrypted.");
    }

    // The artefact must be what was recorded before anything reads it; the sandbox is made meanwhile when its folder is
    // already on the docker host, and pg_restore is the command that starts the moment its server is ready.
    private SandboxStart ForRestore(HbBackupArtefact artefact, RestoreRequest request, HbRestoreTestResult result, RestorePhases phases) => new()
    {
        Artefact = artefact, Request = request, CreateWhileVerifying = true, SweepExpired = request.SweepExpired, Phases = phases,
        Accept = onHost =>
        {
            result.ObservedSha256 = onHost.Sha256;
            RequireChecksum(artefact, onHost, result);
        },
        Command = RestoreArgv(artefact, request, result), CommandText = result.RestoreCommand, Decrypt = artefact.Encryption is not null,
        Note = result.Notes.Add,
    };

    // pg_restore's arguments (and the command the result shows); an encrypted artefact is decrypted inside the sandbox
    // into pg_restore's standard input, which allows one job only.
    private List<string> RestoreArgv(HbBackupArtefact artefact, RestoreRequest request, HbRestoreTestResult result)
    {
        var argv = new List<string> { "pg_restore", "-U", artefact.User, "-d", PgEndpoint.DatabaseArgument(artefact.Database), "--no-owner", "--no-privileges", "--clean", "--if-exists",
            "-j", request.Jobs.ToString(CultureInfo.InvariantCulture), SandboxManager.ArtefactMount + "/" + artefact.FileName };
        result.RestoreCommand = string.Join(' ', argv.Select(ShellQuote.Quote));
        if (artefact.Encryption is null) return argv;
        argv = DecryptingRestoreArgv(artefact);
        result.Jobs = 1;
        result.RestoreCommand = $"age -d -i {SandboxManager.SecretMount}/identity {SandboxManager.ArtefactMount}/{artefact.FileName} | " +
            string.Join(' ', argv.Skip(DecryptScriptArgs).Select(ShellQuote.Quote));
        _report.Verbose("The artefact is encrypted (age): it is decrypted inside the sandbox with the identity on a tmpfs and restored from the stream with one job.");
        return argv;
    }

    // pg_restore (already running) to its end, every message classified.
    private static async Task<bool> RestoreAsync(SandboxRun run, HbRestoreTestResult result)
    {
        var r = await run.Command!.ConfigureAwait(false);
        if (result.Artefact.Encryption is not null) CheckDecryption(result.Artefact, r.StandardOutput, result);
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
    }

    // Teardown, also on error and on cancellation, with its own token; then the run lets go of everything else.
    private static async Task EndAsync(SandboxRun run, HbRestoreTestResult result, RestorePhases phases, bool keep)
    {
        Stopwatch? sw = null;
        result.Teardown = await run.TeardownAsync(keep, () =>
        {
            phases.Progress("Teardown", 90);
            sw = Stopwatch.StartNew();
        }).ConfigureAwait(false);
        if (sw is not null && result.Teardown is { } teardown)
        {
            result.Phases.Add(new HbPhaseTiming { Name = "Teardown", Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), Status = teardown.Verified ? HbCheckStatus.Passed : HbCheckStatus.Failed });
            if (!teardown.Verified) result.FailureReasons.Add("Teardown could not be verified: " + teardown.Message);
        }
        await run.DisposeAsync().ConfigureAwait(false);
        phases.Progress("done", 100, completed: true);
    }

    private static void Conclude(HbRestoreTestResult result, Stopwatch total)
    {
        result.DurationSeconds = Math.Round(total.Elapsed.TotalSeconds, 3);
        result.Result = result.FailureReasons.Count > 0 ? HbRestoreOutcome.Failed
            : result.RestoreExitCode != 0 || result.NoteCount > 0 || result.Notes.Count > 0 ? HbRestoreOutcome.PassedWithNotes
            : HbRestoreOutcome.Passed;
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
        ? (_copySource ?? throw new HbOpsException(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument,
            $"'{artefact.Path}' is a copy on {artefact.Copy?.StorageHost?.ToString() ?? "a storage host"}, and no connection to it was given.", artefact.Path)).Files
        : HostFiles.ForArtefact(_dockerHost, artefact);

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

}
