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
/// Test-HbRestore is read, and a kept sandbox is looked up in docker. Like every Test-* cmdlet, all checks are written,
/// and each check that did not pass is also a non-terminating PreflightFailed error whose TargetObject is that check:
/// -ErrorAction Stop stops a script at the first one. With -Target the host and the backup root come from the HbOps
/// config file.
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
[Cmdlet(VerbsDiagnostic.Test, "HbPreflight", DefaultParameterSetName = PathSet)]
[OutputType(typeof(HbPreflightCheck))]
public sealed class TestHbPreflightCommand : HbHostCmdletBase
{
    private const string PathSet = "Path";
    private const string TargetSet = "Target";

    /// <summary>Backup root (or a run folder); with -Target, instead of the target's backup root.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(Position = 0, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>A named target from the HbOps config file: its host and backup root.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

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
        List<HbPreflightCheck> checks;
        try
        {
            if (Target is not null)
            {
                var t = LoadTarget(Target, ConfigPath);
                ApplyTargetHost(t);
                Path ??= t.BackupRoot ?? throw HbOps.Engine.Errors.HbOpsException.Invalid($"Target '{Target}' has no backupRoot and -Path was not given.", Target);
            }
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var request = new PreflightRequest
            {
                BackupRoot = HostPath(Path!, local), LocalFiles = local,
                MaxBackupAge = MaxBackupAge, MinimumBackups = MinimumBackups,
            };
            checks = RunEngine(async (reporter, ct) =>
                await new PreflightEvaluator(await ConnectAsync(host, ct).ConfigureAwait(false), reporter).EvaluateAsync(request, ct).ConfigureAwait(false));
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
