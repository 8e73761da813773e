using System.Text.RegularExpressions;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>
/// Splits pg_restore's stderr into messages and classifies each by rule. The rules encode what is
/// expected when restoring with --no-owner --no-privileges into a fresh cluster that lacks the
/// production roles; anything no rule recognises is fatal.
/// </summary>
internal static partial class RestoreMessageClassifier
{
    [GeneratedRegex(@"role ""[^""]+"" does not exist")]
    private static partial Regex MissingRole();

    [GeneratedRegex(@"errors ignored on restore: (\d+)")]
    private static partial Regex IgnoredSummary();

    private sealed record Rule(string Name, HbMessageSeverity Severity, Func<string, string?, bool> Matches);

    private static readonly Rule[] Rules =
    {
        new("MissingRoleUserMapping", HbMessageSeverity.NonFatal,
            (t, c) => MissingRole().IsMatch(t) && StartsWith(c, "CREATE USER MAPPING")),
        new("MissingRoleGrant", HbMessageSeverity.NonFatal,
            (t, c) => MissingRole().IsMatch(t) && (StartsWith(c, "GRANT") || StartsWith(c, "REVOKE"))),
        new("MissingRoleOwner", HbMessageSeverity.NonFatal,
            (t, c) => MissingRole().IsMatch(t) && c is not null && c.Contains(" OWNER TO ", StringComparison.OrdinalIgnoreCase)),
        new("MissingRoleDefaultPrivileges", HbMessageSeverity.NonFatal,
            (t, c) => MissingRole().IsMatch(t) && StartsWith(c, "ALTER DEFAULT PRIVILEGES")),
        new("ExtensionCommentNotOwner", HbMessageSeverity.NonFatal,
            (t, c) => t.Contains("must be owner of extension", StringComparison.Ordinal) && StartsWith(c, "COMMENT ON EXTENSION")),
        new("ErrorsIgnoredSummary", HbMessageSeverity.Info,
            (t, _) => IgnoredSummary().IsMatch(t) && t.Contains("warning:", StringComparison.Ordinal)),
        new("Warning", HbMessageSeverity.NonFatal,
            (t, _) => t.StartsWith("pg_restore: warning:", StringComparison.Ordinal)),
    };

    /// <summary>Classifies pg_restore stderr.</summary>
    public static List<HbRestoreMessage> Classify(string stderr)
    {
        var messages = new List<HbRestoreMessage>();
        foreach (var block in SplitBlocks(stderr ?? ""))
        {
            var (text, command) = block;
            var rule = Rules.FirstOrDefault(r => r.Matches(text, command));
            messages.Add(new HbRestoreMessage
            {
                Severity = rule?.Severity ?? HbMessageSeverity.Fatal,
                Rule = rule?.Name ?? "Unrecognised",
                Text = Redaction.Redact(text),
                Command = command is null ? null : Redaction.Redact(command),
            });
        }
        return messages;
    }

    /// <summary>The N of "errors ignored on restore: N", if present.</summary>
    public static int? IgnoredErrorCount(IEnumerable<HbRestoreMessage> messages)
    {
        foreach (var m in messages)
        {
            var match = IgnoredSummary().Match(m.Text);
            if (match.Success) return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return null;
    }

    private static bool StartsWith(string? command, string prefix) =>
        command is not null && command.TrimStart().StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    // A message starts at a "pg_restore:" line; following lines belong to it. "Command was:" starts its SQL.
    private static IEnumerable<(string Text, string? Command)> SplitBlocks(string stderr)
    {
        var lines = stderr.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var text = new List<string>();
        List<string>? command = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("pg_restore:", StringComparison.Ordinal))
            {
                if (text.Count > 0) yield return Emit(text, command);
                text = new List<string> { line.TrimEnd() };
                command = null;
            }
            else if (line.StartsWith("Command was:", StringComparison.Ordinal))
            {
                command = new List<string> { line["Command was:".Length..].Trim() };
            }
            else if (command is not null)
            {
                command.Add(line);
            }
            else if (line.Trim().Length > 0)
            {
                text.Add(line.TrimEnd());
            }
        }
        if (text.Count > 0) yield return Emit(text, command);
    }

    private static (string, string?) Emit(List<string> text, List<string>? command) =>
        (string.Join("\n", text), command is null ? null : string.Join("\n", command).Trim());
}
