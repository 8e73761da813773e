using System.Text.Json;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Model;

namespace HbOps.Engine.RowCounts;

/// <summary>Which tables to compare: wildcard patterns on <c>schema.table</c> or on the bare table name.</summary>
public sealed class TableFilter
{
    /// <summary>Include patterns (empty: all).</summary>
    public IReadOnlyList<string> Include { get; init; } = Array.Empty<string>();
    /// <summary>Exclude patterns.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = Array.Empty<string>();

    /// <summary>True when the table passes the filter.</summary>
    public bool Matches(string schema, string table)
    {
        bool Hit(string p) => SshConfig.Glob(p, schema + "." + table) || SshConfig.Glob(p, table);
        return (Include.Count == 0 || Include.Any(Hit)) && !Exclude.Any(Hit);
    }
}

/// <summary>One side of a comparison: a live database (production or sandbox) or a recorded snapshot.</summary>
public sealed class RowCountSide
{
    /// <summary>Where the counts come from.</summary>
    public RowCountSource Source { get; init; }
    /// <summary>Live database to count (Production, Sandbox).</summary>
    public ISqlEndpoint? Endpoint { get; init; }
    /// <summary>Recorded counts (ArtefactSnapshot).</summary>
    public HbRowCountSnapshot? Snapshot { get; init; }
}

/// <summary>Counts two sides (in parallel when both are live) and compares them per table.</summary>
public static class RowCountService
{
    /// <summary>Compares <paramref name="reference"/> with <paramref name="difference"/>.</summary>
    public static async Task<List<HbRowCountComparison>> CompareAsync(RowCountSide reference, RowCountSide difference,
        RowCountMode mode, TableFilter filter, double tolerance, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        ArgumentNullException.ThrowIfNull(filter);
        var left = CountSideAsync(reference, mode, filter, ct);
        var right = CountSideAsync(difference, mode, filter, ct);
        await Task.WhenAll(left, right).ConfigureAwait(false);
        return RowCounter.Compare(await left.ConfigureAwait(false), reference.Source, await right.ConfigureAwait(false), difference.Source, mode, tolerance);
    }

    private static async Task<HbRowCountSnapshot> CountSideAsync(RowCountSide side, RowCountMode mode, TableFilter filter, CancellationToken ct)
    {
        if (side.Snapshot is not null)
        {
            return new HbRowCountSnapshot
            {
                Mode = side.Snapshot.Mode, TakenAtUtc = side.Snapshot.TakenAtUtc, SnapshotId = side.Snapshot.SnapshotId,
                Tables = side.Snapshot.Tables.Where(t => filter.Matches(t.Schema, t.Table)).ToList(),
            };
        }
        var endpoint = side.Endpoint ?? throw new ArgumentException("A side needs an endpoint or a snapshot.", nameof(side));
        using var doc = await endpoint.JsonAsync(RowCounter.ListTablesQuery(), ct).ConfigureAwait(false);
        var names = doc.RootElement.EnumerateArray()
            .Select(e => (S: e.GetProperty("s").GetString()!, T: e.GetProperty("t").GetString()!))
            .Where(x => filter.Matches(x.S, x.T)).Select(x => x.S + "." + x.T).ToList();
        if (names.Count == 0) return new HbRowCountSnapshot { Mode = mode, TakenAtUtc = DateTime.UtcNow };
        return await RowCounter.CountAsync(endpoint, mode, names, ct).ConfigureAwait(false);
    }
}
