using System.Text.RegularExpressions;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>The settings ssh_config gives for one host name.</summary>
public sealed class SshConfigEntry
{
    /// <summary>HostName (defaults to the alias itself).</summary>
    public string HostName { get; set; } = "";
    /// <summary>User, if set.</summary>
    public string? User { get; set; }
    /// <summary>Port, if set.</summary>
    public int? Port { get; set; }
    /// <summary>IdentityFile values, in order, with <c>~</c> expanded.</summary>
    public List<string> IdentityFiles { get; } = new();
    /// <summary>UserKnownHostsFile values, with <c>~</c> expanded.</summary>
    public List<string> UserKnownHostsFiles { get; } = new();
    /// <summary>True when at least one Host block (other than <c>*</c>) matched.</summary>
    public bool MatchedSpecificHost { get; set; }
}

/// <summary>
/// Minimal OpenSSH client config reader: <c>Host</c> blocks with <c>*</c>/<c>?</c> patterns and
/// <c>!</c> negation, and the keys HbOps needs. As in OpenSSH, the first value obtained for a key wins
/// (IdentityFile accumulates). <c>Match</c> blocks are skipped.
/// </summary>
public static class SshConfig
{
    /// <summary>The default per-user config path.</summary>
    public static string DefaultPath => Path.Combine(HomeDirectory, ".ssh", "config");

    /// <summary>The current user's home directory.</summary>
    public static string HomeDirectory => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Resolves <paramref name="alias"/> against the config text.</summary>
    public static SshConfigEntry Resolve(string configText, string alias)
    {
        ArgumentNullException.ThrowIfNull(configText);
        var entry = new SshConfigEntry();
        bool active = true; // lines before the first Host apply to all hosts
        foreach (var raw in configText.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var (key, value) = SplitKeyValue(line);
            if (key.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                active = HostMatches(value, alias, out var specific);
                if (active && specific) entry.MatchedSpecificHost = true;
                continue;
            }
            if (key.Equals("Match", StringComparison.OrdinalIgnoreCase)) { active = false; continue; }
            if (!active) continue;
            switch (key.ToLowerInvariant())
            {
                case "hostname":
                    if (entry.HostName.Length == 0) entry.HostName = value.Replace("%h", alias, StringComparison.Ordinal);
                    break;
                case "user":
                    entry.User ??= value;
                    break;
                case "port":
                    if (entry.Port is null && int.TryParse(value, out var port)) entry.Port = port;
                    break;
                case "identityfile":
                    entry.IdentityFiles.Add(ExpandPath(Unquote(value), alias));
                    break;
                case "userknownhostsfile":
                    if (entry.UserKnownHostsFiles.Count == 0)
                    {
                        entry.UserKnownHostsFiles.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                            .Select(v => ExpandPath(Unquote(v), alias)));
                    }
                    break;
            }
        }
        if (entry.HostName.Length == 0) entry.HostName = alias;
        return entry;
    }

    /// <summary>Reads the config file and resolves an alias; an alias no specific Host block names is an error.</summary>
    public static SshConfigEntry ResolveAlias(string? configPath, string alias)
    {
        var path = configPath ?? DefaultPath;
        if (!File.Exists(path))
        {
            throw new HbOpsException(HbErrorIds.SshAliasNotFound, HbErrorCategory.ObjectNotFound,
                $"SSH alias '{alias}' cannot be resolved: the ssh config '{path}' does not exist.", alias,
                "Create a Host entry in ~/.ssh/config, pass -SshConfigPath, or use -HostName/-User/-KeyFile.");
        }
        var entry = Resolve(File.ReadAllText(path), alias);
        if (!entry.MatchedSpecificHost)
        {
            throw new HbOpsException(HbErrorIds.SshAliasNotFound, HbErrorCategory.ObjectNotFound,
                $"SSH alias '{alias}' is not defined in '{path}'.", alias,
                "Add a 'Host " + alias + "' block to the ssh config or use -HostName.");
        }
        return entry;
    }

    /// <summary>Concrete (wildcard-free, non-negated) Host names defined in a config text, for tab completion.</summary>
    public static IReadOnlyList<string> ListAliases(string configText)
    {
        ArgumentNullException.ThrowIfNull(configText);
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in configText.Split('\n'))
        {
            var (key, value) = SplitKeyValue(raw.Trim());
            if (!key.Equals("Host", StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var p in value.Split(new[] { ' ', '\t', ',' }, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!p.StartsWith('!') && !p.Contains('*', StringComparison.Ordinal) && !p.Contains('?', StringComparison.Ordinal)) names.Add(p);
            }
        }
        return names.ToList();
    }

    /// <summary>True when the space-separated Host pattern list matches the alias.</summary>
    public static bool HostMatches(string patterns, string alias, out bool specific)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        bool matched = false;
        specific = false;
        foreach (var pattern in patterns.Split(new[] { ' ', '\t', ',' }, StringSplitOptions.RemoveEmptyEntries))
        {
            bool negate = pattern.StartsWith('!');
            var p = negate ? pattern[1..] : pattern;
            if (!Glob(p, alias)) continue;
            if (negate) { specific = false; return false; }
            matched = true;
            if (p != "*") specific = true;
        }
        return matched;
    }

    /// <summary>ssh-style glob: <c>*</c> any run, <c>?</c> one character, case-insensitive.</summary>
    public static bool Glob(string pattern, string text)
    {
        var regex = "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal)
            .Replace("\\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(text, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    /// <summary>Expands <c>~</c> and <c>%d</c>/<c>%h</c> in a path.</summary>
    public static string ExpandPath(string path, string alias)
    {
        ArgumentNullException.ThrowIfNull(path);
        var home = HomeDirectory;
        if (path == "~") return home;
        if (path.StartsWith("~/", StringComparison.Ordinal)) path = Path.Combine(home, path[2..]);
        return path.Replace("%d", home, StringComparison.Ordinal).Replace("%h", alias, StringComparison.Ordinal);
    }

    private static (string Key, string Value) SplitKeyValue(string line)
    {
        int i = 0;
        while (i < line.Length && !char.IsWhiteSpace(line[i]) && line[i] != '=') i++;
        var key = line[..i];
        var rest = line[i..].TrimStart();
        if (rest.StartsWith('=')) rest = rest[1..].TrimStart();
        return (key, rest.Trim());
    }

    private static string Unquote(string v) => v.Length >= 2 && v[0] == '"' && v[^1] == '"' ? v[1..^1] : v;
}
