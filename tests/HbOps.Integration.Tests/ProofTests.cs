using HbOps.Engine.Backup;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Proof;
using HbOps.Engine.Records;
using HbOps.Engine.Restore;
using HbOps.Engine.RowCounts;
using HbOps.Engine.Sandbox;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>
/// One PostgreSQL 15 backup (fingerprints and catalog taken in its snapshot) into a folder of its own, restore-tested
/// once with pg_amcheck into a sandbox that is kept, so tests can change that sandbox and show the change is found.
/// </summary>
public sealed class ProofFixture : IAsyncLifetime
{
    public TestEnvironment Env { get; } = new();
    public ICommandHost Host { get; private set; } = null!;
    public string Folder { get; } = TestEnvironment.NewOperatorFolder("hbops-proof-");
    public HbBackupArtefact Artefact { get; private set; } = null!;
    public HbRestoreTestResult Restore { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await Env.ConnectAsync();
        Artefact = await new BackupEngine(Host).RunAsync(new BackupRequest
        {
            Container = Env.Container, Database = Env.Database, User = Env.User, Destination = Folder, Tag = "proof",
        }, CancellationToken.None);
        Restore = await new RestoreEngine(Host).RunAsync(Artefact, new RestoreRequest
        {
            KeepSandbox = true, Amcheck = true, AmcheckHeapAllIndexed = true, SandboxName = "pg-restore-test-proof-" + Guid.NewGuid().ToString("N")[..6],
        }, CancellationToken.None);
    }

    /// <summary>The kept sandbox, read through psql in docker exec as the restoring role.</summary>
    public PgEndpoint Sandbox => new(new DockerCli(Host), Restore.Sandbox.Name, Restore.Sandbox.User, Restore.Sandbox.Database);

    public PgEndpoint Production => new(new DockerCli(Host), Env.Container, Env.User, Env.Database);

    public async Task DisposeAsync()
    {
        if (Restore is not null) await new SandboxManager(Host).RemoveAsync(Restore.Sandbox.Name, CancellationToken.None);
        await Host.DisposeAsync();
        TestEnvironment.Sh($"rm -rf '{Folder}'");
    }
}

public class ProofTests(ProofFixture f) : IClassFixture<ProofFixture>
{
    private static readonly string[] ExpectedDifferences =
    {
        "Owner Sequence proof.reading_log_id_seq", "Owner Table proof.reading_log", "Privileges Table proof.readings", "Missing UserMapping workflow_remote for workflow_admin",
    };

    private static string Describe(HbCatalogDifference d) => $"{d.Change} {d.Kind} {d.QualifiedName}";

    private Task<List<HbContentComparison>> ContentOfSandboxAsync() => ProofService.CompareContentAsync(
        new ProofSide { Source = RowCountSource.ArtefactSnapshot, Fingerprints = f.Artefact.ContentFingerprints },
        new ProofSide { Source = RowCountSource.Sandbox, Endpoint = f.Sandbox }, new TableFilter(), "", CancellationToken.None);

    private Task<HbCatalogComparison> CatalogOfSandboxAsync() => ProofService.CompareCatalogAsync(
        new ProofSide { Source = RowCountSource.ArtefactSnapshot, Catalog = f.Artefact.Catalog },
        new ProofSide { Source = RowCountSource.Sandbox, Endpoint = f.Sandbox, RestoreUser = f.Restore.Sandbox.User }, CancellationToken.None);

