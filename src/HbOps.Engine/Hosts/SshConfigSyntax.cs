using System.Text;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>
/// The lexical rules of ssh_config as OpenSSH applies them: how a line splits into keyword and arguments
/// (whitespace or one <c>=</c>, double and single quotes, backslash escapes, <c>#</c> comments), OpenSSH's
/// <c>*</c>/<c>?</c> patterns and pattern lists, and the expansion of <c>~</c>, <c>%</c> tokens and <c>${VAR}</c>.
/// </summary>
internal static class SshConfigSyntax
{
    private const string Whitespace = " \t\r\n";
    private static readonly char[] WhitespaceQuote = { ' ', '\t', '\r', '\n', '"' };
    private static readonly char[] WhitespaceQuoteEquals = { ' ', '\t', '\r', '\n', '"', '=' };

    /// <summary>A line without its trailing whitespace (and form feeds), as OpenSSH trims it before parsing.</summary>
    public static string TrimLineEnd(string line) => line.TrimEnd(' ', '\t', '\r', '\n', '\f');

    /// <summary>
    /// Splits the keyword off a trimmed line. Returns false for blank and comment lines; otherwise the lowercased
    /// keyword and the rest of the line (null or empty when there is no argument).
    /// </summary>
    public static bool SplitKeyword(string line, out string keyword, out string? rest)
    {
        string? s = line;
        var k = NextToken(ref s, splitEquals: true);
        if (k is { Length: 0 }) k = NextToken(ref s, splitEquals: true);
        keyword = "";
        rest = null;
        if (string.IsNullOrEmpty(k) || k[0] == '#') return false;
        keyword = k.ToLowerInvariant();
        rest = s?.TrimStart(Whitespace.ToCharArray());
        return true;
    }

    /// <summary>
    /// The next token of <paramref name="s"/> the way OpenSSH's strdelim reads Match criteria: split at whitespace
    /// (and one <c>=</c> when <paramref name="splitEquals"/>), a double-quoted stretch kept together. Null when
    /// nothing is left or a quote is not closed; <paramref name="s"/> becomes null when the line is consumed.
    /// </summary>
    public static string? NextToken(ref string? s, bool splitEquals = true)
    {
        if (s is null) return null;
        var old = s;
        int i = s.IndexOfAny(splitEquals ? WhitespaceQuoteEquals : WhitespaceQuote);
        if (i < 0)
        {
            s = null;
            return old;
        }
        if (s[i] == '"')
        {
            var after = s[(i + 1)..];
            int j = after.IndexOf('"', StringComparison.Ordinal);
            if (j < 0)
            {
                s = null;
                return null;
            }
            s = after[(j + 1)..].TrimStart(Whitespace.ToCharArray());
            return old[..i] + after[..j];
        }
        bool sawEquals = splitEquals && s[i] == '=';
        var token = s[..i];
        var remainder = s[(i + 1)..].TrimStart(Whitespace.ToCharArray());
        if (splitEquals && !sawEquals && remainder.StartsWith('=')) remainder = remainder[1..].TrimStart(Whitespace.ToCharArray());
        s = remainder;
        return token;
    }

