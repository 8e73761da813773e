using System.Runtime.Serialization;

namespace HbOps.Model;

/// <summary>Kinds of database objects a catalog snapshot records.</summary>
public enum HbCatalogObjectKind
{
    /// <summary>A schema.</summary>
    Schema,
    /// <summary>An ordinary, partitioned or foreign table (partitions included, by name).</summary>
    Table,
    /// <summary>A view.</summary>
    View,
    /// <summary>A materialized view (and whether it is populated).</summary>
    MaterializedView,
    /// <summary>A sequence and its last value.</summary>
    Sequence,
    /// <summary>A function, aggregate or window function (by identity signature).</summary>
    Function,
    /// <summary>A procedure.</summary>
    Procedure,
    /// <summary>A user trigger (<c>table.trigger</c>).</summary>
    Trigger,
    /// <summary>An index.</summary>
    Index,
    /// <summary>A table or domain constraint (<c>table.constraint</c>).</summary>
    Constraint,
    /// <summary>A user-defined type: domain, enum, range, composite or base type.</summary>
    Type,
    /// <summary>A row-level security policy (<c>table.policy</c>).</summary>
    Policy,
    /// <summary>An extension and its version.</summary>
    Extension,
    /// <summary>A foreign server.</summary>
    ForeignServer,
    /// <summary>A user mapping (<c>server for role</c>; its options are never recorded).</summary>
    UserMapping,
    /// <summary>An event trigger.</summary>
    EventTrigger,
    /// <summary>The number of large objects.</summary>
    LargeObjects,
    /// <summary>A database property (encoding, collation, character type).</summary>
    Database,
}

/// <summary>
/// One object in a catalog snapshot. <see cref="Detail"/> is what must match on the other side: a 16-hex-digit digest of
/// the object's definition as the server renders it, a sequence's last value, an extension's version.
/// </summary>
public sealed class HbCatalogObject
{
    /// <summary>Kind.</summary>
    public HbCatalogObjectKind Kind { get; set; }
    /// <summary>Schema (empty for database-wide objects).</summary>
    public string Schema { get; set; } = "";
    /// <summary>Name (<c>table.name</c> for triggers, constraints and policies; <c>name(args)</c> for functions).</summary>
    public string Name { get; set; } = "";
    /// <summary>Definition digest or value.</summary>
    public string Detail { get; set; } = "";
    /// <summary>Owning role, where the object has one.</summary>
    public string? Owner { get; set; }
    /// <summary>Explicit privileges (the ACL), null when the defaults apply.</summary>
    public string? Privileges { get; set; }
    /// <inheritdoc />
    public override string ToString() => $"{Kind} {(Schema.Length > 0 ? Schema + "." : "")}{Name}";
}

/// <summary>The objects of a database, read in one snapshot (with a backup: the dump's own).</summary>
public sealed class HbCatalogSnapshot
{
    /// <summary>When it was read (UTC).</summary>
    public DateTime TakenAtUtc { get; set; }
    /// <summary>The exported snapshot it was read in, if any.</summary>
    public string? SnapshotId { get; set; }
    /// <summary>server_version_num of the server it was read from.</summary>
    public int ServerVersionNum { get; set; }
    /// <summary>Objects, ordered by kind, schema and name (recorded as <see cref="Entries"/>).</summary>
    [IgnoreDataMember]
    public List<HbCatalogObject> Objects { get; set; } = new();
    /// <summary>
    /// The objects as recorded in a manifest, one line each: kind, schema, name, detail, owner and privileges separated by
    /// '|' (backslash escapes '|', '\' and line breaks; an empty owner or privileges field means none). One line instead of
    /// a six-key mapping per object keeps manifests small and quick to list. Setting it replaces <see cref="Objects"/>.
    /// </summary>
    public List<string> Entries
    {
        get => Objects.Select(o => CompactLine.Join(o.Kind.ToString(), o.Schema, o.Name, o.Detail, o.Owner ?? "", o.Privileges ?? "")).ToList();
        set => Objects = (value ?? new List<string>()).Select(line =>
        {
            var f = CompactLine.Split(line, 6);
            return new HbCatalogObject
            {
                Kind = Enum.Parse<HbCatalogObjectKind>(f[0]), Schema = f[1], Name = f[2], Detail = f[3],
                Owner = f[4].Length > 0 ? f[4] : null, Privileges = f[5].Length > 0 ? f[5] : null,
            };
        }).ToList();
    }
    /// <summary>Number of objects.</summary>
    public int ObjectCount => Objects.Count;
    /// <inheritdoc />
    public override string ToString() => $"{Objects.Count} catalog objects at {TakenAtUtc:u}";
}

