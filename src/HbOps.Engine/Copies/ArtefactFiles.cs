using System.Text.RegularExpressions;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Restore;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>The files that make up an artefact in its run folder, and the SHA256SUMS edits copies and removals need.</summary>
internal static partial class ArtefactFiles
{
    /// <summary>Suffix of the copy record written beside a copy (<c>&lt;dump&gt;.copy.yml</c>).</summary>
    public const string CopyRecordSuffix = ".copy.yml";

    /// <summary>Suffix of a transfer in progress (<c>&lt;dump&gt;.partial</c>); never listed as an artefact.</summary>
    public const string PartialSuffix = ".partial";

    // What Invoke-HbBackup's names are made of (a database name's other characters are %XX-escaped in the dump's name).
    [GeneratedRegex(@"^[A-Za-z0-9_.%:+-]{1,255}$")]
    private static partial Regex SafeName();

    [GeneratedRegex(@"^[0-9a-f]{64}  (?<name>\S.*)$")]
    private static partial Regex SumsLine();

    /// <summary>
    /// Checks a file or folder name taken from a manifest before it becomes part of a path at another location: one plain
    /// name, no separators, not '.' or '..'.
    /// </summary>
    public static string RequireSafeName(string? name, string what)
    {
        if (name is null || !SafeName().IsMatch(name) || name is "." or "..")
        {
            throw new HbOpsException(HbErrorIds.ArtefactInvalid, HbErrorCategory.InvalidData,
                $"The artefact's {what} '{Validation.Printable(name)}' is not a plain file name; refusing to use it in a path.", name);
        }
        return name;
    }

    /// <summary>The names SHA256SUMS may list for an artefact: its dump and its manifest.</summary>
    public static IReadOnlyList<string> ListedNames(HbBackupArtefact artefact)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        return new[] { artefact.FileName, artefact.FileName + BackupEngine.ManifestSuffix };
    }

    /// <summary>The lines of <paramref name="sums"/> (sha256sum -c format) that list one of <paramref name="names"/>.</summary>
    public static List<string> LinesFor(string? sums, IReadOnlyCollection<string> names) =>
        (sums ?? "").Split('\n').Select(l => l.TrimEnd('\r')).Where(l => SumsLine().Match(l) is { Success: true } m && names.Contains(m.Groups["name"].Value)).ToList();

    /// <summary><paramref name="sums"/> without the lines listing one of <paramref name="names"/> (normalised line ends, final newline).</summary>
    public static string Without(string? sums, IReadOnlyCollection<string> names)
    {
        var kept = (sums ?? "").Split('\n').Select(l => l.TrimEnd('\r'))
            .Where(l => l.Length > 0 && !(SumsLine().Match(l) is { Success: true } m && names.Contains(m.Groups["name"].Value)));
        var text = string.Join('\n', kept);
        return text.Length == 0 ? "" : text + "\n";
    }

    /// <summary><paramref name="sums"/> with <paramref name="lines"/> in place of any earlier lines for the same names.</summary>
    public static string With(string? sums, IReadOnlyCollection<string> lines)
    {
        var names = lines.Select(l => SumsLine().Match(l)).Where(m => m.Success).Select(m => m.Groups["name"].Value).ToList();
        return Without(sums, names) + string.Concat(lines.Select(l => l + "\n"));
    }

    /// <summary>True when <paramref name="name"/> (a file in the run folder) belongs to the artefact whose dump is <paramref name="dumpName"/>.</summary>
    public static bool BelongsTo(string name, string dumpName) =>
        name == dumpName || name == dumpName + BackupEngine.ManifestSuffix || name == dumpName + CopyRecordSuffix ||
        (name.StartsWith(dumpName + RestoreEngine.RecordInfix, StringComparison.Ordinal) && name.EndsWith(".yml", StringComparison.Ordinal));
}
