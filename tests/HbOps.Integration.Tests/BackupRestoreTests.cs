using System.Globalization;
using HbOps.Engine.Backup;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Restore;
using HbOps.Engine.RowCounts;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>One real backup through the SSH alias, shared by the tests of this class.</summary>
public sealed class BackupFixture : IAsyncLifetime
{
    public TestEnvironment Env { get; } = new();
    public HbBackupArtefact Artefact { get; private set; } = null!;
    public ICommandHost Host { get; private set; } = null!;
    public string StatsBefore { get; private set; } = "";
    public string StatsAfter { get; private set; } = "";
    public string InspectBefore { get; private set; } = "";
    public string InspectAfter { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Host = await Env.ConnectAsync();
        InspectBefore = Inspect();
        StatsBefore = await WriteCountersAsync();
        Artefact = await new BackupEngine(Host).RunAsync(new BackupRequest
        {
            Container = Env.Container, Database = Env.Database, User = Env.User, Destination = Env.BackupRoot, Tag = "xunit",
        }, CancellationToken.None);
        StatsAfter = await WriteCountersAsync();
        InspectAfter = Inspect();
    }

    private string Inspect() => TestEnvironment.Sh($"docker inspect -f '{{{{.Id}}}} {{{{.RestartCount}}}} {{{{.State.StartedAt}}}} {{{{json .Config}}}}' {Env.Container}");

