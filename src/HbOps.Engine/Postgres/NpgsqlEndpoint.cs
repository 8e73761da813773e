using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using Npgsql;

namespace HbOps.Engine.Postgres;

/// <summary>
/// A sandbox database reached with Npgsql over the Unix socket directory the sandbox bind-mounts from this machine
/// (no TCP port is ever published). Results are requested as text so they read exactly as psql prints them.
/// </summary>
public sealed class NpgsqlEndpoint(string socketDirectory, string user, string database) : ISqlEndpoint
{
    /// <inheritdoc />
    public string Route => $"Npgsql over unix socket {socketDirectory}";

    /// <inheritdoc />
    public async Task<string> QueryAsync(string sql, CancellationToken ct)
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
            await using var cmd = new NpgsqlCommand(sql, conn) { AllResultTypesAreUnknown = true };
            await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
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
