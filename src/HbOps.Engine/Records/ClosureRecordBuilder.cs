using System.Globalization;
using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>Builds a closure record from the pipeline's objects and evaluates acceptance criteria from their evidence.</summary>
public static class ClosureRecordBuilder
{
    /// <summary>Builds the record. Objects of other types are ignored by the caller.</summary>
    public static HbClosureRecord Build(string title, IEnumerable<HbBackupArtefact> artefacts, IEnumerable<HbRestoreTestResult> restores,
        IEnumerable<HbRowCountComparison> comparisons, IEnumerable<HbSandboxRemoval> removals)
    {
        var restore = restores.LastOrDefault();
        // Copies (Copy-HbBackup) travel in the same pipeline as the backup they copy: the backup is the last original.
        var supplied = artefacts.ToList();
        var copies = supplied.Where(a => a.IsOffHostCopy).ToList();
        var backup = supplied.LastOrDefault(a => !a.IsOffHostCopy) ?? restore?.Artefact ?? copies.LastOrDefault();
        var record = new HbClosureRecord
        {
            Title = title,
            GeneratedAtUtc = DateTime.UtcNow,
            ToolVersion = EngineInfo.Version,
            Backup = backup,
            Restore = restore is null ? null : RecordCopies.WithArtefactReference(restore),
            Copies = copies.Select(RecordCopies.Reference).ToList(),
            RowCountComparisons = comparisons.ToList(),
            Teardown = removals.ToList(),
        };
        if (backup is not null)
        {
            record.BackupMechanism = $"docker exec {backup.Container} {backup.DumpCommand} (streamed; SHA-256 computed while streaming; {backup.Location} destination)";
        }
        record.Acceptance = Evaluate(record, restore);
        return record;
    }