    [Fact]
    public void Given_a_backup_Then_every_table_is_fingerprinted_in_the_dumps_own_snapshot_with_pinned_text_forms()
    {
        var fp = f.Artefact.ContentFingerprints!;
        var counts = f.Artefact.RowCountSnapshot!;
        Assert.Equal(HbFingerprintMode.All, fp.Mode);
        Assert.Equal(ContentFingerprint.HashTextAlgorithm, fp.Algorithm);
        Assert.Equal(TextFormSettings.All, fp.Settings);
        Assert.Equal(counts.SnapshotId, fp.SnapshotId);
        Assert.Equal(41, fp.TableCount);
        Assert.Equal(counts.Tables.Select(t => t.QualifiedName), fp.Tables.Select(t => t.QualifiedName));
        // The fingerprint's own count is the exact count of the same snapshot, table by table.
        Assert.All(fp.Tables, t => Assert.Equal(counts.Tables.Single(c => c.QualifiedName == t.QualifiedName).ExactRows, t.Rows));
        Assert.Equal(3069, fp.Tables.Single(t => t.QualifiedName == "proof.readings").Rows);
        // A partitioned table is fingerprinted through its parent, never partition by partition.
        Assert.Equal(12000, fp.Tables.Single(t => t.QualifiedName == "proof.measurements").Rows);
        Assert.DoesNotContain(fp.Tables, t => t.Table.StartsWith("measurements_", StringComparison.Ordinal));
        Assert.Equal(HbTableFingerprint.DigestOf(0, "0", "0"), fp.Tables.Single(t => t.QualifiedName == "app.empty_table").Digest);
        var manifest = BackupEngine.ParseManifest(File.ReadAllText(f.Artefact.ManifestPath));
        Assert.Equal(fp.Tables.Select(t => t.Digest), manifest.ContentFingerprints!.Tables.Select(t => t.Digest));
        Assert.Equal(f.Artefact.Catalog!.ObjectCount, manifest.Catalog!.ObjectCount);
    }

    [Fact]
    public async Task Given_a_live_recompute_in_another_session_Then_production_fingerprints_are_the_same()
    {
        // Another session, another transaction, the same pinned settings: the text forms (and so the sums) are stable.
        var live = await ContentFingerprint.ComputeAsync(f.Production, HbFingerprintMode.All, ContentFingerprint.HashTextAlgorithm, Array.Empty<string>(), CancellationToken.None);
        var c = ContentFingerprint.Compare(f.Artefact.ContentFingerprints!, RowCountSource.ArtefactSnapshot, live, RowCountSource.Production);
        Assert.All(c, x => Assert.True(x.Equal, x.QualifiedName));
        Assert.Equal(41, c.Count);
    }

    [Fact]
    public async Task Given_shares_of_every_table_read_at_once_Then_they_add_up_to_the_whole_tables_fingerprints()
    {
        var tables = f.Artefact.ContentFingerprints!.Tables.Select(t => t.QualifiedName).ToList();
        var whole = await ContentFingerprint.ComputeAsync(f.Sandbox, HbFingerprintMode.All, ContentFingerprint.HashTextAlgorithm, tables, CancellationToken.None);
        var shared = await ContentFingerprint.ComputeAsync(f.Sandbox, HbFingerprintMode.All, ContentFingerprint.HashTextAlgorithm, tables, CancellationToken.None, parallel: 3);
        Assert.Equal(whole.Tables.Select(t => (t.QualifiedName, t.Rows, t.Sum0, t.Sum1)), shared.Tables.Select(t => (t.QualifiedName, t.Rows, t.Sum0, t.Sum1)));
        Assert.Equal(41, shared.TableCount);
    }

