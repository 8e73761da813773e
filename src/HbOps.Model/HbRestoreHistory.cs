namespace HbOps.Model;

/// <summary>One past restore test, read from the record Test-HbRestore wrote beside its artefact.</summary>
public sealed class HbRestoreHistoryEntry
{
    /// <summary>What was backed up: <c>host/container/database</c>.</summary>
    public string Target { get; set; } = "";
    /// <summary>The production container backed up.</summary>
    public string Container { get; set; } = "";
    /// <summary>The database backed up.</summary>
    public string Database { get; set; } = "";
    /// <summary>When the restore test started (UTC).</summary>
    public DateTime StartedUtc { get; set; }
    /// <summary>Its verdict.</summary>
    public HbRestoreOutcome Result { get; set; }
    /// <summary>Total seconds of the restore test (checksum to teardown).</summary>
    public double DurationSeconds { get; set; }
    /// <summary>Seconds of pg_restore alone (the Restore phase; null when it did not run).</summary>
    public double? RestoreSeconds { get; set; }
    /// <summary>Dump size in bytes.</summary>
    public long SizeBytes { get; set; }
    /// <summary>Dump size in MiB.</summary>
    public double SizeMiB => Math.Round(SizeBytes / 1048576.0, 2);
    /// <summary>Tables restored.</summary>
    public int TableCount { get; set; }
    /// <summary>Rows counted in the sandbox over all compared tables (null when none were counted).</summary>
    public long? Rows { get; set; }
    /// <summary>Change of <see cref="DurationSeconds"/> from the target's previous restore test, in percent (null for the first).</summary>
    public double? DurationChangePercent { get; set; }
    /// <summary>The dump restored.</summary>
    public string ArtefactPath { get; set; } = "";
    /// <summary>The record read.</summary>
    public string RecordPath { get; set; } = "";
    /// <inheritdoc />
    public override string ToString() => $"{Target} {StartedUtc:u} {Result} {DurationSeconds}s";
}

/// <summary>The trend of one target's restore tests: how duration, size and tables moved from the first to the latest.</summary>
public sealed class HbRestoreTrend
{
    /// <summary>What was backed up: <c>host/container/database</c>.</summary>
    public string Target { get; set; } = "";
    /// <summary>Restore tests found.</summary>
    public int Tests { get; set; }
    /// <summary>Of which failed.</summary>
    public int Failed { get; set; }
    /// <summary>The first test's start (UTC).</summary>
    public DateTime FirstUtc { get; set; }
    /// <summary>The latest test's start (UTC).</summary>
    public DateTime LatestUtc { get; set; }
    /// <summary>The first test's total seconds.</summary>
    public double FirstSeconds { get; set; }
    /// <summary>The latest test's total seconds.</summary>
    public double LatestSeconds { get; set; }
    /// <summary>The median of all tests' total seconds.</summary>
    public double MedianSeconds { get; set; }
    /// <summary>The longest test's total seconds.</summary>
    public double MaxSeconds { get; set; }
    /// <summary>Least-squares slope of total seconds over time, in seconds per day (null with fewer than two tests on different times).</summary>
    public double? SecondsPerDay { get; set; }
    /// <summary>Latest against first total seconds, in percent.</summary>
    public double? DurationChangePercent { get; set; }
    /// <summary>The first test's dump size in MiB.</summary>
    public double FirstSizeMiB { get; set; }
    /// <summary>The latest test's dump size in MiB.</summary>
    public double LatestSizeMiB { get; set; }
    /// <summary>Latest against first dump size, in percent.</summary>
    public double? SizeChangePercent { get; set; }
    /// <summary>The first test's table count.</summary>
    public int FirstTables { get; set; }
    /// <summary>The latest test's table count.</summary>
    public int LatestTables { get; set; }
    /// <inheritdoc />
    public override string ToString() => $"{Target}: {Tests} tests, {FirstSeconds}s -> {LatestSeconds}s";
}
