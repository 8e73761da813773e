namespace HbOps.Engine.Proof;

/// <summary>
/// The session settings pinned (SET LOCAL, inside the reading transaction) whenever HbOps reads a row's or an object's
/// text form on one side to compare it with the other side. Each changes how some type prints: timestamptz with
/// TimeZone, dates with DateStyle, intervals with IntervalStyle, floats with extra_float_digits (3: exact, the same text
/// on every major since 12), bytea with bytea_output, money with lc_monetary, regclass and friends (and
/// pg_get_*def output) with search_path. row_security off makes a table that row-level security would filter for the
/// reading role an error instead of a silently smaller result, as pg_dump does.
/// </summary>
internal static class TextFormSettings
{
    /// <summary>The settings as <c>name=value</c>, recorded beside fingerprints.</summary>
    public static IReadOnlyList<string> All { get; } = new[]
    {
        "TimeZone=UTC", "DateStyle=ISO, MDY", "IntervalStyle=postgres", "extra_float_digits=3", "bytea_output=hex",
        "lc_monetary=C", "search_path=pg_catalog", "row_security=off",
    };

    /// <summary>SET LOCAL statements for <see cref="All"/> (must run inside a transaction).</summary>
    public static string SetLocalSql { get; } = string.Concat(All.Select(s =>
    {
        var i = s.IndexOf('=', StringComparison.Ordinal);
        return $"SET LOCAL {s[..i]} = '{s[(i + 1)..]}';\n";
    }));
}
