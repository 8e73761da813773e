using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Hosts;
using HbOps.Engine.Retention;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Removes backup artefacts (originals or copies) that a retention policy no longer keeps, with guards that keep the proven ones.</para>
/// </summary>
/// <remarks>
/// Applies the policy per location (machine and backup root) and per database (docker host, container, database), newest
/// first. Keep rules select what stays (any rule suffices): -KeepLast N, the newest of each of the last N days, ISO weeks
/// or months that have a backup (-KeepDaily, -KeepWeekly, -KeepMonthly, in UTC); -OlderThan removes only artefacts older
/// than the span (alone it removes everything older). At least one rule is required. Then three guards keep what the rules
/// would remove: the newest artefact whose latest restore test passed (its restore-test record beside it or beside one of
/// its copies); the last verified off-host copy (LocalCopy or Sftp with a read-back proof) of the newest backup that has
/// one, so a proven copy off the docker host always remains; and -MinimumKeep artefacts per database and location
/// (default 1). Removing an artefact removes its manifest first (it is no longer listed), then the dump, its lines in
/// SHA256SUMS (rewritten atomically, or removed when nothing else is listed), its copy and restore-test records, and its
/// run folder when empty. Artefacts come from the pipeline (Get-HbBackup of one or several locations: the guards see
/// all of them, so copies elsewhere count) or from -Path (with -SshHost, -Local, -StorageHost or alias:path as
/// Get-HbBackup takes it). -WhatIf lists exactly what would be removed and why; nothing is removed without
/// confirmation unless -Confirm:$false. Each removal is an HbBackupRemoval; -Verbose tells why each kept artefact stays.
/// </remarks>
/// <example>
/// <code>Remove-HbBackup -SshHost contabo -Path /var/backups/hbops -KeepLast 3 -WhatIf</code>
/// <para>Shows which backups on the host would go when keeping the newest three (and the guarded ones).</para>
/// </example>
/// <example>
/// <code>Remove-HbBackup -Path storage:/backups -KeepDaily 7 -KeepWeekly 4 -KeepMonthly 12 -Confirm:$false</code>
/// <para>Grandfather-father-son retention on the SFTP storage host 'storage'.</para>
/// </example>
/// <example>
/// <code>@(Get-HbBackup -SshHost contabo -Path /var/backups/hbops) + @(Get-HbBackup -Path storage:/backups) | Remove-HbBackup -OlderThan 30.00:00:00 -MinimumKeep 2 -Confirm:$false</code>
/// <para>Removes artefacts older than 30 days on the host and on the storage host, keeping at least two per database at each.</para>
/// </example>
[Cmdlet(VerbsCommon.Remove, "HbBackup", DefaultParameterSetName = ArtefactSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(HbBackupRemoval))]
public sealed class RemoveHbBackupCommand : HbHostCmdletBase
{
    private const string ArtefactSet = "Artefact";
    private const string PathSet = "Path";
    private readonly List<HbBackupArtefact> _artefacts = new();
    private RetentionPolicy? _policy;

    /// <summary>Artefacts to apply the policy to (from Get-HbBackup, of one or more locations).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ArtefactSet)]
    [HbModelTransformation(typeof(HbBackupArtefact))]
    [ValidateNotNull]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>
    /// A backup root to apply the policy to: on the docker host named by -SshHost/-HostName, on this machine (no host, or
    /// -Local), or on an SFTP storage host (-StorageHost, or written alias:path).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Alias("Location")]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Read -Path on this machine even when an SSH host is named.</summary>
    [Parameter(ParameterSetName = PathSet)]
    public SwitchParameter Local { get; set; }