    [Fact]
    public void Given_the_fixture_Then_the_snapshots_catalog_names_its_objects_with_sequence_values_owners_and_grants()
    {
        var objects = f.Artefact.Catalog!.Objects;
        HbCatalogObject Get(HbCatalogObjectKind k, string s, string n) => Assert.Single(objects, o => o.Kind == k && o.Schema == s && o.Name == n);
        Get(HbCatalogObjectKind.Function, "proof", "log_reading()");
        Get(HbCatalogObjectKind.Function, "app", "touch_updated()");
        Get(HbCatalogObjectKind.Trigger, "proof", "readings.readings_log");
        Get(HbCatalogObjectKind.Trigger, "app", "customers.customers_touch");
        Get(HbCatalogObjectKind.Policy, "proof", "readings.readings_visible");
        Assert.StartsWith("domain ", Get(HbCatalogObjectKind.Type, "proof", "positive_qty").Detail, StringComparison.Ordinal);
        Assert.StartsWith("enum ", Get(HbCatalogObjectKind.Type, "proof", "mood").Detail, StringComparison.Ordinal);
        Get(HbCatalogObjectKind.Constraint, "proof", "positive_qty.positive_qty_check");
        Assert.DoesNotContain("not populated", Get(HbCatalogObjectKind.MaterializedView, "proof", "region_totals").Detail, StringComparison.Ordinal);
        Get(HbCatalogObjectKind.View, "app", "open_orders");
        Assert.Equal("9000", Get(HbCatalogObjectKind.Sequence, "proof", "invoice_no_seq").Detail);
        Assert.Equal("50000", Get(HbCatalogObjectKind.Sequence, "proof", "measurements_id_seq").Detail);
        Get(HbCatalogObjectKind.Table, "proof", "measurements_2024");
        Get(HbCatalogObjectKind.Index, "proof", "measurements_region_idx");
        Assert.Equal("workflow_admin", Get(HbCatalogObjectKind.Table, "proof", "reading_log").Owner);
        Assert.Contains("workflow_admin=r/", Get(HbCatalogObjectKind.Table, "proof", "readings").Privileges, StringComparison.Ordinal);
        Get(HbCatalogObjectKind.Extension, "public", "postgres_fdw");
        Get(HbCatalogObjectKind.UserMapping, "", "workflow_remote for workflow_admin");
        Assert.Equal("UTF8", Get(HbCatalogObjectKind.Database, "", "encoding").Detail);
        // Objects an extension brings are covered by the extension, not listed one by one.
        Assert.DoesNotContain(objects, o => o.Kind == HbCatalogObjectKind.Function && o.Name.StartsWith("postgres_fdw_", StringComparison.Ordinal));
        // A user mapping's options (its password) are never read.
        Assert.DoesNotContain("fdw-mapping-secret", HbYaml.Serialize(f.Artefact.Catalog), StringComparison.Ordinal);
    }

    [Fact]
    public void Given_the_restore_test_Then_content_catalog_and_amcheck_passed_with_exactly_the_explained_differences()
    {
        var r = f.Restore;
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.Empty(r.FailureReasons);
        Assert.Equal(HbCheckStatus.Passed, r.ContentCheck);
        Assert.Equal(41, r.Content.Count);
        Assert.All(r.Content, c => Assert.Equal(HbContentStatus.Equal, c.Status));
        Assert.Equal(HbCheckStatus.Passed, r.CatalogCheck);
        Assert.Equal(ExpectedDifferences.Order(), r.Catalog!.Differences.Select(Describe).Order());
        Assert.All(r.Catalog.Differences, d => Assert.Equal(HbDifferenceClass.Expected, d.Classification));
        Assert.Equal(r.Catalog.ReferenceObjects - 1, r.Catalog.DifferenceObjects);
        Assert.Contains(r.Catalog.Counts, c => c.Schema == "proof" && c.Kind == HbCatalogObjectKind.Function && c.Reference == 1 && c.Match);
        Assert.Equal(HbCheckStatus.Passed, r.Amcheck.Status);
        Assert.True(r.Amcheck.HeapAllIndexed);
        Assert.True(r.Amcheck.RelationsChecked > 100, r.Amcheck.Message);
        Assert.Contains("--heapallindexed", r.Amcheck.Command, StringComparison.Ordinal);
        foreach (var phase in new[] { "Content", "Catalog", "Amcheck" }) Assert.Equal(HbCheckStatus.Passed, Assert.Single(r.Phases, p => p.Name == phase).Status);
        Assert.True(r.DurationSeconds > 0);
        // The record beside the artefact carries all of it.
        var record = HbYaml.Deserialize<HbRestoreTestResult>(File.ReadAllText(r.RecordPath));
        Assert.Equal(HbCheckStatus.Passed, record.ContentCheck);
        Assert.Equal(4, record.Catalog!.ExpectedCount);
        Assert.Equal(HbCheckStatus.Passed, record.Amcheck.Status);
        Assert.Equal(r.DurationSeconds, record.DurationSeconds);
    }