    /// <summary>
    /// Splits arguments the way OpenSSH's argv_split does for config lines: whitespace separates, double or single
    /// quotes group (and are removed), a backslash escapes a quote, a backslash or (outside quotes) a space, and a
    /// <c>#</c> at the start of an argument ends the line. Null when a quote is not closed.
    /// </summary>
    public static List<string>? SplitArguments(string s)
    {
        var args = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            if (s[i] == ' ' || s[i] == '\t')
            {
                i++;
                continue;
            }
            if (s[i] == '#') break;
            var arg = new StringBuilder();
            char quote = '\0';
            for (; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '\\' && i + 1 < s.Length &&
                    (s[i + 1] == '\'' || s[i + 1] == '"' || s[i + 1] == '\\' || (quote == '\0' && s[i + 1] == ' ')))
                {
                    arg.Append(s[++i]);
                }
                else if (quote == '\0' && (c == ' ' || c == '\t'))
                {
                    break;
                }
                else if (quote == '\0' && (c == '"' || c == '\''))
                {
                    quote = c;
                }
                else if (quote != '\0' && c == quote)
                {
                    quote = '\0';
                }
                else
                {
                    arg.Append(c);
                }
            }
            if (quote != '\0') return null;
            args.Add(arg.ToString());
        }
        return args;
    }

    /// <summary>OpenSSH's match_pattern: <c>*</c> any run, <c>?</c> one character, everything else literal and case-sensitive.</summary>
    public static bool MatchPattern(string text, string pattern) => MatchPattern(text.AsSpan(), pattern.AsSpan());

    private static bool MatchPattern(ReadOnlySpan<char> s, ReadOnlySpan<char> p)
    {
        while (true)
        {
            if (p.IsEmpty) return s.IsEmpty;
            if (p[0] == '*')
            {
                p = p[1..];
                if (p.IsEmpty) return true;
                if (p[0] != '?' && p[0] != '*')
                {
                    for (int i = 0; i < s.Length; i++)
                    {
                        if (s[i] == p[0] && MatchPattern(s[(i + 1)..], p[1..])) return true;
                    }
                    return false;
                }
                for (int i = 0; i <= s.Length; i++)
                {
                    if (MatchPattern(s[i..], p)) return true;
                }
                return false;
            }
            if (s.IsEmpty) return false;
            if (p[0] != '?' && p[0] != s[0]) return false;
            s = s[1..];
            p = p[1..];
        }
    }

    /// <summary>
    /// OpenSSH's match_pattern_list: a comma-separated list where <c>!</c> negates an entry; 1 when an entry
    /// matches, -1 when a negated entry matches (which wins), 0 otherwise. <paramref name="lowercase"/> lowercases
    /// the patterns (the caller lowercases the text).
    /// </summary>
    public static int MatchPatternList(string text, string list, bool lowercase)
    {
        bool positive = false;
        int i = 0;
        while (i < list.Length)
        {
            bool negated = list[i] == '!';
            if (negated) i++;
            int end = list.IndexOf(',', i);
            if (end < 0) end = list.Length;
            var sub = list[i..end];
            if (sub.Length >= 1023) return 0;
            if (lowercase) sub = sub.ToLowerInvariant();
            i = end < list.Length ? end + 1 : end;
            if (!MatchPattern(text, sub)) continue;
            if (negated) return -1;
            positive = true;
        }
        return positive ? 1 : 0;
    }

    /// <summary>OpenSSH's match_hostname: the host lowercased against the lowercased pattern list.</summary>
    public static bool MatchHostname(string host, string list) => MatchPatternList(host.ToLowerInvariant(), list, lowercase: true) == 1;

    /// <summary>
    /// <c>~</c> expansion as OpenSSH's tilde_expand_filename does it: <c>~</c>, <c>~/</c> and <c>~/path</c> become the
    /// home directory (always followed by a separator); on Windows <c>~\</c> too. <c>~name/</c> is only understood
    /// for the local user.
    /// </summary>
    public static string ExpandTilde(string value, SshConfigEnvironment env, string where)
    {
        if (value.Length == 0 || value[0] != '~') return value;
        var rest = value[1..];
        string? path;
        if (rest.Length == 0)
        {
            path = null;
        }
        else if (env.IsSeparator(rest[0]))
        {
            int k = 0;
            while (k < rest.Length && env.IsSeparator(rest[k])) k++;
            path = k == rest.Length ? null : rest[k..];
        }
        else
        {
            int slash = 0;
            while (slash < rest.Length && !env.IsSeparator(rest[slash])) slash++;
            var user = rest[..slash];
            if (!string.Equals(user, env.LocalUser, StringComparison.Ordinal))
            {
                throw Unsupported($"{where}: '~{user}' (another account's home directory) is not supported; write the path out.", value);
            }
            int k = slash;
            while (k < rest.Length && env.IsSeparator(rest[k])) k++;
            path = k >= rest.Length ? null : rest[k..];
        }
        // Windows takes both separators; the expanded path uses its own throughout
        if (env.IsWindows && path is not null) path = path.Replace('/', '\\');
        return env.JoinPath(env.HomeDirectory, path ?? "");
    }

    /// <summary>
    /// Expands <c>${NAME}</c> and <c>%x</c> tokens in one left-to-right pass (inserted values are not expanded
    /// again), as OpenSSH's percent_dollar_expand; <c>%%</c> is a literal <c>%</c>. On Windows a
    /// <c>%NAME%</c> naming a defined environment variable is replaced by its value too. An unknown token or an
    /// undefined <c>${NAME}</c> is an error, as in ssh.
    /// </summary>
    public static string Expand(string value, IReadOnlyDictionary<char, Func<string>> tokens, bool dollar,
        SshConfigEnvironment env, string where, bool percent = true, bool windowsVariables = true)
    {
        var sb = new StringBuilder(value.Length + 32);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (dollar && c == '$' && i + 1 < value.Length && value[i + 1] == '{')
            {
                int close = value.IndexOf('}', i + 2);
                if (close < 0) throw Invalid($"{where}: environment variable '{value[(i + 2)..]}' lacks its closing '}}'.", value);
                var name = value[(i + 2)..close];
                if (name.Length == 0) throw Invalid($"{where}: empty environment variable name in '{value}'.", value);
                var v = env.GetEnvironmentVariable(name)
                    ?? throw Invalid($"{where}: environment variable ${{{name}}} is not set ('{value}').", value);
                sb.Append(v);
                i = close;
                continue;
            }
            if (c != '%' || !percent)
            {
                sb.Append(c);
                continue;
            }
            if (i + 1 >= value.Length) throw Invalid($"{where}: '%' at the end of '{value}' (write %% for a literal %).", value);
            char t = value[i + 1];
            if (t == '%')
            {
                sb.Append('%');
                i++;
                continue;
            }
            if (windowsVariables && env.IsWindows && TryWindowsVariable(value, i, env, out var winValue, out var winEnd))
            {
                sb.Append(winValue);
                i = winEnd;
                continue;
            }
            if (!tokens.TryGetValue(t, out var token))
            {
                throw Invalid($"{where}: unknown token %{t} in '{value}'.", value);
            }
            sb.Append(token());
            i++;
        }
        return sb.ToString();
    }

    /// <summary>Checks that <paramref name="value"/> uses only the given tokens (for values ssh expands later).</summary>
    public static void CheckTokens(string value, string allowed, string where)
    {
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] != '%') continue;
            if (i + 1 >= value.Length) throw Invalid($"{where}: '%' at the end of '{value}'.", value);
            char t = value[++i];
            if (t != '%' && allowed.IndexOf(t, StringComparison.Ordinal) < 0) throw Invalid($"{where}: unknown token %{t} in '{value}'.", value);
        }
    }

    private static bool TryWindowsVariable(string value, int start, SshConfigEnvironment env, out string result, out int end)
    {
        result = "";
        end = value.IndexOf('%', start + 1);
        if (end < start + 3) return false; // a name of at least two characters: %h%p stays two tokens
        var name = value[(start + 1)..end];
        foreach (var ch in name)
        {
            if (!char.IsAsciiLetterOrDigit(ch) && ch != '_' && ch != '(' && ch != ')') return false;
        }
        var v = env.GetEnvironmentVariable(name);
        if (v is null) return false;
        result = v;
        return true;
    }

    /// <summary>A malformed config (ssh would refuse it too).</summary>
    public static HbOpsException Invalid(string message, object? target) =>
        new(HbErrorIds.SshConfigInvalid, HbErrorCategory.InvalidData, message, target,
            "Fix the ssh config (ssh -G -F <config> <alias> shows how OpenSSH reads it).");

    /// <summary>A construct HbOps' own resolver does not evaluate.</summary>
    public static HbOpsException Unsupported(string message, object? target) =>
        new(HbErrorIds.SshConfigUnsupported, HbErrorCategory.InvalidData, message, target,
            "Rewrite that part of the ssh config, or set HBOPS_SSH_CONFIG_EVALUATOR=OpenSsh to let OpenSSH's 'ssh -G' " +
            "evaluate it (ssh then runs Match exec commands, as it does on every connection).");
}