    // Write counters of the production database; a read-only backup must leave them unchanged.
    public Task<string> WriteCountersAsync() =>
        new PgEndpoint(new DockerCli(Host), Env.Container, Env.User, Env.Database).ScalarAsync(
            "SELECT pg_stat_force_next_flush(); SELECT tup_inserted || '/' || tup_updated || '/' || tup_deleted FROM pg_stat_database WHERE datname = current_database();",
            CancellationToken.None);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public class BackupRestoreTests(BackupFixture f) : IClassFixture<BackupFixture>
{
    [Fact]
    public void Artefact_file_checksum_and_manifest_exist_and_sha256sum_verifies_them()
    {
        var a = f.Artefact;
        Assert.Matches(@"/xunit_\d{4}-\d{2}-\d{2}/directus_full_\d{8}T\d{6}Z\.dump$", a.Path);
        Assert.Equal(a.SizeBytes, new FileInfo(a.Path).Length);
        Assert.True(a.SizeBytes > 10_000_000, "the fixture should dump to tens of MB");
        Assert.Contains(": OK", TestEnvironment.Sh($"cd {a.RunFolder} && sha256sum -c --ignore-missing SHA256SUMS"), StringComparison.Ordinal);
        Assert.Equal(a.Sha256, TestEnvironment.Sh($"sha256sum {a.Path}").Split(' ')[0]);
        // Other tests back up into the same run folder at the same time: only this run's files are its own.
        Assert.Empty(Directory.GetFiles(a.RunFolder, a.FileName + ".partial*"));
        var manifest = BackupEngine.ParseManifest(File.ReadAllText(a.ManifestPath));
        Assert.Equal(a.Sha256, manifest.Sha256);
        Assert.Equal(a.RowCountSnapshot!.TableCount, manifest.RowCountSnapshot!.TableCount);
        Assert.Equal("", a.Stderr);
        Assert.Equal(15, a.ServerMajor);
        Assert.StartsWith("pg_dump (PostgreSQL) 15", a.PgDumpVersion, StringComparison.Ordinal);
        Assert.True(a.DatabaseSizeBytes > 0 && a.FreeDiskBytesBefore > 0);
    }

    [Fact]
    public async Task Snapshot_counts_equal_live_exact_counts_of_every_table()
    {
        var live = await RowCounter.CountAsync(new PgEndpoint(new DockerCli(f.Host), f.Env.Container, f.Env.User, f.Env.Database),
            RowCountMode.Exact, null, CancellationToken.None);
        var snap = f.Artefact.RowCountSnapshot!;
        Assert.Equal(RowCountMode.Exact, snap.Mode);
        Assert.NotNull(snap.SnapshotId);
        Assert.True(snap.TableCount >= 30);
        Assert.All(RowCounter.Compare(snap, RowCountSource.ArtefactSnapshot, live, RowCountSource.Production, RowCountMode.Exact), c => Assert.True(c.Match, c.QualifiedName));
        Assert.Equal(992, snap.Tables.Single(t => t.Table == "dot_tools").ExactRows);
        Assert.DoesNotContain(snap.Tables, t => t.Table == "workflow_remote");
    }

    [Fact]
    public void Production_stays_read_only_during_a_backup()
    {
        Assert.Equal(f.StatsBefore, f.StatsAfter);
        Assert.Equal(f.InspectBefore, f.InspectAfter);
        // The artefact carries the same evidence, observed by the dump command right after pg_dump exited.
        Assert.NotEqual("", f.Artefact.ContainerStartedAtBefore);
        Assert.Equal(f.Artefact.ContainerStartedAtBefore, f.Artefact.ContainerStartedAtAfter);
        Assert.Equal(f.Artefact.ContainerRestartCountBefore, f.Artefact.ContainerRestartCountAfter);
    }

    [Fact]
    public async Task Restore_test_passes_with_exactly_the_workflow_admin_note_and_leaves_nothing_behind()
    {
        var r = await new RestoreEngine(f.Host).RunAsync(f.Artefact, new RestoreRequest
        {
            Assertions = new[]
            {
                new HbAssertion { Name = "pairing", Sql = "SELECT id || ':' || paired_with FROM dot_tools WHERE id IN (991,992) ORDER BY id", Expected = "991:992\n992:991" },
                new HbAssertion { Name = "settings in effect", Sql = "SELECT current_setting('fsync') || ' ' || current_setting('wal_level') || ' ' || current_setting('autovacuum')", Expected = "off minimal off" },
            },
        }, CancellationToken.None);
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.True(r.ChecksumVerified);
        Assert.Equal(1, r.RestoreExitCode);
        var note = Assert.Single(r.Messages, m => m.Severity == HbMessageSeverity.NonFatal);
        Assert.Equal("MissingRoleUserMapping", note.Rule);
        Assert.Contains("workflow_admin", note.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(r.Messages, m => (m.Text + m.Command).Contains("fdw-mapping-secret", StringComparison.Ordinal));
        Assert.Equal(0, r.FatalCount);
        Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
        Assert.Equal(f.Artefact.RowCountSnapshot!.TableCount, r.RowCounts.Count);
        Assert.True(r.Sandbox.IsolationVerified);
        Assert.StartsWith("15.", r.Sandbox.ServerVersion, StringComparison.Ordinal);
        Assert.Contains("fsync=off", r.Sandbox.ServerSettings);
        Assert.Contains("wal_level=minimal", r.Sandbox.ServerSettings);
        Assert.StartsWith("engine-api:ssh-dial-stdio:", r.Sandbox.EngineTransport, StringComparison.Ordinal);
        Assert.StartsWith("psql via docker exec", r.Sandbox.SqlRoute, StringComparison.Ordinal);
        Assert.Equal("none", r.Sandbox.NetworkMode);
        Assert.Empty(r.Sandbox.PublishedPorts);
        Assert.Contains(r.Sandbox.Mounts, m => m.EndsWith(":/hbops-artefact:ro", StringComparison.Ordinal));
        Assert.Equal(2, r.Assertions.Count);
        Assert.All(r.Assertions, a => Assert.True(a.Passed, a.Name + ": " + a.Actual));
        Assert.True(r.TeardownVerified);
        Assert.Equal("", TestEnvironment.Sh($"docker ps -aq --filter name={r.Sandbox.Name}").Trim());
        Assert.Equal("", TestEnvironment.Sh($"docker volume ls -q --filter name={r.Sandbox.VolumeName}").Trim());
    }

    [Fact]
    public async Task A_server_not_ready_in_time_is_SandboxStartFailed_timed_out_and_the_sandbox_is_removed()
    {
        // The server listens on another port than the one the readiness check asks, so it is never ready, however fast
        // the machine: the wait inside the container gives up after the timeout.
        var settings = HbOps.Engine.Sandbox.SandboxSettings.Merge(new[] { KeyValuePair.Create("port", (string?)"5433") });
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new RestoreEngine(f.Host).RunAsync(f.Artefact,
            new RestoreRequest { ReadyTimeout = TimeSpan.FromSeconds(1), SandboxName = "pg-restore-test-readytimeout", ServerSettings = settings },
            CancellationToken.None));
        Assert.Equal(HbErrorIds.SandboxStartFailed, ex.ErrorId);
        Assert.Contains("did not become ready (timed out)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("did not accept connections within 1s", ex.Message, StringComparison.Ordinal);
        Assert.Equal("", TestEnvironment.Sh("docker ps -aq --filter name=pg-restore-test-readytimeout").Trim());
        Assert.Equal("", TestEnvironment.Sh("docker volume ls -q --filter name=pg-restore-test-readytimeout").Trim());
    }

    [Fact]
    public async Task Local_engine_uses_the_unix_socket_api_and_npgsql_over_a_bind_mounted_socket_directory()
    {
        await using var local = new LocalCommandHost();
        var a = await new BackupEngine(local).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = f.Env.Database, User = f.Env.User, Destination = f.Env.BackupRoot, Tag = "localengine",
        }, CancellationToken.None);
        var r = await new RestoreEngine(local).RunAsync(a, new RestoreRequest
        {
            Assertions = new[] { new HbAssertion { Name = "types as psql prints them", Sql = "SELECT true, 1.50::numeric, NULL::text, 'x'", Expected = "t|1.50||x" } },
        }, CancellationToken.None);
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.Equal("engine-api:unix:///var/run/docker.sock", r.Sandbox.EngineTransport);
        Assert.StartsWith("Npgsql over unix socket", r.Sandbox.SqlRoute, StringComparison.Ordinal);
        Assert.True(r.Sandbox.IsolationVerified);
        Assert.Contains(r.Sandbox.Mounts, m => m.EndsWith(":/var/run/postgresql:rw", StringComparison.Ordinal));
        Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
        Assert.True(r.Assertions.Single().Passed, r.Assertions.Single().Actual);
        Assert.True(r.TeardownVerified);
        Assert.False(Directory.Exists(r.Sandbox.SocketDirectory));
    }

