using System.Text.Json;
using HbOps.Engine.Postgres;
using HbOps.Model;

namespace HbOps.Engine.RowCounts;

/// <summary>
/// Counts rows per table. Only ordinary and partitioned tables are counted (never foreign tables,
/// which would reach another server); partitions are counted through their parent.
/// </summary>
internal static class RowCounter
{
    internal const string TableFilter =
        "c.relkind IN ('r','p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog','information_schema') " +
        "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

    /// <summary>
    /// SQL returning a JSON array of {s, t, l, x}: schema, table, n_live_tup and (for exact mode) count(*).
    /// Exact counts use query_to_xml so one read-only statement counts every table in the current snapshot.
    /// </summary>
    public static string BuildQuery(RowCountMode mode, IReadOnlyCollection<string>? onlyTables = null) =>
        BuildSelect(mode, onlyTables) + ";";

    /// <summary>The statement of <see cref="BuildQuery"/> without its terminator, usable as a scalar subquery.</summary>
    public static string BuildSelect(RowCountMode mode, IReadOnlyCollection<string>? onlyTables = null)
    {
        var exact = mode == RowCountMode.Exact
            ? "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint"
            : "NULL::bigint";
        var only = onlyTables is { Count: > 0 }
            ? " AND (n.nspname || '.' || c.relname) IN (" + string.Join(",", onlyTables.Select(PgEndpoint.Literal)) + ")"
            : "";
        return "SELECT coalesce(json_agg(json_build_object('s', n.nspname, 't', c.relname, 'l', s.n_live_tup, 'x', " + exact +
               ") ORDER BY n.nspname, c.relname), '[]'::json) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
               "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE " + TableFilter + only;
    }

    /// <summary>
    /// A JSON array (SQL expression) of the names in <paramref name="tables"/> (schema.table) that are no countable table
    /// of the current database; '[]' when all exist or none are given.
    /// </summary>
    public static string MissingTablesSelect(IReadOnlyCollection<string> tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        if (tables.Count == 0) return "'[]'::json";
        return "(SELECT coalesce(json_agg(k ORDER BY k), '[]'::json) FROM unnest(ARRAY[" + string.Join(",", tables.Select(PgEndpoint.Literal)) + "]::text[]) k " +
               "WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + TableFilter +
               " AND n.nspname || '.' || c.relname = k))";
    }

    /// <summary>SQL listing every countable table as JSON [{s,t}].</summary>
    public static string ListTablesQuery() =>
        "SELECT coalesce(json_agg(json_build_object('s', n.nspname, 't', c.relname) ORDER BY n.nspname, c.relname), '[]'::json) " +
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " + TableFilter + ";";

    /// <summary>Parses the JSON produced by <see cref="BuildQuery"/>.</summary>
    public static List<HbTableRowCount> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => new HbTableRowCount
        {
            Schema = e.GetProperty("s").GetString()!,
            Table = e.GetProperty("t").GetString()!,
            LiveTuplesEstimate = e.GetProperty("l").ValueKind == JsonValueKind.Number ? e.GetProperty("l").GetInt64() : null,
            ExactRows = e.GetProperty("x").ValueKind == JsonValueKind.Number ? e.GetProperty("x").GetInt64() : null,
        }).ToList();
    }

    /// <summary>Counts rows of a database now (its own read-only transaction).</summary>
    public static async Task<HbRowCountSnapshot> CountAsync(ISqlEndpoint endpoint, RowCountMode mode,
        IReadOnlyCollection<string>? onlyTables, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var taken = DateTime.UtcNow;
        var sql = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" + BuildQuery(mode, onlyTables) + "\nCOMMIT;";
        var json = await endpoint.ScalarAsync(sql, ct).ConfigureAwait(false);
        return new HbRowCountSnapshot { Mode = mode, TakenAtUtc = taken, Tables = Parse(json) };
    }

    /// <summary>
    /// Compares two sides table by table (union of both table sets, ordered). Exact mode requires
    /// equality; estimated mode accepts a relative difference up to <paramref name="tolerance"/>.
    /// </summary>
    public static List<HbRowCountComparison> Compare(HbRowCountSnapshot reference, RowCountSource referenceSource,
        HbRowCountSnapshot difference, RowCountSource differenceSource, RowCountMode mode, double tolerance = 0.1)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        var left = reference.Tables.ToDictionary(t => t.QualifiedName, StringComparer.Ordinal);
        var right = difference.Tables.ToDictionary(t => t.QualifiedName, StringComparer.Ordinal);
        var names = left.Keys.Union(right.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var result = new List<HbRowCountComparison>();
        foreach (var name in names)
        {
            left.TryGetValue(name, out var l);
            right.TryGetValue(name, out var r);
            var refRows = l?.Rows(mode);
            var difRows = r?.Rows(mode);
            bool match = refRows is not null && difRows is not null && (mode == RowCountMode.Exact
                ? refRows == difRows
                : Math.Abs(difRows.Value - refRows.Value) <= Math.Max(1.0, tolerance * Math.Max(refRows.Value, difRows.Value)));
            var any = l ?? r!;
            result.Add(new HbRowCountComparison
            {
                Schema = any.Schema, Table = any.Table, Reference = refRows, Difference = difRows, Match = match, Mode = mode,
                ReferenceSource = referenceSource, DifferenceSource = differenceSource,
                Tolerance = mode == RowCountMode.Exact ? 0 : tolerance,
            });
        }
        return result;
    }
}
