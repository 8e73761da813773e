using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Re-verifies backup artefacts: SHA-256 against the manifest and SHA256SUMS, and pg_restore --list readability.</para>
/// </summary>
/// <remarks>
/// Reads each dump once to hash it, compares with the manifest and the SHA256SUMS line, checks the manifest against its
/// own SHA256SUMS line, then streams the dump into pg_restore --list inside a throwaway container (--network none,
/// nothing mounted) to prove the archive is readable. Like every Test-* cmdlet, the result is always written, and a
/// result that is not Verified (Failed or Missing) is also a non-terminating error whose TargetObject is that result:
/// ManifestTampered when the manifest was edited after the backup, else ArtefactInvalid. -ErrorAction Stop stops a
/// script there. With -Target the target's artefacts (see Get-HbBackup -Target) are verified, the newest -Newest only.
/// </remarks>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Test-HbBackup</code>
/// <para>Re-verifies every artefact on the host.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbBackup -ErrorAction Stop</code>
/// <para>Makes a backup and fails the script if it does not verify.</para>
/// </example>
/// <example>
/// <code>Test-HbBackup -Target contabo-directus -Newest 1</code>
/// <para>Re-verifies the newest backup of the target 'contabo-directus'.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbBackup", DefaultParameterSetName = ArtefactSet)]
[OutputType(typeof(HbBackupVerification))]
public sealed class TestHbBackupCommand : HbHostCmdletBase
{
    private const string ArtefactSet = "Artefact";
    private const string TargetSet = "Target";

    /// <summary>Artefact to verify (from Invoke-HbBackup or Get-HbBackup; also one read back with Import-Clixml, Receive-Job or ConvertFrom-Json, or the Artefact property of a restore-test result).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ArtefactSet)]
    [ValidateNotNull]
    [HbModelTransformation(typeof(HbBackupArtefact))]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Image for the pg_restore --list container (default postgres:&lt;artefact major&gt;).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Image { get; set; }

    /// <summary>A named target from the HbOps config file: verifies its artefacts (its host, backup root and database).</summary>
    [Parameter(Mandatory = true, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>With -Target: verify only the newest N artefacts (default: all of them).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateRange(1, 100000)]
    public int? Newest { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        List<HbBackupArtefact> artefacts;
        try
        {
            artefacts = Target is null ? new List<HbBackupArtefact> { Artefact! } : TargetArtefacts();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Target);
            return;
        }
        foreach (var artefact in artefacts)
        {
            HbBackupVerification v;
            try
            {
                v = RunEngine(async (reporter, ct) =>
                {
                    var host = await ConnectAsync(artefact.Host, ct).ConfigureAwait(false);
                    // A copy on a storage host is read back from there (the dump is hashed here and streamed to pg_restore --list).
                    var catalog = artefact.Location == HbArtefactLocation.Sftp
                        ? new ArtefactCatalog(host, await SourceOfAsync(artefact, ct).ConfigureAwait(false), reporter)
                        : new ArtefactCatalog(host, HostFiles.IsLocal(artefact), reporter);
                    return await catalog.VerifyAsync(artefact, Image, ct).ConfigureAwait(false);
                });
                WriteObject(v);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteHbError(ex, artefact.Path);
                continue;
            }
            if (v.Status != HbVerificationStatus.Verified)
            {
                // An edited manifest is named as such: nothing else it records can be trusted either. A copy that no longer
                // reads back as recorded has its own id: the copy, not the backup, went bad.
                var id = !v.ManifestMatches && v.Status != HbVerificationStatus.Missing ? HbErrorIds.ManifestTampered
                    : artefact.IsOffHostCopy ? HbErrorIds.CopyVerificationFailed : HbErrorIds.ArtefactInvalid;
                WriteResultFailure(id, $"{(artefact.IsOffHostCopy ? "Copy" : "Artefact")} '{artefact.Path}' did not verify ({v.Status}): {v.Message}", v,
                    artefact.IsOffHostCopy ? "Do not rely on this copy: copy the backup again, and check the storage."
                        : "Do not rely on this backup: make a new one, and find out what changed the file.");
            }
        }
    }

    private List<HbBackupArtefact> TargetArtefacts()
    {
        var t = LoadTarget(Target!, ConfigPath);
        ApplyTargetHost(t);
        var root = t.BackupRoot ?? throw HbOpsException.Invalid($"Target '{Target}' has no backupRoot.", Target);
        var host = ResolveHostFromParameters();
        var list = RunEngine(async (reporter, ct) =>
            await new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), false, reporter).ListAsync(root, ct, requireDirectory: true).ConfigureAwait(false));
        var mine = list.Where(a => t.Database is null || string.Equals(a.Database, t.Database, StringComparison.Ordinal)).ToList();
        WriteVerbose($"{mine.Count} artefact(s) of target '{Target}' under '{root}'{(Newest is { } n ? $"; verifying the newest {n}" : "")}.");
        return Newest is { } newest ? mine.TakeLast(newest).ToList() : mine;
    }
}
