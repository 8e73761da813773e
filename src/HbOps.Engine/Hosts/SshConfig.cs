using System.Text.RegularExpressions;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>The settings ssh_config gives for one host name, resolved as OpenSSH resolves them (<c>ssh -G</c>).</summary>
public sealed class SshConfigEntry
{
    /// <summary>The host to connect to: HostName with <c>%h</c> substituted (else the name as typed), lowercased unless an address.</summary>
    public string HostName { get; set; } = "";
    /// <summary>The remote user (the local user name unless configured).</summary>
    public string User { get; set; } = "";
    /// <summary>The port (22 unless configured).</summary>
    public int Port { get; set; } = 22;
    /// <summary>IdentityFile paths as ssh loads them: <c>~</c>, tokens and <c>${VAR}</c> expanded, <c>none</c> left out.</summary>
    public List<string> IdentityFiles { get; } = new();
    /// <summary>IdentityFile values as configured (before expansion, defaults included), as <c>ssh -G</c> prints them.</summary>
    public List<string> IdentityFileValues { get; } = new();
    /// <summary>UserKnownHostsFile paths, expanded; empty for <c>UserKnownHostsFile none</c>.</summary>
    public List<string> UserKnownHostsFiles { get; } = new();
    /// <summary>ProxyJump as <c>ssh -G</c> prints it (<c>[user@]host[:port]</c>, earlier hops comma-separated first); null for none.</summary>
    public string? ProxyJump { get; set; }
    /// <summary>ProxyCommand when one applies (HbOps cannot run it).</summary>
    public string? ProxyCommand { get; set; }
    /// <summary>HostKeyAlias, lowercased as ssh uses it.</summary>
    public string? HostKeyAlias { get; set; }
    /// <summary>IdentitiesOnly.</summary>
    public bool IdentitiesOnly { get; set; }
    /// <summary>IdentityAgent, expanded (<c>none</c>, <c>SSH_AUTH_SOCK</c> and <c>$NAME</c> are kept as written).</summary>
    public string? IdentityAgent { get; set; }
    /// <summary>True when a Host pattern other than <c>*</c>, or a Match naming the host, applied: the alias is defined.</summary>
    public bool MatchedSpecificHost { get; set; }
    /// <summary>The config files that were read, in order.</summary>
    public List<string> ConfigFiles { get; } = new();
    /// <summary>Who evaluated the config.</summary>
    public SshConfigEvaluator Evaluator { get; set; }
}

/// <summary>
/// Entry points for ssh_config: resolving an alias (see <see cref="SshConfigResolver"/> for the rules) and listing
/// the aliases a config defines.
/// </summary>
public static class SshConfig
{
    /// <summary>The default per-user config path.</summary>
    public static string DefaultPath => Path.Combine(HomeDirectory, ".ssh", "config");

