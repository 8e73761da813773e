using HbOps.Engine.Errors;
using HbOps.Engine.Retention;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>The retention policy as a pure function: artefacts with dates and flags in, what goes and why out.</summary>
public class RetentionPlannerTests
{
    private static readonly DateTime Now = new(2026, 6, 30, 12, 0, 0, DateTimeKind.Utc);
    private static readonly HbHost Vps = new() { Kind = HbHostKind.Ssh, HostName = "vps.example.net", Port = 22, User = "ops" };

    private static HbBackupArtefact Backup(DateTime ts, string database = "directus", string? runId = null) => new()
    {
        RunId = runId ?? ts.ToString("yyyyMMddHHmm", System.Globalization.CultureInfo.InvariantCulture), Host = Vps, Container = "postgres",
        Database = database, TimestampUtc = ts, Sha256 = new string('a', 63) + (ts.Minute % 10), SizeBytes = 100, Tag = "hb",
        FileName = $"{database}_full_{ts:yyyyMMdd'T'HHmmss'Z'}.dump", Path = $"/var/backups/hbops/hb_{ts:yyyy-MM-dd}/{database}_{ts:HHmm}.dump",
        RunFolder = $"/var/backups/hbops/hb_{ts:yyyy-MM-dd}", Location = HbArtefactLocation.Host,
    };

    // A copy of an original at a storage location, with (or without) its read-back proof.
    private static HbBackupArtefact CopyOf(HbBackupArtefact a, bool verified = true, string root = "/backups")
    {
        var c = Backup(a.TimestampUtc, a.Database, a.RunId);
        c.Sha256 = a.Sha256;
        c.Location = HbArtefactLocation.Sftp;
        c.RunFolder = $"{root}/hb_{a.TimestampUtc:yyyy-MM-dd}";
        c.Path = c.RunFolder + "/" + a.FileName;
        c.Copy = new HbArtefactCopy { Verified = verified, VerifiedSha256 = a.Sha256, VerifiedSizeBytes = a.SizeBytes, StorageHost = new HbHost { Kind = HbHostKind.Ssh, HostName = "box", User = "storage", Alias = "storage" } };
        return c;
    }

    private static RetentionItem Item(HbBackupArtefact a, bool tested = false) => new(a, RetentionEngine.LocationOf(a), tested);

    private static List<RetentionDecision> Decide(RetentionPolicy p, params RetentionItem[] items) => RetentionPlanner.Decide(items, p, Now);

    private static IEnumerable<DateTime> Removed(List<RetentionDecision> d) => d.Where(x => x.Remove).Select(x => x.Artefact.TimestampUtc);

    [Fact]
    public void KeepLast_keeps_the_newest_N_and_removes_the_rest_with_a_reason()
    {
        var items = Enumerable.Range(0, 5).Select(i => Item(Backup(Now.AddHours(-i)))).ToArray();
        var d = Decide(new RetentionPolicy { KeepLast = 2 }, items);
        Assert.Equal(new[] { Now.AddHours(-4), Now.AddHours(-3), Now.AddHours(-2) }, Removed(d));
        Assert.All(d.Where(x => x.Remove), x => Assert.Equal("kept by no rule", x.Reasons.Single()));
        Assert.All(d.Where(x => !x.Remove), x => Assert.Contains("one of the last 2 (-KeepLast)", x.Reasons));
        Assert.Equal(d.Select(x => x.Artefact.TimestampUtc).Order(), d.Select(x => x.Artefact.TimestampUtc));
    }

    [Fact]
    public void KeepDaily_keeps_the_newest_of_each_of_the_last_N_days_that_have_a_backup()
    {
        // Two a day on June 30, 29 and 27 (none on the 28th).
        var days = new[] { 0, 1, 3 };
        var items = days.SelectMany(day => new[] { Item(Backup(Now.AddDays(-day))), Item(Backup(Now.AddDays(-day).AddHours(-2))) }).ToArray();
        var d = Decide(new RetentionPolicy { KeepDaily = 2 }, items);
        var kept = d.Where(x => !x.Remove).ToList();
        Assert.Equal(new[] { Now.AddDays(-1), Now }, kept.Select(x => x.Artefact.TimestampUtc));
        Assert.Contains("newest of day 2026-06-29 (-KeepDaily 2)", kept[0].Reasons);
        Assert.Equal(4, d.Count(x => x.Remove));
    }