    /// <summary>The SFTP storage host (ssh_config alias) -Path is on.</summary>
    [Parameter(ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SshHostCompleter))]
    public string? StorageHost { get; set; }

    /// <summary>Keep the newest N artefacts of each database at each location.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepLast { get; set; }

    /// <summary>Keep the newest artefact of each of the last N days (UTC) that have one.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepDaily { get; set; }

    /// <summary>Keep the newest artefact of each of the last N ISO weeks (UTC) that have one.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepWeekly { get; set; }

    /// <summary>Keep the newest artefact of each of the last N calendar months (UTC) that have one.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int? KeepMonthly { get; set; }

    /// <summary>Remove only artefacts older than this (e.g. 30.00:00:00 for 30 days); alone, it removes everything older.</summary>
    [Parameter]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>Guard: never leave fewer than this many artefacts of a database at a location (default 1).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int MinimumKeep { get; set; } = 1;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        try
        {
            _policy = new RetentionPolicy
            {
                KeepLast = KeepLast, KeepDaily = KeepDaily, KeepWeekly = KeepWeekly, KeepMonthly = KeepMonthly, OlderThan = OlderThan, MinimumKeep = MinimumKeep,
            }.Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowHbError(ex, null);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            if (Artefact is not null)
            {
                _artefacts.Add(Artefact);
                return;
            }
            _artefacts.AddRange(RunEngine(ListAsync));
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, (object?)Artefact ?? Path);
        }
    }

    // The artefacts under -Path, wherever it is.
    private async Task<List<HbBackupArtefact>> ListAsync(IHbReporter reporter, CancellationToken ct)
    {
        if (StorageHost is not null || (!Local && SshHost is null && HostName is null))
        {
            var location = StorageLocation.Parse(Path!, StorageHost, nameof(Path));
            if (location.IsSftp)
            {
                var store = await ConnectStorageAsync(ResolveStorageHost(location.StorageAlias!), ct).ConfigureAwait(false);
                return await new ArtefactCatalog(new LocalCommandHost(), store, reporter).ListAsync(location.Path, ct, requireDirectory: true).ConfigureAwait(false);
            }
        }
        var host = ResolveHostFromParameters();
        var local = Local || host.Kind == HbHostKind.Local;
        return await new ArtefactCatalog(await ConnectAsync(host, ct).ConfigureAwait(false), local, reporter).ListAsync(HostPath(Path!, local), ct, requireDirectory: true).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        try
        {
            if (_policy is null || _artefacts.Count == 0) return;
            var policy = _policy;
            // The same artefact given twice is one artefact.
            var unique = _artefacts.GroupBy(a => (RetentionEngine.LocationOf(a), a.Path)).Select(g => g.First()).ToList();
            var (decisions, sources) = RunEngine(async (reporter, ct) =>
            {
                var stored = new List<StoredArtefact>();
                foreach (var a in unique) stored.Add(new StoredArtefact(a, await SourceOfAsync(a, ct).ConfigureAwait(false)));
                var plan = await new RetentionEngine(reporter).PlanAsync(stored, policy, DateTime.UtcNow, ct).ConfigureAwait(false);
                var bySource = new Dictionary<HbBackupArtefact, IArtefactSource>(ReferenceEqualityComparer.Instance);
                foreach (var s in stored) bySource[s.Artefact] = s.Source;
                return (plan, bySource);
            });
            foreach (var d in decisions)
            {
                var reasons = string.Join("; ", d.Reasons);
                if (!d.Remove)
                {
                    WriteVerbose($"Keeping {d.Artefact.Path} at {d.Location}: {reasons}.");
                    continue;
                }
                var source = sources[d.Artefact];
                if (!ShouldProcess(source.Describe(d.Artefact.Path), $"Remove backup ({reasons})")) continue;
                try
                {
                    WriteObject(RunEngine((reporter, ct) => new RetentionEngine(reporter).RemoveAsync(d, source, policy, ct)));
                }
                catch (Exception ex) when (ex is not PipelineStoppedException)
                {
                    WriteHbError(ex, d.Artefact.Path);
                }
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Path);
        }
        finally
        {
            base.EndProcessing();
        }
    }
}
