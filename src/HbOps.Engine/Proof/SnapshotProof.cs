using System.Diagnostics;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>
/// What a backup reads in the dump's own exported snapshot beside the row counts: the catalog and the content
/// fingerprints. Both run in the snapshot session (REPEATABLE READ, READ ONLY: production is only read), after the
/// counts and while pg_dump reads the same snapshot, so they prove what the dump holds, not what production held a
/// moment earlier or later.
/// </summary>
internal static class SnapshotProof
{
    /// <summary>
    /// The fingerprint mode a request asks for: its own, else All when row counts are taken (the default) and None with
    /// -RowCounts None (the caller asked for no snapshot work).
    /// </summary>
    public static HbFingerprintMode EffectiveFingerprint(BackupRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Fingerprint ?? (request.RowCounts == RowCountMode.None ? HbFingerprintMode.None : HbFingerprintMode.All);
    }

    /// <summary>True when the backup needs a snapshot session (counts or fingerprints).</summary>
    public static bool NeedsSnapshot(BackupRequest request) =>
        request.RowCounts != RowCountMode.None || EffectiveFingerprint(request) != HbFingerprintMode.None;

    /// <summary>Refuses a fingerprint request that names no table to fingerprint.</summary>
    public static void Validate(BackupRequest request)
    {
        if (EffectiveFingerprint(request) == HbFingerprintMode.KeyTables && request.KeyTables.Count == 0)
        {
            throw HbOpsException.Invalid("-Fingerprint KeyTables needs -KeyTables (schema.table names) to fingerprint.", request.Fingerprint);
        }
    }

    /// <summary>
    /// Reads the catalog and (unless the mode is None) fingerprints the tables in <paramref name="session"/>, once
    /// <paramref name="after"/> (the counts, sent earlier on the same session) is done; a failed <paramref name="after"/>
    /// ends the session, so nothing more is read (its own await reports the failure).
    /// </summary>
    public static async Task<(HbCatalogSnapshot? Catalog, HbContentFingerprintSnapshot? Fingerprints)> CaptureAsync(PsqlSession session, Task? after,
        BackupRequest request, HbBackupArtefact artefact, string? snapshotId, IHbReporter report, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(report);
        if (after is not null)
        {
            try { await after.ConfigureAwait(false); }
            catch (Exception) { return (null, null); }
        }
        HbCatalogSnapshot? catalog = null;
        if (artefact.ServerMajor >= CatalogSnapshot.MinimumMajor)
        {
            var taken = DateTime.UtcNow;
            // The settings stay pinned for the rest of the snapshot transaction (the fingerprints need them too).
            var json = await session.ExecuteAsync(TextFormSettings.SetLocalSql + CatalogSnapshot.BuildSelect() + ";", ct).ConfigureAwait(false);
            catalog = CatalogSnapshot.Parse(json.Trim(), taken, snapshotId);
            report.Verbose($"Read {catalog.ObjectCount} catalog objects in snapshot {snapshotId}.");
        }
        else
        {
            report.Verbose($"PostgreSQL {artefact.ServerMajor} is older than {CatalogSnapshot.MinimumMajor}: the catalog is not recorded.");
            await session.ExecuteAsync(TextFormSettings.SetLocalSql, ct).ConfigureAwait(false);
        }
        var mode = EffectiveFingerprint(request);
        if (mode == HbFingerprintMode.None) return (catalog, null);
        var algorithm = ContentFingerprint.AlgorithmFor(artefact.ServerMajor);
        var started = DateTime.UtcNow;
        var sw = Stopwatch.StartNew();
        var fingerprints = await session.ExecuteAsync(
            ContentFingerprint.BuildSelect(algorithm, mode == HbFingerprintMode.KeyTables ? request.KeyTables.ToList() : null) + ";", ct).ConfigureAwait(false);
        var snapshot = new HbContentFingerprintSnapshot
        {
            Mode = mode, Algorithm = algorithm, Settings = TextFormSettings.All.ToList(), TakenAtUtc = started, SnapshotId = snapshotId,
            Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), Tables = ContentFingerprint.Parse(fingerprints.Trim()),
        };
        report.Verbose($"Fingerprinted {snapshot.TableCount} tables ({snapshot.Rows:N0} rows, {algorithm}) in snapshot {snapshotId} in {snapshot.Seconds} s.");
        return (catalog, snapshot);
    }
}