    [Fact]
    public async Task Given_one_value_changed_in_the_kept_sandbox_Then_that_table_alone_is_Different()
    {
        // app.products has no trigger (an update of app.customers would also move its updated_at).
        await f.Sandbox.QueryAsync("UPDATE app.products SET title = title || '.' WHERE id = 42;", CancellationToken.None);
        try
        {
            var c = await ContentOfSandboxAsync();
            var different = Assert.Single(c, x => !x.Equal);
            Assert.Equal("app.products", different.QualifiedName);
            Assert.Equal(HbContentStatus.Different, different.Status);
            Assert.Equal(different.ReferenceRows, different.DifferenceRows);
        }
        finally
        {
            await f.Sandbox.QueryAsync("UPDATE app.products SET title = rtrim(title, '.') WHERE id = 42;", CancellationToken.None);
        }
        Assert.All(await ContentOfSandboxAsync(), x => Assert.True(x.Equal, x.QualifiedName));
    }

    [Fact]
    public async Task Given_duplicates_and_NULLs_changed_in_the_kept_sandbox_Then_the_table_without_a_key_is_Different_and_Equal_again_once_restored()
    {
        async Task<HbContentComparison> Readings() => (await ContentOfSandboxAsync()).Single(x => x.QualifiedName == "proof.readings");
        // Two of the four copies of a duplicated row gone: with XOR the four and the two remaining copies would cancel alike.
        const string dup = "sensor = 'sensor-3' AND qty = 4";
        var before = await f.Sandbox.ScalarAsync($"SELECT count(*) FROM proof.readings WHERE {dup};", CancellationToken.None);
        await f.Sandbox.QueryAsync($"CREATE TABLE public.hbops_saved AS SELECT * FROM proof.readings WHERE {dup} AND ctid IN (SELECT ctid FROM proof.readings WHERE {dup} ORDER BY ctid LIMIT 2); " +
            $"DELETE FROM proof.readings WHERE ctid IN (SELECT ctid FROM proof.readings WHERE {dup} ORDER BY ctid LIMIT 2);", CancellationToken.None);
        var removed = await Readings();
        Assert.Equal(HbContentStatus.Different, removed.Status);
        Assert.Equal(removed.ReferenceRows - 2, removed.DifferenceRows);
        // Put back without firing the table's insert trigger (it would log into proof.reading_log).
        await f.Sandbox.QueryAsync("SET session_replication_role = replica; INSERT INTO proof.readings SELECT * FROM public.hbops_saved; DROP TABLE public.hbops_saved;", CancellationToken.None);
        Assert.Equal(before, await f.Sandbox.ScalarAsync($"SELECT count(*) FROM proof.readings WHERE {dup};", CancellationToken.None));
        Assert.Equal(HbContentStatus.Equal, (await Readings()).Status);
        // An empty string that became NULL: same rows, different content.
        await f.Sandbox.QueryAsync("UPDATE proof.readings SET note = NULL WHERE sensor = 'empty-vs-null' AND note = '';", CancellationToken.None);
        var nulled = await Readings();
        Assert.Equal(HbContentStatus.Different, nulled.Status);
        Assert.Equal(nulled.ReferenceRows, nulled.DifferenceRows);
        await f.Sandbox.QueryAsync("UPDATE proof.readings SET note = '' WHERE ctid = (SELECT ctid FROM proof.readings WHERE sensor = 'empty-vs-null' LIMIT 1);", CancellationToken.None);
        Assert.Equal(HbContentStatus.Equal, (await Readings()).Status);
    }

