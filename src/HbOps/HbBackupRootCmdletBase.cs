using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Base of cmdlets that read a backup root: by -Path (on the docker host, or this machine with -Local) or by a config
/// target (its host and backup root; -Path overrides the root).
/// </summary>
public abstract class HbBackupRootCmdletBase : HbHostCmdletBase
{
    /// <summary>Parameter set of an explicit -Path.</summary>
    protected const string PathSet = "Path";

    /// <summary>Parameter set of a config target.</summary>
    protected const string TargetSet = "Target";

    /// <summary>
    /// A named target from the HbOps config file: its host and backup root; Get-HbBackup and Get-HbRestoreHistory keep
    /// only its database's artefacts and restore tests.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Read the folder on this machine even when an SSH host is named.</summary>
    [Parameter]
    public SwitchParameter Local { get; set; }

    /// <summary>
    /// On the pipeline thread: applies <paramref name="target"/> (its way to the docker host for every SSH parameter not
    /// given) and returns the backup root (<paramref name="path"/> when given, else the target's) and the target.
    /// </summary>
    protected (string Root, HbTarget Target) ResolveTargetBackupRoot(string target, string? path)
    {
        var t = LoadTarget(target, ConfigPath);
        ApplyTargetHost(t);
        return (path ?? t.BackupRoot ?? throw HbOpsException.Invalid($"Target '{target}' has no backupRoot and -Path was not given.", target), t);
    }
}
