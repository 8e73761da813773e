using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Re-verifies backup artefacts: SHA-256 against the manifest and SHA256SUMS, and pg_restore --list readability.</para>
/// </summary>
/// <remarks>
/// Reads each dump once to hash it, compares with the manifest and the SHA256SUMS line, checks the manifest against its
/// own SHA256SUMS line, then streams the dump into pg_restore --list inside a throwaway container (--network none,
/// nothing mounted) to prove the archive is readable. A failed check is reported as Status Failed plus a
/// non-terminating error: ManifestTampered when the manifest was edited after the backup, else ArtefactInvalid.
/// </remarks>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Test-HbBackup</code>
/// <para>Re-verifies every artefact on the host.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbBackup -ErrorAction Stop</code>
/// <para>Makes a backup and fails the script if it does not verify.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbBackup")]
[OutputType(typeof(HbBackupVerification))]
public sealed class TestHbBackupCommand : HbHostCmdletBase
{
    /// <summary>Artefact to verify (from Invoke-HbBackup or Get-HbBackup).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Image for the pg_restore --list container (default postgres:&lt;artefact major&gt;).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Image { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var artefact = Artefact!;
            var v = RunEngine(async (reporter, ct) =>
            {
                var host = await ConnectAsync(artefact.Host, ct).ConfigureAwait(false);
                return await new ArtefactCatalog(host, artefact.Location == HbArtefactLocation.Local, reporter).VerifyAsync(artefact, Image, ct).ConfigureAwait(false);
            });
            WriteObject(v);
            if (v.Status != HbVerificationStatus.Verified)
            {
                // An edited manifest is named as such: nothing else it records can be trusted either.
                WriteHbError(new HbOpsException(v.ManifestMatches || v.Status == HbVerificationStatus.Missing ? HbErrorIds.ArtefactInvalid : HbErrorIds.ManifestTampered,
                    HbErrorCategory.InvalidData, $"Artefact '{artefact.Path}' did not verify: {v.Message}", artefact.Path), artefact.Path);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Artefact?.Path);
        }
    }
}
