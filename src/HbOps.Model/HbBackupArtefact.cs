
namespace HbOps.Model;

/// <summary>Where an artefact file is stored.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbArtefactLocation
{
    /// <summary>On the docker host (the dump never crossed the network).</summary>
    Host,
    /// <summary>On the machine that ran HbOps.</summary>
    Local,
    /// <summary>A copy (Copy-HbBackup) in a folder on the machine that ran HbOps; <see cref="HbBackupArtefact.Copy"/> holds its proof.</summary>
    LocalCopy,
    /// <summary>A copy (Copy-HbBackup) on an SFTP storage host; <see cref="HbBackupArtefact.Copy"/> names the host and holds the proof.</summary>
    Sftp,
}

/// <summary>
/// A completed, verified backup: the dump file, its checksum, and every observed fact about how it
/// was made. Written beside the dump as a YAML manifest and read back by <c>Get-HbBackup</c>.
/// Only ever produced after pg_dump exited 0 and the checksum was recorded.
/// </summary>
public sealed class HbBackupArtefact
{
    /// <summary>Manifest schema version.</summary>
    public int ManifestVersion { get; set; } = 1;
    /// <summary>HbOps version that made it.</summary>
    public string ToolVersion { get; set; } = "";
    /// <summary>Unique id of the backup run.</summary>
    public string RunId { get; set; } = "";
    /// <summary>Absolute path of the dump file on the machine given by <see cref="Location"/>.</summary>
    public string Path { get; set; } = "";
    /// <summary>
    /// File name of the dump: <c>&lt;db&gt;_full_&lt;UTC&gt;.dump</c>, or <c>&lt;db&gt;_full_&lt;UTC&gt;-&lt;RunId&gt;.dump</c> when another
    /// run claimed that name in the same second.
    /// </summary>
    public string FileName { get; set; } = "";
    /// <summary>Run folder holding the dump, SHA256SUMS and the manifest.</summary>
    public string RunFolder { get; set; } = "";
    /// <summary>Host or Local for the artefact a backup wrote; LocalCopy or Sftp for a copy of it.</summary>
    public HbArtefactLocation Location { get; set; }
    /// <summary>The docker host the database runs on.</summary>
    public HbHost Host { get; set; } = HbHost.Local;
    /// <summary>Production container name.</summary>
    public string Container { get; set; } = "";
    /// <summary>Production container image reference.</summary>
    public string ContainerImage { get; set; } = "";
    /// <summary>Production container image id.</summary>
    public string ContainerImageId { get; set; } = "";
    /// <summary>Database name.</summary>
    public string Database { get; set; } = "";
    /// <summary>Role pg_dump ran as.</summary>
    public string User { get; set; } = "";
    /// <summary>Run tag.</summary>
    public string Tag { get; set; } = "";
    /// <summary>Dump size in bytes.</summary>
    public long SizeBytes { get; set; }
    /// <summary>SHA-256 of the dump file (lower-case hex), computed while streaming; of the ciphertext when <see cref="Encryption"/> is set.</summary>
    public string Sha256 { get; set; } = "";
    /// <summary>Path of the SHA256SUMS file (sha256sum -c format).</summary>
    public string ChecksumPath { get; set; } = "";
    /// <summary>Path of this manifest.</summary>
    public string ManifestPath { get; set; } = "";
    /// <summary>When the dump started (UTC).</summary>
    public DateTime TimestampUtc { get; set; }
    /// <summary>SHOW server_version.</summary>
    public string ServerVersion { get; set; } = "";
    /// <summary>Server major version.</summary>
    public int ServerMajor { get; set; }
    /// <summary>pg_dump --version.</summary>
    public string PgDumpVersion { get; set; } = "";
    /// <summary>pg_dump format (custom).</summary>
    public string Format { get; set; } = "custom";
    /// <summary>
    /// pg_dump's compression as <c>method:level</c> (<c>gzip:6</c>, <c>zstd:3</c>, <c>lz4:1</c>) or <c>none</c>. A manifest
    /// written before the method was recorded reads as gzip at its <see cref="CompressionLevel"/> (none for 0): what
    /// <c>pg_dump -Z level</c> meant.
    /// </summary>
    public string Compression
    {
        get => _compression.Length > 0 ? _compression : CompressionLevel == 0 ? "none" : $"gzip:{CompressionLevel}";
        set => _compression = value ?? "";
    }
    private string _compression = "";
    /// <summary>The compression level (0 with <c>none</c>).</summary>
    public int CompressionLevel { get; set; }
    /// <summary>pg_dump arguments as run inside the container (no secrets).</summary>
    public string DumpCommand { get; set; } = "";
    /// <summary>pg_database_size before the dump.</summary>
    public long DatabaseSizeBytes { get; set; }
    /// <summary>Free bytes at the destination before the dump.</summary>
    public long FreeDiskBytesBefore { get; set; }
    /// <summary>Required free space as a multiple of the database size.</summary>
    public double SafetyFactor { get; set; }
    /// <summary>True when the free-space check was overridden with -Force.</summary>
    public bool SpaceCheckForced { get; set; }
    /// <summary>pg_dump's stderr (redacted); empty in the good case.</summary>
    public string Stderr { get; set; } = "";
    /// <summary>Wall time of the whole backup, in seconds.</summary>
    public double DurationSeconds { get; set; }
    /// <summary>Isolation and access mode of the snapshot transaction as reported by the server (e.g. "repeatable read, read only").</summary>
    public string SnapshotTransaction { get; set; } = "";
    /// <summary>Production container restart count observed before the dump.</summary>
    public int ContainerRestartCountBefore { get; set; }
    /// <summary>Production container restart count observed after the dump.</summary>
    public int ContainerRestartCountAfter { get; set; }
    /// <summary>Production container start time observed before the dump.</summary>
    public string ContainerStartedAtBefore { get; set; } = "";
    /// <summary>Production container start time observed after the dump.</summary>
    public string ContainerStartedAtAfter { get; set; } = "";
    /// <summary>Row counts taken in the dump's own snapshot (null when -RowCounts None).</summary>
    public HbRowCountSnapshot? RowCountSnapshot { get; set; }
    /// <summary>
    /// For a copy (Location LocalCopy or Sftp): where it came from, where it is, and the proof that it was read back with
    /// the recorded SHA-256. Null for the artefact a backup wrote. Not part of the manifest (which is copied unchanged):
    /// it comes from the copy record beside the copy.
    /// </summary>
    public HbArtefactCopy? Copy { get; set; }

