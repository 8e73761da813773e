using System.Globalization;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Docker;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Retention;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>What the preflight checks require.</summary>
public sealed class PreflightRequest
{
    /// <summary>Backup root (or run folder) to inspect.</summary>
    public string BackupRoot { get; init; } = "/var/backups/hbops";
    /// <summary>Read the backup root on this machine.</summary>
    public bool LocalFiles { get; init; }
    /// <summary>Newest backup must be younger than this.</summary>
    public TimeSpan MaxBackupAge { get; init; } = TimeSpan.FromMinutes(60);
    /// <summary>At least this many backups must be retained.</summary>
    public int MinimumBackups { get; init; } = 1;
    /// <summary>Folder of off-host copies at the evaluator's copy location; null: no copy checks.</summary>
    public string? CopyRoot { get; init; }
    /// <summary>The backup the newest off-host copy holds must be younger than this.</summary>
    public TimeSpan MaxCopyAge { get; init; } = TimeSpan.FromMinutes(60);
    /// <summary>A retention policy the backup root (and the copy location) must already satisfy; null: not checked.</summary>
    public RetentionPolicy? Retention { get; init; }
    /// <summary>The latest restore test must have taken at most this long (null: not checked).</summary>
    public TimeSpan? MaxRestoreTime { get; init; }
    /// <summary>The latest restore test must have run pg_amcheck and found nothing.</summary>
    public bool RequireAmcheck { get; init; }

    /// <summary>The restore-test checks asked for, in the order they are reported.</summary>
    internal IEnumerable<string> RestoreCheckNames()
    {
        yield return "LatestRestoreTestPassed";
        yield return "IsolationVerified";
        yield return "TeardownVerified";
        if (MaxRestoreTime is not null) yield return "RestoreTimeWithinLimit";
        if (RequireAmcheck) yield return "AmcheckPassed";
    }
}

/// <summary>
/// Evaluates the named preflight checks from observed state: manifests, checksums, restore-test records, docker, and
/// (with <paramref name="copies"/>) the off-host copies at a copy location.
/// </summary>
public sealed class PreflightEvaluator(ICommandHost host, IHbReporter? reporter = null, IArtefactSource? copies = null)
{
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;

