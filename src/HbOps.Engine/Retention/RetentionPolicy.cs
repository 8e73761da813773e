using System.Globalization;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Retention;

/// <summary>
/// Which artefacts a location keeps. Keep rules select artefacts to keep (any rule suffices); everything else is removed,
/// but only when older than <see cref="OlderThan"/> if that is given. Evaluated per location and per database (docker
/// host, container, database), newest first; then the guards (see <see cref="RetentionPlanner"/>) may keep more.
/// </summary>
public sealed class RetentionPolicy
{
    /// <summary>Keep the newest N.</summary>
    public int? KeepLast { get; init; }
    /// <summary>Keep the newest artefact of each of the last N days (UTC) that have one.</summary>
    public int? KeepDaily { get; init; }
    /// <summary>Keep the newest artefact of each of the last N ISO weeks (UTC) that have one.</summary>
    public int? KeepWeekly { get; init; }
    /// <summary>Keep the newest artefact of each of the last N calendar months (UTC) that have one.</summary>
    public int? KeepMonthly { get; init; }
    /// <summary>Remove only artefacts older than this (younger ones are kept).</summary>
    public TimeSpan? OlderThan { get; init; }
    /// <summary>Guard: never leave fewer than this many artefacts of a database at a location.</summary>
    public int MinimumKeep { get; init; } = 1;

    /// <summary>True when at least one keep rule or -OlderThan is given.</summary>
    public bool HasRule => KeepLast is not null || KeepDaily is not null || KeepWeekly is not null || KeepMonthly is not null || OlderThan is not null;

    /// <summary>Refuses a policy without any rule (it would remove everything) and negative values.</summary>
    public RetentionPolicy Validate()
    {
        if (!HasRule)
        {
            throw HbOpsException.Invalid("Give at least one of -KeepLast, -KeepDaily, -KeepWeekly, -KeepMonthly or -OlderThan: a policy without a rule would remove every backup.");
        }
        foreach (var (name, value) in new[] { ("KeepLast", KeepLast), ("KeepDaily", KeepDaily), ("KeepWeekly", KeepWeekly), ("KeepMonthly", KeepMonthly), ("MinimumKeep", (int?)MinimumKeep) })
        {
            if (value is < 0) throw HbOpsException.Invalid($"-{name} must not be negative.", value);
        }
        if (OlderThan is { } age && age <= TimeSpan.Zero) throw HbOpsException.Invalid("-OlderThan must be a positive time span.", age);
        return this;
    }

    /// <summary>The policy as parameters, e.g. <c>-KeepLast 3 -KeepDaily 7 -MinimumKeep 1</c>.</summary>
    public override string ToString() => string.Join(' ', new[]
    {
        KeepLast is { } l ? $"-KeepLast {l}" : null,
        KeepDaily is { } d ? $"-KeepDaily {d}" : null,
        KeepWeekly is { } w ? $"-KeepWeekly {w}" : null,
        KeepMonthly is { } m ? $"-KeepMonthly {m}" : null,
        OlderThan is { } o ? $"-OlderThan {o.ToString("c", CultureInfo.InvariantCulture)}" : null,
        $"-MinimumKeep {MinimumKeep}",
    }.Where(s => s is not null));
}

/// <summary>One artefact as retention sees it: where it is, and whether a restore test of it (of any of its copies) passed.</summary>
/// <param name="Artefact">The artefact (an original or a copy).</param>
/// <param name="Location">The location it is at, e.g. <c>contabo (ops@vps:22):/var/backups/hbops</c>.</param>
/// <param name="RestoreTestPassed">True when the latest restore test recorded for this backup passed.</param>
internal sealed record RetentionItem(HbBackupArtefact Artefact, string Location, bool RestoreTestPassed);

/// <summary>What retention decided for one artefact, and why.</summary>
public sealed class RetentionDecision
{
    /// <summary>The artefact.</summary>
    public required HbBackupArtefact Artefact { get; init; }
    /// <summary>Its location.</summary>
    public required string Location { get; init; }
    /// <summary>True when it goes.</summary>
    public bool Remove { get; set; }
    /// <summary>The rules that keep it, or why it goes.</summary>
    public List<string> Reasons { get; } = new();
    /// <summary>The guard that kept it although the rules would remove it (null when none did).</summary>
    public string? Guard { get; set; }
}
