using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>
/// Order-independent content fingerprints: for each table (ordinary or partitioned, partitions through their parent,
/// never foreign tables) the row count and two sums, over all rows, of a 64-bit hash of the row's text form
/// <c>t::text</c>. A sum is commutative (no ORDER BY, no sort, no memory per row) and, unlike XOR, counts duplicate rows;
/// the two hashes use different seeds, so a changed row changes both sums with overwhelming probability. Every table is
/// read by one read-only statement in the caller's transaction, with <see cref="TextFormSettings"/> pinned.
/// </summary>
public static class ContentFingerprint
{
    /// <summary>
    /// Rows hashed with <c>hashtextextended(row text, seed 0 and 1)</c> (PostgreSQL 11 and later): about as fast as
    /// producing the text itself (measured here: ~5 s for 3 million pgbench rows, md5 with hex parsing ~25 s).
    /// The hash is PostgreSQL's own (the one hash partitioning relies on, so stable across majors); it is computed over
    /// the text's bytes (collation C), the same on any machine of the same byte order.
    /// </summary>
    public const string HashTextAlgorithm = "sum-hashtextextended-v1";

    /// <summary>Rows hashed with md5, its two 64-bit halves summed (servers before 11, which lack hashtextextended).</summary>
    public const string Md5Algorithm = "sum-md5-v1";

    /// <summary>The algorithm for a server of <paramref name="serverMajor"/>.</summary>
    public static string AlgorithmFor(int serverMajor) => serverMajor >= 11 ? HashTextAlgorithm : Md5Algorithm;

    // One table's fingerprint as "rows:sum0:sum1" (format() fills in the quoted schema and table, then the optional
    // block-range condition). OFFSET 0 keeps the row's text computed once for both hashes.
    private static string PerTableQuery(string algorithm) => algorithm switch
    {
        HashTextAlgorithm =>
            "SELECT count(*) || ':' || coalesce(sum(hashtextextended(r, 0)), 0) || ':' || coalesce(sum(hashtextextended(r, 1)), 0) AS f " +
            "FROM (SELECT t::text COLLATE \"C\" AS r FROM %I.%I t%s OFFSET 0) s",
        Md5Algorithm =>
            "SELECT count(*) || ':' || coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0) || ':' || " +
            "coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0) AS f FROM (SELECT md5(t::text) AS h FROM %I.%I t%s OFFSET 0) s",
        _ => throw HbOpsException.Invalid($"Unknown fingerprint algorithm '{algorithm}'.", algorithm),
    };

    /// <summary>
    /// SQL (one statement, no terminator) returning a JSON array of {s, t, f}: schema, table and "rows:sum0:sum1" for every
    /// countable table, or only <paramref name="onlyTables"/> (schema.table). Run it inside a transaction with
    /// <see cref="TextFormSettings.SetLocalSql"/> applied. With <paramref name="part"/> (index, count) only the rows in
    /// that share of each table's blocks are read (by ctid range, PostgreSQL 14 and later, whose TID range scans read
    /// only those blocks; partitions and children each by the same block numbers, the last share open-ended): the
    /// shares' rows and sums add up to the whole table's.
    /// </summary>
    public static string BuildSelect(string algorithm, IReadOnlyCollection<string>? onlyTables = null, (int Index, int Count)? part = null)
    {
        var perTable = PgEndpoint.Literal(PerTableQuery(algorithm));
        var only = onlyTables is { Count: > 0 }
            ? " AND (n.nspname || '.' || c.relname) IN (" + string.Join(",", onlyTables.Select(PgEndpoint.Literal)) + ")"
            : "";
        var range = "''";
        if (part is { } p)
        {
            // The table's largest member (itself or a partition) in blocks, split into Count contiguous shares.
            const string blocks = "(SELECT coalesce(max(pg_relation_size(x.relid) / current_setting('block_size')::bigint), 0) FROM pg_partition_tree(c.oid) x)";
            var lo = $"'(' || ({blocks} * {p.Index} / {p.Count}) || ',0)'";
            var hi = $"'(' || ({blocks} * {p.Index + 1} / {p.Count}) || ',0)'";
            range = p.Index == p.Count - 1
                ? $"format(' WHERE t.ctid >= %L::tid', {lo})"
                : $"format(' WHERE t.ctid >= %L::tid AND t.ctid < %L::tid', {lo}, {hi})";
        }
        return "SELECT coalesce(json_agg(json_build_object('s', n.nspname, 't', c.relname, 'f', " +
               "(xpath('/row/f/text()', query_to_xml(format(" + perTable + ", n.nspname, c.relname, " + range + "), false, true, '')))[1]::text" +
               ") ORDER BY n.nspname, c.relname), '[]'::json) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE " +
               RowCounter.TableFilter + only;
    }