    /// <summary>True for a copy kept off the docker host (LocalCopy or Sftp).</summary>
    public bool IsOffHostCopy => Location is HbArtefactLocation.LocalCopy or HbArtefactLocation.Sftp;
    /// <summary>
    /// How the dump file is encrypted (Invoke-HbBackup -Recipient): tool, recipients, the plaintext's SHA-256 and size;
    /// null when it is a plain pg_dump archive.
    /// </summary>
    public HbEncryption? Encryption { get; set; }
    /// <summary>True when the dump file is age ciphertext (restore it with Test-HbRestore -Identity).</summary>
    public bool Encrypted => Encryption is not null;
    /// <summary>Content fingerprints taken in the dump's own snapshot (null with -Fingerprint None or without a snapshot).</summary>
    public HbContentFingerprintSnapshot? ContentFingerprints { get; set; }
    /// <summary>The database's catalog (tables, views, sequences with their values, functions, ...) read in the dump's own snapshot (null without a snapshot).</summary>
    public HbCatalogSnapshot? Catalog { get; set; }

    /// <summary>Wall time of the whole backup.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds(DurationSeconds);

    /// <summary>Size in MiB, for display.</summary>
    public double SizeMiB => Math.Round(SizeBytes / 1048576.0, 2);

    /// <inheritdoc />
    public override string ToString() => Path;
}
