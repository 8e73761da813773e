namespace HbOps.Model;

/// <summary>An artefact Remove-HbBackup removed under a retention policy, with the files that went and why.</summary>
public sealed class HbBackupRemoval
{
    /// <summary>Path of the removed dump.</summary>
    public string Path { get; set; } = "";
    /// <summary>Where it was: Host, Local, LocalCopy or Sftp.</summary>
    public HbArtefactLocation Location { get; set; }
    /// <summary>The location (machine and backup root) whose policy removed it.</summary>
    public string Where { get; set; } = "";
    /// <summary>Database of the removed backup.</summary>
    public string Database { get; set; } = "";
    /// <summary>When the removed backup was made (UTC).</summary>
    public DateTime TimestampUtc { get; set; }
    /// <summary>SHA-256 of the removed dump.</summary>
    public string Sha256 { get; set; } = "";
    /// <summary>Why the policy removed it.</summary>
    public string Reason { get; set; } = "";
    /// <summary>The policy, as parameters.</summary>
    public string Policy { get; set; } = "";
    /// <summary>Every file removed (manifest, dump, copy and restore-test records); SHA256SUMS lost the artefact's lines.</summary>
    public List<string> FilesRemoved { get; set; } = new();
    /// <summary>When it was removed (UTC).</summary>
    public DateTime RemovedAtUtc { get; set; }

    /// <inheritdoc />
    public override string ToString() => Path;
}
