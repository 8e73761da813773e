namespace HbOps.Model;

/// <summary>
/// A copy of an artefact made by Copy-HbBackup and the proof that it holds exactly the recorded bytes: the copy was read
/// back in full from where it is stored (over SFTP from a storage host, or from the folder) and its SHA-256 compared with
/// the manifest's. Written beside the copy as <c>&lt;dump&gt;.copy.yml</c> before the copied manifest, so every listed copy
/// carries its proof.
/// </summary>
public sealed class HbArtefactCopy
{
    /// <summary>Copy record schema version.</summary>
    public int RecordVersion { get; set; } = 1;
    /// <summary>HbOps version that made the copy.</summary>
    public string ToolVersion { get; set; } = "";
    /// <summary>The SFTP storage host the copy is on; null for a folder on the machine that ran HbOps.</summary>
    public HbHost? StorageHost { get; set; }
    /// <summary>Path of the dump the copy was made from.</summary>
    public string SourcePath { get; set; } = "";
    /// <summary>Where the dump it was made from was (Host, Local, or another copy).</summary>
    public HbArtefactLocation SourceLocation { get; set; }
    /// <summary>The machine the source was read on (the docker host, or local).</summary>
    public HbHost SourceHost { get; set; } = HbHost.Local;
    /// <summary>When the transfer started (UTC).</summary>
    public DateTime StartedAtUtc { get; set; }
    /// <summary>When the copy was claimed: read back, renamed into place (UTC).</summary>
    public DateTime CopiedAtUtc { get; set; }
    /// <summary>SHA-256 of the bytes as they were sent, computed while streaming (lower-case hex).</summary>
    public string TransferSha256 { get; set; } = "";
    /// <summary>SHA-256 of the copy as read back from its destination after it was written (lower-case hex).</summary>
    public string VerifiedSha256 { get; set; } = "";
    /// <summary>Size of the copy as read back, in bytes.</summary>
    public long VerifiedSizeBytes { get; set; }
    /// <summary>When the read-back finished (UTC).</summary>
    public DateTime VerifiedAtUtc { get; set; }
    /// <summary>How the copy was read back.</summary>
    public string Verification { get; set; } = "";
    /// <summary>True when the read-back SHA-256 and size equal the manifest's.</summary>
    public bool Verified { get; set; }
    /// <summary>The SHA256SUMS lines copied with it (the dump's, and the manifest's when the source lists it).</summary>
    public List<string> ChecksumLines { get; set; } = new();
    /// <summary>Wall time of the transfer (streaming and hashing), in seconds.</summary>
    public double TransferSeconds { get; set; }
    /// <summary>Wall time of the read-back, in seconds.</summary>
    public double VerifySeconds { get; set; }
    /// <summary>Path of the copy record (<c>&lt;dump&gt;.copy.yml</c>) beside the copy.</summary>
    public string RecordPath { get; set; } = "";

    /// <summary>Where the copy is, for display: the storage host or <c>local</c>.</summary>
    public override string ToString() => StorageHost?.ToString() ?? "local";
}