    /// <summary>Parses the JSON produced by <see cref="BuildSelect"/>.</summary>
    public static List<HbTableFingerprint> Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e =>
        {
            var parts = (e.GetProperty("f").GetString() ?? "").Split(':');
            if (parts.Length != 3 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var rows))
            {
                throw new HbOpsException(HbErrorIds.QueryFailed, HbErrorCategory.InvalidData,
                    $"Unexpected fingerprint '{e.GetProperty("f").GetString()}' for {e.GetProperty("s").GetString()}.{e.GetProperty("t").GetString()}.", null);
            }
            return new HbTableFingerprint
            {
                Schema = e.GetProperty("s").GetString()!, Table = e.GetProperty("t").GetString()!, Rows = rows, Sum0 = parts[1], Sum1 = parts[2],
            };
        }).ToList();
    }

    /// <summary>
    /// Fingerprints <paramref name="tables"/> (schema.table; empty: every countable table) of a live database in its own
    /// read-only repeatable-read transaction with the text forms pinned. With <paramref name="parallel"/> above 1 (for a
    /// database nothing else writes, such as a restored sandbox on PostgreSQL 14 or later), that many sessions each read
    /// a share of every table's blocks at once and their rows and sums are added up.
    /// </summary>
    public static async Task<HbContentFingerprintSnapshot> ComputeAsync(ISqlEndpoint endpoint, HbFingerprintMode mode, string algorithm,
        IReadOnlyCollection<string> tables, CancellationToken ct, int parallel = 1)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var taken = DateTime.UtcNow;
        var sw = Stopwatch.StartNew();
        string Statement((int, int)? part) => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" + TextFormSettings.SetLocalSql +
            BuildSelect(algorithm, tables, part) + ";\nCOMMIT;";
        List<HbTableFingerprint> result;
        if (parallel <= 1)
        {
            result = Parse(await endpoint.ScalarAsync(Statement(null), ct).ConfigureAwait(false));
        }
        else
        {
            var shares = await Task.WhenAll(Enumerable.Range(0, parallel)
                .Select(i => endpoint.ScalarAsync(Statement((i, parallel)), ct))).ConfigureAwait(false);
            result = Add(shares.Select(Parse));
        }
        return new HbContentFingerprintSnapshot
        {
            Mode = mode, Algorithm = algorithm, Settings = TextFormSettings.All.ToList(), TakenAtUtc = taken,
            Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3), Tables = result,
        };
    }

    /// <summary>Adds up fingerprints of disjoint shares of the same tables (rows and both sums; sums are exact integers).</summary>
    public static List<HbTableFingerprint> Add(IEnumerable<List<HbTableFingerprint>> shares)
    {
        ArgumentNullException.ThrowIfNull(shares);
        var total = new SortedDictionary<string, (string Schema, string Table, long Rows, BigInteger Sum0, BigInteger Sum1)>(StringComparer.Ordinal);
        foreach (var t in shares.SelectMany(s => s))
        {
            var key = t.Schema + "\u0001" + t.Table;
            total.TryGetValue(key, out var x);
            total[key] = (t.Schema, t.Table, x.Rows + t.Rows, x.Sum0 + BigInteger.Parse(t.Sum0, CultureInfo.InvariantCulture),
                x.Sum1 + BigInteger.Parse(t.Sum1, CultureInfo.InvariantCulture));
        }
        return total.Values.Select(x => new HbTableFingerprint
        {
            Schema = x.Schema, Table = x.Table, Rows = x.Rows,
            Sum0 = x.Sum0.ToString(CultureInfo.InvariantCulture), Sum1 = x.Sum1.ToString(CultureInfo.InvariantCulture),
        }).ToList();
    }

    /// <summary>Compares two sides table by table (union of both table sets, ordered by name).</summary>
    public static List<HbContentComparison> Compare(HbContentFingerprintSnapshot reference, RowCountSource referenceSource,
        HbContentFingerprintSnapshot difference, RowCountSource differenceSource)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(difference);
        var left = reference.Tables.ToDictionary(t => t.QualifiedName, StringComparer.Ordinal);
        var right = difference.Tables.ToDictionary(t => t.QualifiedName, StringComparer.Ordinal);
        return left.Keys.Union(right.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(name =>
        {
            left.TryGetValue(name, out var l);
            right.TryGetValue(name, out var r);
            var any = l ?? r!;
            return new HbContentComparison
            {
                Schema = any.Schema, Table = any.Table,
                Status = l is null || r is null ? HbContentStatus.Missing : l.SameContentAs(r) ? HbContentStatus.Equal : HbContentStatus.Different,
                ReferenceRows = l?.Rows, DifferenceRows = r?.Rows, ReferenceDigest = l?.Digest ?? "", DifferenceDigest = r?.Digest ?? "",
                ReferenceSource = referenceSource, DifferenceSource = differenceSource, Algorithm = reference.Algorithm,
            };
        }).ToList();
    }

    /// <summary>A sentence naming the first tables that are not equal.</summary>
    public static string DescribeDifferences(IEnumerable<HbContentComparison> comparisons, int max = 5)
    {
        var bad = comparisons.Where(c => !c.Equal).ToList();
        return string.Join(", ", bad.Take(max).Select(c => c.Status == HbContentStatus.Missing
            ? $"{c.QualifiedName} (missing on the {(c.ReferenceRows is null ? c.ReferenceSource : c.DifferenceSource)} side)"
            : $"{c.QualifiedName} (rows {c.ReferenceRows} -> {c.DifferenceRows}, fingerprint {c.ReferenceDigest} -> {c.DifferenceDigest})"))
            + (bad.Count > max ? $" and {bad.Count - max} more" : "");
    }
}