    [Fact]
    public void GFS_keeps_daily_weekly_and_monthly_representatives()
    {
        // One backup a day for 90 days.
        var items = Enumerable.Range(0, 90).Select(i => Item(Backup(Now.AddDays(-i)))).ToArray();
        var d = Decide(new RetentionPolicy { KeepDaily = 7, KeepWeekly = 4, KeepMonthly = 3 }, items);
        var kept = d.Where(x => !x.Remove).Select(x => x.Artefact.TimestampUtc).ToHashSet();
        // The last 7 days.
        Assert.All(Enumerable.Range(0, 7), i => Assert.Contains(Now.AddDays(-i), kept));
        // Newest of June, May and April.
        Assert.Contains(Now, kept);
        Assert.Contains(new DateTime(2026, 5, 31, 12, 0, 0, DateTimeKind.Utc), kept);
        Assert.Contains(new DateTime(2026, 4, 30, 12, 0, 0, DateTimeKind.Utc), kept);
        // Weekly: newest of each of the last 4 ISO weeks: Sundays 2026-06-28, 06-21, 06-14 and this week's Tuesday 06-30.
        foreach (var sunday in new[] { 28, 21, 14 }) Assert.Contains(new DateTime(2026, 6, sunday, 12, 0, 0, DateTimeKind.Utc), kept);
        var weekly = d.Where(x => x.Reasons.Any(r => r.Contains("-KeepWeekly"))).ToList();
        Assert.Equal(4, weekly.Count);
        Assert.Contains(weekly, x => x.Reasons.Contains("newest of week 2026-W24 (-KeepWeekly 4)"));
        // 7 days; of the weeks, 06-30 and 06-28 are among the days (06-21 and 06-14 are not); of the months, June is (May and April are not).
        Assert.Equal(7 + 2 + 2, kept.Count);
    }

