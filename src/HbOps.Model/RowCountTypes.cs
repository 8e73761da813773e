namespace HbOps.Model;

/// <summary>How rows are counted.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum RowCountMode
{
    /// <summary><c>count(*)</c> of every table (in one snapshot when taken with a backup).</summary>
    Exact,
    /// <summary>Planner/statistics estimates (<c>reltuples</c>, <c>n_live_tup</c>); cheap, approximate.</summary>
    Estimated,
    /// <summary>No counts.</summary>
    None,
}

/// <summary>Rows of one table.</summary>
public sealed class HbTableRowCount
{
    /// <summary>Schema.</summary>
    public string Schema { get; set; } = "";
    /// <summary>Table.</summary>
    public string Table { get; set; } = "";
    /// <summary>Exact <c>count(*)</c>, when counted.</summary>
    public long? ExactRows { get; set; }
    /// <summary><c>pg_stat_user_tables.n_live_tup</c> estimate.</summary>
    public long? LiveTuplesEstimate { get; set; }
    /// <summary>Qualified name <c>schema.table</c>.</summary>
    public string QualifiedName => Schema + "." + Table;
    /// <summary>The exact count if there is one, else the estimate.</summary>
    public long? Rows(RowCountMode mode) => mode == RowCountMode.Exact ? ExactRows : LiveTuplesEstimate;
}

/// <summary>Row counts of a database at one moment; with a backup, taken in the dump's own snapshot.</summary>
public sealed class HbRowCountSnapshot
{
    /// <summary>Exact or Estimated.</summary>
    public RowCountMode Mode { get; set; }
    /// <summary>When the counts were taken (UTC).</summary>
    public DateTime TakenAtUtc { get; set; }
    /// <summary>The exported snapshot id the counts (and the dump) were read in, if any.</summary>
    public string? SnapshotId { get; set; }
    /// <summary>Per-table counts, ordered by schema and table.</summary>
    public List<HbTableRowCount> Tables { get; set; } = new();
    /// <summary>Number of tables.</summary>
    public int TableCount => Tables.Count;
    /// <inheritdoc />
    public override string ToString() => $"{Mode} counts of {Tables.Count} tables at {TakenAtUtc:u}";
}

/// <summary>Where one side of a row-count comparison came from.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum RowCountSource
{
    /// <summary>Counted live on the production database (read-only).</summary>
    Production,
    /// <summary>Counted in a restore sandbox.</summary>
    Sandbox,
    /// <summary>The snapshot recorded on a backup artefact.</summary>
    ArtefactSnapshot,
}

/// <summary>Per-table comparison of two sides.</summary>
public sealed class HbRowCountComparison
{
    /// <summary>Schema.</summary>
    public string Schema { get; set; } = "";
    /// <summary>Table.</summary>
    public string Table { get; set; } = "";
    /// <summary>Rows on the reference side (null: table missing there).</summary>
    public long? Reference { get; set; }
    /// <summary>Rows on the other side (null: table missing there).</summary>
    public long? Difference { get; set; }
    /// <summary>Difference minus Reference (null when a side is missing).</summary>
    public long? Delta => Reference is null || Difference is null ? null : Difference - Reference;
    /// <summary>True when both sides exist and agree (exact) or are within tolerance (estimated).</summary>
    public bool Match { get; set; }
    /// <summary>Exact or Estimated.</summary>
    public RowCountMode Mode { get; set; }
    /// <summary>Where the reference counts came from.</summary>
    public RowCountSource ReferenceSource { get; set; }
    /// <summary>Where the other counts came from.</summary>
    public RowCountSource DifferenceSource { get; set; }
    /// <summary>Relative tolerance used for estimated comparisons (0 for exact).</summary>
    public double Tolerance { get; set; }
    /// <summary>Qualified name.</summary>
    public string QualifiedName => Schema + "." + Table;
}
