namespace HbOps.Model;

/// <summary>One corruption pg_amcheck reported (or a failure of pg_amcheck itself, with an empty relation).</summary>
public sealed class HbAmcheckFailure
{
    /// <summary>What was checked: <c>heap table</c>, <c>btree index</c>, or empty for pg_amcheck's own error.</summary>
    public string RelationKind { get; set; } = "";
    /// <summary>The relation as pg_amcheck names it (<c>database.schema.name</c>).</summary>
    public string Relation { get; set; } = "";
    /// <summary>Where in the relation (e.g. <c>block 3, offset 7</c>), if given.</summary>
    public string Location { get; set; } = "";
    /// <summary>pg_amcheck's message (redacted).</summary>
    public string Message { get; set; } = "";
    /// <inheritdoc />
    public override string ToString() => $"{RelationKind} {Relation}{(Location.Length > 0 ? ", " + Location : "")}: {Message}";
}

/// <summary>The outcome of pg_amcheck on the restored copy.</summary>
public sealed class HbAmcheckResult
{
    /// <summary>Passed (nothing found), Failed (corruption found, or pg_amcheck could not run as asked), NotRun.</summary>
    public HbCheckStatus Status { get; set; } = HbCheckStatus.NotRun;
    /// <summary>The pg_amcheck command as run in the sandbox.</summary>
    public string Command { get; set; } = "";
    /// <summary>pg_amcheck's exit code (null when it did not run).</summary>
    public int? ExitCode { get; set; }
    /// <summary>True when every heap tuple was also looked up in every btree index (--heapallindexed).</summary>
    public bool HeapAllIndexed { get; set; }
    /// <summary>Relations checked (heap tables and btree indexes, from pg_amcheck's own count).</summary>
    public int RelationsChecked { get; set; }
    /// <summary>Pages checked (from pg_amcheck's own count).</summary>
    public long PagesChecked { get; set; }
    /// <summary>What was found.</summary>
    public List<HbAmcheckFailure> Failures { get; set; } = new();
    /// <summary>Seconds pg_amcheck ran.</summary>
    public double Seconds { get; set; }
    /// <summary>A sentence saying what happened.</summary>
    public string Message { get; set; } = "";
    /// <inheritdoc />
    public override string ToString() => $"{Status}: {Message}";
}