    [Fact]
    public async Task Local_engine_assertions_over_npgsql_are_read_only_queries_that_leave_no_trace()
    {
        await using var local = new LocalCommandHost();
        var a = await new BackupEngine(local).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = f.Env.Database, User = f.Env.User, Destination = f.Env.BackupRoot, Tag = "localassert", RowCounts = RowCountMode.None,
        }, CancellationToken.None);
        var probe = "hbops-probe-" + Guid.NewGuid().ToString("N")[..8];
        var refused = new Dictionary<string, (string Sql, string Reason)>
        {
            ["shell"] = ($"\\! touch /tmp/{probe}-shell", "syntax error at or near \"\\\""),
            ["copyProgram"] = ($"COPY (SELECT 1) TO PROGRAM 'touch /tmp/{probe}-copy'", "cannot open COPY query as cursor"),
            ["createTable"] = ($"CREATE TABLE public.\"{probe}\" (x int)", "cannot open CREATE TABLE query as cursor"),
            ["escape"] = ($"COMMIT; CREATE TABLE public.\"{probe}-2\" (x int)", "cannot open multi-query plan as cursor"),
            ["noResult"] = ("SET search_path = public", "cannot open SET query as cursor"),
            ["insert"] = ($"INSERT INTO dot_tools SELECT * FROM dot_tools LIMIT 1 RETURNING id", "read-only transaction"),
            ["loExport"] = ($"SELECT lo_export(lo_from_bytea(0, 'x'), '/tmp/{probe}-lo')", "permission denied for function lo_export"),
        };
        var assertions = refused.Select(kv => new HbAssertion { Name = kv.Key, Sql = kv.Value.Sql, Expected = "" }).ToList();
        assertions.Add(new HbAssertion { Name = "plain", Sql = "SELECT count(*) FROM dot_tools WHERE id IN (991,992);", Expected = "2" });
        var r = await new RestoreEngine(local).RunAsync(a, new RestoreRequest { KeepSandbox = true, Assertions = assertions }, CancellationToken.None);
        try
        {
            Assert.StartsWith("Npgsql over unix socket", r.Sandbox.SqlRoute, StringComparison.Ordinal);
            Assert.Equal(HbRestoreOutcome.Failed, r.Result);
            foreach (var (name, (_, reason)) in refused)
            {
                var ar = r.Assertions.Single(x => x.Name == name);
                Assert.True(ar.Status == HbCheckStatus.Failed, $"{name} passed: '{ar.Actual}'");
                Assert.Contains(reason, ar.Actual, StringComparison.Ordinal);
            }
            Assert.True(r.Assertions.Single(x => x.Name == "plain").Passed);
            Assert.Equal("0", TestEnvironment.Sh($"docker exec {r.Sandbox.Name} sh -c 'ls /tmp | grep -c {probe} || true'").Trim());
            Assert.Equal("0|992", TestEnvironment.Sh($"docker exec {r.Sandbox.Name} psql -U {r.Sandbox.User} -d {r.Sandbox.Database} -qAtc " +
                $"\"SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE '{probe}%') || '|' || (SELECT count(*) FROM dot_tools)\"").Trim());
        }
        finally
        {
            Assert.True((await new Engine.Sandbox.SandboxManager(local).RemoveAsync(r.Sandbox.Name, CancellationToken.None)).Verified);
        }
    }

    [Fact]
    public async Task Local_engine_socket_directory_is_reachable_by_this_account_only_and_removed_with_a_kept_sandbox()
    {
        await using var local = new LocalCommandHost();
        var a = await new BackupEngine(local).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = f.Env.Database, User = f.Env.User, Destination = f.Env.BackupRoot, Tag = "localsock", RowCounts = RowCountMode.None,
        }, CancellationToken.None);
        var r = await new RestoreEngine(local).RunAsync(a, new RestoreRequest { KeepSandbox = true }, CancellationToken.None);
        var socket = r.Sandbox.SocketDirectory;
        var scratch = Path.GetDirectoryName(socket)!;
        try
        {
            Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
            Assert.StartsWith("Npgsql over unix socket", r.Sandbox.SqlRoute, StringComparison.Ordinal);
            Assert.Equal($"700 {Environment.UserName}", TestEnvironment.Sh($"stat -c '%a %U' {scratch}").Trim());
            Assert.Equal("yes", TestEnvironment.Sh($"test -S {socket}/.s.PGSQL.5432 && echo yes").Trim());
            // The sandbox server trusts its socket: another account of this machine must not even reach it.
            Assert.Equal("no", TestEnvironment.Sh($"runuser -u nobody -- test -e {socket}/.s.PGSQL.5432 && echo yes || echo no").Trim());
        }
        finally
        {
            var removal = await new Engine.Sandbox.SandboxManager(local).RemoveAsync(r.Sandbox.Name, CancellationToken.None);
            Assert.True(removal.Verified);
        }
        Assert.False(Directory.Exists(scratch));
    }

    [Fact]
    public async Task Local_destination_streams_back_with_the_same_checksum_it_records()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-local").FullName;
        var a = await new BackupEngine(f.Host).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = f.Env.Database, User = f.Env.User, Destination = dir, LocalDestination = true,
            Tag = "local", RowCounts = RowCountMode.Estimated,
        }, CancellationToken.None);
        Assert.Equal(HbArtefactLocation.Local, a.Location);
        Assert.StartsWith(dir, a.Path, StringComparison.Ordinal);
        Assert.Equal(a.Sha256, TestEnvironment.Sh($"sha256sum {a.Path}").Split(' ')[0]);
        Assert.Equal(RowCountMode.Estimated, a.RowCountSnapshot!.Mode);
        Assert.Equal("", a.Stderr);
        Assert.NotEqual("", a.ContainerStartedAtAfter);
        Assert.Equal(a.ContainerStartedAtBefore, a.ContainerStartedAtAfter);
        Assert.Equal(a.ContainerRestartCountBefore, a.ContainerRestartCountAfter);
        Assert.All(a.RowCountSnapshot.Tables, t => Assert.Null(t.ExactRows));
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Wrong_database_is_DatabaseUnavailable_and_leaves_no_partial()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(f.Host).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = "no_such_db", User = f.Env.User, Destination = f.Env.BackupRoot, Tag = "wrongdb",
        }, CancellationToken.None));
        Assert.Equal(HbErrorIds.DatabaseUnavailable, ex.ErrorId);
        Assert.False(Directory.Exists(Path.Combine(f.Env.BackupRoot, "wrongdb_" + DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))));
    }

    [Fact]
    public async Task Sandbox_removal_refuses_the_production_container_by_name()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new Engine.Sandbox.SandboxManager(f.Host).RemoveAsync(f.Env.Container, CancellationToken.None));
        Assert.Equal(HbErrorIds.NotASandbox, ex.ErrorId);
        Assert.Equal("true", TestEnvironment.Sh($"docker inspect -f '{{{{.State.Running}}}}' {f.Env.Container}").Trim());
    }
}