/// <summary>What differs about an object between two catalog snapshots.</summary>
public enum HbCatalogChange
{
    /// <summary>On the reference side only.</summary>
    Missing,
    /// <summary>On the other side only.</summary>
    Extra,
    /// <summary>The definition (digest), value or version differs.</summary>
    Definition,
    /// <summary>The owner differs.</summary>
    Owner,
    /// <summary>The explicit privileges differ.</summary>
    Privileges,
}

/// <summary>Whether a catalog difference is explained by how HbOps restores.</summary>
public enum HbDifferenceClass
{
    /// <summary>Explained (e.g. owners and grants with --no-owner --no-privileges, a user mapping whose role the sandbox lacks).</summary>
    Expected,
    /// <summary>Not explained: the restored copy is not what production held.</summary>
    Unexpected,
}

/// <summary>One difference between two catalogs, classified.</summary>
public sealed class HbCatalogDifference
{
    /// <summary>Object kind.</summary>
    public HbCatalogObjectKind Kind { get; set; }
    /// <summary>Schema (empty for database-wide objects).</summary>
    public string Schema { get; set; } = "";
    /// <summary>Object name.</summary>
    public string Name { get; set; } = "";
    /// <summary>What differs.</summary>
    public HbCatalogChange Change { get; set; }
    /// <summary>The reference side's value (detail, owner or privileges; empty when missing there).</summary>
    public string Reference { get; set; } = "";
    /// <summary>The other side's value.</summary>
    public string Difference { get; set; } = "";
    /// <summary>Expected or Unexpected.</summary>
    public HbDifferenceClass Classification { get; set; }
    /// <summary>Why it is classified so.</summary>
    public string Reason { get; set; } = "";
    /// <summary>Qualified name.</summary>
    public string QualifiedName => Schema.Length > 0 ? Schema + "." + Name : Name;
    /// <inheritdoc />
    public override string ToString() => $"{Classification} {Change} {Kind} {QualifiedName}";
}

/// <summary>Number of objects of one kind in one schema on both sides.</summary>
public sealed class HbCatalogCount
{
    /// <summary>Schema (empty for database-wide objects).</summary>
    public string Schema { get; set; } = "";
    /// <summary>Object kind.</summary>
    public HbCatalogObjectKind Kind { get; set; }
    /// <summary>Objects on the reference side.</summary>
    public int Reference { get; set; }
    /// <summary>Objects on the other side.</summary>
    public int Difference { get; set; }
    /// <summary>True when both sides have as many.</summary>
    public bool Match => Reference == Difference;
}

/// <summary>A catalog comparison: per-schema counts and every difference, classified.</summary>
public sealed class HbCatalogComparison
{
    /// <summary>Where the reference catalog came from.</summary>
    public RowCountSource ReferenceSource { get; set; }
    /// <summary>Where the other catalog came from.</summary>
    public RowCountSource DifferenceSource { get; set; }
    /// <summary>Objects on the reference side.</summary>
    public int ReferenceObjects { get; set; }
    /// <summary>Objects on the other side.</summary>
    public int DifferenceObjects { get; set; }
    /// <summary>Counts per schema and kind.</summary>
    public List<HbCatalogCount> Counts { get; set; } = new();
    /// <summary>Every difference, classified.</summary>
    public List<HbCatalogDifference> Differences { get; set; } = new();
    /// <summary>Differences explained by how HbOps restores.</summary>
    public int ExpectedCount => Differences.Count(d => d.Classification == HbDifferenceClass.Expected);
    /// <summary>Differences nothing explains.</summary>
    public int UnexpectedCount => Differences.Count(d => d.Classification == HbDifferenceClass.Unexpected);
    /// <inheritdoc />
    public override string ToString() =>
        $"{ReferenceObjects} vs {DifferenceObjects} objects; {UnexpectedCount} unexpected, {ExpectedCount} expected difference(s)";
}
