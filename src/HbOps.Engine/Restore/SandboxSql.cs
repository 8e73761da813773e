using HbOps.Engine.Docker;
using HbOps.Engine.Postgres;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>How HbOps reaches a sandbox's server; a seam for unit tests.</summary>
internal interface ISandboxSql
{
    /// <summary>
    /// The sandbox's database as <paramref name="role"/>, or as the sandbox's owner (then recorded as the sandbox's
    /// <see cref="HbSandbox.SqlRoute"/>) when it is null.
    /// </summary>
    ISqlEndpoint Endpoint(HbSandbox sandbox, string? role = null);
}

/// <summary>Npgsql over the bind-mounted socket locally, psql through docker exec remotely.</summary>
internal sealed class SandboxSql(DockerCli docker) : ISandboxSql
{
    /// <inheritdoc />
    public ISqlEndpoint Endpoint(HbSandbox sandbox, string? role = null)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        ISqlEndpoint sql = sandbox.SocketDirectory is { Length: > 0 } dir
            ? new NpgsqlEndpoint(dir, role ?? sandbox.User, sandbox.Database)
            : new PgEndpoint(docker, sandbox.Name, role ?? sandbox.User, sandbox.Database);
        if (role is null) sandbox.SqlRoute = sql.Route;
        return sql;
    }
}
