using System.Management.Automation;
using HbOps.Engine.Copies;
using HbOps.Engine.Records;
using HbOps.Engine.Retention;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Evaluates named preflight checks on a backup root: backup exists and is fresh, checksum recorded and verifying, restore test passed (optionally within a restore-time objective and with pg_amcheck), isolation and teardown verified, retention respected and applied, off-host copies present, proven and fresh.</para>
/// </summary>
/// <remarks>
/// Emits one HbPreflightCheck per check (Name, Passed, Observed, Expected, Message) so a Pester suite can turn each into
/// a test (see module/examples/Preflight.Tests.ps1). Everything is observed now: manifests and SHA256SUMS are read, the
/// newest dump is re-hashed and listed with pg_restore --list, the restore-test record written beside it by
/// Test-HbRestore is read, and a kept sandbox is looked up in docker. The restore test's observation names its total time
/// and whether content, catalog and pg_amcheck were checked; -MaxRestoreMinutes adds RestoreTimeWithinLimit (fails when
/// the latest restore test took longer) and -RequireAmcheck adds AmcheckPassed (fails unless it ran pg_amcheck and it
/// found nothing). Like every Test-* cmdlet, all checks are written,
/// and each check that did not pass is also a non-terminating PreflightFailed error whose TargetObject is that check:
/// -ErrorAction Stop stops a script at the first one. With -Target the host and the backup root come from the HbOps
/// config file. With -CopyPath the off-host copies are checked too: OffHostCopyExists (the latest backup has a copy
/// there), OffHostCopyVerified (the newest copy carries its read-back proof and, re-read whole now, still has the recorded
/// SHA-256) and OffHostCopyFresh (the backup the newest copy holds is younger than -MaxCopyAgeMinutes). With a retention
/// rule (-KeepLast, -KeepDaily, -KeepWeekly, -KeepMonthly, -OlderThan) RetentionApplied passes when Remove-HbBackup with
/// that policy (and -MinimumKeep -MinimumBackups) would remove nothing.
/// </remarks>
/// <example>
/// <code>Test-HbPreflight -SshHost contabo -Path /var/backups/hbops -MaxBackupAge 01:00:00 | Format-Table</code>
/// <para>Shows every check with what was observed (a check that fails is also reported as an error).</para>
/// </example>
/// <example>
/// <code>Test-HbPreflight -Target contabo-directus -ErrorAction Stop | Out-Null</code>
/// <para>Stops a deployment script with a PreflightFailed error naming the first check that failed.</para>
/// </example>
/// <example>
/// <code>$failed = Test-HbPreflight -SshHost contabo -Path /var/backups/hbops -ErrorAction SilentlyContinue | Where-Object { -not $_.Passed }</code>
/// <para>Collects the failed checks without stopping, to report them all.</para>
/// </example>
/// <example>
/// <code>Test-HbPreflight -SshHost contabo -Path /var/backups/hbops -CopyPath storage:/backups -MaxCopyAgeMinutes 1500 -KeepDaily 7 -KeepWeekly 4 -ErrorAction SilentlyContinue | Where-Object { -not $_.Passed }</code>
/// <para>Also checks the off-host copies on the SFTP storage host 'storage' (a copy of the latest backup exists, reads back as recorded, holds a backup at most 25 hours old) and that retention is applied; lists the checks that fail.</para>
/// </example>
/// <example>
/// <code>Test-HbPreflight -SshHost contabo -Path /var/backups/hbops -MaxRestoreMinutes 15 -RequireAmcheck -ErrorAction SilentlyContinue | Where-Object { -not $_.Passed }</code>
/// <para>Also fails when the latest restore test took longer than 15 minutes or did not prove the restored copy free of corruption.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbPreflight", DefaultParameterSetName = PathSet)]
[OutputType(typeof(HbPreflightCheck))]
public sealed class TestHbPreflightCommand : HbBackupRootCmdletBase
{

