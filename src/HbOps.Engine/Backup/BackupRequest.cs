using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps.Engine.Backup;

/// <summary>What to back up and where to put it.</summary>
public sealed class BackupRequest
{
    /// <summary>Production container.</summary>
    public string Container { get; init; } = "postgres";
    /// <summary>Database.</summary>
    public string Database { get; init; } = "";
    /// <summary>Role pg_dump runs as.</summary>
    public string User { get; init; } = "postgres";
    /// <summary>Destination root folder (the run folder is created below it).</summary>
    public string Destination { get; init; } = "/var/backups/hbops";
    /// <summary>True: the destination is on this machine and the stream comes back over SSH.</summary>
    public bool LocalDestination { get; init; }
    /// <summary>Run tag, used in the run folder name.</summary>
    public string Tag { get; init; } = "hbops";
    /// <summary>pg_dump's compression: <c>gzip:N</c> (0-9), <c>zstd:N</c> (1-22), <c>lz4:N</c> (1-12), <c>none</c>, or a bare gzip level (see <see cref="DumpCompression.Parse"/>).</summary>
    public string Compression { get; init; } = "gzip:6";
    /// <summary>Row counts to take in the dump's snapshot.</summary>
    public RowCountMode RowCounts { get; init; } = RowCountMode.Exact;
    /// <summary>Restrict counting to these <c>schema.table</c> names (empty: all tables).</summary>
    public IReadOnlyList<string> KeyTables { get; init; } = Array.Empty<string>();
    /// <summary>
    /// Content fingerprints to take in the dump's snapshot (null: All when row counts are taken, None with
    /// <see cref="RowCounts"/> None; see <see cref="Proof.SnapshotProof"/>).
    /// </summary>
    public HbFingerprintMode? Fingerprint { get; init; }
    /// <summary>Free space required at the destination as a multiple of the database size.</summary>
    public double SafetyFactor { get; init; } = 2.0;
    /// <summary>Proceed even when free space is below the safety factor.</summary>
    public bool Force { get; init; }
    /// <summary>
    /// How long pg_dump (<c>--lock-wait-timeout</c>) and the queries in its snapshot (<c>lock_timeout</c>) wait for a
    /// table's lock before the backup fails with LockTimeout; null: as long as it takes (pg_dump's default).
    /// </summary>
    public TimeSpan? LockWaitTimeout { get; init; }
    /// <summary>
    /// Folders HbOps creates 0750 and artefact files 0640 (group-readable) instead of 0700 and 0600. The group is the
    /// folder's: a backup root owned by the backup group with the setgid bit passes it on.
    /// </summary>
    public bool GroupReadable { get; init; }
    /// <summary>
    /// age recipients (public keys; see <see cref="AgeEncryption.ValidateRecipients"/>): the docker host encrypts the
    /// dump while it streams. Empty: not encrypted.
    /// </summary>
    public IReadOnlyList<string> Recipients { get; init; } = Array.Empty<string>();
}
