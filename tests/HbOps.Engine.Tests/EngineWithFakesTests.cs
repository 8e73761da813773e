using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Sandbox;
using Xunit;

namespace HbOps.Engine.Tests;

public class BackupEngineWithFakesTests
{
    private static (int, string, string) Answer(IReadOnlyList<string> argv, long freeKb, bool psqlPrintsDumpVersion = true, string missingKeyTables = "[]")
    {
        var line = string.Join(' ', argv);
        var facts = """{"v":"15.20","n":150020,"s":1000000000,"m":""" + missingKeyTables + "}";
        if (line.StartsWith("docker container inspect", StringComparison.Ordinal)) return (0, FakeContainer.Inspect(), "");
        // The snapshot session: snapshot id, isolation, read-only flag and the server facts, framed by its first marker.
        if (line.Contains("PGAPPNAME=hbops-snapshot-", StringComparison.Ordinal))
        {
            // psql runs pg_dump --version itself (\!) unless the image cannot (then docker exec is asked).
            var version = psqlPrintsDumpVersion ? "pg_dump (PostgreSQL) 15.20\n" : "sh: 1: pg_dump: not found\n";
            return (0, version + "00000003-0000001A-1|repeatable read|on|" + facts + "\n__HBOPS_END_1__\n", "");
        }
        if (line.Contains("psql", StringComparison.Ordinal)) return (0, facts, "");
        if (line.Contains("pg_dump --version", StringComparison.Ordinal)) return (0, "pg_dump (PostgreSQL) 15.20", "");
        if (line.Contains("df -Pk", StringComparison.Ordinal)) return (0, freeKb + "\nnew\n", "");
        return (1, "", "unexpected command in test: " + line);
    }

    [Fact]
    public async Task Given_too_little_free_space_When_backing_up_Then_it_refuses_before_pg_dump_runs()
    {
        var host = new FakeCommandHost(a => Answer(a, freeKb: 1000)); // 1 MB free, 1 GB database
        var engine = new BackupEngine(host);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            engine.RunAsync(new BackupRequest { Database = "directus", User = "directus", Destination = "/b" }, CancellationToken.None));
        Assert.Equal(HbErrorIds.InsufficientDiskSpace, ex.ErrorId);
        Assert.DoesNotContain(host.Calls, c => c.Contains("pg_dump"));
    }

    [Fact]
    public async Task Given_a_key_table_the_server_does_not_have_When_backing_up_Then_KeyTableNotFound_before_pg_dump_runs()
    {
        var host = new FakeCommandHost(a => Answer(a, freeKb: 10_000_000, missingKeyTables: """["public.dot_tool"]"""));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(host).RunAsync(new BackupRequest
        {
            Database = "directus", User = "directus", Destination = "/b", KeyTables = ["public.dot_tools", "public.dot_tool"],
        }, CancellationToken.None));
        Assert.Equal(HbErrorIds.KeyTableNotFound, ex.ErrorId);
        Assert.Contains("public.dot_tool.", ex.Message, StringComparison.Ordinal);
        // The preflight's own statement answered; nothing was dumped (and the run folder is made only by the dump).
        Assert.DoesNotContain(host.Calls, c => c.Contains("pg_dump"));
    }

    [Fact]
    public async Task Given_a_psql_that_cannot_run_pg_dump_When_backing_up_Then_docker_exec_asks_for_the_version()
    {
        var host = new FakeCommandHost(a => Answer(a, freeKb: 1000, psqlPrintsDumpVersion: false));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            new BackupEngine(host).RunAsync(new BackupRequest { Database = "directus", User = "directus", Destination = "/b" }, CancellationToken.None));
        Assert.Equal(HbErrorIds.InsufficientDiskSpace, ex.ErrorId);
        Assert.Contains(host.Calls, c => c.Contains("pg_dump") && c.Contains("--version"));
        Assert.DoesNotContain(host.Calls, c => c.Contains("pg_dump") && !c.Contains("--version"));
    }

    [Fact]
    public async Task Given_enough_space_When_backing_up_Then_pg_dump_gets_the_exported_snapshot_and_its_version_is_psqls_answer()
    {
        var host = new FakeCommandHost(a => Answer(a, freeKb: 10_000_000, psqlPrintsDumpVersion: false));
        // The dump itself is not answered by the fake, so the backup fails there; the command it was given is what counts.
        await Assert.ThrowsAsync<HbOpsException>(() =>
            new BackupEngine(host).RunAsync(new BackupRequest { Database = "directus", User = "directus", Destination = "/b" }, CancellationToken.None));
        var dump = Assert.Single(host.Calls, c => c.Contains("pg_dump") && !c.Contains("--version"));
        Assert.Contains("--snapshot=00000003-0000001A-1", dump);
    }

    [Fact]
    public async Task Given_a_missing_container_When_backing_up_Then_ContainerNotFound_and_only_the_read_only_probes_ran()
    {
        var host = new FakeCommandHost(a => string.Join(' ', a).StartsWith("docker container inspect", StringComparison.Ordinal)
            ? (1, "[]", "Error: No such container: nope") : (1, "", "Error: No such container: nope"));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            new BackupEngine(host).RunAsync(new BackupRequest { Container = "nope", Database = "d", Destination = "/b" }, CancellationToken.None));
        Assert.Equal(HbErrorIds.ContainerNotFound, ex.ErrorId);
        // The preflight probes start together (inspect, pg_dump --version, the read-only snapshot session and the
        // read-only destination check); the container's state decides the error. Nothing was created or dumped.
        Assert.InRange(host.Calls.Count, 1, 4);
        Assert.All(host.Calls, c => Assert.True((c[0] == "docker" && c[1] is "container" or "exec") ||
            (c[0] == "sh" && c[2].Contains("df -Pk", StringComparison.Ordinal)), string.Join(' ', c)));
        Assert.DoesNotContain(host.Calls, c => c.Contains("pg_dump") && !c.Contains("--version"));
        // (the destination check only makes and removes a probe directory; the run folder is made by the dump alone)
        Assert.DoesNotContain(host.Calls, c => string.Join(' ', c).Contains("mkdir -p", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_a_database_name_with_metacharacters_and_an_equals_sign_Then_every_client_gets_it_as_one_dbname_argument()
    {
        const string db = "a;$(id) `b` c=d";
        var host = new FakeCommandHost(a => Answer(a, freeKb: 10_000_000));
        // The dump itself is not answered by the fake; the arguments it was given are what counts.
        await Assert.ThrowsAsync<HbOpsException>(() =>
            new BackupEngine(host).RunAsync(new BackupRequest { Database = db, User = "u", Destination = "/b" }, CancellationToken.None));
        var clients = host.Calls.Where(c => c.Contains("psql") || (c.Contains("pg_dump") && !c.Contains("--version"))).ToList();
        // the snapshot session, pg_dump, and the psql that stops the dump's server side after the (unanswered) dump
        Assert.Contains(clients, c => c.Contains("pg_dump"));
        Assert.Contains(clients, c => c.Contains("psql"));
        foreach (var argv in clients)
        {
            var d = argv.ToList().IndexOf("-d");
            Assert.Equal("dbname='a;$(id) `b` c=d'", argv[d + 1]);
        }
    }

    [Theory]
    [InlineData("postgres;id", "directus", "hb", "/b")]
    [InlineData("postgres", "directus\n$(id)", "hb", "/b")]
    [InlineData("postgres", "directus", "hb;rm", "/b")]
    [InlineData("postgres", "directus", "hb", "/b/$(id)")]
    public async Task Given_metacharacters_in_any_parameter_When_backing_up_Then_InvalidArgument_before_any_command(
        string container, string db, string tag, string dest)
    {
        var host = new FakeCommandHost(_ => (0, "", ""));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(host).RunAsync(
            new BackupRequest { Container = container, Database = db, Tag = tag, Destination = dest }, CancellationToken.None));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.Empty(host.Calls);
    }
}

