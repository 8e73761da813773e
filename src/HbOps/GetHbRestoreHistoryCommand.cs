using System.Management.Automation;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Reads past restore tests from the records beside the artefacts and shows restore time, dump size and tables per target over time.</para>
/// </summary>
/// <remarks>
/// Every Test-HbRestore writes its result beside the artefact it restored (&lt;dump&gt;.restore-&lt;UTC&gt;.yml). This command
/// reads all of them under -Path (a backup root or a run folder, one level down) in one round trip and emits one
/// HbRestoreHistoryEntry per restore test, oldest first, with the change of its total time against the same target's
/// previous test. -Summary emits one HbRestoreTrend per target instead: first, latest, median and longest time, the
/// least-squares slope in seconds per day, and how dump size and table count moved. Restore time is the service level
/// a recovery depends on; watch it grow here, and fail a schedule on it with Test-HbPreflight -MaxRestoreMinutes. With
/// -Target the host and the backup root come from the HbOps config file and only that target's database is read.
/// </remarks>
/// <example>
/// <code>Get-HbRestoreHistory -SshHost contabo -Path /var/backups/hbops -Summary</code>
/// <para>One line per target: how restore time, dump size and tables moved from the first recorded test to the latest.</para>
/// </example>
/// <example>
/// <code>Get-HbRestoreHistory -SshHost contabo -Path /var/backups/hbops | Where-Object DurationChangePercent -gt 20</code>
/// <para>Restore tests that took over a fifth longer than the target's previous one.</para>
/// </example>
/// <example>
/// <code>Get-HbRestoreHistory -Target contabo-directus -Summary</code>
/// <para>The trend of the target 'contabo-directus' (host, backup root and database from ~/.config/hbops/hbops.yml).</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbRestoreHistory", DefaultParameterSetName = PathSet)]
[OutputType(typeof(HbRestoreHistoryEntry), typeof(HbRestoreTrend))]
public sealed class GetHbRestoreHistoryCommand : HbBackupRootCmdletBase
{

    /// <summary>Backup root or run folder (with -Target: instead of the target's backup root).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(Position = 0, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Emit one trend per target instead of one entry per restore test.</summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            string? database = null;
            if (Target is not null)
            {
                (Path, var t) = ResolveTargetBackupRoot(Target, Path);
                database = t.Database;
            }
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var path = HostPath(Path!, local);
            var entries = RunEngine(async (reporter, ct) =>
                await new RestoreHistory(await ConnectAsync(host, ct).ConfigureAwait(false), local, reporter).ListAsync(path, ct).ConfigureAwait(false));
            if (database is not null)
            {
                WriteVerbose($"Keeping the restore tests of database '{database}' (target '{Target}').");
                entries = entries.Where(e => e.Database == database).ToList();
            }
            WriteVerbose($"{entries.Count} restore test(s) under '{path}'.");
            if (Summary) WriteObject(RestoreHistory.Trends(entries), enumerateCollection: true);
            else WriteObject(entries, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path ?? Target);
        }
    }
}