    /// <summary>Runs every check; a check that cannot be evaluated fails with the reason.</summary>
    public async Task<List<HbPreflightCheck>> EvaluateAsync(PreflightRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        var checks = new List<HbPreflightCheck>();
        void Add(string name, bool passed, string observed, string expected, string message) =>
            checks.Add(new HbPreflightCheck { Name = name, Passed = passed, Observed = observed, Expected = expected, Message = message });
        string Inv(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);

        var catalog = new ArtefactCatalog(host, request.LocalFiles, _report);
        var all = await catalog.ListAsync(request.BackupRoot, ct).ConfigureAwait(false);
        var latest = all.LastOrDefault();
        Add("LatestBackupExists", latest is not null, latest?.Path ?? "no manifest found", $"a backup under {request.BackupRoot}",
            latest is null ? $"No backup found under {request.BackupRoot}: run Invoke-HbBackup." : $"Latest backup: {latest.Path}.");
        Add("RetentionMinimum", all.Count >= request.MinimumBackups, Inv($"{all.Count} backups"), Inv($">= {request.MinimumBackups} backups"),
            all.Count >= request.MinimumBackups ? "Retention minimum respected." : Inv($"Only {all.Count} backups retained; at least {request.MinimumBackups} are required."));
        var copyList = await AddCopyChecksAsync(request, latest, checks, ct).ConfigureAwait(false);
        if (request.Retention is { } policy)
        {
            IArtefactSource backupRoot = request.LocalFiles || host.Host.Kind == HbHostKind.Local ? new LocalArtefactStore() : new HostArtefactSource(host);
            await AddRetentionCheckAsync(policy, all.Select(a => new StoredArtefact(a, backupRoot)).Concat(copyList.Select(c => new StoredArtefact(c, copies!))).ToList(),
                checks, ct).ConfigureAwait(false);
        }
        if (latest is null)
        {
            foreach (var n in new[] { "LatestBackupFresh", "ChecksumRecorded", "ChecksumVerifies" }.Concat(request.RestoreCheckNames()))
            {
                Add(n, false, "no backup", "a backup", "Cannot be evaluated without a backup.");
            }
            return checks;
        }

        var age = DateTime.UtcNow - latest.TimestampUtc.ToUniversalTime();
        Add("LatestBackupFresh", age <= request.MaxBackupAge, Inv($"{Math.Round(age.TotalMinutes, 1)} minutes old ({latest.TimestampUtc:u})"),
            Inv($"<= {request.MaxBackupAge.TotalMinutes} minutes"),
            age <= request.MaxBackupAge ? "The latest backup is fresh." : Inv($"The latest backup is {Math.Round(age.TotalMinutes, 1)} minutes old, older than {request.MaxBackupAge.TotalMinutes} minutes."));

        var v = await catalog.VerifyAsync(latest, null, ct).ConfigureAwait(false);
        Add("ChecksumRecorded", v.ChecksumFileMatches && latest.Sha256.Length == 64, v.ChecksumFileMatches ? $"{latest.FileName} listed in SHA256SUMS" : "not listed with the observed hash",
            "a SHA256SUMS line for the dump", v.ChecksumFileMatches ? "The checksum is recorded." : $"SHA256SUMS in {latest.RunFolder} does not list {latest.FileName} with its hash.");
        Add("ChecksumVerifies", v.Status == HbVerificationStatus.Verified, Inv($"sha256 {v.ObservedSha256}; readable={v.Readable}"), $"sha256 {latest.Sha256} and a readable archive",
            v.Status == HbVerificationStatus.Verified ? "The dump still verifies." : "The dump does not verify: " + v.Message);

        var record = await LatestRestoreRecordAsync(latest, ct).ConfigureAwait(false);
        if (record is null)
        {
            foreach (var n in request.RestoreCheckNames())
            {
                Add(n, false, "no restore-test record", "a restore test of the latest backup", $"No restore test of {latest.FileName} was recorded: run Test-HbRestore on it.");
            }
            return checks;
        }
        Add("LatestRestoreTestPassed", record.Result != HbRestoreOutcome.Failed,
            Inv($"{record.Result} ({record.StartedUtc:u}; {record.DurationSeconds} s; content {record.ContentCheck}, catalog {record.CatalogCheck}, pg_amcheck {record.Amcheck.Status})"), "Passed or PassedWithNotes",
            record.Result != HbRestoreOutcome.Failed ? "The latest backup was restore-tested successfully." : "The restore test failed: " + string.Join(" ", record.FailureReasons));
        Add("IsolationVerified", record.Sandbox.IsolationVerified, $"network {record.Sandbox.NetworkMode}, ports [{string.Join(", ", record.Sandbox.PublishedPorts)}]",
            "network none, no published port", record.Sandbox.IsolationVerified ? "The sandbox's isolation was verified." : "The sandbox's isolation was not verified.");

        var teardown = record.Teardown;
        if (teardown is { Status: HbRemovalStatus.Skipped })
        {
            // Kept with -KeepSandbox: what counts is whether it is gone now.
            var engine = DockerEngineApi.For(host);
            var gone = await engine.InspectContainerAsync(record.Sandbox.Name, ct).ConfigureAwait(false) is null &&
                       await engine.InspectVolumeAsync(record.Sandbox.VolumeName, ct).ConfigureAwait(false) is null;
            Add("TeardownVerified", gone, gone ? $"kept sandbox {record.Sandbox.Name} no longer exists (observed now)" : $"sandbox {record.Sandbox.Name} still exists",
                "container and volume gone", gone ? "The kept sandbox has been removed." : $"Remove it: Remove-HbSandbox -Name {record.Sandbox.Name}.");
        }
        else
        {
            var ok = teardown?.Verified == true;
            Add("TeardownVerified", ok, teardown is null ? "no teardown recorded" : $"{teardown.Status}: containers {teardown.ContainersRemaining}, volumes {teardown.VolumesRemaining}",
                "container and volume gone", ok ? "Teardown was verified." : "Teardown was not verified.");
        }
        if (request.MaxRestoreTime is { } max)
        {
            var within = record.DurationSeconds <= max.TotalSeconds;
            Add("RestoreTimeWithinLimit", within, Inv($"{record.DurationSeconds} s ({Math.Round(record.DurationSeconds / 60, 2)} minutes) on {record.StartedUtc:u}"),
                Inv($"<= {max.TotalMinutes} minutes"), within ? "The latest restore test finished within the restore-time objective."
                    : Inv($"The latest restore test took {Math.Round(record.DurationSeconds / 60, 2)} minutes, more than {max.TotalMinutes}: see Get-HbRestoreHistory -Summary for the trend."));
        }
        if (request.RequireAmcheck)
        {
            var a = record.Amcheck;
            Add("AmcheckPassed", a.Status == HbCheckStatus.Passed, $"{a.Status}{(a.Message.Length > 0 ? ": " + a.Message : "")}", "pg_amcheck ran and found nothing",
                a.Status switch
                {
                    HbCheckStatus.Passed => "pg_amcheck found no corruption in the restored copy.",
                    HbCheckStatus.NotRun => "The latest restore test did not run pg_amcheck: run Test-HbRestore -Amcheck.",
                    _ => "pg_amcheck failed on the restored copy: " + a.Message,
                });
        }
        return checks;
    }

