using System.Management.Automation;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Reads records HbOps wrote (closure records, restore-test records, manifests) back into objects.</para>
/// </summary>
/// <remarks>
/// A closure record written by Export-HbClosureRecord returns an HbClosureRecord whose Backup, Restore,
/// RowCountComparisons, Teardown and Acceptance sections are the same typed objects the other cmdlets produce, so records
/// can be audited or compared in scripts. A restore-test record (&lt;dump&gt;.restore-&lt;UTC&gt;.yml, written beside the
/// artefact by Test-HbRestore) returns an HbRestoreTestResult, and a manifest (&lt;dump&gt;.manifest.yml) an
/// HbBackupArtefact. The kind is recognised from the file's content.
/// </remarks>
/// <example>
/// <code>Import-HbClosureRecord ./closure.yml | Select-Object Title, Accepted, GeneratedAtUtc</code>
/// <para>Shows whether a recorded drill was accepted.</para>
/// </example>
/// <example>
/// <code>(Import-HbClosureRecord ./closure.yml).Restore.Messages | Format-Table Severity, Rule, Text</code>
/// <para>Lists the classified pg_restore messages of the recorded restore test.</para>
/// </example>
/// <example>
/// <code>Get-ChildItem /var/backups/hbops -Recurse -Filter *.restore-*.yml | Import-HbClosureRecord | Format-Table</code>
/// <para>Reads the restore-test records Test-HbRestore wrote beside the artefacts (on a backup root this machine can read).</para>
/// </example>
[Cmdlet(VerbsData.Import, "HbClosureRecord")]
[OutputType(typeof(HbClosureRecord), typeof(HbRestoreTestResult), typeof(HbBackupArtefact))]
public sealed class ImportHbClosureRecordCommand : HbCmdletBase
{
    /// <summary>Record file(s): closure records, restore-test records or manifests.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            try
            {
                var full = GetUnresolvedProviderPathFromPSPath(p);
                WriteObject(RunEngine((_, ct) => ClosureRecordStore.ReadAnyAsync(full, ct)));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteHbError(ex, p);
            }
        }
    }
}
