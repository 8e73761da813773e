using System.Globalization;
using System.Text;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Postgres;

/// <summary>
/// One long-lived psql session (used to hold an exported snapshot open while pg_dump reads it).
/// Each batch ends with an <c>\echo</c> marker so replies are framed without timeouts.
/// </summary>
internal sealed class PsqlSession : IAsyncDisposable
{
    private readonly PgEndpoint _endpoint;
    private readonly IRunningCommand _cmd;
    private readonly StreamReader _stdout;
    private readonly Task<string> _stderr;
    private int _seq;

    private PsqlSession(PgEndpoint endpoint, IRunningCommand cmd)
    {
        _endpoint = endpoint;
        _cmd = cmd;
        _stdout = new StreamReader(cmd.StandardOutput, Encoding.UTF8);
        _stderr = new StreamReader(cmd.StandardError, Encoding.UTF8).ReadToEndAsync();
    }

    /// <summary>Starts psql in the endpoint's container.</summary>
    public static async Task<PsqlSession> StartAsync(PgEndpoint endpoint, string appName, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var argv = DockerCli.ExecArgv(endpoint.Container, endpoint.PsqlArgs(), interactive: true,
            new Dictionary<string, string> { ["PGAPPNAME"] = appName });
        var cmd = await endpoint.Docker.CommandHost.StartAsync(argv, ct).ConfigureAwait(false);
        return new PsqlSession(endpoint, cmd);
    }

    /// <summary>Sends SQL and returns everything psql printed for it.</summary>
    public async Task<string> ExecuteAsync(string sql, CancellationToken ct)
    {
        var marker = "__HBOPS_END_" + (++_seq).ToString(CultureInfo.InvariantCulture) + "__";
        var payload = Encoding.UTF8.GetBytes(sql.TrimEnd() + "\n\\echo " + marker + "\n");
        await _cmd.StandardInput.WriteAsync(payload, ct).ConfigureAwait(false);
        await _cmd.StandardInput.FlushAsync(ct).ConfigureAwait(false);
        var sb = new StringBuilder();
        while (true)
        {
            var line = await _stdout.ReadLineAsync(ct).ConfigureAwait(false);
            if (line is null)
            {
                var code = await _cmd.WaitForExitAsync(ct).ConfigureAwait(false);
                throw _endpoint.MapError(await _stderr.ConfigureAwait(false), code);
            }
            if (line == marker) return sb.ToString();
            sb.Append(line).Append('\n');
        }
    }

    /// <summary>Ends the session (rolls back anything open) and waits for psql to exit.</summary>
    /// <remarks>
    /// psql ends at the end of its input, not at <c>\q</c>: a command that exits while its end-of-file is on the way
    /// lets SSH.NET send that end-of-file after the channel closed, and OpenSSH drops the whole connection for it.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _cmd.StandardInput.WriteAsync("ROLLBACK;\n"u8.ToArray()).ConfigureAwait(false);
            await _cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _cmd.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or HbOpsException)
        {
            // psql already gone; nothing to roll back.
        }
        await _cmd.DisposeAsync().ConfigureAwait(false);
        _stdout.Dispose();
    }
}
