using System.Text.RegularExpressions;
using HbOps.Model;

namespace HbOps.Engine.Util;

/// <summary>Removes secrets from text before it is shown, logged or recorded.</summary>
internal static partial class Redaction
{
    /// <summary>What replaces a secret.</summary>
    public const string Mask = "[REDACTED]";

    // password 'x' / password "x" (SQL options, CREATE ROLE ... PASSWORD '...'), incl. doubled quotes inside.
    [GeneratedRegex(@"(?i)(\bpassword\b\s*)('(?:[^']|'')*'|""(?:[^""]|"""")*"")")]
    private static partial Regex QuotedPassword();

    // key=value forms: password=..., PGPASSWORD=..., POSTGRES_PASSWORD=..., passphrase=...
    [GeneratedRegex(@"(?i)\b([A-Z_]*(?:PASSWORD|PASSPHRASE|SECRET|TOKEN))\s*=\s*(""[^""]*""|'[^']*'|[^\s,;)]+)")]
    private static partial Regex KeyValueSecret();

    // postgresql://user:secret@host URIs
    [GeneratedRegex(@"(?i)(postgres(?:ql)?://[^:/\s@]+:)([^@\s]+)(@)")]
    private static partial Regex UriPassword();

    /// <summary>Returns <paramref name="text"/> with every recognised secret replaced by <see cref="Mask"/>.</summary>
    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text)) return text ?? "";
        var s = QuotedPassword().Replace(text, m => m.Groups[1].Value + "'" + Mask + "'");
        s = KeyValueSecret().Replace(s, m => m.Groups[1].Value + "=" + Mask);
        s = UriPassword().Replace(s, m => m.Groups[1].Value + Mask + m.Groups[3].Value);
        return s;
    }
}
