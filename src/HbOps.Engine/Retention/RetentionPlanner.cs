using System.Globalization;
using HbOps.Model;

namespace HbOps.Engine.Retention;

/// <summary>
/// Decides which artefacts go under a <see cref="RetentionPolicy"/>: a pure function of the artefacts, their flags and the
/// time. After the rules, three guards keep what the rules would remove:
/// <list type="number">
/// <item><b>RestoreTested</b>: the newest artefact of a database at a location whose latest restore test passed stays.</item>
/// <item><b>OffHostCopy</b>: of the newest backup of a database that has a verified off-host copy (LocalCopy or Sftp),
/// the last such copy stays (there is always a proven copy off the docker host of the most recent copied backup).</item>
/// <item><b>MinimumKeep</b>: no database at a location is left with fewer than MinimumKeep artefacts (the newest of
/// those the rules would remove stay).</item>
/// </list>
/// </summary>
internal static class RetentionPlanner
{
    /// <summary>The decisions for every item, oldest first within each location.</summary>
    public static List<RetentionDecision> Decide(IEnumerable<RetentionItem> items, RetentionPolicy policy, DateTime nowUtc)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        var all = items.ToList();
        var decisions = new Dictionary<RetentionItem, RetentionDecision>(ReferenceEqualityComparer.Instance);
        foreach (var group in all.GroupBy(i => (i.Location, Series: Series(i.Artefact))))
        {
            var newestFirst = NewestFirst(group);
            foreach (var i in newestFirst) decisions[i] = new RetentionDecision { Artefact = i.Artefact, Location = i.Location };
            ApplyRules(newestFirst, decisions, policy, nowUtc);
            // Guard 1: the newest restore-tested artefact of the group.
            if (newestFirst.FirstOrDefault(i => i.RestoreTestPassed) is { } tested) KeepByGuard(decisions[tested], "RestoreTested",
                "guard: the newest artefact of this database here whose latest restore test passed");
        }
        // Guard 2, across locations: the last verified off-host copy of the newest backup (per database) that has one.
        foreach (var series in all.GroupBy(i => Series(i.Artefact)))
        {
            var copies = series.Where(i => i.Artefact.IsOffHostCopy && i.Artefact.Copy is { Verified: true }).ToList();
            var newest = copies.GroupBy(i => Identity(i.Artefact)).OrderByDescending(g => g.Max(i => i.Artefact.TimestampUtc)).FirstOrDefault();
            if (newest is not null && newest.All(i => decisions[i].Remove))
            {
                KeepByGuard(decisions[NewestFirst(newest)[0]], "OffHostCopy",
                    "guard: the last verified off-host copy of the newest backup of this database that has one");
            }
        }
        // Guard 3: at least MinimumKeep per database and location.
        foreach (var group in all.GroupBy(i => (i.Location, Series: Series(i.Artefact))))
        {
            var newestFirst = NewestFirst(group);
            var kept = newestFirst.Count(i => !decisions[i].Remove);
            foreach (var i in newestFirst.Where(i => decisions[i].Remove))
            {
                if (kept >= policy.MinimumKeep) break;
                KeepByGuard(decisions[i], "MinimumKeep", $"guard: -MinimumKeep {policy.MinimumKeep} for this database here");
                kept++;
            }
        }
        return all.OrderBy(i => i.Location, StringComparer.Ordinal).ThenBy(i => i.Artefact.TimestampUtc).ThenBy(i => i.Artefact.RunId, StringComparer.Ordinal)
            .Select(i => decisions[i]).ToList();
    }

    /// <summary>The database an artefact belongs to: its docker host, container and database.</summary>
    public static string Series(HbBackupArtefact a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return $"{a.Host.Kind}:{a.Host.HostName?.ToUpperInvariant()}:{a.Host.Port}/{a.Container}/{a.Database}";
    }

    /// <summary>The backup an artefact is (the same for an original and its copies): its run id and SHA-256.</summary>
    public static string Identity(HbBackupArtefact a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return a.RunId + "/" + a.Sha256;
    }

    private static List<RetentionItem> NewestFirst(IEnumerable<RetentionItem> items) =>
        items.OrderByDescending(i => i.Artefact.TimestampUtc).ThenByDescending(i => i.Artefact.RunId, StringComparer.Ordinal).ToList();

    private static void ApplyRules(List<RetentionItem> newestFirst, Dictionary<RetentionItem, RetentionDecision> decisions, RetentionPolicy p, DateTime now)
    {
        var inv = CultureInfo.InvariantCulture;
        if (p.KeepLast is { } last)
        {
            foreach (var i in newestFirst.Take(last)) decisions[i].Reasons.Add($"one of the last {last} (-KeepLast)");
        }
        KeepPerPeriod(newestFirst, decisions, p.KeepDaily, t => t.ToString("yyyy-MM-dd", inv), "day", "-KeepDaily");
        KeepPerPeriod(newestFirst, decisions, p.KeepWeekly,
            t => $"{ISOWeek.GetYear(t).ToString(inv)}-W{ISOWeek.GetWeekOfYear(t).ToString("00", inv)}", "week", "-KeepWeekly");
        KeepPerPeriod(newestFirst, decisions, p.KeepMonthly, t => t.ToString("yyyy-MM", inv), "month", "-KeepMonthly");
        var cutoff = p.OlderThan is { } age ? now - age : (DateTime?)null;
        var anyKeepRule = p.KeepLast is not null || p.KeepDaily is not null || p.KeepWeekly is not null || p.KeepMonthly is not null;
        foreach (var i in newestFirst)
        {
            var d = decisions[i];
            var ts = i.Artefact.TimestampUtc.ToUniversalTime();
            if (cutoff is { } c && ts >= c) d.Reasons.Add($"newer than {p.OlderThan!.Value.ToString("c", inv)} (-OlderThan)");
            if (d.Reasons.Count > 0) continue;
            d.Remove = true;
            d.Reasons.Add(string.Join("; ", new[]
            {
                anyKeepRule ? "kept by no rule" : null,
                cutoff is not null ? $"older than {p.OlderThan!.Value.ToString("c", inv)}" : null,
            }.Where(s => s is not null)));
        }
    }

    // Walks newest to oldest; the first artefact of each new period is that period's newest, kept until N periods are taken.
    private static void KeepPerPeriod(List<RetentionItem> newestFirst, Dictionary<RetentionItem, RetentionDecision> decisions, int? count,
        Func<DateTime, string> period, string unit, string rule)
    {
        if (count is not { } n || n == 0) return;
        string? current = null;
        var taken = 0;
        foreach (var i in newestFirst)
        {
            var key = period(i.Artefact.TimestampUtc.ToUniversalTime());
            if (key == current) continue;
            if (taken == n) break;
            current = key;
            taken++;
            decisions[i].Reasons.Add($"newest of {unit} {key} ({rule} {n})");
        }
    }

    private static void KeepByGuard(RetentionDecision d, string guard, string reason)
    {
        if (!d.Remove) return;
        d.Remove = false;
        d.Guard = guard;
        d.Reasons.Add(reason);
    }
}
