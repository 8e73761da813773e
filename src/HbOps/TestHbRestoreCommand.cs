using System.Collections;
using System.Globalization;
using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Proves a backup restores: checksum, isolated sandbox, pg_restore, classified messages, smoke tests, verified teardown.</para>
/// </summary>
/// <remarks>
/// Re-reads the artefact and refuses it if its SHA-256 differs from the manifest or SHA256SUMS (the sandbox is prepared
/// meanwhile; pg_restore reads the artefact only after the checksum matched). Creates a sandbox
/// (same PostgreSQL major by default, own named volume, --network none, no published port, read-only bind mount
/// of the artefact folder), verifies that isolation by inspecting the container, waits for pg_isready over the
/// container's own TCP loopback, and runs pg_restore --no-owner --no-privileges --clean --if-exists -j N. Every
/// stderr message is classified by rule (for example a missing role in CREATE USER MAPPING is a known non-fatal
/// note; anything unrecognised is fatal); secrets are redacted. Smoke tests count tables per schema, compare every
/// table's exact row count with the artefact's snapshot, and run -Assertion SQL. The sandbox is removed and
/// verified gone unless -KeepSandbox, also on error and on Ctrl+C.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore</code>
/// <para>Backs up and proves the restore; the result says Passed, PassedWithNotes or Failed, with the evidence.</para>
/// </example>
/// <example>
/// <code>$r = Test-HbRestore -Path /var/backups/hbops/hb08_2026-05-15/directus_full_20260515T010203Z.dump -SshHost contabo -KeepSandbox -Assertion @{ Name = 'dot_tools pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992) AND paired_with IN (991,992)'; Expected = '2' }</code>
/// <para>Restores a dump by path on the host, runs an assertion, and keeps the sandbox for Compare-HbRowCounts.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbRestore", DefaultParameterSetName = ArtefactSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbRestoreTestResult))]
public sealed class TestHbRestoreCommand : HbHostCmdletBase
{
    private const string ArtefactSet = "Artefact";
    private const string PathSet = "Path";

    /// <summary>The artefact to restore (from Invoke-HbBackup or Get-HbBackup).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ArtefactSet)]
    [ValidateNotNull]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Path of a dump whose manifest (&lt;dump&gt;.manifest.yml) sits beside it; on the docker host when -SshHost/-HostName is given.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Sandbox image (default postgres:&lt;artefact major&gt;). A lower major than the source is refused.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Image { get; set; }

    /// <summary>Exact sandbox name; an existing container or volume of that name is never reused.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SandboxName { get; set; }

    /// <summary>Parallel pg_restore jobs.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Jobs { get; set; } = 2;

    /// <summary>Keep the sandbox running (for Compare-HbRowCounts or inspection); remove it later with Remove-HbSandbox.</summary>
    [Parameter]
    public SwitchParameter KeepSandbox { get; set; }

    /// <summary>SQL assertions: hashtables with Name, Sql and Expected (psql unaligned output, e.g. '2' or '991|992').</summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable[] Assertion { get; set; } = Array.Empty<Hashtable>();

    /// <summary>Relative tolerance when the artefact's snapshot holds estimated counts.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double EstimateTolerance { get; set; } = 0.1;

    /// <summary>Minutes a kept sandbox lives before Get-HbSandbox -Expired lists it for sweeping.</summary>
    [Parameter]
    [ValidateRange(1, 10080)]
    public int TimeToLiveMinutes { get; set; } = 120;

    /// <summary>
    /// Sandbox server settings over the defaults (postgres -c name=value). The throwaway sandbox runs by default with
    /// fsync, synchronous_commit and full_page_writes off, wal_level minimal, autovacuum off, max_wal_size 4GB,
    /// checkpoint_timeout 30min and maintenance_work_mem 128MB: faster restores, same restored data. A value replaces
    /// or adds a setting, an empty value removes one (e.g. @{ fsync = 'on'; full_page_writes = 'on' } for a durable sandbox).
    /// The settings used are recorded on the sandbox.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable ServerSetting { get; set; } = new();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var assertions = Assertion.Select(ToAssertion).ToList();
            var settings = SandboxSettings.Merge(ServerSetting.Cast<DictionaryEntry>().Select(e =>
                new KeyValuePair<string, string?>(Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "", e.Value is null ? null : Convert.ToString(e.Value, CultureInfo.InvariantCulture))));
            var request = new RestoreRequest
            {
                ServerSettings = settings,
                Image = Image, SandboxName = SandboxName, Jobs = Jobs, KeepSandbox = KeepSandbox, Assertions = assertions,
                EstimateTolerance = EstimateTolerance, SandboxTimeToLive = TimeSpan.FromMinutes(TimeToLiveMinutes),
            };
            var what = Artefact?.Path ?? Path;
            if (!ShouldProcess($"{what} into a new sandbox{(KeepSandbox ? " (kept)" : "")}", "Restore-test"))
            {
                return;
            }
            var result = RunEngine(async (reporter, ct) =>
            {
                var artefact = Artefact ?? await LoadFromPathAsync(ct).ConfigureAwait(false);
                var host = await ConnectAsync(artefact.Host, ct).ConfigureAwait(false);
                return await new RestoreEngine(host, reporter).RunAsync(artefact, request, ct).ConfigureAwait(false);
            });
            WriteObject(result);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Artefact ?? Path);
        }
    }

    private async Task<HbBackupArtefact> LoadFromPathAsync(CancellationToken ct)
    {
        var host = ResolveHostFromParameters();
        var local = host.Kind == HbHostKind.Local;
        var catalog = new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), filesAreLocal: local);
        return await catalog.ReadAsync(HostPath(Path!, local), ct).ConfigureAwait(false);
    }

    private static HbAssertion ToAssertion(Hashtable h)
    {
        string Get(string key) => h[key] is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "";
        var a = new HbAssertion { Name = Get("Name"), Sql = Get("Sql"), Expected = Get("Expected") };
        if (a.Sql.Length == 0 || !h.ContainsKey("Expected"))
        {
            throw HbOpsException.Invalid("Each -Assertion needs Sql and Expected (and optionally Name).", h);
        }
        if (a.Name.Length == 0) a.Name = a.Sql;
        return a;
    }
}