    // OffHostCopyExists: the copy location holds a copy of the latest backup. OffHostCopyVerified: the newest copy carries
    // its read-back proof and reads back now with the recorded SHA-256 (re-read whole, as ChecksumVerifies re-reads the
    // dump). OffHostCopyFresh: the backup the newest copy holds is younger than the maximum age.
    private async Task<List<HbBackupArtefact>> AddCopyChecksAsync(PreflightRequest request, HbBackupArtefact? latest, List<HbPreflightCheck> checks, CancellationToken ct)
    {
        if (request.CopyRoot is null || copies is null) return new List<HbBackupArtefact>();
        void Add(string name, bool passed, string observed, string expected, string message) =>
            checks.Add(new HbPreflightCheck { Name = name, Passed = passed, Observed = observed, Expected = expected, Message = message });
        string Inv(FormattableString f) => f.ToString(CultureInfo.InvariantCulture);
        var where = copies.Describe(request.CopyRoot);
        var found = (await new ArtefactCatalog(host, copies, _report).ListAsync(request.CopyRoot, ct).ConfigureAwait(false)).Where(a => a.IsOffHostCopy).ToList();
        var newest = found.LastOrDefault();
        var ofLatest = latest is null ? null : found.LastOrDefault(c => RetentionPlanner.Identity(c) == RetentionPlanner.Identity(latest));
        Add("OffHostCopyExists", ofLatest is not null,
            ofLatest is not null ? $"{ofLatest.Path} ({ofLatest.Copy})" : newest is null ? "no copy" : $"newest copy is of {newest.FileName}",
            latest is null ? "a backup to copy" : $"a copy of {latest.FileName} at {where}",
            ofLatest is not null ? "The latest backup has an off-host copy." :
            latest is null ? "There is no backup to copy." : $"The latest backup {latest.FileName} has no copy at {where}: run Copy-HbBackup on it.");
        if (newest is null)
        {
            foreach (var n in new[] { "OffHostCopyVerified", "OffHostCopyFresh" }) Add(n, false, "no copy", $"a copy at {where}", $"No off-host copy found at {where}.");
            return found;
        }
        var target = ofLatest ?? newest;
        var proof = target.Copy!;
        var now = await copies.Files.ChecksumAsync(target.Path, target.ChecksumPath, target.ManifestPath, ct).ConfigureAwait(false);
        var recorded = proof.Verified && proof.VerifiedSha256 == target.Sha256;
        var manifestProblem = now is null ? null : ArtefactCatalog.ManifestProblem(target, now);
        var rereads = now is not null && now.Sha256 == target.Sha256 && now.Size == target.SizeBytes && now.Lists(target.FileName) && manifestProblem is null;
        Add("OffHostCopyVerified", recorded && rereads,
            Inv($"recorded read-back {(recorded ? "sha256 " + proof.VerifiedSha256 + " at " + proof.VerifiedAtUtc.ToString("u", CultureInfo.InvariantCulture) : "missing or not matching")}; re-read now: {(now is null ? "copy missing" : "sha256 " + now.Sha256 + (now.Lists(target.FileName) ? ", listed in SHA256SUMS" : ", not listed in SHA256SUMS") + (manifestProblem is null ? "" : "; " + manifestProblem))}"),
            $"sha256 {target.Sha256}, recorded and re-read",
            recorded && rereads ? $"The copy {target.Path} reads back as recorded." : $"The copy {target.Path} does not read back as recorded: copy the backup again.");
        var age = DateTime.UtcNow - newest.TimestampUtc.ToUniversalTime();
        Add("OffHostCopyFresh", age <= request.MaxCopyAge,
            Inv($"newest copy holds a backup {Math.Round(age.TotalMinutes, 1)} minutes old ({newest.TimestampUtc:u}), copied {newest.Copy?.CopiedAtUtc:u}"),
            Inv($"<= {request.MaxCopyAge.TotalMinutes} minutes"),
            age <= request.MaxCopyAge ? "The newest off-host copy is fresh." : Inv($"The newest off-host copy holds a backup {Math.Round(age.TotalMinutes, 1)} minutes old: copies have stopped?"));
        return found;
    }