    private static List<HbAcceptanceCriterion> Evaluate(HbClosureRecord r, HbRestoreTestResult? restore)
    {
        var list = new List<HbAcceptanceCriterion>();
        void Add(string criterion, bool? ok, string evidence) => list.Add(new HbAcceptanceCriterion
        {
            Criterion = criterion,
            Status = ok is null ? HbCriterionStatus.NotEvaluated : ok.Value ? HbCriterionStatus.Passed : HbCriterionStatus.Failed,
            Evidence = evidence,
        });
        string I(long v) => v.ToString(CultureInfo.InvariantCulture);

        var b = r.Backup;
        Add("Backup completed: pg_dump exited 0 with empty stderr and a recorded SHA-256",
            b is null ? null : b.Sha256.Length == 64 && b.Stderr.Length == 0 && b.SizeBytes > 0,
            b is null ? "no backup artefact supplied" : $"artefact {b.Path}, {I(b.SizeBytes)} bytes, sha256 {b.Sha256}, stderr {(b.Stderr.Length == 0 ? "empty" : "'" + b.Stderr + "'")}");
        Add("Production was only read (read-only snapshot transaction, container not restarted)",
            b is null || b.SnapshotTransaction.Length == 0 ? null
                : b.SnapshotTransaction.EndsWith("read only", StringComparison.Ordinal) && b.ContainerRestartCountBefore == b.ContainerRestartCountAfter && b.ContainerStartedAtBefore == b.ContainerStartedAtAfter,
            b is null || b.SnapshotTransaction.Length == 0 ? "no snapshot transaction was observed (backup without row counts)"
                : $"transaction '{b.SnapshotTransaction}'; restart count {b.ContainerRestartCountBefore} -> {b.ContainerRestartCountAfter}; started at {b.ContainerStartedAtBefore} -> {b.ContainerStartedAtAfter}");
        // Only for an encrypted artefact: how (tool, recipients: public keys only, never a key) and whether the restore
        // test decrypted it to the plaintext the backup hashed.
        if ((b ?? restore?.Artefact)?.Encryption is { } enc)
        {
            Add("Encrypted artefact decrypted in the sandbox to the recorded plaintext (SHA-256)",
                restore is null || restore.Artefact.Encryption is null ? null : restore.PlaintextChecksumVerified,
                $"{enc.Tool} {enc.ToolVersion} to {enc.Recipients.Count} recipient(s): {string.Join(", ", enc.Recipients)}; plaintext sha256 {enc.PlaintextSha256}, {I(enc.PlaintextSizeBytes)} bytes" +
                (restore is null || restore.Artefact.Encryption is null ? "; no restore test of it supplied" : $"; decrypted in the sandbox: sha256 {restore.DecryptedSha256}"));
        }
        Add("Artefact checksum verified before restore",
            restore is null ? null : restore.ChecksumVerified,
            restore is null ? "no restore test supplied" : $"observed sha256 {restore.ObservedSha256} vs recorded {restore.Artefact.Sha256}");
        Add("Restore ran in an isolated sandbox (network none, no published port, expected mounts only)",
            restore is null ? null : restore.Sandbox.IsolationVerified && restore.Sandbox.NetworkMode == "none" && restore.Sandbox.PublishedPorts.Count == 0,
            restore is null ? "no restore test supplied" : $"sandbox {restore.Sandbox.Name}: network {restore.Sandbox.NetworkMode}, published ports [{string.Join(", ", restore.Sandbox.PublishedPorts)}], mounts [{string.Join(", ", restore.Sandbox.Mounts)}]");
        Add("pg_restore produced no fatal error",
            restore?.RestoreExitCode is null ? null : restore.FatalCount == 0,
            restore?.RestoreExitCode is null ? "pg_restore did not run" : $"exit code {restore.RestoreExitCode}; {restore.FatalCount} fatal, {restore.NoteCount} known non-fatal: {string.Join("; ", restore.Messages.Where(m => m.Severity != HbMessageSeverity.Info).Select(m => m.Rule))}");
        var counts = restore?.RowCounts ?? new List<HbRowCountComparison>();
        Add("Every restored table has the row count of the backup snapshot",
            restore is null || restore.RowCountCheck == HbCheckStatus.NotRun ? null : restore.RowCountCheck == HbCheckStatus.Passed,
            restore is null || restore.RowCountCheck == HbCheckStatus.NotRun ? "no snapshot counts were compared"
                : $"{counts.Count(c => c.Match)}/{counts.Count} tables match ({counts.FirstOrDefault()?.Mode})");
        var content = restore?.Content ?? new List<HbContentComparison>();
        Add("Every fingerprinted table's content equals the backup snapshot",
            restore is null || restore.ContentCheck == HbCheckStatus.NotRun ? null : restore.ContentCheck == HbCheckStatus.Passed,
            restore is null || restore.ContentCheck == HbCheckStatus.NotRun ? "no content fingerprints were compared"
                : $"{content.Count(c => c.Equal)}/{content.Count} tables equal ({content.FirstOrDefault()?.Algorithm})" +
                  (restore.ContentDifferences > 0 ? "; differing: " + string.Join(", ", content.Where(c => !c.Equal).Take(10).Select(c => $"{c.QualifiedName} {c.Status}")) : ""));
        var catalog = restore?.Catalog;
        Add("The restored catalog has no unexpected difference from the backup snapshot's",
            restore is null || restore.CatalogCheck == HbCheckStatus.NotRun || catalog is null ? null : restore.CatalogCheck == HbCheckStatus.Passed,
            restore is null || restore.CatalogCheck == HbCheckStatus.NotRun || catalog is null ? "no catalog was compared"
                : $"{catalog.ReferenceObjects} objects in the snapshot, {catalog.DifferenceObjects} restored; {catalog.UnexpectedCount} unexpected, {catalog.ExpectedCount} expected difference(s)" +
                  (catalog.Differences.Count > 0 ? ": " + string.Join("; ", catalog.Differences.Take(10).Select(d => $"{d.Classification} {d.Change} {d.Kind} {d.QualifiedName}")) : ""));
        // pg_amcheck is asked for (Test-HbRestore -Amcheck); its criterion appears when it was.
        if (restore is not null && restore.Amcheck.Status != HbCheckStatus.NotRun)
        {
            Add("pg_amcheck found no corruption in the restored copy", restore.Amcheck.Status == HbCheckStatus.Passed,
                $"{restore.Amcheck.Command}: exit {restore.Amcheck.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "none"}; {restore.Amcheck.Message}");
        }
        Add("Production and restored row counts agree",
            r.RowCountComparisons.Count == 0 ? null : r.RowCountComparisons.All(c => c.Match),
            r.RowCountComparisons.Count == 0 ? "no comparison supplied"
                : $"{r.RowCountComparisons.Count(c => c.Match)}/{r.RowCountComparisons.Count} tables match ({r.RowCountComparisons[0].ReferenceSource} vs {r.RowCountComparisons[0].DifferenceSource})");
        Add("Smoke-test assertions hold",
            restore is null || restore.Assertions.Count == 0 ? null : restore.Assertions.All(a => a.Passed),
            restore is null || restore.Assertions.Count == 0 ? "no assertion was run"
                : string.Join("; ", restore.Assertions.Select(a => $"{a.Name}: expected '{a.Expected}', got '{a.Actual}'")));
        var removals = r.Teardown.Concat(restore?.Teardown is { Status: not HbRemovalStatus.Skipped } t ? new[] { t } : Array.Empty<HbSandboxRemoval>()).ToList();
        Add("Sandbox container and volume removed and verified gone",
            removals.Count == 0 ? null : removals.All(x => x.Verified),
            removals.Count == 0 ? "no teardown observed" : string.Join("; ", removals.Select(x => $"{x.Name}: {x.Status}, containers {x.ContainersRemaining}, volumes {x.VolumesRemaining}")));
        // Only when copies are part of the run: a record without copies is judged as before.
        if (r.Copies.Count > 0 || restore?.Artefact.IsOffHostCopy == true)
        {
            var proven = r.Copies.Where(c => c.Copy is { Verified: true } p && p.VerifiedSha256 == c.Sha256 && p.VerifiedSizeBytes == c.SizeBytes &&
                (b is null || c.Sha256 == b.Sha256)).ToList();
            Add("Off-host copy proven by reading it back (its SHA-256 is the backup's)",
                r.Copies.Count == 0 ? null : proven.Count == r.Copies.Count,
                r.Copies.Count == 0 ? "no copy supplied (the restore test read a copy)"
                    : string.Join("; ", r.Copies.Select(c => $"{c.Copy?.ToString() ?? "?"}:{c.Path}: " + (c.Copy is { } p
                        ? $"{(p.Verified ? "read back" : "NOT verified")}, sha256 {p.VerifiedSha256}, {I(p.VerifiedSizeBytes)} bytes at {p.VerifiedAtUtc.ToString("u", CultureInfo.InvariantCulture)} ({p.Verification})"
                        : "no proof"))));
            if (restore?.Artefact.IsOffHostCopy == true)
            {
                Add("The restore test read the off-host copy",
                    restore.ChecksumVerified,
                    $"restored from {restore.Artefact.Copy?.ToString() ?? "?"}:{restore.Artefact.Path}; sha256 read from the copy {restore.ObservedSha256}");
            }
        }
        return list;
    }
}
