
namespace HbOps.Model;

/// <summary>Verdict of a restore test.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbRestoreOutcome
{
    /// <summary>pg_restore exited 0 and every check passed.</summary>
    Passed,
    /// <summary>Only known non-fatal messages, or a note on how the test ran (see <see cref="HbRestoreTestResult.Notes"/>); every check passed.</summary>
    PassedWithNotes,
    /// <summary>A fatal message, a failed check, or a step that could not run.</summary>
    Failed,
}

/// <summary>Outcome of one check (phase, assertion).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbCheckStatus
{
    /// <summary>Ran and passed.</summary>
    Passed,
    /// <summary>Ran and failed.</summary>
    Failed,
    /// <summary>Did not run (the reason is in the message); never counted as passed.</summary>
    NotRun,
}

/// <summary>A SQL assertion run in the sandbox: the query's output must equal <see cref="Expected"/>.</summary>
public sealed class HbAssertion
{
    /// <summary>Display name.</summary>
    public string Name { get; set; } = "";
    /// <summary>
    /// One query returning rows whose psql unaligned output (rows as lines, fields separated by '|') is compared. It runs
    /// as data (never as a psql script), read-only, as a role without superuser rights; any other statement fails.
    /// </summary>
    public string Sql { get; set; } = "";
    /// <summary>Expected output, compared after trimming.</summary>
    public string Expected { get; set; } = "";
}

/// <summary>Result of an assertion.</summary>
public sealed class HbAssertionResult
{
    /// <summary>Name.</summary>
    public string Name { get; set; } = "";
    /// <summary>SQL.</summary>
    public string Sql { get; set; } = "";
    /// <summary>Expected.</summary>
    public string Expected { get; set; } = "";
    /// <summary>Observed output (or the error).</summary>
    public string Actual { get; set; } = "";
    /// <summary>Status.</summary>
    public HbCheckStatus Status { get; set; }
    /// <summary>True when passed.</summary>
    public bool Passed => Status == HbCheckStatus.Passed;
}

/// <summary>Timing of one phase.</summary>
public sealed class HbPhaseTiming
{
    /// <summary>Phase name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Seconds spent.</summary>
    public double Seconds { get; set; }
    /// <summary>Outcome of the phase.</summary>
    public HbCheckStatus Status { get; set; }
}

/// <summary>Tables per schema in the sandbox after restore.</summary>
public sealed class HbSchemaTableCount
{
    /// <summary>Schema.</summary>
    public string Schema { get; set; } = "";
    /// <summary>Number of tables.</summary>
    public int Tables { get; set; }
}

/// <summary>Everything a restore test observed, and its verdict.</summary>
public sealed class HbRestoreTestResult
{
    /// <summary>Verdict.</summary>
    public HbRestoreOutcome Result { get; set; }
    /// <summary>Why it failed (empty when it passed).</summary>
    public List<string> FailureReasons { get; set; } = new();
    /// <summary>The artefact that was restored.</summary>
    public HbBackupArtefact Artefact { get; set; } = new();
    /// <summary>The sandbox it was restored into (kept or removed, see <see cref="Teardown"/>).</summary>
    public HbSandbox Sandbox { get; set; } = new();
    /// <summary>SHA-256 observed by re-reading the artefact before use.</summary>
    public string ObservedSha256 { get; set; } = "";
    /// <summary>True when the observed hash equals the manifest and SHA256SUMS.</summary>
    public bool ChecksumVerified { get; set; }
    /// <summary>For an encrypted artefact: SHA-256 of the plaintext decrypted inside the sandbox (empty otherwise).</summary>
    public string DecryptedSha256 { get; set; } = "";
    /// <summary>For an encrypted artefact: the decrypted plaintext's SHA-256 equals the one the backup recorded.</summary>
    public bool PlaintextChecksumVerified { get; set; }
    /// <summary>pg_restore's exit code (null when it did not run).</summary>
    public int? RestoreExitCode { get; set; }
    /// <summary>pg_restore flags used.</summary>
    public string RestoreCommand { get; set; } = "";
    /// <summary>Parallel jobs used.</summary>
    public int Jobs { get; set; }
    /// <summary>Classified pg_restore messages.</summary>
    public List<HbRestoreMessage> Messages { get; set; } = new();
    /// <summary>Number of fatal messages.</summary>
    public int FatalCount => Messages.Count(m => m.Severity == HbMessageSeverity.Fatal);
    /// <summary>
    /// Facts that qualify what the test proves, e.g. that it restored into a newer PostgreSQL major than the artefact's
    /// server (allowed; pg_restore reads older archives, but the artefact's own major was not tested). Any note makes a
    /// pass <see cref="HbRestoreOutcome.PassedWithNotes"/>.
    /// </summary>
    public List<string> Notes { get; set; } = new();
    /// <summary>Number of non-fatal pg_restore messages.</summary>
    public int NoteCount => Messages.Count(m => m.Severity == HbMessageSeverity.NonFatal);
    /// <summary>Tables restored, over all schemas (ordinary and partitioned tables; partitions count through their parent, as in the row counts).</summary>
    public int TableCount { get; set; }
    /// <summary>Tables per schema.</summary>
    public List<HbSchemaTableCount> TablesPerSchema { get; set; } = new();
    /// <summary>Per-table comparison with the artefact's snapshot.</summary>
    public List<HbRowCountComparison> RowCounts { get; set; } = new();
    /// <summary>Status of the row-count check.</summary>
    public HbCheckStatus RowCountCheck { get; set; } = HbCheckStatus.NotRun;
    /// <summary>Tables whose counts differ.</summary>
    public int RowCountMismatches => RowCounts.Count(r => !r.Match);
    /// <summary>Assertion results.</summary>
    public List<HbAssertionResult> Assertions { get; set; } = new();
    /// <summary>Per-table content comparison with the fingerprints taken in the dump's snapshot.</summary>
    public List<HbContentComparison> Content { get; set; } = new();
    /// <summary>Status of the content check (NotRun when the artefact carries no fingerprints).</summary>
    public HbCheckStatus ContentCheck { get; set; } = HbCheckStatus.NotRun;
    /// <summary>Tables whose content differs (or that are missing).</summary>
    public int ContentDifferences => Content.Count(c => !c.Equal);
    /// <summary>The restored catalog compared with the one read in the dump's snapshot (null when not compared).</summary>
    public HbCatalogComparison? Catalog { get; set; }
    /// <summary>Status of the catalog check: Failed when a difference is unexpected (NotRun when the artefact carries no catalog).</summary>
    public HbCheckStatus CatalogCheck { get; set; } = HbCheckStatus.NotRun;
    /// <summary>pg_amcheck on the restored copy (-Amcheck; Status NotRun otherwise).</summary>
    public HbAmcheckResult Amcheck { get; set; } = new();
    /// <summary>Per-phase timings.</summary>
    public List<HbPhaseTiming> Phases { get; set; } = new();
    /// <summary>Teardown evidence (Status Skipped with -KeepSandbox).</summary>
    public HbSandboxRemoval? Teardown { get; set; }
    /// <summary>True when the sandbox was removed and verified gone.</summary>
    public bool TeardownVerified => Teardown?.Verified == true && Teardown.Status != HbRemovalStatus.Skipped;
    /// <summary>Start (UTC).</summary>
    public DateTime StartedUtc { get; set; }
    /// <summary>Where this result was recorded beside the artefact (&lt;dump&gt;.restore-&lt;UTC&gt;.yml), if it could be written.</summary>
    public string RecordPath { get; set; } = "";
    /// <summary>Total seconds.</summary>
    public double DurationSeconds { get; set; }
}
