using System.Text.Json;

namespace HbOps.Engine.Postgres;

/// <summary>
/// A database HbOps can query. Output is psql's unaligned tuples-only text (rows as lines, fields separated by
/// '|'), whichever route carries it, so assertions mean the same thing everywhere.
/// </summary>
public interface ISqlEndpoint
{
    /// <summary>How the database is reached (for evidence).</summary>
    string Route { get; }

    /// <summary>Runs SQL (one or more statements) and returns the rows of every result, psql-style.</summary>
    Task<string> QueryAsync(string sql, CancellationToken ct);

    /// <summary>
    /// Runs one operator-supplied query as data, never as a client script (see <see cref="ReadOnlyQuery"/>): it must be a
    /// single statement returning rows, runs in a read-only transaction that is rolled back, and its rows come back
    /// psql-style. Anything else fails with <c>QueryFailed</c>.
    /// </summary>
    Task<string> QueryReadOnlyAsync(string query, CancellationToken ct);
}

/// <summary>Helpers over <see cref="ISqlEndpoint"/>.</summary>
internal static class SqlEndpointExtensions
{
    /// <summary>Runs SQL returning one scalar.</summary>
    public static async Task<string> ScalarAsync(this ISqlEndpoint endpoint, string sql, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return (await endpoint.QueryAsync(sql, ct).ConfigureAwait(false)).Trim();
    }

    /// <summary>Runs SQL returning one JSON value (e.g. from json_agg) and parses it.</summary>
    public static async Task<JsonDocument> JsonAsync(this ISqlEndpoint endpoint, string sql, CancellationToken ct) =>
        JsonDocument.Parse(await endpoint.ScalarAsync(sql, ct).ConfigureAwait(false));
}