    [Fact]
    public async Task Given_a_function_dropped_and_a_sequence_reset_in_the_kept_sandbox_Then_both_are_unexpected_and_named()
    {
        await f.Sandbox.QueryAsync("DROP FUNCTION app.touch_updated() CASCADE; SELECT setval('proof.invoice_no_seq', 1);", CancellationToken.None);
        var c = await CatalogOfSandboxAsync();
        var unexpected = c.Differences.Where(d => d.Classification == HbDifferenceClass.Unexpected).Select(Describe).ToList();
        Assert.Contains("Missing Function app.touch_updated()", unexpected);
        Assert.Contains("Missing Trigger app.customers.customers_touch", unexpected);
        Assert.Contains("Definition Sequence proof.invoice_no_seq", unexpected);
        var seq = c.Differences.Single(d => d.Name == "invoice_no_seq");
        Assert.Equal("9000", seq.Reference);
        Assert.Equal("1", seq.Difference);
        Assert.Contains("behind", seq.Reason, StringComparison.Ordinal);
        var text = CatalogSnapshot.DescribeUnexpected(c);
        Assert.Contains("Function app.touch_updated() missing on the Sandbox side", text, StringComparison.Ordinal);
        // The explained differences are still there, still explained.
        Assert.All(ExpectedDifferences, e => Assert.Contains(c.Differences, d => Describe(d) == e && d.Classification == HbDifferenceClass.Expected));
    }

    [Fact]
    public async Task Given_an_index_that_no_longer_matches_its_table_in_the_kept_sandbox_Then_pg_amcheck_heapallindexed_names_it()
    {
        // An expression index over a function declared immutable whose result is then changed: the index keeps the old
        // keys, so every heap tuple lacks its index entry. Only the sandbox is touched; no file is edited.
        await f.Sandbox.QueryAsync("CREATE FUNCTION public.hbops_key(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1'; " +
            "CREATE INDEX hbops_corrupt_idx ON public.dot_tools (public.hbops_key(id)); " +
            "CREATE OR REPLACE FUNCTION public.hbops_key(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT -$1';", CancellationToken.None);
        try
        {
            var runner = new AmcheckRunner(new DockerCli(f.Host));
            var found = await runner.RunAsync(f.Restore.Sandbox, heapAllIndexed: true, jobs: 2, CancellationToken.None);
            Assert.Equal(HbCheckStatus.Failed, found.Status);
            Assert.Equal(2, found.ExitCode);
            var failure = Assert.Single(found.Failures);
            Assert.Equal("btree index", failure.RelationKind);
            Assert.Equal($"{f.Env.Database}.public.hbops_corrupt_idx", failure.Relation);
            Assert.Contains("lacks matching index tuple", failure.Message, StringComparison.Ordinal);
            Assert.Contains("hbops_corrupt_idx", found.Message, StringComparison.Ordinal);
            // The structural check alone cannot see this kind of damage: the index is well-formed, just not the table's.
            var plain = await runner.RunAsync(f.Restore.Sandbox, heapAllIndexed: false, jobs: 2, CancellationToken.None);
            Assert.Equal(HbCheckStatus.Passed, plain.Status);
        }
        finally
        {
            await f.Sandbox.QueryAsync("DROP INDEX public.hbops_corrupt_idx; DROP FUNCTION public.hbops_key(integer);", CancellationToken.None);
        }
    }

    [Fact]
    public async Task Given_more_restore_tests_Then_the_history_shows_each_and_the_preflight_holds_the_latest_to_its_objectives()
    {
        var second = await new RestoreEngine(f.Host).RunAsync(f.Artefact, new RestoreRequest(), CancellationToken.None);
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, second.Result);
        var history = await new RestoreHistory(f.Host, filesAreLocal: false).ListAsync(f.Folder, CancellationToken.None);
        Assert.Equal(2, history.Count);
        Assert.All(history, h => Assert.Equal($"{f.Env.SshAlias}/{f.Env.Container}/{f.Env.Database}", h.Target));
        Assert.Equal(f.Restore.StartedUtc, history[0].StartedUtc.ToUniversalTime());
        Assert.Null(history[0].DurationChangePercent);
        Assert.NotNull(history[1].DurationChangePercent);
        Assert.Equal(41, history[1].TableCount);
        Assert.Equal(f.Artefact.SizeBytes, history[1].SizeBytes);
        Assert.Equal(f.Artefact.RowCountSnapshot!.Tables.Sum(t => t.ExactRows), history[1].Rows);
        Assert.NotNull(history[1].RestoreSeconds);
        var trend = Assert.Single(RestoreHistory.Trends(history));
        Assert.Equal(2, trend.Tests);
        Assert.Equal(second.DurationSeconds, trend.LatestSeconds);