    /// <summary>Backup root (or a run folder); with -Target, instead of the target's backup root.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(Position = 0, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The latest backup must be younger than this (default 60 minutes).</summary>
    [Parameter]
    public TimeSpan MaxBackupAge { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Minimum number of retained backups (default 1).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int MinimumBackups { get; set; } = 1;

    /// <summary>
    /// Where off-host copies are (Copy-HbBackup's -Destination): a folder on this machine or alias:path on an SFTP storage
    /// host. Adds the checks OffHostCopyExists, OffHostCopyVerified and OffHostCopyFresh.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CopyPath { get; set; }

    /// <summary>The SFTP storage host (ssh_config alias) -CopyPath is on, instead of writing alias:path.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SshHostCompleter))]
    public string? StorageHost { get; set; }

    /// <summary>The backup the newest off-host copy holds must be younger than this many minutes (default 60).</summary>
    [Parameter]
    [ValidateRange(1, 5256000)]
    public int MaxCopyAgeMinutes { get; set; } = 60;

    /// <summary>Retention check: the policy keeps the newest N (as Remove-HbBackup -KeepLast).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepLast { get; set; }

    /// <summary>Retention check: the newest of each of the last N days (as Remove-HbBackup -KeepDaily).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepDaily { get; set; }

    /// <summary>Retention check: the newest of each of the last N ISO weeks (as Remove-HbBackup -KeepWeekly).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepWeekly { get; set; }

    /// <summary>Retention check: the newest of each of the last N months (as Remove-HbBackup -KeepMonthly).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepMonthly { get; set; }

    /// <summary>Retention check: nothing older than this may remain beyond what the other rules and guards keep (as Remove-HbBackup -OlderThan).</summary>
    [Parameter]
    public TimeSpan? OlderThan { get; set; }
    /// <summary>Restore-time objective: the latest restore test of the latest backup must have taken at most this many minutes (check RestoreTimeWithinLimit).</summary>
    [Parameter]
    [ValidateRange(0.01, 1000000.0)]
    public double MaxRestoreMinutes { get; set; }

    /// <summary>The latest restore test must have run pg_amcheck (Test-HbRestore -Amcheck) and found nothing (check AmcheckPassed).</summary>
    [Parameter]
    public SwitchParameter RequireAmcheck { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        List<HbPreflightCheck> checks;
        try
        {
            if (Target is not null) Path = ResolveTargetBackupRoot(Target, Path).Root;
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var copyLocation = CopyPath is null ? null : StorageLocation.Parse(CopyPath, StorageHost, nameof(CopyPath));
            var storage = copyLocation is { IsSftp: true } ? ResolveStorageHost(copyLocation.StorageAlias!) : null;
            var policy = KeepLast is null && KeepDaily is null && KeepWeekly is null && KeepMonthly is null && OlderThan is null ? null
                : new RetentionPolicy { KeepLast = KeepLast, KeepDaily = KeepDaily, KeepWeekly = KeepWeekly, KeepMonthly = KeepMonthly, OlderThan = OlderThan, MinimumKeep = MinimumBackups }.Validate();
            var request = new PreflightRequest
            {
                BackupRoot = HostPath(Path!, local), LocalFiles = local,
                MaxBackupAge = MaxBackupAge, MinimumBackups = MinimumBackups,
                CopyRoot = copyLocation is null ? null : storage is null ? GetUnresolvedProviderPathFromPSPath(copyLocation.Path) : copyLocation.Path,
                MaxCopyAge = TimeSpan.FromMinutes(MaxCopyAgeMinutes), Retention = policy, RequireAmcheck = RequireAmcheck,
                MaxRestoreTime = MyInvocation.BoundParameters.ContainsKey(nameof(MaxRestoreMinutes)) ? TimeSpan.FromMinutes(MaxRestoreMinutes) : null,
            };
            checks = RunEngine(async (reporter, ct) =>
            {
                IArtefactSource? copies = copyLocation is null ? null : storage is null ? new LocalArtefactStore() : await ConnectStorageAsync(storage, ct).ConfigureAwait(false);
                return await new PreflightEvaluator(await ConnectAsync(host, ct).ConfigureAwait(false), reporter, copies).EvaluateAsync(request, ct).ConfigureAwait(false);
            });
            WriteObject(checks, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path ?? Target);
            return;
        }
        // The Test-* failure rule (see WriteResultFailure), once every check is written.
        foreach (var failed in checks.Where(c => !c.Passed))
        {
            WriteResultFailure(HbOps.Engine.Errors.HbErrorIds.PreflightFailed, $"Preflight check '{failed.Name}' failed: {failed.Message}", failed);
        }
    }
}
