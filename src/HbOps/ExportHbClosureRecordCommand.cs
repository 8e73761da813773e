using System.Management.Automation;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Writes one YAML closure record from the pipeline's backup, restore-test, row-count and teardown objects.</para>
/// </summary>
/// <remarks>
/// Collects every HbBackupArtefact, HbRestoreTestResult, HbRowCountComparison and HbSandboxRemoval it receives and
/// writes a record with the backup mechanism and flags, artefact path/size/SHA-256/timestamp/versions, the restore
/// environment and its isolation evidence, restore exit code and classified messages, smoke tests and per-table counts,
/// teardown verification, production read-only evidence, and acceptance criteria each decided by an observed fact
/// (NotEvaluated when no evidence was supplied). Secrets never appear; the record reads back with Import-HbClosureRecord.
/// </remarks>
/// <example>
/// <code>$a = Invoke-HbBackup -Target contabo-directus; $r = $a | Test-HbRestore -KeepSandbox; $c = $r | Compare-HbRowCounts; $x = $r | Remove-HbSandbox -Confirm:$false
/// $a, $r, $c, $x | Export-HbClosureRecord -Path ./closure.yml -Title 'HB-08 restore drill'</code>
/// <para>Writes the closure record of a full drill.</para>
/// </example>
/// <example>
/// <code>(Import-HbClosureRecord ./closure.yml).Acceptance | Format-Table</code>
/// <para>Reads the record back and lists the acceptance criteria with their evidence.</para>
/// </example>
[Cmdlet(VerbsData.Export, "HbClosureRecord", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbClosureRecord))]
public sealed class ExportHbClosureRecordCommand : HbCmdletBase
{
    private readonly List<object> _items = new();

    /// <summary>Objects from the HbOps cmdlets, also read back (Import-Clixml, Receive-Job, ConvertFrom-Json) or in arrays; others are ignored with a warning.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [AllowNull]
    public PSObject? InputObject { get; set; }

    /// <summary>File to write (YAML). Without it the record object is only returned.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Title of the record.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Title { get; set; } = "HbOps backup and restore-test closure record";

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        // $a, $r, $c, $x | Export-HbClosureRecord pipes $c (the comparisons) as one array: take its elements.
        if (InputObject?.BaseObject is System.Collections.IList list)
        {
            foreach (var element in list) Collect(element is null ? null : PSObject.AsPSObject(element));
            return;
        }
        Collect(InputObject);
    }

    private void Collect(PSObject? input)
    {
        if (input?.BaseObject is not { } o) return;
        try
        {
            // Objects read back (Import-Clixml, Receive-Job, ConvertFrom-Json) count as the evidence they were.
            if (ModelRebuilder.TryRebuildAny(input, out var item) &&
                item is HbBackupArtefact or HbRestoreTestResult or HbRowCountComparison or HbSandboxRemoval)
            {
                _items.Add(item);
            }
            else
            {
                WriteWarning($"Ignoring an object of type {input.TypeNames.FirstOrDefault() ?? o.GetType().FullName}: it carries no HbOps evidence.");
            }
        }
        catch (InvalidDataException ex)
        {
            WriteHbError(HbOps.Engine.Errors.HbOpsException.Invalid(ex.Message, null), null);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            var record = ClosureRecordBuilder.Build(Title, _items.OfType<HbBackupArtefact>(), _items.OfType<HbRestoreTestResult>(),
                _items.OfType<HbRowCountComparison>(), _items.OfType<HbSandboxRemoval>());
            if (Path is not null)
            {
                var full = GetUnresolvedProviderPathFromPSPath(Path);
                if (!ShouldProcess(full, "Write closure record")) return;
                RunEngine(async (_, ct) => { await ClosureRecordStore.WriteAsync(record, full, ct).ConfigureAwait(false); return true; });
            }
            WriteObject(record);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowHbError(ex, Path);
        }
    }
}