        async Task<List<HbPreflightCheck>> Preflight(TimeSpan max, bool amcheck) => await new PreflightEvaluator(f.Host).EvaluateAsync(
            new PreflightRequest { BackupRoot = f.Folder, MaxRestoreTime = max, RequireAmcheck = amcheck }, CancellationToken.None);
        var slow = await Preflight(TimeSpan.FromSeconds(1), amcheck: true);
        var limit = Assert.Single(slow, c => c.Name == "RestoreTimeWithinLimit");
        Assert.False(limit.Passed);
        Assert.Contains("Get-HbRestoreHistory", limit.Message, StringComparison.Ordinal);
        // The latest restore test (the second) did not run pg_amcheck.
        var amcheck = Assert.Single(slow, c => c.Name == "AmcheckPassed");
        Assert.False(amcheck.Passed);
        Assert.StartsWith("NotRun", amcheck.Observed, StringComparison.Ordinal);
        var ok = await Preflight(TimeSpan.FromHours(1), amcheck: false);
        Assert.True(Assert.Single(ok, c => c.Name == "RestoreTimeWithinLimit").Passed);
        Assert.DoesNotContain(ok, c => c.Name == "AmcheckPassed");
        Assert.Contains("pg_amcheck NotRun", Assert.Single(ok, c => c.Name == "LatestRestoreTestPassed").Observed, StringComparison.Ordinal);
    }
}

/// <summary>The deeper proof across majors, for key tables only, and when a backup is interrupted while fingerprinting.</summary>
public class ProofAcrossMajorsTests
{
    private readonly TestEnvironment _env = new();

    [Fact]
    public async Task Given_a_PostgreSQL_15_dump_restored_into_17_Then_content_is_equal_and_only_explained_catalog_differences_remain()
    {
        await using var host = await _env.ConnectAsync();
        var folder = TestEnvironment.NewOperatorFolder("hbops-proof-x-");
        try
        {
            var a = await new BackupEngine(host).RunAsync(new BackupRequest
            {
                Container = _env.Container, Database = _env.Database, User = _env.User, Destination = folder, Tag = "x17", RowCounts = RowCountMode.None,
                Fingerprint = HbFingerprintMode.All,
            }, CancellationToken.None);
            // Fingerprints without counts still read the dump's snapshot.
            Assert.Null(a.RowCountSnapshot);
            Assert.Contains("--snapshot=", a.DumpCommand, StringComparison.Ordinal);
            Assert.Equal(41, a.ContentFingerprints!.TableCount);
            var r = await new RestoreEngine(host).RunAsync(a, new RestoreRequest { Image = _env.Image17 }, CancellationToken.None);
            Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
            Assert.Empty(r.FailureReasons);
            Assert.StartsWith("17.", r.Sandbox.ServerVersion, StringComparison.Ordinal);
            Assert.Equal(HbCheckStatus.Passed, r.ContentCheck);
            Assert.All(r.Content, c => Assert.True(c.Equal, c.QualifiedName));
            Assert.Equal(HbCheckStatus.Passed, r.CatalogCheck);
            // PostgreSQL 17 renders some definitions differently (e.g. view text, identity on partitions): explained, named.
            var rendered = r.Catalog!.Differences.Where(d => d.Change == HbCatalogChange.Definition).ToList();
            Assert.NotEmpty(rendered);
            Assert.All(rendered, d => Assert.Contains("newer major (17)", d.Reason, StringComparison.Ordinal));
            Assert.Equal(HbCheckStatus.NotRun, r.RowCountCheck);
        }
        finally
        {
            TestEnvironment.Sh($"rm -rf '{folder}'");
        }
    }

