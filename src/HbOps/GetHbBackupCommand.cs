using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Reads backup artefacts back from their manifests (on the docker host, on this machine, or copies on an SFTP storage host).</para>
/// </summary>
/// <remarks>
/// Finds every &lt;dump&gt;.manifest.yml in -Path and its run folders (one level down) and returns the same
/// HbBackupArtefact objects Invoke-HbBackup produced, oldest first, so they pipe into Test-HbBackup or Test-HbRestore.
/// On a docker host all manifests are read with one command (one SSH round trip however many there are). With -Target
/// the host and the backup root come from the HbOps config file and only that target's database is listed. A folder
/// that does not exist is a PathNotFound error; a manifest that cannot be read is skipped with a warning. Nothing is
/// re-verified here; use Test-HbBackup for that. Copies made by Copy-HbBackup are listed where they are: on an SFTP
/// storage host with -StorageHost (or -Path written alias:path), in a local folder with -Local; each carries its Location
/// (Sftp, LocalCopy) and its read-back proof (Copy) from the copy record beside it.
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
/// <example>
/// <code>Get-HbBackup -Path storage:/backups | Format-Table TimestampUtc, Database, Location, @{ n = 'Verified'; e = { $_.Copy.Verified } }, Path</code>
/// <para>Lists the copies on the SFTP storage host 'storage' with their read-back proof.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbBackup", DefaultParameterSetName = PathSet)]
[OutputType(typeof(HbBackupArtefact))]
public sealed class GetHbBackupCommand : HbBackupRootCmdletBase
{

    /// <summary>
    /// Backup root or run folder (with -Target: instead of the target's backup root); copies on an SFTP storage host are
    /// written alias:path (alias -Location).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(Position = 0, ParameterSetName = TargetSet)]
    [Alias("Location")]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>
    /// An SFTP storage host (ssh_config alias) whose -Path holds copies made by Copy-HbBackup. Without -SshHost, -HostName
    /// or -Local, -Path may name it directly as alias:path (storage:/backups).
    /// </summary>
    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SshHostCompleter))]
    public string? StorageHost { get; set; }

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
            if (Target is null && StorageLocationOf() is { } storage)
            {
                var storageHost = ResolveStorageHost(storage.StorageAlias!);
                var copies = RunEngine(async (reporter, ct) =>
                {
                    var store = await ConnectStorageAsync(storageHost, ct).ConfigureAwait(false);
                    return await new ArtefactCatalog(new LocalCommandHost(), store, reporter).ListAsync(storage.Path, ct, requireDirectory: true).ConfigureAwait(false);
                });
                WriteVerbose($"{copies.Count} copies under '{storage.Path}' on {storageHost}.");
                WriteObject(copies, enumerateCollection: true);
                return;
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

    // A storage location when -StorageHost is given, or -Path is alias:path and nothing names a docker host or this machine.
    private StorageLocation? StorageLocationOf()
    {
        if (StorageHost is null && (Local || SshHost is not null || HostName is not null)) return null;
        var location = StorageLocation.Parse(Path!, StorageHost, nameof(Path));
        return location.IsSftp ? location : null;
    }
}
