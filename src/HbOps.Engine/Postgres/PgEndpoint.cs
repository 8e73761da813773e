using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Scripts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Postgres;

/// <summary>
/// A PostgreSQL database inside a container, reached with <c>docker exec -i ... psql</c> on its host.
/// This route needs no published port and works the same locally and over SSH, which is what a
/// sandbox with <c>--network none</c> requires. SQL travels on stdin, never on a command line.
/// </summary>
public sealed class PgEndpoint(DockerCli docker, string container, string user, string database) : ISqlEndpoint
{
    /// <inheritdoc />
    public string Route => $"psql via docker exec {Container} on {Docker.CommandHost.Host}";

    /// <inheritdoc />
    Task<string> ISqlEndpoint.QueryAsync(string sql, CancellationToken ct) => QueryAsync(sql, ct);

    /// <summary>Application name set on every HbOps session (visible in pg_stat_activity).</summary>
    public const string ApplicationNamePrefix = "hbops";

    /// <summary>The docker gateway.</summary>
    public DockerCli Docker { get; } = docker;
    /// <summary>Container name.</summary>
    public string Container { get; } = container;
    /// <summary>Role.</summary>
    public string User { get; } = user;
    /// <summary>Database.</summary>
    public string Database { get; } = database;

    /// <summary>The psql argument vector (inside the container).</summary>
    public IReadOnlyList<string> PsqlArgs() => new[] { "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", User, "-d", DatabaseArgument(Database) };

    /// <summary>
    /// The value of a libpq client's <c>-d</c> for <paramref name="database"/>. libpq reads a <c>-d</c> that contains '='
    /// or starts with a URI prefix as a connection string, so such a name (PostgreSQL allows it) is passed as
    /// <c>dbname='...'</c>, quoted the way connection strings quote; any other name is passed as it is.
    /// </summary>
    public static string DatabaseArgument(string database)
    {
        ArgumentNullException.ThrowIfNull(database);
        var isConnectionString = database.Contains('=', StringComparison.Ordinal) ||
            database.StartsWith("postgresql://", StringComparison.Ordinal) || database.StartsWith("postgres://", StringComparison.Ordinal);
        return isConnectionString
            ? "dbname='" + database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'"
            : database;
    }

    /// <summary>
    /// Runs SQL and returns psql's unaligned, tuples-only output. The query's server session ends with it: when HbOps
    /// stops waiting (Ctrl+C, a timeout) or the connection is lost while psql still runs (waiting for a lock, counting a
    /// large table), the host ends the session instead of leaving it to run on (Scripts/psql-guard.sh).
    /// </summary>
    /// <param name="sql">The SQL, sent on standard input.</param>
    /// <param name="ct">Cancels the query, its server session included.</param>
    /// <param name="appName">The session's application_name; null: one of its own (<c>hbops-query-&lt;12 hex&gt;</c>).</param>
    public async Task<string> QueryAsync(string sql, CancellationToken ct, string? appName = null)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var app = appName ?? $"{ApplicationNamePrefix}-query-{Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant()}";
        var argv = new List<string> { "sh", "-c", HostScripts.PsqlGuard, "hbops-psql", Container, User, DatabaseArgument(Database), app, "--" };
        argv.AddRange(DockerCli.ExecArgv(Container, PsqlArgs(), interactive: true, new Dictionary<string, string> { ["PGAPPNAME"] = app }));
        var body = Encoding.UTF8.GetBytes(sql);
        var input = Encoding.ASCII.GetBytes(body.Length.ToString(CultureInfo.InvariantCulture) + "\n").Concat(body).ToArray();
        var r = await Docker.RunHoldingInputAsync(argv, input, ct).ConfigureAwait(false);
        if (!r.Succeeded) throw MapError(r.StandardError, r.ExitCode);
        return r.StandardOutput;
    }

    /// <inheritdoc />
    /// <remarks>psql reads a script HbOps wrote, in which the query is a dollar-quoted literal.</remarks>
    public Task<string> QueryReadOnlyAsync(string query, CancellationToken ct) => QueryAsync(ReadOnlyQuery.PsqlScript(query), ct);

    /// <summary>Translates psql / docker exec failures into the error contract.</summary>
    public HbOpsException MapError(string stderr, int exitCode)
    {
        var text = Redaction.Redact(stderr.Trim());
        if (text.Contains("No such container", StringComparison.OrdinalIgnoreCase))
        {
            return new HbOpsException(HbErrorIds.ContainerNotFound, HbErrorCategory.ObjectNotFound,
                $"Container '{Container}' does not exist on {Docker.CommandHost.Host}.", Container, "Check the container name with 'docker ps'.");
        }
        if (text.Contains("is not running", StringComparison.OrdinalIgnoreCase))
        {
            return new HbOpsException(HbErrorIds.ContainerNotRunning, HbErrorCategory.ResourceUnavailable,
                $"Container '{Container}' is not running.", Container, "Start the container first.");
        }
        bool connectFailure = text.Contains("could not connect", StringComparison.Ordinal) ||
            (text.Contains("connection to server", StringComparison.Ordinal) && text.Contains("failed", StringComparison.Ordinal));
        if (connectFailure)
        {
            return new HbOpsException(HbErrorIds.DatabaseUnavailable, HbErrorCategory.ObjectNotFound,
                $"Cannot connect to database '{Database}' as '{User}' in container '{Container}': {text}", Database,
                "Check -Database and -User.");
        }
        if (IsLockTimeout(text))
        {
            return new HbOpsException(HbErrorIds.LockTimeout, HbErrorCategory.ResourceUnavailable,
                $"A query in '{Container}/{Database}' could not lock a table within the lock wait timeout: {text}", Database, LockTimeoutAction);
        }
        return new HbOpsException(HbErrorIds.QueryFailed, HbErrorCategory.OperationFailed,
            $"Query in '{Container}/{Database}' failed (exit {exitCode}): {text}", Database);
    }

    /// <summary>
    /// True for PostgreSQL's message of a statement cancelled by <c>lock_timeout</c>, and for pg_dump's
    /// <c>--lock-wait-timeout</c>, which bounds its <c>LOCK TABLE</c> statements with <c>statement_timeout</c>.
    /// </summary>
    public static bool IsLockTimeout(string message) =>
        message.Contains("canceling statement due to lock timeout", StringComparison.Ordinal) ||
        (message.Contains("canceling statement due to statement timeout", StringComparison.Ordinal) && message.Contains("LOCK TABLE", StringComparison.Ordinal));

    /// <summary>What to do about a LockTimeout.</summary>
    public const string LockTimeoutAction =
        "Another session holds a conflicting lock (ALTER TABLE, VACUUM FULL, a migration; see pg_locks): back up when it is done, or allow a longer -LockWaitTimeoutSeconds.";

    /// <summary>Quotes a SQL string literal.</summary>
    public static string Literal(string value) => "'" + (value ?? "").Replace("'", "''", StringComparison.Ordinal) + "'";
}