    /// <summary>The current user's home directory.</summary>
    public static string HomeDirectory => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>Resolves <paramref name="alias"/> against config text (Include paths resolve as in the user's config).</summary>
    public static SshConfigEntry Resolve(string configText, string alias, SshConfigEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(configText);
        return SshConfigResolver.Resolve(new SshConfigQuery { Host = alias, ConfigText = configText }, environment);
    }

    /// <summary>
    /// Resolves an alias from a config file (or, when <paramref name="configPath"/> is null, from the user's and the
    /// system config as ssh reads them); an alias no specific Host or Match block names is an error.
    /// </summary>
    public static SshConfigEntry ResolveAlias(string? configPath, string alias, SshConfigEnvironment? environment = null)
    {
        var env = environment ?? SshConfigEnvironment.Current;
        if (configPath is not null && !File.Exists(configPath))
        {
            throw new HbOpsException(HbErrorIds.SshAliasNotFound, HbErrorCategory.ObjectNotFound,
                $"SSH alias '{alias}' cannot be resolved: the ssh config '{configPath}' does not exist.", alias,
                "Create a Host entry in ~/.ssh/config, pass -SshConfigPath, or use -HostName/-User/-KeyFile.");
        }
        var entry = SshConfigResolver.Resolve(new SshConfigQuery { Host = alias, ConfigPath = configPath }, env);
        ThrowUnlessDefined(entry, alias, configPath ?? DefaultPath);
        return entry;
    }

    /// <summary>Throws <see cref="HbErrorIds.SshAliasNotFound"/> unless a specific Host or Match block named the alias.</summary>
    internal static void ThrowUnlessDefined(SshConfigEntry entry, string alias, string configPath)
    {
        if (entry.MatchedSpecificHost) return;
        var read = entry.ConfigFiles.Count == 0 ? $"'{configPath}' (which does not exist)" : string.Join(", ", entry.ConfigFiles.Select(f => $"'{f}'"));
        throw new HbOpsException(HbErrorIds.SshAliasNotFound, HbErrorCategory.ObjectNotFound,
            $"SSH alias '{alias}' is not defined in {read}.", alias,
            "Add a 'Host " + alias + "' block to the ssh config or use -HostName.");
    }

    /// <summary>
    /// Concrete (wildcard-free, non-negated) names a config text defines in Host lines and <c>Match originalhost</c>,
    /// following Includes, for tab completion. Never throws on a malformed line.
    /// </summary>
    public static IReadOnlyList<string> ListAliases(string configText, SshConfigEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(configText);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        CollectAliases(configText, environment ?? SshConfigEnvironment.Current, names, new HashSet<string>(StringComparer.Ordinal), 0);
        return names.ToList();
    }

    /// <summary><see cref="ListAliases(string, SshConfigEnvironment?)"/> for a file; empty when it does not exist.</summary>
    public static IReadOnlyList<string> ListAliasesInFile(string configPath, SshConfigEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(configPath);
        if (!File.Exists(configPath)) return Array.Empty<string>();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal) { Path.GetFullPath(configPath) };
        CollectAliases(File.ReadAllText(configPath), environment ?? SshConfigEnvironment.Current, names, seen, 0);
        return names.ToList();
    }

    private static void CollectAliases(string text, SshConfigEnvironment env, SortedSet<string> names, HashSet<string> seen, int depth)
    {
        foreach (var raw in text.Split('\n'))
        {
            if (!SshConfigSyntax.SplitKeyword(SshConfigSyntax.TrimLineEnd(raw), out var keyword, out var rest) || string.IsNullOrEmpty(rest)) continue;
            if (keyword == "match")
            {
                string? cp = rest;
                string? token;
                while ((token = SshConfigSyntax.NextToken(ref cp)) is { Length: > 0 })
                {
                    if (!token.Equals("originalhost", StringComparison.OrdinalIgnoreCase)) continue;
                    var list = SshConfigSyntax.NextToken(ref cp);
                    if (list is null) break;
                    foreach (var name in list.Split(',')) AddConcrete(names, name);
                }
                continue;
            }
            var args = SshConfigSyntax.SplitArguments(rest);
            if (args is null) continue;
            if (keyword == "host")
            {
                foreach (var p in args) AddConcrete(names, p);
            }
            else if (keyword == "include" && depth < 16)
            {
                foreach (var arg in args.Where(a => a.Length > 0))
                {
                    try
                    {
                        var pattern = !env.IsAbsolute(arg) && arg[0] != '~' ? "~/.ssh/" + arg : arg;
                        foreach (var file in SshConfigGlob.Expand(pattern, env, "Include"))
                        {
                            if (!File.Exists(file) || !seen.Add(Path.GetFullPath(file))) continue;
                            CollectAliases(File.ReadAllText(file), env, names, seen, depth + 1);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or HbOpsException)
                    {
                        // completion lists what it can read
                    }
                }
            }
        }
    }

    private static readonly System.Buffers.SearchValues<char> NotConcrete = System.Buffers.SearchValues.Create("*?,");

    private static void AddConcrete(SortedSet<string> names, string pattern)
    {
        if (pattern.Length == 0 || pattern.StartsWith('!') || pattern.AsSpan().IndexOfAny(NotConcrete) >= 0) return;
        names.Add(pattern);
    }

    /// <summary>
    /// Case-insensitive <c>*</c>/<c>?</c> glob, as OpenSSH matches known_hosts host patterns (and HbOps table filters).
    /// Host lines of ssh_config match case-sensitively instead (see <see cref="SshConfigResolver"/>).
    /// </summary>
    public static bool Glob(string pattern, string text)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var regex = "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal)
            .Replace("\\?", ".", StringComparison.Ordinal) + "$";
        return Regex.IsMatch(text, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }
}
