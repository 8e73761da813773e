namespace HbOps.Model;

/// <summary>Outcome of re-verifying an artefact.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbVerificationStatus
{
    /// <summary>Checksum matches manifest and SHA256SUMS, the manifest matches its SHA256SUMS line, and pg_restore can read the archive.</summary>
    Verified,
    /// <summary>A check failed (see the message).</summary>
    Failed,
    /// <summary>The dump file is gone.</summary>
    Missing,
}

/// <summary>Evidence from <c>Test-HbBackup</c>.</summary>
public sealed class HbBackupVerification
{
    /// <summary>Dump path.</summary>
    public string Path { get; set; } = "";
    /// <summary>Status.</summary>
    public HbVerificationStatus Status { get; set; }
    /// <summary>Hash in the manifest.</summary>
    public string ExpectedSha256 { get; set; } = "";
    /// <summary>Hash observed now.</summary>
    public string ObservedSha256 { get; set; } = "";
    /// <summary>Size observed now.</summary>
    public long SizeBytes { get; set; }
    /// <summary>Observed hash and size equal the manifest's.</summary>
    public bool ChecksumMatches { get; set; }
    /// <summary>SHA256SUMS lists the file with the observed hash.</summary>
    public bool ChecksumFileMatches { get; set; }
    /// <summary>SHA256SUMS lists the manifest with its observed hash (it was not edited after the backup).</summary>
    public bool ManifestMatches { get; set; }
    /// <summary>pg_restore --list exited 0.</summary>
    public bool Readable { get; set; }
    /// <summary>
    /// The pg_restore --list check: Passed, Failed, or NotRun for an encrypted artefact (no key is ever on the docker
    /// host; Test-HbRestore -Identity proves it restores).
    /// </summary>
    public HbCheckStatus ReadabilityCheck { get; set; } = HbCheckStatus.NotRun;
    /// <summary>True when the artefact is age ciphertext (its checksum is the ciphertext's).</summary>
    public bool Encrypted { get; set; }
    /// <summary>Number of TOC entries pg_restore listed.</summary>
    public int TocEntries { get; set; }
    /// <summary>When it was checked (UTC).</summary>
    public DateTime CheckedAtUtc { get; set; }
    /// <summary>Detail.</summary>
    public string Message { get; set; } = "";
}
