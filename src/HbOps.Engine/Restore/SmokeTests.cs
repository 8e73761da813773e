using System.Text.Json;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>
/// The restore test's smoke tests in the sandbox: the running server's version, the restored tables per schema, exact row
/// counts compared with the artefact's snapshot, and the operator's assertions. What differs is a failure reason on the
/// result (a Failed verdict), never an exception.
/// </summary>
internal sealed class SmokeTests(IHbReporter report)
{
    /// <summary>Runs them on <paramref name="run"/>'s sandbox; true when nothing failed.</summary>
    public async Task<bool> RunAsync(HbRestoreTestResult result, SandboxRun run, RestoreRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = result.Artefact.RowCountSnapshot;
        var compareCounts = snapshot is not null && snapshot.Mode != RowCountMode.None;
        var countedAt = DateTime.UtcNow;
        using (var doc = JsonDocument.Parse((await run.QueryAsOwnerAsync(FactsSql(snapshot, compareCounts), ct).ConfigureAwait(false)).Trim()))
        {
            var root = doc.RootElement;
            CheckServer(result, run.Sandbox!, root);
            CheckTables(result, root);
            CompareRowCounts(result, request, root, compareCounts, countedAt);
        }
        await RunAssertionsAsync(result, run, request, ct).ConfigureAwait(false);
        return result.FailureReasons.Count == 0;
    }

    // One read-only statement (one round trip, which matters when psql runs through docker exec over SSH): the server's
    // own version, tables per schema, and exact counts of the snapshot's tables.
    private static string FactsSql(HbRowCountSnapshot? snapshot, bool compareCounts)
    {
        var countSql = compareCounts
            ? "(" + RowCounter.BuildSelect(RowCountMode.Exact, snapshot!.Tables.Select(t => t.QualifiedName).ToList()) + ")"
            : "NULL::json";
        return "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n" +
            "SELECT json_build_object('version', current_setting('server_version'), 'num', current_setting('server_version_num')::int, " +
            "'schemas', coalesce((SELECT json_agg(json_build_object('s', nspname, 'n', n) ORDER BY nspname) FROM (" +
            "SELECT n.nspname, count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE c.relkind IN ('r','p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' GROUP BY 1) x), '[]'::json), " +
            "'counts', " + countSql + ");\nCOMMIT;";
    }

    // The image's declared major is checked before creation; the running server has the last word.
    private static void CheckServer(HbRestoreTestResult result, HbSandbox sandbox, JsonElement root)
    {
        sandbox.ServerVersion = root.GetProperty("version").GetString() ?? "";
        var runningMajor = root.GetProperty("num").GetInt32() / 10000;
        if (runningMajor < result.Artefact.ServerMajor)
        {
            result.FailureReasons.Add($"The sandbox server is PostgreSQL {sandbox.ServerVersion}, lower than the artefact's server major {result.Artefact.ServerMajor}.");
        }
    }

    private static void CheckTables(HbRestoreTestResult result, JsonElement root)
    {
        var snapshot = result.Artefact.RowCountSnapshot;
        result.TablesPerSchema = root.GetProperty("schemas").EnumerateArray()
            .Select(e => new HbSchemaTableCount { Schema = e.GetProperty("s").GetString()!, Tables = e.GetProperty("n").GetInt32() }).ToList();
        result.TableCount = result.TablesPerSchema.Sum(s => s.Tables);
        if (result.TableCount != 0) return;
        // An empty database restores to an empty database: the dump's own snapshot is the evidence (a snapshot of key
        // tables never counts 0: they must exist). Without one, no tables means nothing was restored.
        if (snapshot is { Mode: not RowCountMode.None, TableCount: 0 })
        {
            result.Notes.Add("The database has no tables, as the dump's own snapshot recorded: only its other objects were restored.");
            return;
        }
        result.FailureReasons.Add(snapshot is { Mode: not RowCountMode.None }
            ? $"The restored database has no tables; the dump's snapshot counted {snapshot.TableCount}."
            : "The restored database has no tables (the artefact carries no snapshot saying production had none).");
    }

    private void CompareRowCounts(HbRestoreTestResult result, RestoreRequest request, JsonElement root, bool compareCounts, DateTime countedAt)
    {
        var snapshot = result.Artefact.RowCountSnapshot;
        if (!compareCounts)
        {
            result.RowCountCheck = HbCheckStatus.NotRun;
            report.Warning("The artefact carries no row-count snapshot; row counts were not compared (use -RowCounts Exact on Invoke-HbBackup).");
            return;
        }
        var restored = new HbRowCountSnapshot { Mode = RowCountMode.Exact, TakenAtUtc = countedAt, Tables = RowCounter.Parse(root.GetProperty("counts").GetRawText()) };
        // The sandbox is always counted exactly; estimated snapshots are compared with tolerance.
        foreach (var t in restored.Tables) t.LiveTuplesEstimate = t.ExactRows;
        result.RowCounts = RowCounter.Compare(snapshot!, RowCountSource.ArtefactSnapshot, restored, RowCountSource.Sandbox,
            snapshot!.Mode, request.EstimateTolerance);
        result.RowCountCheck = result.RowCountMismatches == 0 ? HbCheckStatus.Passed : HbCheckStatus.Failed;
        if (result.RowCountMismatches > 0)
        {
            result.FailureReasons.Add($"{result.RowCountMismatches} table(s) differ from the artefact's {snapshot.Mode} row counts: " +
                string.Join(", ", result.RowCounts.Where(c => !c.Match).Take(5).Select(c => $"{c.QualifiedName} {c.Reference}->{c.Difference}")));
        }
    }

    // Assertions are the operator's queries, run as data: one statement returning rows, read-only, rolled back, as a role
    // that reads everything and is no superuser (see ReadOnlyQuery).
    private static async Task RunAssertionsAsync(HbRestoreTestResult result, SandboxRun run, RestoreRequest request, CancellationToken ct)
    {
        if (request.Assertions.Count == 0) return;
        var asserting = run.As(ReadOnlyQuery.Role);
        await run.QueryAsOwnerAsync(ReadOnlyQuery.RoleSetupSql, ct).ConfigureAwait(false);
        foreach (var a in request.Assertions)
        {
            var ar = new HbAssertionResult { Name = a.Name, Sql = a.Sql, Expected = a.Expected.Trim() };
            try
            {
                ar.Actual = (await asserting.QueryReadOnlyAsync(a.Sql, ct).ConfigureAwait(false)).Trim();
                ar.Status = ar.Actual == ar.Expected ? HbCheckStatus.Passed : HbCheckStatus.Failed;
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.QueryFailed)
            {
                ar.Actual = ex.Message;
                ar.Status = HbCheckStatus.Failed;
            }
            if (!ar.Passed) result.FailureReasons.Add($"Assertion '{a.Name}' failed: expected '{ar.Expected}', got '{ar.Actual}'.");
            result.Assertions.Add(ar);
        }
    }
}
