using HbOps.Engine.Docker;
using HbOps.Engine.Postgres;
using HbOps.Engine.Restore;
using HbOps.Model;

namespace HbOps.Engine.Proof;

/// <summary>
/// The restore test's deeper proof in the sandbox, after the row counts: the content fingerprints recomputed and compared
/// with those taken in the dump's snapshot, the restored catalog compared with the one read there, and (on request)
/// pg_amcheck. The content check runs beside the catalog check and pg_amcheck (which follows the catalog, because it
/// installs the amcheck extension). A difference or a corruption makes the result Failed, naming what differs.
/// </summary>
internal sealed class RestoreProof(DockerCli docker, IHbReporter reporter)
{
    /// <summary>Runs a named phase of the restore test (its timing and status are recorded).</summary>
    public delegate Task<bool> PhaseRunner(string name, Func<Task<bool>> body);

    /// <summary>Runs the checks the artefact and the request call for and records them on <paramref name="result"/>.</summary>
    public async Task RunAsync(HbRestoreTestResult result, HbSandbox sandbox, ISqlEndpoint sql, RestoreRequest request, PhaseRunner phase, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(phase);
        var content = ContentAsync(result, sandbox, sql, request.Jobs, phase, ct);
        var catalogThenAmcheck = CatalogThenAmcheckAsync(result, sandbox, sql, request, phase, ct);
        // Both run to their end whatever the other does; a failure to run either is reported (WhenAll observes both).
        await Task.WhenAll(content, catalogThenAmcheck).ConfigureAwait(false);
    }

    private static void Fail(HbRestoreTestResult result, string reason)
    {
        lock (result.FailureReasons) result.FailureReasons.Add(reason);
    }

    private async Task ContentAsync(HbRestoreTestResult result, HbSandbox sandbox, ISqlEndpoint sql, int jobs, PhaseRunner phase, CancellationToken ct)
    {
        var reference = result.Artefact.ContentFingerprints;
        if (reference is { Mode: HbFingerprintMode.All, Tables.Count: 0 })
        {
            // Every table of an empty database was fingerprinted: none. Equal only if none came back either.
            result.ContentCheck = result.TableCount == 0 ? HbCheckStatus.Passed : HbCheckStatus.Failed;
            if (result.TableCount != 0) Fail(result, $"The dump's snapshot fingerprinted every table and found none, but {result.TableCount} table(s) were restored.");
            return;
        }
        if (reference is null || reference.Tables.Count == 0)
        {
            result.ContentCheck = HbCheckStatus.NotRun;
            reporter.Verbose("The artefact carries no content fingerprints; content was not compared (Invoke-HbBackup -Fingerprint All takes them).");
            return;
        }
        await phase("Content", async () =>
        {
            reporter.Verbose($"Fingerprinting {reference.TableCount} restored tables ({reference.Algorithm}).");
            // Nothing else writes in the sandbox: from PostgreSQL 14 on, -Jobs sessions each read a share of every table.
            var parallel = sandbox.ImageMajor >= 14 ? Math.Max(1, jobs) : 1;
            var restored = await ContentFingerprint.ComputeAsync(sql, reference.Mode, reference.Algorithm,
                reference.Tables.Select(t => t.QualifiedName).ToList(), ct, parallel).ConfigureAwait(false);
            result.Content = ContentFingerprint.Compare(reference, RowCountSource.ArtefactSnapshot, restored, RowCountSource.Sandbox);
            result.ContentCheck = result.ContentDifferences == 0 ? HbCheckStatus.Passed : HbCheckStatus.Failed;
            if (result.ContentDifferences > 0)
            {
                Fail(result, $"{result.ContentDifferences} table(s) differ in content from the dump's snapshot: {ContentFingerprint.DescribeDifferences(result.Content)}.");
            }
            return result.ContentDifferences == 0;
        }).ConfigureAwait(false);
    }

    private async Task CatalogThenAmcheckAsync(HbRestoreTestResult result, HbSandbox sandbox, ISqlEndpoint sql, RestoreRequest request, PhaseRunner phase, CancellationToken ct)
    {
        var reference = result.Artefact.Catalog;
        if (reference is null)
        {
            result.CatalogCheck = HbCheckStatus.NotRun;
            reporter.Verbose("The artefact carries no catalog snapshot; the catalog was not compared.");
        }
        else
        {
            await phase("Catalog", async () =>
            {
                var restored = await CatalogSnapshot.ReadAsync(sql, ct).ConfigureAwait(false);
                var comparison = CatalogSnapshot.Compare(reference, restored, new CatalogSides
                {
                    ReferenceSource = RowCountSource.ArtefactSnapshot, DifferenceSource = RowCountSource.Sandbox, RestoreUser = sandbox.User,
                });
                result.Catalog = comparison;
                result.CatalogCheck = comparison.UnexpectedCount == 0 ? HbCheckStatus.Passed : HbCheckStatus.Failed;
                if (comparison.UnexpectedCount > 0)
                {
                    Fail(result, $"{comparison.UnexpectedCount} unexpected catalog difference(s) from the dump's snapshot: {CatalogSnapshot.DescribeUnexpected(comparison)}.");
                }
                return comparison.UnexpectedCount == 0;
            }).ConfigureAwait(false);
        }
        if (!request.Amcheck) return;
        await phase("Amcheck", async () =>
        {
            if (sandbox.ImageMajor is > 0 and < 14)
            {
                result.Amcheck = new HbAmcheckResult
                {
                    Status = HbCheckStatus.Failed, HeapAllIndexed = request.AmcheckHeapAllIndexed,
                    Message = $"pg_amcheck needs PostgreSQL 14 or later; the sandbox runs {sandbox.ImageMajor}.",
                };
            }
            else
            {
                reporter.Verbose($"Running pg_amcheck in '{sandbox.Name}'{(request.AmcheckHeapAllIndexed ? " with --heapallindexed" : "")}.");
                result.Amcheck = await new AmcheckRunner(docker).RunAsync(sandbox, request.AmcheckHeapAllIndexed, request.Jobs, ct).ConfigureAwait(false);
            }
            if (result.Amcheck.Status != HbCheckStatus.Passed) Fail(result, result.Amcheck.Message + ".");
            return result.Amcheck.Status == HbCheckStatus.Passed;
        }).ConfigureAwait(false);
    }
}
