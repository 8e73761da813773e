using System.Text;
using HbOps.Engine.Hosts;
using HbOps.Engine.Scripts;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// Scripts/psql-guard.sh run on this machine (the way it runs on a docker host) with a stand-in for the docker CLI that
/// records how it was called: the query gets its SQL byte for byte, its exit status is the command's, and the end of
/// the input while the query still runs ends the query's server session by its application name.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PsqlGuardScriptTests : IDisposable
{
    private const string App = "hbops-query-0123456789ab";
    private readonly string _dir = Directory.CreateTempSubdirectory("hbops-guard").FullName;
    private readonly LocalCommandHost _local = new();

    public PsqlGuardScriptTests()
    {
        // The stand-in docker appends its arguments, one call per line, to calls.log.
        var docker = Path.Combine(_dir, "docker");
        File.WriteAllText(docker, $"#!/bin/sh\nprintf '%s|' \"$@\" >> '{_dir}/calls.log'\necho >> '{_dir}/calls.log'\n");
        File.SetUnixFileMode(docker, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void Dispose() => Directory.Delete(_dir, true);

    // The guard with the stand-in docker first on PATH, running `sh -c <query>` as the query.
    private List<string> Argv(string query) => new()
    {
        "env", $"PATH={_dir}:{Environment.GetEnvironmentVariable("PATH")}",
        "sh", "-c", HostScripts.PsqlGuard, "hbops-psql", "postgres", "directus", "directus", App, "--", "sh", "-c", query, "query",
    };

    private static byte[] Input(string sql)
    {
        var body = Encoding.UTF8.GetBytes(sql);
        return Encoding.ASCII.GetBytes(body.Length + "\n").Concat(body).ToArray();
    }

    private string Calls => File.Exists(Path.Combine(_dir, "calls.log")) ? File.ReadAllText(Path.Combine(_dir, "calls.log")) : "";

    [Fact]
    public async Task Given_SQL_with_trailing_newlines_and_non_ASCII_text_When_it_runs_Then_the_query_reads_it_byte_for_byte_and_its_exit_status_is_returned()
    {
        const string sql = "SELECT 'bäckerei ß', $$a\\b$$;\n\n\n";
        var got = Path.Combine(_dir, "got.sql");
        var r = await _local.RunHoldingInputAsync(Argv($"cat > '{got}'; echo out; echo err >&2; exit 3"), Input(sql), CancellationToken.None);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("out\n", r.StandardOutput);
        Assert.Equal("err\n", r.StandardError);
        Assert.Equal(Encoding.UTF8.GetBytes(sql), File.ReadAllBytes(got));
        Assert.Equal("", Calls);
    }

    [Fact]
    public async Task Given_a_query_that_still_runs_When_HbOps_gives_up_on_it_Then_its_server_session_is_ended_by_name()
    {
        var started = Path.Combine(_dir, "started");
        using var cts = new CancellationTokenSource();
        var run = _local.RunHoldingInputAsync(Argv($"cat > /dev/null; : > '{started}'; sleep 2"), Input("SELECT pg_sleep(600);"), cts.Token);
        while (!File.Exists(started)) await Task.Delay(20);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Calls.Contains("pg_terminate_backend", StringComparison.Ordinal) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Contains($"exec|-e|PGAPPNAME=hbops-stop-{App}|postgres|psql|", Calls, StringComparison.Ordinal);
        Assert.Contains($"application_name = '{App}'", Calls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_query_that_ended_When_the_input_ends_afterwards_Then_nothing_is_terminated()
    {
        var r = await _local.RunHoldingInputAsync(Argv("cat > /dev/null"), Input("SELECT 1;"), CancellationToken.None);
        Assert.Equal(0, r.ExitCode);
        await Task.Delay(300);
        Assert.Equal("", Calls);
    }

    [Fact]
    public async Task Given_an_input_that_ends_before_the_SQL_is_complete_When_it_arrives_Then_no_query_runs()
    {
        var ran = Path.Combine(_dir, "ran");
        await using var cmd = await _local.StartAsync(Argv($": > '{ran}'"), CancellationToken.None);
        await cmd.StandardInput.WriteAsync(Encoding.ASCII.GetBytes("100\nSELECT 1;"));
        await cmd.StandardInput.DisposeAsync();
        var stderr = await new StreamReader(cmd.StandardError).ReadToEndAsync();
        Assert.Equal(65, await cmd.WaitForExitAsync(CancellationToken.None));
        Assert.Contains("incomplete", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(ran));
    }
}
