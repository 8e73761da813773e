using System.Management.Automation;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Reads a closure record written by Export-HbClosureRecord back into objects.</para>
/// </summary>
/// <remarks>
/// Returns an HbClosureRecord whose Backup, Restore, RowCountComparisons, Teardown and Acceptance sections are the same
/// typed objects the other cmdlets produce, so records can be audited or compared in scripts.
/// </remarks>
/// <example>
/// <code>Import-HbClosureRecord ./closure.yml | Select-Object Title, Accepted, GeneratedAtUtc</code>
/// <para>Shows whether a recorded drill was accepted.</para>
/// </example>
/// <example>
/// <code>(Import-HbClosureRecord ./closure.yml).Restore.Messages | Format-Table Severity, Rule, Text</code>
/// <para>Lists the classified pg_restore messages of the recorded restore test.</para>
/// </example>
[Cmdlet(VerbsData.Import, "HbClosureRecord")]
[OutputType(typeof(HbClosureRecord))]
public sealed class ImportHbClosureRecordCommand : HbCmdletBase
{
    /// <summary>Record file(s).</summary>
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
                WriteObject(RunEngine((_, ct) => ClosureRecordStore.ReadAsync(full, ct)));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteHbError(ex, p);
            }
        }
    }
}