    // RetentionApplied: the policy would remove nothing (pruning runs), judged by the same planner as Remove-HbBackup.
    private async Task AddRetentionCheckAsync(RetentionPolicy policy, List<StoredArtefact> inventory, List<HbPreflightCheck> checks, CancellationToken ct)
    {
        var plan = inventory.Count == 0 ? new List<RetentionDecision>() : await new RetentionEngine(_report).PlanAsync(inventory, policy, DateTime.UtcNow, ct).ConfigureAwait(false);
        var overdue = plan.Where(d => d.Remove).ToList();
        checks.Add(new HbPreflightCheck
        {
            Name = "RetentionApplied", Passed = overdue.Count == 0,
            Observed = overdue.Count == 0 ? $"{plan.Count} artefacts, all kept by the policy" : $"{overdue.Count} of {plan.Count} artefacts are due for removal: {string.Join(", ", overdue.Take(5).Select(d => d.Artefact.Path))}",
            Expected = $"nothing due for removal under {policy}",
            Message = overdue.Count == 0 ? "Retention is applied." : $"Retention is not applied: run Remove-HbBackup {policy}.",
        });
    }

    private async Task<HbRestoreTestResult?> LatestRestoreRecordAsync(HbBackupArtefact artefact, CancellationToken ct)
    {
        var files = HostFiles.ForArtefact(host, artefact);
        var prefix = artefact.FileName + RestoreEngine.RecordInfix;
        var candidates = (await files.FindFilesAsync(artefact.RunFolder, ".yml", ct).ConfigureAwait(false))
            .Where(f => System.IO.Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (candidates.Count == 0) return null;
        var yaml = await files.ReadTextAsync(candidates[^1], ct).ConfigureAwait(false);
        return yaml is null ? null : HbYaml.Deserialize<HbRestoreTestResult>(yaml);
    }
}
