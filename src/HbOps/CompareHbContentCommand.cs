using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Engine.Proof;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Compares the content of every table of two sides by order-independent fingerprints: an artefact's snapshot, production (read-only) or a sandbox.</para>
/// </summary>
/// <remarks>
/// Emits one HbContentComparison per table (Equal, Different or Missing), so Where-Object { -not $_.Equal } lists what
/// differs. A table's fingerprint is its row count and two sums, over all rows, of a 64-bit hash of the row's text form
/// (t::text): no ORDER BY and no sort, duplicates count, NULLs and every type are covered through their text. Live sides
/// are read in one read-only repeatable-read transaction each, in parallel, with the session settings that change text
/// forms pinned (TimeZone UTC, DateStyle ISO, IntervalStyle postgres, extra_float_digits 3, bytea_output hex, lc_monetary
/// C, search_path pg_catalog). The reference defaults to the fingerprints Invoke-HbBackup took in the dump's own snapshot:
/// live production moves on after a backup, the snapshot is what the dump holds. Same major on both sides gives the same
/// text forms; see the README for what differs across majors. With -Target the production side is the target's (host,
/// container, database, user from the HbOps config file) and the sandbox comes from the pipeline or -SandboxName.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore -KeepSandbox | Compare-HbContent</code>
/// <para>Compares the kept sandbox's content with the fingerprints taken in the dump's snapshot, table by table.</para>
/// </example>
/// <example>
/// <code>$r | Compare-HbContent -Reference ArtefactSnapshot -Difference Production -Table 'app.*' | Where-Object { -not $_.Equal }</code>
/// <para>Shows which app tables changed in production since the backup.</para>
/// </example>
[Cmdlet(VerbsData.Compare, "HbContent", DefaultParameterSetName = ArtefactSet)]
[OutputType(typeof(HbContentComparison))]
public sealed class CompareHbContentCommand : HbCompareCmdletBase
{
    /// <summary>Reference side: ArtefactSnapshot (the fingerprints taken in the dump's snapshot; default) or Production (live, read-only).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.ArtefactSnapshot), nameof(RowCountSource.Production))]
    public string Reference { get; set; } = nameof(RowCountSource.ArtefactSnapshot);

    /// <summary>Other side: Sandbox (default) or Production (-Reference ArtefactSnapshot -Difference Production shows what changed since the backup).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.Sandbox), nameof(RowCountSource.Production))]
    public string Difference { get; set; } = nameof(RowCountSource.Sandbox);

    /// <summary>Tables to include (wildcards on schema.table or table).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] Table { get; set; } = Array.Empty<string>();

    /// <summary>Tables to exclude (wildcards).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] ExcludeTable { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var filter = new TableFilter { Include = Table, Exclude = ExcludeTable };
            var host = ResolveSidesHost();
            var results = RunEngine(async (reporter, ct) =>
            {
                if (Reference == Difference) throw HbOpsException.Invalid("-Reference and -Difference must name two different sides.", Reference);
                var snapshot = Reference == nameof(RowCountSource.ArtefactSnapshot)
                    ? Artefact?.ContentFingerprints ?? throw HbOpsException.Invalid(
                        "-Reference ArtefactSnapshot needs an artefact with content fingerprints (Invoke-HbBackup -Fingerprint All or KeyTables).", Artefact)
                    : null;
                var (reference, difference) = await (await SidesAsync(host, ct).ConfigureAwait(false)).ProofSidesAsync(SidesSpec,
                    snapshot is null ? null : new ProofSide { Source = RowCountSource.ArtefactSnapshot, Fingerprints = snapshot },
                    Difference == nameof(RowCountSource.Production), ct).ConfigureAwait(false);
                reporter.Verbose($"Fingerprinting table content: {reference.Source} vs {difference.Source}.");
                return await ProofService.CompareContentAsync(reference, difference, filter,
                    ContentFingerprint.AlgorithmFor(Artefact?.ServerMajor ?? CatalogSnapshot.MinimumMajor), ct).ConfigureAwait(false);
            });
            WriteObject(results, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Sandbox ?? SandboxName);
        }
    }
}
