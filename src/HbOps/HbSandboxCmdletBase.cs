using System.Collections;
using System.Globalization;
using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Base of the cmdlets that make a sandbox for an artefact (Test-HbRestore, New-HbSandbox): the artefact from the
/// pipeline or by path, and how the sandbox is made.
/// </summary>
public abstract class HbSandboxCmdletBase : HbHostCmdletBase
{
    /// <summary>Parameter set of an artefact object.</summary>
    protected const string ArtefactSet = "Artefact";

    /// <summary>Parameter set of a dump path.</summary>
    protected const string PathSet = "Path";

    /// <summary>The artefact (from Invoke-HbBackup or Get-HbBackup; also one read back with Import-Clixml, Receive-Job or ConvertFrom-Json).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ArtefactSet)]
    [ValidateNotNull]
    [HbModelTransformation(typeof(HbBackupArtefact))]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Path of a dump whose manifest (&lt;dump&gt;.manifest.yml) sits beside it; on the docker host when -SshHost/-HostName is given. Binds FullName from Get-ChildItem.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
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

    /// <summary>Minutes a kept sandbox lives before Get-HbSandbox -Expired lists it for sweeping (fractions allowed, from 0.05: 3 s).</summary>
    [Parameter]
    [ValidateRange(0.05, 10080.0)]
    public double TimeToLiveMinutes { get; set; } = 120;

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

    /// <summary>
    /// How the sandbox's cluster is initialised. Direct (default): HbOps runs the image's initdb itself (UTF8, the
    /// image's locale), renames initdb's first database to the artefact's in single-user mode and starts the server — a
    /// vanilla cluster, without the entrypoint's temporary server. ImageEntrypoint: the image's own entrypoint, for images whose initialisation
    /// adds something the restore needs (extensions, preloaded libraries, init scripts). Recorded on the sandbox.
    /// </summary>
    [Parameter]
    public HbSandboxInitialization Initialization { get; set; } = HbSandboxInitialization.Direct;

    /// <summary>The defaults with -ServerSetting applied (names and values checked).</summary>
    protected IReadOnlyDictionary<string, string> MergedServerSettings() =>
        SandboxSettings.Merge(ServerSetting.Cast<DictionaryEntry>().Select(e => new KeyValuePair<string, string?>(
            Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "", e.Value is null ? null : Convert.ToString(e.Value, CultureInfo.InvariantCulture))));

    /// <summary>What the command works on, for ShouldProcess and error targets.</summary>
    protected string? ArtefactDescription => Artefact?.Path ?? Path;

    /// <summary>
    /// The cmdlet's work for one artefact: builds the request (its checks report as errors too), asks ShouldProcess,
    /// then resolves the artefact, connects to its docker host and writes what <paramref name="run"/> returns there.
    /// </summary>
    protected void RunForArtefact<T>(Func<RestoreRequest> request, string target, string action,
        Func<RestoreEngine, HbBackupArtefact, RestoreRequest, CancellationToken, Task<T>> run)
    {
        T? result;
        try
        {
            var req = request();
            if (!ShouldProcess(target, action)) return;
            result = RunEngine(async (reporter, ct) =>
            {
                var artefact = await ResolveArtefactAsync(ct).ConfigureAwait(false);
                var host = await ConnectAsync(artefact.Host, ct).ConfigureAwait(false);
                // A copy on a storage host is read from there (the restore proves the copy).
                var copySource = artefact.Location == HbArtefactLocation.Sftp ? await SourceOfAsync(artefact, ct).ConfigureAwait(false) : null;
                return await run(new RestoreEngine(host, reporter, copySource), artefact, req, ct).ConfigureAwait(false);
            });
            WriteObject(result);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Artefact ?? Path);
            return;
        }
        // The Test-* failure rule (see WriteResultFailure): a restore test whose verdict is Failed is also an error.
        if (result is HbRestoreTestResult { Result: HbRestoreOutcome.Failed } failed)
        {
            WriteResultFailure(HbErrorIds.RestoreTestFailed,
                $"The restore test of '{failed.Artefact.Path}' failed: {string.Join(" ", failed.FailureReasons)}", failed,
                "Inspect the result's FailureReasons, Messages, RowCounts and Assertions (keep the sandbox with -KeepSandbox to look inside).");
        }
    }

    /// <summary>The artefact from the pipeline, or read from -Path (with its manifest) on the host named by the SSH parameters.</summary>
    private async Task<HbBackupArtefact> ResolveArtefactAsync(CancellationToken ct)
    {
        if (Artefact is not null) return Artefact;
        var host = ResolveHostFromParameters();
        var local = host.Kind == HbHostKind.Local;
        var catalog = new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), filesAreLocal: local);
        return await catalog.ReadAsync(HostPath(Path!, local), ct).ConfigureAwait(false);
    }
}
