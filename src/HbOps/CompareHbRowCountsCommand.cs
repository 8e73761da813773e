using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Docker;
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
/// statistics within -Tolerance.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore -KeepSandbox | Compare-HbRowCounts</code>
/// <para>Compares production (read-only) with the kept sandbox, table by table.</para>
/// </example>
/// <example>
/// <code>$r | Compare-HbRowCounts -Reference ArtefactSnapshot -Table 'public.*' -ExcludeTable '*_log' | Where-Object { -not $_.Match }</code>
/// <para>Compares the sandbox with the counts taken in the dump's own snapshot and lists only differences.</para>
/// </example>
[Cmdlet(VerbsData.Compare, "HbRowCounts")]
[OutputType(typeof(HbRowCountComparison))]
public sealed class CompareHbRowCountsCommand : HbHostCmdletBase
{
    /// <summary>Artefact whose production database (and snapshot) is the reference side; binds from Invoke-HbBackup and from Test-HbRestore output.</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Sandbox to compare; binds from Test-HbRestore -KeepSandbox output.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public HbSandbox? Sandbox { get; set; }

    /// <summary>Sandbox by name (on the docker host named by the SSH parameters or the artefact).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SandboxName { get; set; }

    /// <summary>Production container when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Container { get; set; } = "postgres";

    /// <summary>Production database when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    /// <summary>Production role when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string User { get; set; } = "postgres";

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
            if (Mode == RowCountMode.None) throw HbOpsException.Invalid("-Mode must be Exact or Estimated.", Mode);
            var filter = new TableFilter { Include = Table, Exclude = ExcludeTable };
            var results = RunEngine(async (reporter, ct) =>
            {
                var host = Artefact?.Host ?? Sandbox?.Host ?? ResolveHostFromParameters();
                var docker = new DockerCli(await ConnectAsync(host, ct).ConfigureAwait(false));
                RowCountSide Production()
                {
                    var db = Artefact?.Database ?? Database ?? throw HbOpsException.Invalid("Give -Artefact or -Database for the production side.", null);
                    return new RowCountSide
                    {
                        Source = RowCountSource.Production,
                        Endpoint = new PgEndpoint(docker, Artefact?.Container ?? Validation.ContainerName(Container, "Container"), Artefact?.User ?? User, db),
                    };
                }
                if (Reference == Difference) throw HbOpsException.Invalid("-Reference and -Difference must name two different sides.", Reference);
                RowCountSide reference = Reference == nameof(RowCountSource.ArtefactSnapshot)
                    ? new RowCountSide
                    {
                        Source = RowCountSource.ArtefactSnapshot,
                        Snapshot = Artefact?.RowCountSnapshot ?? throw HbOpsException.Invalid("-Reference ArtefactSnapshot needs an artefact with a row-count snapshot.", Artefact),
                    }
                    : Production();
                RowCountSide difference;
                if (Difference == nameof(RowCountSource.Production))
                {
                    difference = Production();
                }
                else
                {
                    var sandboxName = Sandbox?.Name ?? SandboxName ?? throw HbOpsException.Invalid("Give -Sandbox or -SandboxName for the other side.", null);
                    var sandboxDocker = Sandbox is not null && !Sandbox.Host.Equals(host) ? new DockerCli(await ConnectAsync(Sandbox.Host, ct).ConfigureAwait(false)) : docker;
                    difference = new RowCountSide
                    {
                        Source = RowCountSource.Sandbox,
                        Endpoint = new PgEndpoint(sandboxDocker, Validation.ContainerName(sandboxName, "SandboxName"),
                            Sandbox?.User ?? Artefact?.User ?? User, Sandbox?.Database ?? Artefact?.Database ?? Database ?? ""),
                    };
                }
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
