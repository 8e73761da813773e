using System.Security.Cryptography;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>
/// Reads the restore-test records Test-HbRestore writes beside each artefact (<c>&lt;dump&gt;.restore-&lt;UTC&gt;.yml</c>)
/// under a backup root, and shows how restore time, dump size and table count move per target, so a restore growing
/// towards its time budget is seen before it becomes an outage.
/// </summary>
public sealed class RestoreHistory(ICommandHost host, bool filesAreLocal, IHbReporter? reporter = null)
{
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;

    // One command prints every record under the root (and one level down) after a random marker line naming it: one round
    // trip however many records there are.
    private const string ReadRecordsScript = """
        marker=$1; root=$2
        for f in "$root"/*.restore-*.yml "$root"/*/*.restore-*.yml; do
          [ -f "$f" ] || continue
          printf '%s%s\n' "$marker" "$f"
          cat -- "$f"
          printf '\n'
        done
        exit 0
        """;

    /// <summary>Every restore test recorded under <paramref name="root"/> (a backup root or a run folder), oldest first.</summary>
    public async Task<List<HbRestoreHistoryEntry>> ListAsync(string root, CancellationToken ct)
    {
        var entries = new List<HbRestoreHistoryEntry>();
        foreach (var (path, yaml) in await ReadRecordsAsync(root, ct).ConfigureAwait(false))
        {
            try
            {
                entries.Add(Entry(HbYaml.Deserialize<HbRestoreTestResult>(yaml), path));
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.ConfigInvalid)
            {
                _report.Warning($"Skipping unreadable restore record '{path}': {ex.Message}");
            }
        }
        entries = entries.OrderBy(e => e.StartedUtc).ThenBy(e => e.RecordPath, StringComparer.Ordinal).ToList();
        foreach (var target in entries.GroupBy(e => e.Target, StringComparer.Ordinal))
        {
            HbRestoreHistoryEntry? previous = null;
            foreach (var e in target)
            {
                e.DurationChangePercent = previous is { DurationSeconds: > 0 } ? Percent(previous.DurationSeconds, e.DurationSeconds) : null;
                previous = e;
            }
        }
        return entries;
    }

    /// <summary>The trend of each target's restore tests, from the first to the latest.</summary>
    public static List<HbRestoreTrend> Trends(IEnumerable<HbRestoreHistoryEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return entries.GroupBy(e => e.Target, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var list = g.OrderBy(e => e.StartedUtc).ToList();
            var first = list[0];
            var latest = list[^1];
            var seconds = list.Select(e => e.DurationSeconds).Order().ToList();
            return new HbRestoreTrend
            {
                Target = g.Key, Tests = list.Count, Failed = list.Count(e => e.Result == HbRestoreOutcome.Failed),
                FirstUtc = first.StartedUtc, LatestUtc = latest.StartedUtc, FirstSeconds = first.DurationSeconds, LatestSeconds = latest.DurationSeconds,
                MedianSeconds = seconds.Count % 2 == 1 ? seconds[seconds.Count / 2] : Math.Round((seconds[seconds.Count / 2 - 1] + seconds[seconds.Count / 2]) / 2, 3),
                MaxSeconds = seconds[^1], SecondsPerDay = Slope(list),
                DurationChangePercent = list.Count > 1 && first.DurationSeconds > 0 ? Percent(first.DurationSeconds, latest.DurationSeconds) : null,
                FirstSizeMiB = first.SizeMiB, LatestSizeMiB = latest.SizeMiB,
                SizeChangePercent = list.Count > 1 && first.SizeBytes > 0 ? Percent(first.SizeBytes, latest.SizeBytes) : null,
                FirstTables = first.TableCount, LatestTables = latest.TableCount,
            };
        }).ToList();
    }

    /// <summary>The identity of what a backup was taken of: host alias (or name), container and database.</summary>
    public static string TargetOf(HbBackupArtefact artefact)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var where = artefact.Host.Kind == HbHostKind.Local ? "local" : artefact.Host.Alias ?? artefact.Host.HostName ?? "?";
        return $"{where}/{artefact.Container}/{artefact.Database}";
    }

    private static HbRestoreHistoryEntry Entry(HbRestoreTestResult r, string path) => new()
    {
        Target = TargetOf(r.Artefact), Container = r.Artefact.Container, Database = r.Artefact.Database, StartedUtc = r.StartedUtc, Result = r.Result, DurationSeconds = r.DurationSeconds,
        RestoreSeconds = r.Phases.FirstOrDefault(p => p.Name == "Restore")?.Seconds, SizeBytes = r.Artefact.SizeBytes, TableCount = r.TableCount,
        Rows = r.RowCounts.Count > 0 ? r.RowCounts.Sum(c => c.Difference ?? 0) : null, ArtefactPath = r.Artefact.Path, RecordPath = path,
    };

    private static double Percent(double from, double to) => Math.Round((to - from) * 100 / from, 1);

    // Least-squares seconds per day over the tests' start times.
    private static double? Slope(List<HbRestoreHistoryEntry> list)
    {
        if (list.Count < 2) return null;
        var t0 = list[0].StartedUtc;
        var xs = list.Select(e => (e.StartedUtc - t0).TotalDays).ToList();
        var ys = list.Select(e => e.DurationSeconds).ToList();
        var mx = xs.Average();
        var my = ys.Average();
        var sxx = xs.Sum(x => (x - mx) * (x - mx));
        if (sxx <= 0) return null;
        return Math.Round(xs.Zip(ys, (x, y) => (x - mx) * (y - my)).Sum() / sxx, 3);
    }

    private async Task<List<(string Path, string Yaml)>> ReadRecordsAsync(string root, CancellationToken ct)
    {
        if (filesAreLocal || host.Host.Kind == HbHostKind.Local)
        {
            if (!Directory.Exists(root)) return new();
            var files = Directory.EnumerateFiles(root, "*" + RestoreEngine.RecordInfix + "*.yml",
                new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 }).Order(StringComparer.Ordinal);
            var list = new List<(string, string)>();
            foreach (var f in files) list.Add((f, await File.ReadAllTextAsync(f, ct).ConfigureAwait(false)));
            return list;
        }
        var marker = "hbops-record-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant() + "|";
        var r = await host.RunAsync(new[] { "sh", "-c", ReadRecordsScript, "hbops-history", marker, root }, ct).ConfigureAwait(false);
        if (!r.Succeeded)
        {
            throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.OperationFailed,
                $"Could not read the restore records under '{root}' on {host.Host}: {Util.Redaction.Redact(r.StandardError.Trim())}", root);
        }
        var result = new List<(string, string)>();
        string? current = null;
        var text = new System.Text.StringBuilder();
        foreach (var line in r.StandardOutput.Split('\n'))
        {
            if (line.StartsWith(marker, StringComparison.Ordinal))
            {
                if (current is not null) result.Add((current, text.ToString()));
                current = line[marker.Length..];
                text.Clear();
            }
            else if (current is not null)
            {
                text.Append(line).Append('\n');
            }
        }
        if (current is not null) result.Add((current, text.ToString()));
        return result;
    }
}
