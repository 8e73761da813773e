namespace HbOps.Model;

/// <summary>Verdict of one acceptance criterion.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbCriterionStatus
{
    /// <summary>The evidence shows it holds.</summary>
    Passed,
    /// <summary>The evidence shows it does not hold.</summary>
    Failed,
    /// <summary>No evidence was supplied; never counted as passed.</summary>
    NotEvaluated,
}

/// <summary>An acceptance criterion evaluated from observed evidence.</summary>
public sealed class HbAcceptanceCriterion
{
    /// <summary>What must hold.</summary>
    public string Criterion { get; set; } = "";
    /// <summary>Verdict.</summary>
    public HbCriterionStatus Status { get; set; }
    /// <summary>True only when Status is Passed.</summary>
    public bool Passed => Status == HbCriterionStatus.Passed;
    /// <summary>The observed fact that decided it.</summary>
    public string Evidence { get; set; } = "";
}

/// <summary>
/// The closure record of one backup / restore-test / teardown run: only observed facts, and acceptance
/// criteria evaluated from them. Written as YAML by Export-HbClosureRecord and read back by Import-HbClosureRecord.
/// </summary>
public sealed class HbClosureRecord
{
    /// <summary>Record schema version.</summary>
    public int RecordVersion { get; set; } = 1;
    /// <summary>Title given by the operator.</summary>
    public string Title { get; set; } = "";
    /// <summary>When the record was written (UTC).</summary>
    public DateTime GeneratedAtUtc { get; set; }
    /// <summary>HbOps version.</summary>
    public string ToolVersion { get; set; } = "";
    /// <summary>How the backup was taken (mechanism and flags), from the artefact.</summary>
    public string BackupMechanism { get; set; } = "";
    /// <summary>The backup artefact with its preflight facts and row-count snapshot.</summary>
    public HbBackupArtefact? Backup { get; set; }
    /// <summary>The restore test (its artefact reduced to a reference).</summary>
    public HbRestoreTestResult? Restore { get; set; }
    /// <summary>Off-host copies supplied (Copy-HbBackup), each with its read-back proof (Copy).</summary>
    public List<HbBackupArtefact> Copies { get; set; } = new();
    /// <summary>Per-table comparisons supplied (e.g. production vs sandbox).</summary>
    public List<HbRowCountComparison> RowCountComparisons { get; set; } = new();
    /// <summary>Sandbox removals supplied.</summary>
    public List<HbSandboxRemoval> Teardown { get; set; } = new();
    /// <summary>Acceptance criteria, each decided by evidence above.</summary>
    public List<HbAcceptanceCriterion> Acceptance { get; set; } = new();
    /// <summary>Where it was written.</summary>
    public string Path { get; set; } = "";
    /// <summary>True when every criterion passed.</summary>
    public bool Accepted => Acceptance.Count > 0 && Acceptance.All(a => a.Passed);
}
