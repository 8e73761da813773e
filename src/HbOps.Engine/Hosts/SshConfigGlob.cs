namespace HbOps.Engine.Hosts;

/// <summary>
/// The file-name expansion OpenSSH uses for <c>Include</c> (glob(3) with a leading <c>~</c>): <c>*</c>, <c>?</c> and
/// <c>[...]</c> in any path component, names starting with a dot only matched by a pattern that starts with one, the
/// results in byte order. A path without wildcards is returned when it exists.
/// </summary>
internal static class SshConfigGlob
{
    /// <summary>The existing paths <paramref name="pattern"/> names, sorted.</summary>
    public static List<string> Expand(string pattern, SshConfigEnvironment env, string where)
    {
        pattern = ExpandTilde(pattern, env, where);
        var (root, components) = SplitRoot(pattern, env);
        var candidates = new List<string> { root };
        for (int i = 0; i < components.Count; i++)
        {
            var component = components[i];
            bool last = i == components.Count - 1;
            var next = new List<string>();
            foreach (var dir in candidates)
            {
                if (!HasMagic(component, env))
                {
                    next.Add(Join(dir, Unescape(component, env), env));
                    continue;
                }
                if (!Directory.Exists(dir.Length == 0 ? "." : dir)) continue;
                foreach (var entry in Directory.EnumerateFileSystemEntries(dir.Length == 0 ? "." : dir))
                {
                    var name = Path.GetFileName(entry);
                    if (name.StartsWith('.') && !component.StartsWith('.')) continue;
                    if (!FnMatch(name, component, env)) continue;
                    var path = Join(dir, name, env);
                    if (!last && !Directory.Exists(path)) continue;
                    next.Add(path);
                }
            }
            candidates = next;
        }
        var found = candidates.Where(p => File.Exists(p) || Directory.Exists(p)).Distinct(StringComparer.Ordinal).ToList();
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    private static string ExpandTilde(string pattern, SshConfigEnvironment env, string where)
    {
        if (!pattern.StartsWith('~')) return pattern;
        int end = 1;
        while (end < pattern.Length && !env.IsSeparator(pattern[end])) end++;
        var user = pattern[1..end];
        if (user.Length > 0 && !string.Equals(user, env.LocalUser, StringComparison.Ordinal))
        {
            throw SshConfigSyntax.Unsupported($"{where}: '~{user}' (another account's home directory) is not supported in Include.", pattern);
        }
        return env.IncludeHomeDirectory + pattern[end..];
    }

    private static (string Root, List<string> Components) SplitRoot(string pattern, SshConfigEnvironment env)
    {
        string root = "";
        int start = 0;
        if (env.IsWindows && pattern.Length >= 2 && char.IsAsciiLetter(pattern[0]) && pattern[1] == ':')
        {
            root = pattern[..2] + "\\";
            start = 2;
        }
        else if (env.IsWindows && pattern.Length >= 2 && env.IsSeparator(pattern[0]) && env.IsSeparator(pattern[1]))
        {
            // \\server\share is the root of a UNC path; wildcards there are not expanded
            var parts = pattern[2..].Split(new[] { '\\', '/' }, 3);
            root = parts.Length >= 2 ? $"\\\\{parts[0]}\\{parts[1]}\\" : pattern;
            start = parts.Length >= 2 ? 2 + parts[0].Length + 1 + parts[1].Length : pattern.Length;
        }
        else if (pattern.Length > 0 && env.IsSeparator(pattern[0]))
        {
            root = env.IsWindows ? "\\" : "/";
        }
        var components = new List<string>();
        var current = new System.Text.StringBuilder();
        for (int i = start; i < pattern.Length; i++)
        {
            if (env.IsSeparator(pattern[i]))
            {
                if (current.Length > 0) components.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(pattern[i]);
            }
        }
        if (current.Length > 0) components.Add(current.ToString());
        return (root, components);
    }

    private static string Join(string dir, string name, SshConfigEnvironment env) =>
        dir.Length == 0 ? name : env.IsSeparator(dir[^1]) ? dir + name : dir + (env.IsWindows ? '\\' : '/') + name;

    private static bool HasMagic(string component, SshConfigEnvironment env)
    {
        for (int i = 0; i < component.Length; i++)
        {
            char c = component[i];
            if (c == '\\' && !env.IsWindows) { i++; continue; }
            if (c is '*' or '?' or '[') return true;
        }
        return false;
    }

    private static string Unescape(string component, SshConfigEnvironment env)
    {
        if (env.IsWindows || !component.Contains('\\', StringComparison.Ordinal)) return component;
        var sb = new System.Text.StringBuilder(component.Length);
        for (int i = 0; i < component.Length; i++)
        {
            if (component[i] == '\\' && i + 1 < component.Length) i++;
            sb.Append(component[i]);
        }
        return sb.ToString();
    }

    /// <summary>fnmatch(3) for one path component: <c>*</c>, <c>?</c>, bracket expressions, backslash escapes (not on Windows).</summary>
    internal static bool FnMatch(string name, string pattern, SshConfigEnvironment env) =>
        Match(name.AsSpan(), pattern.AsSpan(), env.IsWindows);

    private static bool Match(ReadOnlySpan<char> s, ReadOnlySpan<char> p, bool windows)
    {
        while (!p.IsEmpty)
        {
            char c = p[0];
            if (c == '*')
            {
                while (!p.IsEmpty && p[0] == '*') p = p[1..];
                if (p.IsEmpty) return true;
                for (int i = 0; i <= s.Length; i++)
                {
                    if (Match(s[i..], p, windows)) return true;
                }
                return false;
            }
            if (s.IsEmpty) return false;
            if (c == '?')
            {
                s = s[1..];
                p = p[1..];
                continue;
            }
            if (c == '[' && TryBracket(s[0], p, windows, out var matched, out var length))
            {
                if (!matched) return false;
                s = s[1..];
                p = p[length..];
                continue;
            }
            if (c == '\\' && !windows && p.Length > 1)
            {
                p = p[1..];
                c = p[0];
            }
            if (!Same(c, s[0], windows)) return false;
            s = s[1..];
            p = p[1..];
        }
        return s.IsEmpty;
    }

    private static bool TryBracket(char ch, ReadOnlySpan<char> p, bool windows, out bool matched, out int length)
    {
        matched = false;
        length = 0;
        int i = 1;
        bool negate = i < p.Length && (p[i] == '!' || p[i] == '^');
        if (negate) i++;
        int first = i;
        bool hit = false;
        while (i < p.Length && (p[i] != ']' || i == first))
        {
            char lo = p[i];
            if (i + 2 < p.Length && p[i + 1] == '-' && p[i + 2] != ']')
            {
                char hi = p[i + 2];
                if (InRange(ch, lo, hi, windows)) hit = true;
                i += 3;
            }
            else
            {
                if (Same(lo, ch, windows)) hit = true;
                i++;
            }
        }
        if (i >= p.Length) return false; // no closing ']': the '[' is an ordinary character
        matched = hit != negate;
        length = i + 1;
        return true;
    }

    private static bool InRange(char c, char lo, char hi, bool windows) =>
        (c >= lo && c <= hi) || (windows && char.ToLowerInvariant(c) >= char.ToLowerInvariant(lo) && char.ToLowerInvariant(c) <= char.ToLowerInvariant(hi));

    private static bool Same(char a, char b, bool windows) => a == b || (windows && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
