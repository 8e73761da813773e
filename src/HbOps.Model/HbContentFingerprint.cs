using System.Globalization;
using System.Runtime.Serialization;
using System.Security.Cryptography;
using System.Text;

namespace HbOps.Model;

/// <summary>Which tables get a content fingerprint in the dump's snapshot.</summary>
public enum HbFingerprintMode
{
    /// <summary>Every ordinary and partitioned table (partitions through their parent; never foreign tables).</summary>
    All,
    /// <summary>Only the backup's key tables (<c>-KeyTables</c>).</summary>
    KeyTables,
    /// <summary>No fingerprints.</summary>
    None,
}

/// <summary>How one table's content compares between two sides.</summary>
public enum HbContentStatus
{
    /// <summary>Same number of rows and the same fingerprint: the same multiset of rows (as text).</summary>
    Equal,
    /// <summary>The rows differ (a value, a row too many or too few).</summary>
    Different,
    /// <summary>The table exists on one side only.</summary>
    Missing,
}

/// <summary>
/// An order-independent fingerprint of one table's rows: the row count and two sums, over all rows, of a 64-bit hash of
/// the row's text form (<c>t::text</c>) with two different seeds. Sums (not XOR) so duplicate rows count; no sort needed.
/// </summary>
public sealed class HbTableFingerprint
{
    /// <summary>Schema.</summary>
    public string Schema { get; set; } = "";
    /// <summary>Table.</summary>
    public string Table { get; set; } = "";
    /// <summary>Rows fingerprinted (an exact count in the same snapshot).</summary>
    public long Rows { get; set; }
    /// <summary>Sum of the first 64-bit row hash (a decimal integer, may exceed 64 bits).</summary>
    public string Sum0 { get; set; } = "0";
    /// <summary>Sum of the second 64-bit row hash.</summary>
    public string Sum1 { get; set; } = "0";
    /// <summary>Qualified name <c>schema.table</c>.</summary>
    public string QualifiedName => Schema + "." + Table;
    /// <summary>A short display form of rows and sums (16 hex digits of their SHA-256); equal fingerprints have equal digests.</summary>
    public string Digest => DigestOf(Rows, Sum0, Sum1);

    /// <summary>True when <paramref name="other"/> has the same rows and sums.</summary>
    public bool SameContentAs(HbTableFingerprint other) =>
        other is not null && Rows == other.Rows && Sum0 == other.Sum0 && Sum1 == other.Sum1;

    /// <summary>The digest of a fingerprint's parts.</summary>
    public static string DigestOf(long rows, string sum0, string sum1) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            rows.ToString(CultureInfo.InvariantCulture) + ":" + sum0 + ":" + sum1)))[..16].ToLowerInvariant();

    /// <inheritdoc />
    public override string ToString() => $"{QualifiedName} {Rows} rows {Digest}";
}

/// <summary>Content fingerprints of a database's tables, taken in one snapshot (with a backup: the dump's own).</summary>
public sealed class HbContentFingerprintSnapshot
{
    /// <summary>All or KeyTables.</summary>
    public HbFingerprintMode Mode { get; set; }
    /// <summary>How rows were hashed (the restore recomputes with the same algorithm), e.g. <c>sum-hashtextextended-v1</c>.</summary>
    public string Algorithm { get; set; } = "";
    /// <summary>Session settings pinned while hashing, so every type's text form is the same on both sides.</summary>
    public List<string> Settings { get; set; } = new();
    /// <summary>When they were taken (UTC).</summary>
    public DateTime TakenAtUtc { get; set; }
    /// <summary>The exported snapshot they were read in (the one pg_dump read), if any.</summary>
    public string? SnapshotId { get; set; }
    /// <summary>Seconds the fingerprinting query took (with a backup it runs beside pg_dump).</summary>
    public double Seconds { get; set; }
    /// <summary>Per-table fingerprints, ordered by schema and table (recorded as <see cref="Entries"/>).</summary>
    [IgnoreDataMember]
    public List<HbTableFingerprint> Tables { get; set; } = new();
    /// <summary>
    /// The fingerprints as recorded in a manifest, one line per table: schema, table, rows and the two sums separated by
    /// '|' (backslash escapes '|', '\' and line breaks). Setting it replaces <see cref="Tables"/>.
    /// </summary>
    public List<string> Entries
    {
        get => Tables.Select(t => CompactLine.Join(t.Schema, t.Table, t.Rows.ToString(CultureInfo.InvariantCulture), t.Sum0, t.Sum1)).ToList();
        set => Tables = (value ?? new List<string>()).Select(line =>
        {
            var f = CompactLine.Split(line, 5);
            return new HbTableFingerprint { Schema = f[0], Table = f[1], Rows = long.Parse(f[2], CultureInfo.InvariantCulture), Sum0 = f[3], Sum1 = f[4] };
        }).ToList();
    }
    /// <summary>Number of tables.</summary>
    public int TableCount => Tables.Count;
    /// <summary>Rows over all fingerprinted tables.</summary>
    public long Rows => Tables.Sum(t => t.Rows);
    /// <inheritdoc />
    public override string ToString() => $"{Mode} fingerprints of {Tables.Count} tables ({Algorithm}) at {TakenAtUtc:u}";
}

/// <summary>Per-table content comparison of two sides (e.g. the artefact's snapshot and the restored sandbox).</summary>
public sealed class HbContentComparison
{
    /// <summary>Schema.</summary>
    public string Schema { get; set; } = "";
    /// <summary>Table.</summary>
    public string Table { get; set; } = "";
    /// <summary>Equal, Different or Missing.</summary>
    public HbContentStatus Status { get; set; }
    /// <summary>Rows on the reference side (null: table missing there).</summary>
    public long? ReferenceRows { get; set; }
    /// <summary>Rows on the other side (null: table missing there).</summary>
    public long? DifferenceRows { get; set; }
    /// <summary>Fingerprint digest on the reference side.</summary>
    public string ReferenceDigest { get; set; } = "";
    /// <summary>Fingerprint digest on the other side.</summary>
    public string DifferenceDigest { get; set; } = "";
    /// <summary>Where the reference fingerprints came from.</summary>
    public RowCountSource ReferenceSource { get; set; }
    /// <summary>Where the other fingerprints came from.</summary>
    public RowCountSource DifferenceSource { get; set; }
    /// <summary>The fingerprint algorithm both sides used.</summary>
    public string Algorithm { get; set; } = "";
    /// <summary>True when the content is equal.</summary>
    public bool Equal => Status == HbContentStatus.Equal;
    /// <summary>Qualified name.</summary>
    public string QualifiedName => Schema + "." + Table;
    /// <inheritdoc />
    public override string ToString() => $"{QualifiedName} {Status}";
}