    [Fact]
    public async Task Given_PostgreSQL_17_production_with_key_tables_Then_only_those_are_fingerprinted_and_proven_equal()
    {
        await using var host = await _env.ConnectAsync();
        var folder = TestEnvironment.NewOperatorFolder("hbops-proof-17-");
        try
        {
            var a = await new BackupEngine(host).RunAsync(new BackupRequest
            {
                Container = _env.Container17, Database = _env.Database, User = _env.User, Destination = folder, Tag = "k17",
                Fingerprint = HbFingerprintMode.KeyTables, KeyTables = new[] { "public.dot_tools", "proof.readings", "proof.measurements" }, Compression = "zstd:3",
            }, CancellationToken.None);
            Assert.Equal(HbFingerprintMode.KeyTables, a.ContentFingerprints!.Mode);
            Assert.Equal(new[] { "proof.measurements", "proof.readings", "public.dot_tools" }, a.ContentFingerprints.Tables.Select(t => t.QualifiedName));
            var r = await new RestoreEngine(host).RunAsync(a, new RestoreRequest { Amcheck = true }, CancellationToken.None);
            Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
            Assert.Equal(HbCheckStatus.Passed, r.ContentCheck);
            Assert.Equal(3, r.Content.Count);
            Assert.Equal(HbCheckStatus.Passed, r.CatalogCheck);
            Assert.All(r.Catalog!.Differences, d => Assert.Equal(HbDifferenceClass.Expected, d.Classification));
            Assert.Equal(HbCheckStatus.Passed, r.Amcheck.Status);
            Assert.False(r.Amcheck.HeapAllIndexed);
        }
        finally
        {
            TestEnvironment.Sh($"rm -rf '{folder}'");
        }
    }

    [Fact]
    public async Task Given_a_backup_cancelled_while_fingerprinting_Then_no_session_of_it_keeps_reading_production()
    {
        // A database of this test's own in the production-like container whose fingerprint takes many seconds: long rows
        // that compress well (small on disk, but every row is decompressed, printed and hashed).
        var db = "hbops_cancel_" + Guid.NewGuid().ToString("N")[..6];
        string Psql(string sql, string database = "postgres") =>
            TestEnvironment.Sh($"docker exec {_env.Container} psql -X -q -At -U {_env.User} -d {database} -c \"{sql}\"").Trim();
        Psql($"CREATE DATABASE {db}");
        var folder = TestEnvironment.NewOperatorFolder("hbops-proof-cancel-");
        try
        {
            Psql("CREATE TABLE big AS SELECT g, repeat(md5(g::text), 100) AS t FROM generate_series(1, 600000) g", db);
            await using var host = await _env.ConnectAsync();
            using var cts = new CancellationTokenSource();
            var backup = new BackupEngine(host).RunAsync(new BackupRequest
            {
                Container = _env.Container, Database = db, User = _env.User, Destination = folder, Tag = "cancel",
            }, cts.Token);
            // Interrupt once the snapshot session is fingerprinting (pg_dump reads the same snapshot meanwhile).
            var fingerprinting = $"SELECT pid FROM pg_stat_activity WHERE datname = '{db}' AND application_name LIKE 'hbops-snapshot-%' " +
                                 "AND state = 'active' AND query LIKE '%hashtextextended%'";
            var since = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
            string pid;
            for (var deadline = DateTime.UtcNow.AddSeconds(90); (pid = Psql(fingerprinting)).Length == 0; await Task.Delay(100))
            {
                Assert.True(DateTime.UtcNow < deadline, "the fingerprint query never showed up");
                Assert.False(backup.IsCompleted, "the backup ended before its fingerprint was seen");
            }
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backup);
            // The snapshot session's backend was terminated in the middle of its fingerprint query, beside the dump's: a
            // query left running would go on reading production after the backup was stopped.
            var log = TestEnvironment.Sh($"docker logs --since {since} {_env.Container} 2>&1");
            Assert.Contains($"[{pid}] FATAL:  terminating connection due to administrator command", log, StringComparison.Ordinal);
            var left = "";
            for (var deadline = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < deadline; await Task.Delay(200))
            {
                left = Psql($"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'");
                if (left == "0") break;
            }
            Assert.Equal("0", left);
            Assert.Empty(Directory.GetFiles(folder, "*.partial", SearchOption.AllDirectories));
        }
        finally
        {
            Psql($"DROP DATABASE IF EXISTS {db} WITH (FORCE)");
            TestEnvironment.Sh($"rm -rf '{folder}'");
        }
    }
}
