using System.Management.Automation;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Evaluates named preflight checks on a backup root: backup exists and is fresh, checksum recorded and verifying, restore test passed, isolation and teardown verified, retention respected.</para>
/// </summary>
/// <remarks>
/// Emits one HbPreflightCheck per check (Name, Passed, Observed, Expected, Message) so a Pester suite can turn each into
/// a test (see module/examples/Preflight.Tests.ps1). Everything is observed now: manifests and SHA256SUMS are read, the
/// newest dump is re-hashed and listed with pg_restore --list, the restore-test record written beside it by
/// Test-HbRestore is read, and a kept sandbox is looked up in docker.
/// </remarks>
/// <example>
/// <code>Test-HbPreflight -SshHost contabo -Path /var/backups/hbops -MaxBackupAge 01:00:00 | Format-Table</code>
/// <para>Shows every check with what was observed.</para>
/// </example>
/// <example>
/// <code>if (Test-HbPreflight -SshHost contabo -Path /var/backups/hbops | Where-Object { -not $_.Passed }) { throw 'preflight failed' }</code>
/// <para>Stops a deployment script when any check fails.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbPreflight")]
[OutputType(typeof(HbPreflightCheck))]
public sealed class TestHbPreflightCommand : HbHostCmdletBase
{
    /// <summary>Backup root (or a run folder).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Read -Path on this machine even when an SSH host is named.</summary>
    [Parameter]
    public SwitchParameter Local { get; set; }

    /// <summary>The latest backup must be younger than this (default 60 minutes).</summary>
    [Parameter]
    public TimeSpan MaxBackupAge { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>Minimum number of retained backups (default 1).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int MinimumBackups { get; set; } = 1;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var request = new PreflightRequest
            {
                BackupRoot = HostPath(Path, local), LocalFiles = local,
                MaxBackupAge = MaxBackupAge, MinimumBackups = MinimumBackups,
            };
            var checks = RunEngine(async (reporter, ct) =>
                await new PreflightEvaluator(await ConnectAsync(host, ct).ConfigureAwait(false), reporter).EvaluateAsync(request, ct).ConfigureAwait(false));
            WriteObject(checks, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path);
        }
    }
}
