using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using Npgsql;

namespace HbOps.Engine.Postgres;

/// <summary>
/// A sandbox database reached with Npgsql over the Unix socket directory the sandbox bind-mounts from this machine
/// (no TCP port is ever published). Results are requested as text so they read exactly as psql prints them.
/// </summary>
internal sealed class NpgsqlEndpoint(string socketDirectory, string user, string database) : ISqlEndpoint
{
    /// <inheritdoc />
    public string Route => $"Npgsql over unix socket {socketDirectory}";

    /// <inheritdoc />
    public Task<string> QueryAsync(string sql, CancellationToken ct) => WithConnectionAsync(async conn =>
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { AllResultTypesAreUnknown = true };
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await RowsAsync(reader, ct).ConfigureAwait(false);
    }, ct);

    /// <inheritdoc />
    /// <remarks>
    /// The query is a bind parameter of the extended query protocol (no client parses it). The cursor's rows are read
    /// on their own (three round trips on a local socket cost well under a millisecond), so nothing else can mix in.
    /// </remarks>
    public Task<string> QueryReadOnlyAsync(string query, CancellationToken ct) => WithConnectionAsync(async conn =>
    {
        await using (var open = new NpgsqlBatch(conn)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(ReadOnlyQuery.Begin),
                new NpgsqlBatchCommand($"SELECT FROM set_config('{ReadOnlyQuery.TextSetting}', $1, true)") { Parameters = { new NpgsqlParameter { Value = query } } },
                new NpgsqlBatchCommand(ReadOnlyQuery.Open),
            },
        })
        {
            await open.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        string rows;
        await using (var fetch = new NpgsqlCommand(ReadOnlyQuery.Fetch, conn) { AllResultTypesAreUnknown = true })
        await using (var reader = await fetch.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            rows = await RowsAsync(reader, ct).ConfigureAwait(false);
        }
        await using (var end = new NpgsqlCommand(ReadOnlyQuery.End, conn)) await end.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        return rows;
    }, ct);

    // psql's unaligned tuples-only text of every result.
    private static async Task<string> RowsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var sb = new StringBuilder();
        do
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    if (i > 0) sb.Append('|');
                    if (!reader.IsDBNull(i)) sb.Append(reader.GetString(i));
                }
                sb.Append('\n');
            }
        }
        while (await reader.NextResultAsync(ct).ConfigureAwait(false));
        return sb.ToString();
    }

    private async Task<string> WithConnectionAsync(Func<NpgsqlConnection, Task<string>> body, CancellationToken ct)
    {
        var csb = new NpgsqlConnectionStringBuilder
        {
            Host = socketDirectory, Username = user, Database = database, Pooling = false, ApplicationName = PgEndpoint.ApplicationNamePrefix,
            Timeout = 15, CommandTimeout = 0,
        };
        try
        {
            await using var conn = new NpgsqlConnection(csb.ConnectionString);
            await conn.OpenAsync(ct).ConfigureAwait(false);
            return await body(conn).ConfigureAwait(false);
        }
        catch (PostgresException ex)
        {
            throw new HbOpsException(HbErrorIds.QueryFailed, HbErrorCategory.OperationFailed,
                $"Query via {Route} failed: {Redaction.Redact(ex.MessageText)}", database, null, ex);
        }
        catch (NpgsqlException ex)
        {
            throw new HbOpsException(HbErrorIds.DatabaseUnavailable, HbErrorCategory.ConnectionError,
                $"Cannot connect via {Route}: {Redaction.Redact(ex.Message)}", database, null, ex);
        }
    }
}
