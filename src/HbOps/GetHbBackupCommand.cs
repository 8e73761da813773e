using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Reads backup artefacts back from their manifests (on the docker host or on this machine).</para>
/// </summary>
/// <remarks>
/// Finds every &lt;dump&gt;.manifest.yml in -Path and its run folders (one level down) and returns the same
/// HbBackupArtefact objects Invoke-HbBackup produced, oldest first, so they pipe into Test-HbBackup or Test-HbRestore.
/// On a docker host all manifests are read with one command (one SSH round trip however many there are). With -Target
/// the host and the backup root come from the HbOps config file and only that target's database is listed. A folder
/// that does not exist is a PathNotFound error; a manifest that cannot be read is skipped with a warning. Nothing is
/// re-verified here; use Test-HbBackup for that.
/// </remarks>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Select-Object -Last 1 | Test-HbRestore</code>
/// <para>Restore-tests the newest backup on the host.</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -Path ./backups -Local | Where-Object TimestampUtc -gt (Get-Date).ToUniversalTime().AddDays(-1)</code>
/// <para>Lists the local artefacts of the last day.</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -Target contabo-directus | Select-Object -Last 3</code>
/// <para>The three newest backups of the target 'contabo-directus' (host, backup root and database from ~/.config/hbops/hbops.yml).</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbBackup", DefaultParameterSetName = PathSet)]
[OutputType(typeof(HbBackupArtefact))]
public sealed class GetHbBackupCommand : HbHostCmdletBase
{
    private const string PathSet = "Path";
    private const string TargetSet = "Target";

    /// <summary>Backup root or run folder (with -Target: instead of the target's backup root).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(Position = 0, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>A named target from the HbOps config file: its host, its backup root and only its database's artefacts.</summary>
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

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            string? database = null;
            if (Target is not null)
            {
                var t = LoadTarget(Target, ConfigPath);
                ApplyTargetHost(t);
                Path ??= t.BackupRoot ?? throw HbOps.Engine.Errors.HbOpsException.Invalid($"Target '{Target}' has no backupRoot and -Path was not given.", Target);
                database = t.Database;
            }
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var path = HostPath(Path!, local);
            var list = RunEngine(async (reporter, ct) =>
                await new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), local, reporter).ListAsync(path, ct, requireDirectory: true).ConfigureAwait(false));
            if (database is not null)
            {
                WriteVerbose($"Keeping the artefacts of database '{database}' (target '{Target}').");
                list = list.Where(a => string.Equals(a.Database, database, StringComparison.Ordinal)).ToList();
            }
            WriteVerbose($"{list.Count} artefact(s) under '{path}'.");
            WriteObject(list, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path ?? Target);
        }
    }
}
