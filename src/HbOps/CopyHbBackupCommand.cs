using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Copies a backup artefact off the docker host (to an SFTP storage host or a local folder) and proves the copy by reading it back.</para>
/// </summary>
/// <remarks>
/// Copies the dump, its manifest (unchanged) and its SHA256SUMS lines into &lt;Destination&gt;/&lt;run folder&gt;/, as
/// Invoke-HbBackup laid them out on the host. The dump streams from where it is (read by cat over the docker host's SSH
/// connection, from a local file, or from another storage host) straight into the destination, hashed on the way; it is
/// never held in memory or written to this machine's disk. It is written to &lt;dump&gt;.partial, created exclusively and
/// private (0600); then the whole copy is read back from the destination (over SFTP for a storage host, whose account
/// needs nothing but SFTP: no shell, no sha256sum) and its SHA-256 and size compared with the manifest's. Only then is
/// it claimed: SHA256SUMS lines, the rename into place (an existing file is never replaced), a copy record
/// (&lt;dump&gt;.copy.yml: source, transfer and read-back hashes, times), then the manifest. A copy that reads back
/// differently is removed and reported as CopyVerificationFailed; a broken transfer (connection cut, storage full:
/// StorageFull) removes the partial file and claims nothing. Before the transfer the destination must have room for the
/// dump (StorageFull otherwise, unless -Force) and hold nothing of that name (CopyExists).
/// The result is the copy as an HbBackupArtefact (Location Sftp or LocalCopy, Copy holding the proof): it pipes into
/// Test-HbRestore, which then restores from the copy, and Get-HbBackup -StorageHost lists copies the same way.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Copy-HbBackup -Destination storage:/backups | Test-HbRestore</code>
/// <para>Backs up, copies the artefact to the SFTP storage host 'storage' (an ssh_config alias) with a read-back proof, and proves the copy restores.</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Select-Object -Last 1 | Copy-HbBackup -Destination ./offsite</code>
/// <para>Copies the newest backup on the host to the folder 'offsite' on this machine (e.g. a mounted disk).</para>
/// </example>
/// <example>
/// <code>Copy-HbBackup -SshHost contabo -Path /var/backups/hbops/hb08_2026-05-15/directus_full_20260515T010203Z.dump -StorageHost storage -Destination nightly</code>
/// <para>Copies a dump named by its path into the folder 'nightly' of the storage account's home.</para>
/// </example>
[Cmdlet(VerbsCommon.Copy, "HbBackup", DefaultParameterSetName = ArtefactSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbBackupArtefact))]
public sealed class CopyHbBackupCommand : HbHostCmdletBase
{
    private const string ArtefactSet = "Artefact";
    private const string PathSet = "Path";

    /// <summary>The artefact to copy (from Invoke-HbBackup, Get-HbBackup, or a copy to copy further).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ArtefactSet)]
    [HbModelTransformation(typeof(HbBackupArtefact))]
    [ValidateNotNull]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Path of a dump whose manifest sits beside it; on the docker host named by -SshHost/-HostName, else on this machine.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>
    /// Where the copy goes: a folder on this machine, or an SFTP storage host written as scp does, alias:path
    /// (storage:/backups; storage: is the account's home, storage:nightly a folder in it). The alias is a Host entry of
    /// the ssh config (-SshConfigPath), its key in known_hosts (-KnownHostsPath). The artefact's run folder is made below it.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "";

    /// <summary>The SFTP storage host (ssh_config alias) -Destination is a path on, instead of writing alias:path.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SshHostCompleter))]
    public string? StorageHost { get; set; }

    /// <summary>Copy even when the destination reports less free space than the dump's size (a full storage still fails the copy, with nothing claimed).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var location = StorageLocation.Parse(Destination, StorageHost, nameof(Destination));
            var storage = location.IsSftp ? ResolveStorageHost(location.StorageAlias!) : null;
            var root = location.IsSftp ? location.Path : GetUnresolvedProviderPathFromPSPath(location.Path);
            var where = storage is null ? $"'{root}' on this machine" : $"'{root}' on {storage}";
            if (!ShouldProcess($"{Artefact?.Path ?? Path} -> {where}", "Copy and read back")) return;
            var request = new CopyRequest { DestinationRoot = root, Force = Force };
            var copy = RunEngine(async (reporter, ct) =>
            {
                var artefact = Artefact ?? await ReadArtefactAsync(ct).ConfigureAwait(false);
                var source = await SourceOfAsync(artefact, ct).ConfigureAwait(false);
                var destination = storage is null ? new LocalArtefactStore() : await ConnectStorageAsync(storage, ct).ConfigureAwait(false);
                return await new CopyEngine(reporter).CopyAsync(artefact, source, destination, request, ct).ConfigureAwait(false);
            });
            WriteObject(copy);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Artefact ?? Path);
        }
    }

    // The artefact named by -Path, read with its manifest on the host the SSH parameters name (or this machine).
    private async Task<HbBackupArtefact> ReadArtefactAsync(CancellationToken ct)
    {
        var host = ResolveHostFromParameters();
        var local = host.Kind == HbHostKind.Local;
        var catalog = new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), filesAreLocal: local);
        return await catalog.ReadAsync(HostPath(Path!, local), ct).ConfigureAwait(false);
    }
}
