using HbOps.Engine.RowCounts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class RowCounterTests
{
    private static HbRowCountSnapshot Snap(RowCountMode mode, params (string S, string T, long? X, long? L)[] rows) => new()
    {
        Mode = mode,
        Tables = rows.Select(r => new HbTableRowCount { Schema = r.S, Table = r.T, ExactRows = r.X, LiveTuplesEstimate = r.L }).ToList(),
    };

    [Fact]
    public void Exact_comparison_requires_equality_and_reports_missing_tables()
    {
        var a = Snap(RowCountMode.Exact, ("public", "a", 10, 9), ("public", "b", 5, 5), ("app", "only_left", 1, 1));
        var b = Snap(RowCountMode.Exact, ("public", "a", 10, 10), ("public", "b", 4, 5), ("app", "only_right", 2, 2));
        var c = RowCounter.Compare(a, RowCountSource.ArtefactSnapshot, b, RowCountSource.Sandbox, RowCountMode.Exact);
        Assert.Equal(new[] { "app.only_left", "app.only_right", "public.a", "public.b" }, c.Select(x => x.QualifiedName));
        Assert.True(c.Single(x => x.Table == "a").Match);
        var bRow = c.Single(x => x.Table == "b");
        Assert.False(bRow.Match);
        Assert.Equal(-1, bRow.Delta);
        Assert.False(c.Single(x => x.Table == "only_left").Match);
        Assert.Null(c.Single(x => x.Table == "only_left").Difference);
        Assert.Null(c.Single(x => x.Table == "only_right").Delta);
    }

    [Fact]
    public void Estimated_comparison_uses_the_tolerance()
    {
        var a = Snap(RowCountMode.Estimated, ("public", "a", null, 1000), ("public", "b", null, 1000));
        var b = Snap(RowCountMode.Estimated, ("public", "a", null, 1080), ("public", "b", null, 1300));
        var c = RowCounter.Compare(a, RowCountSource.Production, b, RowCountSource.Sandbox, RowCountMode.Estimated, 0.1);
        Assert.True(c[0].Match);
        Assert.False(c[1].Match);
        Assert.Equal(0.1, c[0].Tolerance);
    }

    [Fact]
    public void Parse_reads_exact_and_estimated_values()
    {
        var rows = RowCounter.Parse("""[{"s":"public","t":"dot_tools","l":992,"x":992},{"s":"app","t":"x","l":null,"x":null}]""");
        Assert.Equal(992, rows[0].ExactRows);
        Assert.Equal(992, rows[0].LiveTuplesEstimate);
        Assert.Null(rows[1].ExactRows);
    }

    [Fact]
    public void Query_counts_only_ordinary_and_partitioned_tables_never_foreign_ones()
    {
        var sql = RowCounter.BuildQuery(RowCountMode.Exact, new[] { "public.it's" });
        Assert.Contains("c.relkind IN ('r','p')", sql);
        Assert.Contains("NOT c.relispartition", sql);
        Assert.Contains("'public.it''s'", sql);
        Assert.Contains("query_to_xml", sql);
        Assert.DoesNotContain("query_to_xml", RowCounter.BuildQuery(RowCountMode.Estimated));
    }

    [Theory]
    [InlineData("public", "dot_tools", true)]
    [InlineData("app", "orders", true)]
    [InlineData("audit", "events", false)]
    [InlineData("app", "orders_log", false)]
    public void Table_filter_applies_includes_then_excludes(string schema, string table, bool expected)
    {
        var f = new TableFilter { Include = new[] { "public.*", "app.*" }, Exclude = new[] { "*_log" } };
        Assert.Equal(expected, f.Matches(schema, table));
    }
}
