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
/// Nothing is re-verified here; use Test-HbBackup for that.
/// </remarks>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Select-Object -Last 1 | Test-HbRestore</code>
/// <para>Restore-tests the newest backup on the host.</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -Path ./backups -Local | Where-Object TimestampUtc -gt (Get-Date).ToUniversalTime().AddDays(-1)</code>
/// <para>Lists the local artefacts of the last day.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbBackup")]
[OutputType(typeof(HbBackupArtefact))]
public sealed class GetHbBackupCommand : HbHostCmdletBase
{
    /// <summary>Backup root or run folder.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Read the folder on this machine even when an SSH host is named.</summary>
    [Parameter]
    public SwitchParameter Local { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var host = ResolveHostFromParameters();
            var local = Local || host.Kind == HbHostKind.Local;
            var path = HostPath(Path, local);
            var list = RunEngine(async (reporter, ct) =>
                await new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), local, reporter).ListAsync(path, ct).ConfigureAwait(false));
            WriteObject(list, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path);
        }
    }
}