    [Fact]
    public void OlderThan_alone_removes_only_what_is_older()
    {
        var items = new[] { Item(Backup(Now.AddDays(-1))), Item(Backup(Now.AddDays(-10))), Item(Backup(Now.AddDays(-40))) };
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7) }, items);
        Assert.Equal(new[] { Now.AddDays(-40), Now.AddDays(-10) }, Removed(d));
        Assert.Equal("older than 7.00:00:00", d[0].Reasons.Single());
        Assert.Contains("newer than 7.00:00:00 (-OlderThan)", d[2].Reasons);
    }

    [Fact]
    public void OlderThan_with_a_keep_rule_removes_what_neither_keeps()
    {
        var items = Enumerable.Range(0, 6).Select(i => Item(Backup(Now.AddDays(-2 * i)))).ToArray(); // 0, 2, 4, 6, 8, 10 days old
        var d = Decide(new RetentionPolicy { KeepLast = 1, OlderThan = TimeSpan.FromDays(5) }, items);
        Assert.Equal(new[] { Now.AddDays(-10), Now.AddDays(-8), Now.AddDays(-6) }, Removed(d));
        Assert.Equal("kept by no rule; older than 5.00:00:00", d[0].Reasons.Single());
    }

    [Fact]
    public void The_newest_restore_tested_artefact_is_never_removed()
    {
        var tested = Item(Backup(Now.AddDays(-9)), tested: true);
        var olderTested = Item(Backup(Now.AddDays(-12)), tested: true);
        var items = new[] { Item(Backup(Now)), Item(Backup(Now.AddDays(-1))), tested, olderTested };
        var d = Decide(new RetentionPolicy { KeepLast = 2 }, items);
        var kept = d.Single(x => x.Artefact == tested.Artefact);
        Assert.False(kept.Remove);
        Assert.Equal("RestoreTested", kept.Guard);
        Assert.Contains(kept.Reasons, r => r.StartsWith("guard: the newest artefact of this database here whose latest restore test passed", StringComparison.Ordinal));
        // Only the newest tested one is guarded.
        Assert.True(d.Single(x => x.Artefact == olderTested.Artefact).Remove);
    }

    [Fact]
    public void A_location_never_goes_below_MinimumKeep()
    {
        var items = Enumerable.Range(0, 4).Select(i => Item(Backup(Now.AddDays(-30 - i)))).ToArray();
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 2 }, items);
        Assert.Equal(new[] { Now.AddDays(-33), Now.AddDays(-32) }, Removed(d));
        Assert.All(d.Where(x => !x.Remove), x => Assert.Equal("MinimumKeep", x.Guard));
        // MinimumKeep 0 may empty it.
        Assert.All(Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 0 }, items), x => Assert.True(x.Remove));
    }

    [Fact]
    public void Policies_apply_per_database_and_per_location()
    {
        var a = new[] { Item(Backup(Now, "alpha")), Item(Backup(Now.AddDays(-1), "alpha")) };
        var b = new[] { Item(Backup(Now.AddDays(-5), "beta")), Item(Backup(Now.AddDays(-6), "beta")) };
        var d = Decide(new RetentionPolicy { KeepLast = 1 }, a.Concat(b).ToArray());
        Assert.Equal(new[] { ("alpha", Now.AddDays(-1)), ("beta", Now.AddDays(-6)) },
            d.Where(x => x.Remove).Select(x => (x.Artefact.Database, x.Artefact.TimestampUtc)).OrderBy(x => x.Database));
    }

    [Fact]
    public void The_last_verified_off_host_copy_of_the_newest_copied_backup_stays()
    {
        // Copies stopped two weeks ago: the storage holds copies 14-16 days old; -OlderThan 7 days would empty it.
        var originals = Enumerable.Range(0, 3).Select(i => Backup(Now.AddDays(-14 - i))).ToList();
        var copies = originals.Select(o => Item(CopyOf(o))).ToArray();
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 0 }, copies);
        var kept = d.Single(x => !x.Remove);
        Assert.Equal(Now.AddDays(-14), kept.Artefact.TimestampUtc);
        Assert.Equal("OffHostCopy", kept.Guard);
        Assert.Contains(kept.Reasons, r => r.Contains("last verified off-host copy", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unverified_copy_is_not_what_the_copy_guard_keeps()
    {
        var newest = Backup(Now.AddDays(-14));
        var older = Backup(Now.AddDays(-15));
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 0 }, Item(CopyOf(newest, verified: false)), Item(CopyOf(older)));
        Assert.True(d.Single(x => x.Artefact.TimestampUtc == newest.TimestampUtc).Remove);
        Assert.Equal("OffHostCopy", d.Single(x => x.Artefact.TimestampUtc == older.TimestampUtc).Guard);
    }

    [Fact]
    public void A_second_verified_copy_elsewhere_lets_one_copy_go()
    {
        var o = Backup(Now.AddDays(-14));
        var here = Item(CopyOf(o, root: "/backups"));
        var there = Item(CopyOf(o, root: "/mirror"));
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 0 }, here, there);
        Assert.Equal(1, d.Count(x => x.Remove));
        Assert.Equal(1, d.Count(x => x.Guard == "OffHostCopy"));
        // When the copy at /mirror is kept by the policy anyway, nothing needs guarding.
        var keptThere = RetentionPlanner.Decide(new[] { here, there }, new RetentionPolicy { KeepLast = 1, MinimumKeep = 0 }, Now);
        Assert.All(keptThere, x => Assert.False(x.Remove));
    }

    [Fact]
    public void Originals_on_the_host_are_not_guarded_by_the_copy_guard()
    {
        var o = Backup(Now.AddDays(-14));
        var d = Decide(new RetentionPolicy { OlderThan = TimeSpan.FromDays(7), MinimumKeep = 0 }, Item(o), Item(CopyOf(o)));
        Assert.True(d.Single(x => x.Artefact.Location == HbArtefactLocation.Host).Remove);
        Assert.False(d.Single(x => x.Artefact.Location == HbArtefactLocation.Sftp).Remove);
    }

    [Fact]
    public void A_policy_without_a_rule_or_with_negative_values_is_refused()
    {
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => Decide(new RetentionPolicy(), Item(Backup(Now)))).ErrorId);
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => new RetentionPolicy { KeepLast = -1 }.Validate()).ErrorId);
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => new RetentionPolicy { OlderThan = TimeSpan.Zero }.Validate()).ErrorId);
        Assert.Equal("-KeepLast 3 -KeepDaily 7 -OlderThan 30.00:00:00 -MinimumKeep 2",
            new RetentionPolicy { KeepLast = 3, KeepDaily = 7, OlderThan = TimeSpan.FromDays(30), MinimumKeep = 2 }.ToString());
    }

    [Fact]
    public void Locations_are_machine_and_backup_root()
    {
        var o = Backup(Now);
        Assert.Equal("ops@vps.example.net:22:/var/backups/hbops", RetentionEngine.LocationOf(o));
        Assert.Equal("storage (storage@box:22):/backups", RetentionEngine.LocationOf(CopyOf(o)));
    }
}
