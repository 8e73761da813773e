using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Engine.Proof;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Compares the catalogs of two sides (an artefact's snapshot, production read-only, or a sandbox) and lists every difference, classified Expected or Unexpected.</para>
/// </summary>
/// <remarks>
/// Reads per schema the tables, views, materialized views (and whether they are populated), sequences with their last
/// values, functions and procedures, triggers, indexes, constraints, types and domains, policies, and database-wide the
/// extensions, foreign servers, user mappings, event triggers, large objects and the encoding and locale; each with a
/// digest of its definition as the server renders it, its owner and its explicit privileges. Emits one
/// HbCatalogDifference per difference (nothing printed: the catalogs agree); -Summary emits one HbCatalogComparison
/// with the counts per schema and kind as well. Differences are Expected when a restore with --no-owner
/// --no-privileges explains them (owners, grants, a user mapping whose role the sandbox lacks), when sequences advanced
/// while pg_dump ran, when the sandbox image brings another extension version or a newer major renders a definition
/// differently; everything else is Unexpected. The reference defaults to the catalog read in the dump's own snapshot.
/// With -Target the production side is the target's (from the HbOps config file).
/// </remarks>
/// <example>
/// <code>$r | Compare-HbCatalog | Where-Object Classification -eq Unexpected</code>
/// <para>Lists what a kept sandbox's catalog ($r from Test-HbRestore -KeepSandbox) lacks or has in addition compared with the dump's snapshot, without the explained differences.</para>
/// </example>
/// <example>
/// <code>Compare-HbCatalog -SshHost contabo -Database directus -User directus -Reference Production -SandboxName pg-restore-test-hb08-20260515 -Summary</code>
/// <para>Compares live production (read-only) with a sandbox by name and shows the counts per schema and kind.</para>
/// </example>
[Cmdlet(VerbsData.Compare, "HbCatalog", DefaultParameterSetName = ArtefactSet)]
[OutputType(typeof(HbCatalogDifference), typeof(HbCatalogComparison))]
public sealed class CompareHbCatalogCommand : HbCompareCmdletBase
{
    /// <summary>Reference side: ArtefactSnapshot (the catalog read in the dump's snapshot; default) or Production (live, read-only).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.ArtefactSnapshot), nameof(RowCountSource.Production))]
    public string Reference { get; set; } = nameof(RowCountSource.ArtefactSnapshot);

    /// <summary>Other side: Sandbox (default) or Production (-Reference ArtefactSnapshot -Difference Production shows what changed since the backup).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.Sandbox), nameof(RowCountSource.Production))]
    public string Difference { get; set; } = nameof(RowCountSource.Sandbox);

    /// <summary>Emit one HbCatalogComparison (counts per schema and kind, and the differences) instead of the differences one by one.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var host = ResolveSidesHost();
            var comparison = RunEngine(async (reporter, ct) =>
            {
                if (Reference == Difference) throw HbOpsException.Invalid("-Reference and -Difference must name two different sides.", Reference);
                var catalog = Reference == nameof(RowCountSource.ArtefactSnapshot)
                    ? Artefact?.Catalog ?? throw HbOpsException.Invalid("-Reference ArtefactSnapshot needs an artefact with a catalog snapshot (taken by Invoke-HbBackup with row counts or fingerprints).", Artefact)
                    : null;
                var (reference, difference) = await (await SidesAsync(host, ct).ConfigureAwait(false)).ProofSidesAsync(SidesSpec,
                    catalog is null ? null : new ProofSide { Source = RowCountSource.ArtefactSnapshot, Catalog = catalog },
                    Difference == nameof(RowCountSource.Production), ct).ConfigureAwait(false);
                reporter.Verbose($"Reading catalogs: {reference.Source} vs {difference.Source}.");
                return await ProofService.CompareCatalogAsync(reference, difference, ct).ConfigureAwait(false);
            });
            if (Summary) WriteObject(comparison);
            else WriteObject(comparison.Differences, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Sandbox ?? SandboxName);
        }
    }
}
