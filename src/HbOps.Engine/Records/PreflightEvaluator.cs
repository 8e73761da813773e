using System.Globalization;
using HbOps.Engine.Backup;
using HbOps.Engine.Docker;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
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
}

/// <summary>Evaluates the named preflight checks from observed state: manifests, checksums, restore-test records, docker.</summary>
public sealed class PreflightEvaluator(ICommandHost host, IHbReporter? reporter = null)
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
        if (latest is null)
        {
            foreach (var n in new[] { "LatestBackupFresh", "ChecksumRecorded", "ChecksumVerifies", "LatestRestoreTestPassed", "IsolationVerified", "TeardownVerified" })
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
            foreach (var n in new[] { "LatestRestoreTestPassed", "IsolationVerified", "TeardownVerified" })
            {
                Add(n, false, "no restore-test record", "a restore test of the latest backup", $"No restore test of {latest.FileName} was recorded: run Test-HbRestore on it.");
            }
            return checks;
        }
        Add("LatestRestoreTestPassed", record.Result != HbRestoreOutcome.Failed, Inv($"{record.Result} ({record.StartedUtc:u})"), "Passed or PassedWithNotes",
            record.Result != HbRestoreOutcome.Failed ? "The latest backup was restore-tested successfully." : "The restore test failed: " + string.Join(" ", record.FailureReasons));
        Add("IsolationVerified", record.Sandbox.IsolationVerified, $"network {record.Sandbox.NetworkMode}, ports [{string.Join(", ", record.Sandbox.PublishedPorts)}]",
            "network none, no published port", record.Sandbox.IsolationVerified ? "The sandbox's isolation was verified." : "The sandbox's isolation was not verified.");

        var teardown = record.Teardown;
        if (teardown is { Status: HbRemovalStatus.Skipped })
        {
            // Kept with -KeepSandbox: what counts is whether it is gone now.
            var docker = new DockerCli(host);
            var gone = await docker.InspectContainerAsync(record.Sandbox.Name, ct).ConfigureAwait(false) is null &&
                       await docker.InspectVolumeAsync(record.Sandbox.VolumeName, ct).ConfigureAwait(false) is null;
            Add("TeardownVerified", gone, gone ? $"kept sandbox {record.Sandbox.Name} no longer exists (observed now)" : $"sandbox {record.Sandbox.Name} still exists",
                "container and volume gone", gone ? "The kept sandbox has been removed." : $"Remove it: Remove-HbSandbox -Name {record.Sandbox.Name}.");
        }
        else
        {
            var ok = teardown?.Verified == true;
            Add("TeardownVerified", ok, teardown is null ? "no teardown recorded" : $"{teardown.Status}: containers {teardown.ContainersRemaining}, volumes {teardown.VolumesRemaining}",
                "container and volume gone", ok ? "Teardown was verified." : "Teardown was not verified.");
        }
        return checks;
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
