using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using HbOps.Engine.RowCounts;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Compares per-table row counts of two sides: production (read-only), a sandbox, or an artefact's snapshot.</para>
/// </summary>
/// <remarks>
/// Emits one HbRowCountComparison per table (union of both sides), so Where-Object { -not $_.Match } and Pester
/// assertions are natural. Both live sides are counted in parallel, each in one read-only repeatable-read
/// transaction; foreign tables are never counted. Exact mode requires equality; Estimated mode compares
/// statistics within -Tolerance. With -Target the production side is the target's (host, container, database, user from
/// the HbOps config file) and the sandbox comes from the pipeline or -SandboxName.
/// </remarks>
/// <example>
/// <code>$r = Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore -KeepSandbox; $r | Compare-HbRowCounts; $r | Remove-HbSandbox -Confirm:$false</code>
/// <para>Compares production (read-only) with the kept sandbox, table by table, then removes the sandbox.</para>
/// </example>
/// <example>
/// <code>$r | Compare-HbRowCounts -Reference ArtefactSnapshot -Table 'public.*' -ExcludeTable '*_log' | Where-Object { -not $_.Match }</code>
/// <para>Compares a kept sandbox ($r from Test-HbRestore -KeepSandbox) with the counts taken in the dump's own snapshot and lists only differences.</para>
/// </example>
/// <example>
/// <code>Compare-HbRowCounts -Target contabo-directus -SandboxName pg-restore-test-hb08-20260515 -Table public.dot_tools</code>
/// <para>Compares the target's production database with a kept sandbox on the same host (sandbox names complete from that host).</para>
/// </example>
[Cmdlet(VerbsData.Compare, "HbRowCounts", DefaultParameterSetName = ArtefactSet)]
[OutputType(typeof(HbRowCountComparison))]
public sealed class CompareHbRowCountsCommand : HbCompareCmdletBase
{
    /// <summary>Reference side: Production (live, read-only; default) or ArtefactSnapshot (the counts taken in the dump's snapshot).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.Production), nameof(RowCountSource.ArtefactSnapshot))]
    public string Reference { get; set; } = nameof(RowCountSource.Production);

    /// <summary>Other side: Sandbox (default) or Production (e.g. -Reference ArtefactSnapshot -Difference Production shows drift since the backup).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountSource.Sandbox), nameof(RowCountSource.Production))]
    public string Difference { get; set; } = nameof(RowCountSource.Sandbox);

    /// <summary>Exact (count(*)) or Estimated (statistics, compared with -Tolerance).</summary>
    [Parameter]
    [ValidateSet(nameof(RowCountMode.Exact), nameof(RowCountMode.Estimated))]
    public RowCountMode Mode { get; set; } = RowCountMode.Exact;

    /// <summary>Tables to include (wildcards on schema.table or table).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] Table { get; set; } = Array.Empty<string>();

    /// <summary>Tables to exclude (wildcards).</summary>
    [Parameter]
    [SupportsWildcards]
    public string[] ExcludeTable { get; set; } = Array.Empty<string>();

    /// <summary>Relative tolerance for Estimated mode.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double Tolerance { get; set; } = 0.1;

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
                var sides = await SidesAsync(host, ct).ConfigureAwait(false);
                RowCountSide reference = Reference == nameof(RowCountSource.ArtefactSnapshot)
                    ? new RowCountSide
                    {
                        Source = RowCountSource.ArtefactSnapshot,
                        Snapshot = Artefact?.RowCountSnapshot ?? throw HbOpsException.Invalid("-Reference ArtefactSnapshot needs an artefact with a row-count snapshot.", Artefact),
                    }
                    : new RowCountSide { Source = RowCountSource.Production, Endpoint = sides.Production(SidesSpec) };
                RowCountSide difference = Difference == nameof(RowCountSource.Production)
                    ? new RowCountSide { Source = RowCountSource.Production, Endpoint = sides.Production(SidesSpec) }
                    : new RowCountSide { Source = RowCountSource.Sandbox, Endpoint = await sides.SandboxAsync(SidesSpec, ct).ConfigureAwait(false) };
                reporter.Verbose($"Counting rows ({Mode}): {reference.Source} vs {difference.Source}.");
                return await RowCountService.CompareAsync(reference, difference, Mode, filter, Tolerance, ct).ConfigureAwait(false);
            });
            WriteObject(results, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Sandbox ?? SandboxName);
        }
    }
}