public class SandboxManagerWithFakesTests
{
    [Fact]
    public async Task Given_a_container_without_the_sandbox_label_When_removing_Then_refused_and_nothing_is_removed()
    {
        var engine = new FakeDockerGateway();
        engine.Containers["postgres"] = new Dictionary<string, string> { ["hbops.testenv"] = "true" };
        engine.Volumes["postgres-data"] = new Dictionary<string, string>();
        var host = new FakeCommandHost(_ => (0, "", ""));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new SandboxManager(host, null, engine).RemoveAsync("postgres", CancellationToken.None));
        Assert.Equal(HbErrorIds.NotASandbox, ex.ErrorId);
        Assert.Empty(engine.Removed);
        Assert.True(engine.Containers.ContainsKey("postgres"));
    }
}

public class PgEndpointErrorTests
{
    private static readonly HbOps.Engine.Postgres.PgEndpoint Pg =
        new(new HbOps.Engine.Docker.DockerCli(new FakeCommandHost(_ => (0, "", ""))), "postgres", "directus", "directus");

    [Fact]
    public void Given_a_statement_cancelled_by_lock_timeout_When_mapped_Then_LockTimeout_says_what_to_do()
    {
        var ex = Pg.MapError("psql:<stdin>:3: ERROR:  canceling statement due to lock timeout\nCONTEXT:  SQL statement \"SELECT count(*) FROM app.customers\"", 3);
        Assert.Equal(HbErrorIds.LockTimeout, ex.ErrorId);
        Assert.Contains("-LockWaitTimeoutSeconds", ex.RecommendedAction ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void Given_pg_dumps_lock_wait_timeout_message_Then_it_is_a_lock_timeout_and_a_plain_statement_timeout_is_not()
    {
        Assert.True(HbOps.Engine.Postgres.PgEndpoint.IsLockTimeout(
            "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout\npg_dump: detail: Query was: LOCK TABLE app.customers IN ACCESS SHARE MODE"));
        Assert.False(HbOps.Engine.Postgres.PgEndpoint.IsLockTimeout("ERROR:  canceling statement due to statement timeout"));
    }

    [Fact]
    public void Given_any_other_failed_statement_When_mapped_Then_QueryFailed()
    {
        Assert.Equal(HbErrorIds.QueryFailed, Pg.MapError("psql:<stdin>:1: ERROR:  relation \"x\" does not exist", 3).ErrorId);
    }
}
