using HbOps.Engine.Copies;
using HbOps.Engine.Errors;
using HbOps.Engine.Records;
using HbOps.Engine.Restore;
using HbOps.Model;

namespace HbOps.Engine.Retention;

/// <summary>An artefact and the location its files are reached through.</summary>
/// <param name="Artefact">The artefact (an original or a copy).</param>
/// <param name="Source">Where its files are.</param>
public sealed record StoredArtefact(HbBackupArtefact Artefact, IArtefactSource Source);

/// <summary>
/// Applies a retention policy to artefacts at one or more locations: finds which backups passed a restore test (the
/// latest restore-test record beside the artefact or any of its copies), lets <see cref="RetentionPlanner"/> decide, and
/// removes what it decided, one artefact at a time.
/// </summary>
public sealed class RetentionEngine(IHbReporter? reporter = null)
{
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;

    /// <summary>The location (machine and backup root) an artefact belongs to, e.g. <c>contabo (ops@vps:22):/var/backups/hbops</c>.</summary>
    public static string LocationOf(HbBackupArtefact a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var folder = a.RunFolder.Length > 0 ? a.RunFolder : Parent(a.Path);
        var root = Parent(folder);
        return a.Location switch
        {
            HbArtefactLocation.Sftp => $"{a.Copy?.StorageHost?.ToString() ?? "sftp"}:{root}",
            HbArtefactLocation.Host when a.Host.Kind == HbHostKind.Ssh => $"{a.Host}:{root}",
            _ => $"local:{root}",
        };
    }

    private static string Parent(string path)
    {
        var trimmed = path.TrimEnd('/', '\\');
        var cut = trimmed.LastIndexOfAny(['/', '\\']);
        return cut < 0 ? "." : cut == 0 ? trimmed[..1] : trimmed[..cut];
    }

    /// <summary>Decides, for every artefact given, whether it stays or goes.</summary>
    public async Task<List<RetentionDecision>> PlanAsync(IReadOnlyList<StoredArtefact> inventory, RetentionPolicy policy, DateTime nowUtc, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var tested = await RestoreTestedAsync(inventory, ct).ConfigureAwait(false);
        return RetentionPlanner.Decide(inventory.Select(s => new RetentionItem(s.Artefact, LocationOf(s.Artefact), tested.Contains(s.Artefact))), policy, nowUtc);
    }

    // The artefacts whose backup passed its latest restore test, looked up lazily: per location and database, newest
    // first, until one passed (only the newest passing one matters to the guard). A backup counts when the latest record
    // beside it or beside any of its copies passed.
    private async Task<HashSet<HbBackupArtefact>> RestoreTestedAsync(IReadOnlyList<StoredArtefact> inventory, CancellationToken ct)
    {
        var records = new Dictionary<(IArtefactSource, string), IReadOnlyList<string>>();
        var byIdentity = inventory.ToLookup(s => RetentionPlanner.Identity(s.Artefact));
        var memo = new Dictionary<string, bool>();
        var passed = new HashSet<HbBackupArtefact>(ReferenceEqualityComparer.Instance);
        foreach (var group in inventory.GroupBy(s => (LocationOf(s.Artefact), RetentionPlanner.Series(s.Artefact))))
        {
            foreach (var s in group.OrderByDescending(s => s.Artefact.TimestampUtc))
            {
                var identity = RetentionPlanner.Identity(s.Artefact);
                if (!memo.TryGetValue(identity, out var ok))
                {
                    ok = false;
                    foreach (var same in byIdentity[identity])
                    {
                        if (await LatestRestorePassedAsync(same, records, ct).ConfigureAwait(false)) { ok = true; break; }
                    }
                    memo[identity] = ok;
                }
                if (!ok) continue;
                passed.Add(s.Artefact);
                break;
            }
        }
        return passed;
    }

    private async Task<bool> LatestRestorePassedAsync(StoredArtefact s, Dictionary<(IArtefactSource, string), IReadOnlyList<string>> records, CancellationToken ct)
    {
        var folder = s.Artefact.RunFolder.Length > 0 ? s.Artefact.RunFolder : Parent(s.Artefact.Path);
        var root = Parent(folder);
        if (!records.TryGetValue((s.Source, root), out var found))
        {
            // One listing per location root (two levels), not one per run folder.
            found = await s.Source.Files.FindFilesAsync(root, ".yml", ct).ConfigureAwait(false);
            records[(s.Source, root)] = found;
        }
        var prefix = s.Artefact.Path + RestoreEngine.RecordInfix;
        var latest = found.Where(f => f.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).LastOrDefault();
        if (latest is null) return false;
        var yaml = await s.Source.Files.ReadTextAsync(latest, ct).ConfigureAwait(false);
        if (yaml is null) return false;
        try
        {
            var result = HbYaml.Deserialize<HbRestoreTestResult>(yaml);
            _report.Verbose($"Latest restore test of {s.Source.Describe(s.Artefact.Path)}: {result.Result} ({latest}).");
            return result.Result != HbRestoreOutcome.Failed;
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.ConfigInvalid)
        {
            _report.Warning($"Unreadable restore-test record '{latest}': {ex.Message}");
            return false;
        }
    }

    /// <summary>Removes one artefact the plan let go.</summary>
    public async Task<HbBackupRemoval> RemoveAsync(RetentionDecision decision, IArtefactSource source, RetentionPolicy policy, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(policy);
        if (!decision.Remove) throw new InvalidOperationException("Only an artefact the plan removes can be removed.");
        var a = decision.Artefact;
        _report.Verbose($"Removing {source.Describe(a.Path)}: {string.Join("; ", decision.Reasons)}.");
        var files = await source.RemoveArtefactAsync(a, ct).ConfigureAwait(false);
        return new HbBackupRemoval
        {
            Path = a.Path, Location = a.Location, Where = decision.Location, Database = a.Database, TimestampUtc = a.TimestampUtc, Sha256 = a.Sha256,
            Reason = string.Join("; ", decision.Reasons), Policy = policy.ToString(), FilesRemoved = files.ToList(), RemovedAtUtc = DateTime.UtcNow,
        };
    }
}
