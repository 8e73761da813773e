using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace HbOps.Engine.Hosts;

/// <summary>
/// What to resolve: the host name as typed on the command line, the config to read, and what command-line
/// options would preset (they come first, so they win, and <c>Match user</c>, <c>%r</c>, <c>%p</c> see them).
/// </summary>
internal sealed class SshConfigQuery
{
    /// <summary>The host as typed (an alias or a host name): <c>Host</c> blocks and <c>Match originalhost</c> see it.</summary>
    public required string Host { get; init; }

    /// <summary>The config file to read alone (ssh <c>-F</c>); null reads the user's and then the system config.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Config text to read instead of a file (its Include paths resolve as in a user config).</summary>
    public string? ConfigText { get; init; }

    /// <summary>The user, as with <c>ssh -l</c>.</summary>
    public string? User { get; init; }

    /// <summary>The port, as with <c>ssh -p</c>.</summary>
    public int? Port { get; init; }

    /// <summary>The host name, as with <c>ssh -o HostName=...</c>.</summary>
    public string? HostName { get; init; }

    /// <summary>Identity files, as with <c>ssh -i</c>: offered first and taken literally (no token expansion).</summary>
    public IReadOnlyList<string> IdentityFiles { get; init; } = Array.Empty<string>();
}

/// <summary>How an ssh_config is evaluated.</summary>
public enum SshConfigEvaluator
{
    /// <summary>HbOps' own resolver (default): no process is started, <c>Match exec</c> is refused.</summary>
    BuiltIn,
    /// <summary>OpenSSH's <c>ssh -G</c>, where installed: exactly what ssh would use, including <c>Match exec</c>.</summary>
    OpenSsh,
}

/// <summary>
/// HbOps' own evaluation of an OpenSSH client config, following OpenSSH 9.2's rules: user config (or <c>-F</c>) then the
/// system config; first obtained value wins (IdentityFile accumulates, without duplicates); <c>Host</c> patterns
/// (whitespace-separated, case-sensitive, <c>!</c> negation) against the name as typed; <c>Match</c> with
/// <c>all</c>, <c>host</c> (the HostName after <c>%h</c> substitution), <c>originalhost</c>, <c>user</c>,
/// <c>localuser</c>, <c>canonical</c> and <c>final</c>, each negatable; <c>Include</c> with globs, relative to
/// <c>~/.ssh</c> (user config) or the system config's folder, conditional inside Host/Match blocks; a second pass when
/// <c>Match final</c> appears or CanonicalizeHostname is on (Host blocks then see the final host name); OpenSSH's
/// defaults; <c>~</c>, <c>%</c> tokens and <c>${VAR}</c> where ssh expands them.
/// Not evaluated (a <see cref="Errors.HbErrorIds.SshConfigUnsupported"/> error): <c>Match exec</c>, host name
/// canonicalisation that needs a DNS lookup, <c>~otheruser</c> paths.
/// </summary>
internal static class SshConfigResolver
{
    /// <summary>The identity files ssh tries when none is configured (OpenSSH 9.2's order).</summary>
    public static IReadOnlyList<string> DefaultIdentityFiles { get; } = new[]
    {
        "~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519", "~/.ssh/id_ed25519_sk",
        "~/.ssh/id_xmss", "~/.ssh/id_dsa",
    };

    /// <summary>The known_hosts files ssh reads when UserKnownHostsFile is not set.</summary>
    public static IReadOnlyList<string> DefaultUserKnownHostsFiles { get; } = new[] { "~/.ssh/known_hosts", "~/.ssh/known_hosts2" };

    /// <summary>Resolves <paramref name="query"/> in <paramref name="environment"/> (this machine when null).</summary>
    public static SshConfigEntry Resolve(SshConfigQuery query, SshConfigEnvironment? environment = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        return new Evaluation(query, environment ?? SshConfigEnvironment.Current).Run();
    }

    /// <summary>The tokens ssh expands in IdentityFile, UserKnownHostsFile and IdentityAgent (OpenSSH 9.2's set).</summary>
    internal static Dictionary<char, Func<string>> ClientTokens(SshConfigEnvironment env, string host, int port, string user,
        string? hostKeyAlias, string originalHost)
    {
        var portText = port.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<char, Func<string>>
        {
            ['C'] = () => ConnectionHash(env.LocalHostName, host, portText, user),
            ['L'] = () => env.LocalHostName.Split('.')[0],
            ['i'] = () => env.UserId,
            ['k'] = () => hostKeyAlias ?? originalHost,
            ['l'] = () => env.LocalHostName,
            ['n'] = () => originalHost,
            ['p'] = () => portText,
            ['d'] = () => env.HomeDirectory,
            ['h'] = () => host,
            ['r'] = () => user,
            ['u'] = () => env.LocalUser,
        };
    }

    /// <summary>Expands a path-like value the way ssh does before using it: <c>~</c> first, then <c>${VAR}</c> and tokens.</summary>
    internal static string ExpandPathValue(string value, IReadOnlyDictionary<char, Func<string>> tokens, SshConfigEnvironment env, string where) =>
        SshConfigSyntax.Expand(SshConfigSyntax.ExpandTilde(value, env, where), tokens, dollar: true, env, where);

    /// <summary>%C: SHA-1 of local host name, host, port and user, in hex.</summary>
#pragma warning disable CA5350 // not a security use: %C must equal OpenSSH's file-name hash, which is SHA-1
    private static string ConnectionHash(string localHost, string host, string port, string user) =>
        Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(localHost + host + port + user))).ToLowerInvariant();
#pragma warning restore CA5350

    /// <summary>ASCII-only lowercasing, as C's tolower in the C locale.</summary>
    internal static string AsciiLower(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
        {
            if (chars[i] is >= 'A' and <= 'Z') chars[i] = (char)(chars[i] + 32);
        }
        return new string(chars);
    }

    /// <summary>OpenSSH's a2port: a number 0-65535 or a TCP service name; -1 when neither.</summary>
    internal static int ParsePort(string s)
    {
        var t = s.TrimStart(' ', '\t', '\n', '\r', '\f', '\v');
        if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
        {
            return n is >= 0 and <= 65535 ? (int)n : -1;
        }
        return ServicePort(s);
    }

    private static int ServicePort(string name)
    {
        const string services = "/etc/services";
        if (OperatingSystem.IsWindows() || name.Length == 0 || !File.Exists(services)) return -1;
        foreach (var line in File.ReadLines(services))
        {
            var fields = line.Split('#')[0].Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !fields[1].EndsWith("/tcp", StringComparison.Ordinal)) continue;
            if (!fields[0].Equals(name, StringComparison.Ordinal) && !fields.Skip(2).Contains(name, StringComparer.Ordinal)) continue;
            return int.TryParse(fields[1][..^4], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : -1;
        }
        return -1;
    }

    [Flags]
    private enum ReadFlags
    {
        None = 0,
        UserConfig = 1,
        CheckPermissions = 2,
        Final = 4,
        NeverMatch = 8,
    }

    private enum Canonicalize
    {
        Unset = -1,
        No = 0,
        Yes = 1,
        Always = 2,
    }

    private const int MaxIncludeDepth = 16;
    private const int MaxIdentityFiles = 100;
    private const int MaxKnownHostsFiles = 32;

    /// <summary>One resolution: the option values collected so far, as OpenSSH's Options struct.</summary>
    private sealed class Evaluation
    {
        private readonly SshConfigQuery _query;
        private readonly SshConfigEnvironment _env;
        private readonly string _originalHost;
        private string _host;

        private string? _hostName;
        private string? _user;
        private int _port = -1;
        private string? _hostKeyAlias;
        private string? _identityAgent;
        private string? _proxyCommand;
        private string? _jumpHost;
        private string? _jumpUser;
        private string? _jumpExtra;
        private int _jumpPort = -1;
        private int _identitiesOnly = -1;
        private Canonicalize _canonicalize = Canonicalize.Unset;
        private int _canonicalizeMaxDots = -1;
        private int _canonicalizeFallbackLocal = -1;
        private readonly List<string> _canonicalDomains = new();
        private readonly List<string> _permittedCnames = new();
        private readonly List<(string Path, bool UserProvided, bool Literal)> _identities = new();
        private readonly List<string> _knownHosts = new();
        private bool _wantFinalPass;
        private bool _specific;
        private readonly List<string> _filesRead = new();

        public Evaluation(SshConfigQuery query, SshConfigEnvironment env)
        {
            _query = query;
            _env = env;
            _originalHost = query.Host;
            _host = query.Host;
        }

        public SshConfigEntry Run()
        {
            // Command-line options are set before any config is read, so they win.
            if (_query.User is not null) _user = _query.User;
            if (_query.Port is int p) _port = p;
            if (_query.HostName is not null) _hostName = _query.HostName;
            foreach (var file in _query.IdentityFiles) AddIdentity(file, userProvided: true, literal: true);

            ReadConfigs(ReadFlags.None);

            if (_hostName is not null)
            {
                _host = ExpandHostName(_hostName, _host, "HostName");
                _hostName = _host;
            }
            bool wasAddress = IsAddress(_host);
            if (!wasAddress) _host = AsciiLower(_host);
            bool resolved = false;
            if (_canonicalize > Canonicalize.No || wasAddress) resolved = CanonicalizeHost();
            if (!resolved && HasPermittedCnames() && (IsDirect() || _canonicalize == Canonicalize.Always))
            {
                throw SshConfigSyntax.Unsupported(
                    $"CanonicalizePermittedCNAMEs for '{_host}' needs a DNS lookup, which HbOps' resolver does not do.", _originalHost);
            }
            if (_canonicalize > Canonicalize.No) _wantFinalPass = true;
            if (_wantFinalPass)
            {
                _hostName = _host;
                ReadConfigs(ReadFlags.Final);
            }
            return Finish();
        }

        private SshConfigEntry Finish()
        {
            if (_jumpHost == "none" && _jumpPort <= 0 && _jumpUser is null) _jumpHost = null;
            if (_proxyCommand == "none") _proxyCommand = null;
            if (_identities.Count == 0)
            {
                foreach (var d in DefaultIdentityFiles) AddIdentity(d, userProvided: false, literal: false);
            }
            if (_knownHosts.Count == 0) _knownHosts.AddRange(DefaultUserKnownHostsFiles);
            int port = _port > 0 ? _port : 22;
            var user = _user ?? _env.LocalUser;
            var hostKeyAlias = _hostKeyAlias is null ? null : AsciiLower(_hostKeyAlias);
            var tokens = ClientTokens(_env, _host, port, user, hostKeyAlias, _originalHost);

            var entry = new SshConfigEntry
            {
                HostName = _host,
                User = user,
                Port = port,
                HostKeyAlias = hostKeyAlias,
                IdentitiesOnly = _identitiesOnly == 1,
                ProxyCommand = _proxyCommand,
                ProxyJump = FormatJump(),
                MatchedSpecificHost = _specific,
                Evaluator = SshConfigEvaluator.BuiltIn,
            };
            entry.ConfigFiles.AddRange(_filesRead);
            if (_identityAgent is not null)
            {
                entry.IdentityAgent = ExpandPathValue(_identityAgent, tokens, _env, "IdentityAgent");
            }
            foreach (var (path, _, literal) in _identities)
            {
                entry.IdentityFileValues.Add(path);
                if (path.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
                entry.IdentityFiles.Add(literal ? path : ExpandPathValue(path, tokens, _env, "IdentityFile"));
            }
            if (_knownHosts[0].Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                if (_knownHosts.Count > 1) throw SshConfigSyntax.Invalid("UserKnownHostsFile: \"none\" appears with other entries.", _originalHost);
            }
            else
            {
                foreach (var k in _knownHosts) entry.UserKnownHostsFiles.Add(ExpandPathValue(k, tokens, _env, "UserKnownHostsFile"));
            }
            return entry;
        }

        private string? FormatJump()
        {
            if (_jumpHost is null) return null;
            bool numeric = _jumpHost.Contains(':', StringComparison.Ordinal) || _jumpHost.All(c => c is '.' or (>= '0' and <= '9'));
            var sb = new StringBuilder();
            if (_jumpExtra is not null) sb.Append(_jumpExtra).Append(',');
            if (_jumpUser is not null) sb.Append(_jumpUser).Append('@');
            sb.Append(numeric ? "[" + _jumpHost + "]" : _jumpHost);
            if (_jumpPort > 0) sb.Append(':').Append(_jumpPort.ToString(CultureInfo.InvariantCulture));
            return sb.ToString();
        }

        private void ReadConfigs(ReadFlags pass)
        {
            if (_query.ConfigText is not null)
            {
                bool active = true;
                ReadLines("(config text)", _query.ConfigText, ReadFlags.UserConfig | pass, ref active, 0);
            }
            else if (_query.ConfigPath is not null)
            {
                bool active = true;
                if (!ReadFile(_query.ConfigPath, ReadFlags.UserConfig | pass, ref active, 0))
                {
                    throw SshConfigSyntax.Invalid($"Can't open the ssh config '{_query.ConfigPath}'.", _query.ConfigPath);
                }
            }
            else
            {
                bool active = true;
                ReadFile(_env.JoinPath(_env.HomeDirectory, _env.IsWindows ? ".ssh\\config" : ".ssh/config"),
                    ReadFlags.UserConfig | ReadFlags.CheckPermissions | pass, ref active, 0);
                if (_env.SystemConfigPath is not null)
                {
                    active = true;
                    ReadFile(_env.SystemConfigPath, pass, ref active, 0);
                }
            }
        }

        private bool ReadFile(string path, ReadFlags flags, ref bool active, int depth)
        {
            if (depth > MaxIncludeDepth) throw SshConfigSyntax.Invalid($"Too many recursive configuration includes at '{path}'.", path);
            if (Directory.Exists(path)) return true; // ssh opens a folder and reads nothing from it
            if (!File.Exists(path)) return false;
            if ((flags & ReadFlags.CheckPermissions) != 0 && !_env.IsWindows && !OperatingSystem.IsWindows())
            {
                // ssh refuses a config anyone may write to (it could redirect every connection). Upstream OpenSSH also
                // refuses group-writable files; Debian's accepts them when the group is the owner's private group. HbOps
                // cannot read group membership portably and accepts them.
                var mode = File.GetUnixFileMode(path);
                if ((mode & UnixFileMode.OtherWrite) != 0)
                {
                    throw SshConfigSyntax.Invalid($"Bad permissions on '{path}': anyone may write to it (ssh refuses it too).", path);
                }
            }
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw SshConfigSyntax.Invalid($"Can't read the ssh config '{path}': {ex.Message}", path);
            }
            ReadLines(path, text, flags, ref active, depth);
            return true;
        }

        private void ReadLines(string name, string text, ReadFlags flags, ref bool active, int depth)
        {
            _filesRead.Add(name);
            var lines = text.Split('\n');
            for (int i = 0; i < lines.Length; i++) ProcessLine(lines[i], name, i + 1, ref active, flags, depth);
        }

        private void ProcessLine(string raw, string file, int lineNumber, ref bool active, ReadFlags flags, int depth)
        {
            var line = SshConfigSyntax.TrimLineEnd(raw);
            if (!SshConfigSyntax.SplitKeyword(line, out var keyword, out var rest)) return;
            var where = $"{file} line {lineNumber}";
            if (string.IsNullOrEmpty(rest)) throw SshConfigSyntax.Invalid($"{where}: no argument after keyword \"{keyword}\".", file);
            var args = SshConfigSyntax.SplitArguments(rest) ?? throw SshConfigSyntax.Invalid($"{where}: invalid quotes.", file);
            int used;
            switch (keyword)
            {
                case "host":
                    active = HostLine(args, flags);
                    return;
                case "match":
                    active = MatchLine(rest, where, flags) && (flags & ReadFlags.NeverMatch) == 0;
                    return;
                case "include":
                    Include(args, where, flags, ref active, depth);
                    return;
                case "hostname":
                    SetString(ref _hostName, args, active, where);
                    used = 1;
                    break;
                case "user":
                    SetString(ref _user, args, active, where);
                    used = 1;
                    break;
                case "hostkeyalias":
                    SetString(ref _hostKeyAlias, args, active, where);
                    used = 1;
                    break;
                case "port":
                    {
                        var value = ParsePort(Required(args, where));
                        if (value <= 0) throw SshConfigSyntax.Invalid($"{where}: bad port '{args[0]}'.", file);
                        if (active && _port == -1) _port = value;
                        used = 1;
                        break;
                    }
                case "identityfile":
                case "identityfile2":
                    {
                        var value = Required(args, where);
                        if (active)
                        {
                            if (_identities.Count >= MaxIdentityFiles) throw SshConfigSyntax.Invalid($"{where}: too many identity files (max {MaxIdentityFiles}).", file);
                            AddIdentity(value, (flags & ReadFlags.UserConfig) != 0, literal: false);
                        }
                        used = 1;
                        break;
                    }
                case "identitiesonly":
                    {
                        var value = Flag(Required(args, where), where);
                        if (active && _identitiesOnly == -1) _identitiesOnly = value;
                        used = 1;
                        break;
                    }
                case "identityagent":
                    {
                        var value = Required(args, where);
                        CheckAgentPath(value, where);
                        if (active) _identityAgent ??= value;
                        used = 1;
                        break;
                    }
                case "userknownhostsfile":
                    KnownHostsLine(args, active, where);
                    used = args.Count;
                    break;
                case "proxyjump":
                    ParseJump(rest.TrimStart(' ', '\t', '\r', '\n', '='), active, where);
                    return;
                case "proxycommand":
                    if (active && _proxyCommand is null) _proxyCommand = rest.TrimStart(' ', '\t', '\r', '\n', '=');
                    return;
                case "canonicalizehostname":
                    {
                        var value = Required(args, where).ToLowerInvariant() switch
                        {
                            "yes" or "true" => Canonicalize.Yes,
                            "no" or "false" => Canonicalize.No,
                            "always" => Canonicalize.Always,
                            _ => throw SshConfigSyntax.Invalid($"{where}: unsupported option \"{args[0]}\".", file),
                        };
                        if (active && _canonicalize == Canonicalize.Unset) _canonicalize = value;
                        used = 1;
                        break;
                    }
                case "canonicalizemaxdots":
                    {
                        if (!int.TryParse(Required(args, where), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
                        {
                            throw SshConfigSyntax.Invalid($"{where}: invalid integer '{args[0]}'.", file);
                        }
                        if (active && _canonicalizeMaxDots == -1) _canonicalizeMaxDots = value;
                        used = 1;
                        break;
                    }
                case "canonicalizefallbacklocal":
                    {
                        var value = Flag(Required(args, where), where);
                        if (active && _canonicalizeFallbackLocal == -1) _canonicalizeFallbackLocal = value;
                        used = 1;
                        break;
                    }
                case "canonicaldomains":
                    ListLine(_canonicalDomains, args, active, where);
                    used = args.Count;
                    break;
                case "canonicalizepermittedcnames":
                    ListLine(_permittedCnames, args, active, where);
                    used = args.Count;
                    break;
                default:
                    // A keyword HbOps does not use: ssh interprets (or rejects) it; it cannot change the values above.
                    return;
            }
            if (args.Count > used) throw SshConfigSyntax.Invalid($"{where}: keyword {keyword} extra arguments at end of line.", file);
        }

        private static string Required(List<string> args, string where)
        {
            if (args.Count == 0 || args[0].Length == 0) throw SshConfigSyntax.Invalid($"{where}: missing argument.", where);
            return args[0];
        }

        private static void SetString(ref string? field, List<string> args, bool active, string where)
        {
            var value = Required(args, where);
            if (active) field ??= value;
        }

        private static int Flag(string value, string where) => value.ToLowerInvariant() switch
        {
            "yes" or "true" => 1,
            "no" or "false" => 0,
            _ => throw SshConfigSyntax.Invalid($"{where}: unsupported option \"{value}\" (yes or no).", where),
        };

        private static readonly Dictionary<char, Func<string>> NoTokens = new();

        private void CheckAgentPath(string value, string where)
        {
            // ssh checks ${VAR} references while reading, and the legacy $NAME form's name.
            SshConfigSyntax.Expand(value, NoTokens, dollar: true, _env, where, percent: false, windowsVariables: false);
            if (value.Length > 1 && value[0] == '$' && value[1] != '{' && !ValidEnvironmentName(value[1..]))
            {
                throw SshConfigSyntax.Invalid($"{where}: invalid environment name {value}.", where);
            }
        }

        private static bool ValidEnvironmentName(string name) =>
            name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

        private void KnownHostsLine(List<string> args, bool active, string where)
        {
            bool wasEmpty = _knownHosts.Count == 0;
            for (int i = 0; i < args.Count; i++)
            {
                if (args[i].Length == 0) throw SshConfigSyntax.Invalid($"{where}: UserKnownHostsFile has an empty argument.", where);
                if (args[i].Equals("none", StringComparison.OrdinalIgnoreCase) && (i > 0 || args.Count > 1))
                {
                    throw SshConfigSyntax.Invalid($"{where}: UserKnownHostsFile \"none\" must appear alone.", where);
                }
                if (!active || !wasEmpty) continue;
                if (_knownHosts.Count >= MaxKnownHostsFiles) throw SshConfigSyntax.Invalid($"{where}: too many UserKnownHostsFile entries.", where);
                _knownHosts.Add(args[i]);
            }
        }

        private static void ListLine(List<string> target, List<string> args, bool active, string where)
        {
            bool wasEmpty = target.Count == 0;
            for (int i = 0; i < args.Count; i++)
            {
                if (args[i].Length == 0) throw SshConfigSyntax.Invalid($"{where}: empty argument.", where);
                if (args[i].Equals("none", StringComparison.OrdinalIgnoreCase) && (i > 0 || args.Count > 1))
                {
                    throw SshConfigSyntax.Invalid($"{where}: \"none\" must appear alone.", where);
                }
                if (active && wasEmpty) target.Add(args[i]);
            }
        }

        private void AddIdentity(string path, bool userProvided, bool literal)
        {
            foreach (var existing in _identities)
            {
                if (existing.UserProvided == userProvided && string.Equals(existing.Path, path, StringComparison.Ordinal)) return;
            }
            _identities.Add((path, userProvided, literal));
        }

        private bool HostLine(List<string> args, ReadFlags flags)
        {
            bool active = false;
            bool specific = false;
            foreach (var arg in args)
            {
                if (arg.Length == 0) throw SshConfigSyntax.Invalid("Host has an empty argument.", arg);
                if ((flags & ReadFlags.NeverMatch) != 0) return false;
                bool negated = arg[0] == '!';
                var pattern = negated ? arg[1..] : arg;
                if (!SshConfigSyntax.MatchPattern(_host, pattern)) continue;
                if (negated) return false;
                active = true;
                if (pattern != "*") specific = true;
            }
            if (active && specific) _specific = true;
            return active;
        }

        /// <summary>Evaluates a Match line (OpenSSH's match_cfg_line).</summary>
        private bool MatchLine(string? rest, string where, ReadFlags flags)
        {
            bool final = (flags & ReadFlags.Final) != 0;
            bool parseOnly = (flags & ReadFlags.NeverMatch) != 0;
            var remoteUser = _user ?? _env.LocalUser;
            string host = final ? _hostName ?? _host
                : _hostName is not null ? ExpandHostName(_hostName, _host, where + ": HostName") : _host;
            bool result = true;
            bool namesHost = false;
            int attributes = 0;
            string? cp = rest;
            string? attribute;
            while ((attribute = SshConfigSyntax.NextToken(ref cp)) is { Length: > 0 })
            {
                if (attribute[0] == '#') break;
                bool negate = attribute[0] == '!';
                var name = (negate ? attribute[1..] : attribute).ToLowerInvariant();
                if (name == "all")
                {
                    var next = SshConfigSyntax.NextToken(ref cp);
                    if (attributes > 1 || (next is { Length: > 0 } && next[0] != '#'))
                    {
                        throw SshConfigSyntax.Invalid($"{where}: '{attribute}' cannot be combined with other Match attributes.", where);
                    }
                    if (result) result = !negate;
                    return Matched(result, namesHost, parseOnly);
                }
                attributes++;
                if (name is "canonical" or "final")
                {
                    if (name == "final" && !final) _wantFinalPass = true;
                    if (final == negate) result = false;
                    continue;
                }
                var arg = SshConfigSyntax.NextToken(ref cp);
                if (arg is null || arg.Length == 0 || arg[0] == '#') throw SshConfigSyntax.Invalid($"{where}: missing Match criteria for {name}.", where);
                bool r;
                switch (name)
                {
                    case "host":
                        r = SshConfigSyntax.MatchHostname(host, arg);
                        if (r && !negate && arg != "*") namesHost = true;
                        break;
                    case "originalhost":
                        r = SshConfigSyntax.MatchHostname(_originalHost, arg);
                        if (r && !negate && arg != "*") namesHost = true;
                        break;
                    case "user":
                        r = SshConfigSyntax.MatchPatternList(remoteUser, arg, lowercase: false) == 1;
                        break;
                    case "localuser":
                        r = SshConfigSyntax.MatchPatternList(_env.LocalUser, arg, lowercase: false) == 1;
                        break;
                    case "exec":
                        SshConfigSyntax.CheckTokens(arg, "CLdhklnpriu", where + ": Match exec");
                        if (!result || parseOnly) continue; // ssh skips the command once an earlier criterion failed
                        throw SshConfigSyntax.Unsupported(
                            $"{where}: 'Match exec' runs a command to decide; HbOps' built-in ssh_config resolver does not run commands.", where);
                    default:
                        throw SshConfigSyntax.Invalid($"{where}: unsupported Match attribute {name}.", where);
                }
                if (r == negate) result = false;
            }
            if (attributes == 0) throw SshConfigSyntax.Invalid($"{where}: one or more attributes required for Match.", where);
            return Matched(result, namesHost, parseOnly);
        }

        private bool Matched(bool result, bool namesHost, bool parseOnly)
        {
            if (result && namesHost && !parseOnly) _specific = true;
            return result;
        }

        private void Include(List<string> args, string where, ReadFlags flags, ref bool active, int depth)
        {
            foreach (var arg in args)
            {
                if (arg.Length == 0) throw SshConfigSyntax.Invalid($"{where}: Include has an empty argument.", where);
                bool user = (flags & ReadFlags.UserConfig) != 0;
                if (arg[0] == '~' && !user) throw SshConfigSyntax.Invalid($"{where}: bad include path {arg} (a system config may not use ~).", where);
                string pattern;
                if (!_env.IsAbsolute(arg) && arg[0] != '~')
                {
                    pattern = user
                        ? "~/.ssh/" + arg
                        : _env.JoinPath(Path.GetDirectoryName(_env.SystemConfigPath ?? "/etc/ssh/ssh_config") ?? "/etc/ssh", arg);
                }
                else
                {
                    pattern = arg;
                }
                var files = SshConfigGlob.Expand(pattern, _env, where);
                bool outer = active;
                foreach (var file in files)
                {
                    ReadFile(file, flags | ReadFlags.CheckPermissions | (outer ? ReadFlags.None : ReadFlags.NeverMatch), ref active, depth + 1);
                    // a Host or Match inside the included file ends with it
                    active = outer;
                }
            }
        }

        /// <summary>
        /// ProxyJump (OpenSSH's parse_jump, as revised in 2026 and shipped in Debian 12's 9.2p1-2+deb12u10): every hop is
        /// checked, the last one kept apart and the others verbatim. <c>none</c> only blocks later ProxyJump lines;
        /// a real jump also blocks later ProxyCommand lines, and an earlier ProxyCommand blocks it.
        /// </summary>
        private void ParseJump(string s, bool active, string where)
        {
            if (s.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                if (active && _jumpHost is null)
                {
                    _jumpHost = "none";
                    _jumpPort = 0;
                }
                return;
            }
            var text = s;
            int hash = text.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) text = text[..hash];
            text = text.TrimEnd(' ', '\t', '\r', '\n');
            active &= _proxyCommand is null && _jumpHost is null;
            var hops = text.Split(',');
            string? user = null, host = null;
            int port = -1;
            for (int i = hops.Length - 1; i >= 0; i--)
            {
                if (!TryParseHop(hops[i], out var u, out var h, out var p)) throw SshConfigSyntax.Invalid($"{where}: invalid ProxyJump \"{s}\".", where);
                if (i == hops.Length - 1)
                {
                    user = u;
                    host = h;
                    port = p;
                }
            }
            if (!active) return;
            _jumpUser = user;
            _jumpHost = host;
            _jumpPort = port;
            _proxyCommand = "none";
            int comma = text.LastIndexOf(',');
            if (comma >= 0) _jumpExtra = text[..comma];
        }

        private static bool TryParseHop(string hop, out string? user, out string? host, out int port)
        {
            int r = TryParseSshUri(hop, out user, out host, out port);
            if (r == 0) return true;
            if (r < 0) return false;
            return TryParseUserHostPort(hop, out user, out host, out port);
        }

        /// <summary>ssh://[user@]host[:port] (OpenSSH's parse_ssh_uri): 1 when not a URI, -1 when malformed, 0 when parsed.</summary>
        private static int TryParseSshUri(string uri, out string? user, out string? host, out int port)
        {
            user = host = null;
            port = -1;
            if (!uri.StartsWith("ssh://", StringComparison.Ordinal)) return 1;
            var tmp = uri[6..];
            int at = tmp.IndexOf('@', StringComparison.Ordinal);
            if (at >= 0)
            {
                var info = tmp[..at];
                int semi = info.IndexOf(';', StringComparison.Ordinal);
                if (semi >= 0) info = info[..semi];
                if (info.Length == 0) return -1;
                user = UrlDecode(info);
                if (user is null) return -1;
                tmp = tmp[(at + 1)..];
            }
            var h = HostPortDelimiter(ref tmp, out var delimiter);
            if (h is null || h.Length == 0) return -1;
            h = CleanHostName(h);
            if (!ValidDomain(h)) return -1;
            host = h;
            if (!string.IsNullOrEmpty(tmp))
            {
                if (delimiter == ':')
                {
                    int slash = tmp.IndexOf('/', StringComparison.Ordinal);
                    var portText = slash >= 0 ? tmp[..slash] : tmp;
                    port = ParsePort(portText);
                    if (port <= 0) return -1;
                    tmp = slash >= 0 ? tmp[(slash + 1)..] : null;
                }
                if (!string.IsNullOrEmpty(tmp)) return -1; // a path is not allowed
            }
            return 0;
        }

        /// <summary>[user@]host[:port] (OpenSSH's parse_user_host_port).</summary>
        private static bool TryParseUserHostPort(string s, out string? user, out string? host, out int port)
        {
            user = host = null;
            port = -1;
            var tmp = s;
            int at = tmp.LastIndexOf('@');
            if (at >= 0)
            {
                if (at == 0) return false;
                user = tmp[..at];
                tmp = tmp[(at + 1)..];
            }
            string? rest = tmp;
            var h = HostPortDelimiter(ref rest, out var delimiter);
            if (delimiter == '/' || h is null || h.Length == 0) return false;
            host = CleanHostName(h);
            if (!string.IsNullOrEmpty(rest))
            {
                port = ParsePort(rest);
                if (port <= 0) return false;
            }
            return true;
        }

        /// <summary>OpenSSH's hpdelim2: the host part up to ':' or '/', a bracketed address kept whole.</summary>
        private static string? HostPortDelimiter(ref string? s, out char delimiter)
        {
            delimiter = '\0';
            if (s is null) return null;
            var old = s;
            int i;
            if (s.StartsWith('['))
            {
                i = s.IndexOf(']', StringComparison.Ordinal);
                if (i < 0) return null;
                i++;
            }
            else
            {
                i = s.AsSpan().IndexOfAny(':', '/');
                if (i < 0) i = s.Length;
            }
            if (i == s.Length)
            {
                s = null;
                return old;
            }
            if (s[i] is ':' or '/')
            {
                delimiter = s[i];
                s = old[(i + 1)..];
                return old[..i];
            }
            return null;
        }

        private static string CleanHostName(string h) => h.Length >= 2 && h[0] == '[' && h[^1] == ']' ? h[1..^1] : h;

        private static bool ValidDomain(string name)
        {
            if (name.Length == 0 || !char.IsAsciiLetterOrDigit(name[0])) return false;
            char last = '\0';
            foreach (var ch in name)
            {
                char c = char.ToLowerInvariant(ch);
                if (last == '.' && c == '.') return false;
                if (c != '.' && c != '-' && c != '_' && !char.IsAsciiLetterOrDigit(c)) return false;
                last = c;
            }
            return true;
        }

        private static string? UrlDecode(string s)
        {
            var bytes = new List<byte>();
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '+')
                {
                    bytes.Add((byte)' ');
                }
                else if (c == '%')
                {
                    if (i + 2 >= s.Length || !char.IsAsciiHexDigit(s[i + 1]) || !char.IsAsciiHexDigit(s[i + 2])) return null;
                    bytes.Add(byte.Parse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                }
                else
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                }
            }
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        private string ExpandHostName(string value, string typedHost, string where) =>
            SshConfigSyntax.Expand(value, new Dictionary<char, Func<string>> { ['h'] = () => typedHost }, dollar: false, _env, where, windowsVariables: false);

        private bool IsDirect() => (_proxyCommand is null || _proxyCommand == "none") && _jumpHost is null;

        private bool HasPermittedCnames() => _permittedCnames.Count > 0 && !_permittedCnames[0].Equals("none", StringComparison.OrdinalIgnoreCase);

        /// <summary>OpenSSH's resolve_canonicalize, as far as it can go without DNS; true when the host is a numeric address.</summary>
        private bool CanonicalizeHost()
        {
            if (TryNumericAddress(_host, out var canonical))
            {
                if (!_host.Equals(canonical, StringComparison.OrdinalIgnoreCase)) _host = canonical;
                return true;
            }
            if (IsAddressFast(_host)) return false;
            if (_canonicalize <= Canonicalize.No) return false;
            if (!IsDirect() && _canonicalize != Canonicalize.Always) return false;
            bool needsLookup = _host.EndsWith('.') ||
                (_host.Count(c => c == '.') <= (_canonicalizeMaxDots < 0 ? 1 : _canonicalizeMaxDots) &&
                 _canonicalDomains.Count > 0 && !_canonicalDomains[0].Equals("none", StringComparison.OrdinalIgnoreCase));
            if (needsLookup)
            {
                throw SshConfigSyntax.Unsupported(
                    $"CanonicalizeHostname for '{_host}' needs DNS lookups (CanonicalDomains), which HbOps' resolver does not do.", _originalHost);
            }
            if (_host.Count(c => c == '.') > (_canonicalizeMaxDots < 0 ? 1 : _canonicalizeMaxDots)) return false;
            if (_canonicalizeFallbackLocal == 0)
            {
                throw SshConfigSyntax.Invalid($"Could not resolve host \"{_host}\" (CanonicalizeFallbackLocal no and no CanonicalDomains).", _originalHost);
            }
            return false;
        }

        private static bool IsAddressFast(string name) =>
            name.Contains('%', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal) || name.All(c => c is '.' or (>= '0' and <= '9'));

        private static bool IsAddress(string name) => IsAddressFast(name) || TryNumericAddress(name, out _);

        /// <summary>A numeric IPv4/IPv6 address (as getaddrinfo with AI_NUMERICHOST reads it) and its canonical text.</summary>
        private static bool TryNumericAddress(string name, out string canonical)
        {
            canonical = name;
            if (name.Length == 0 || name.StartsWith('[') || name.Any(char.IsWhiteSpace)) return false;
            if (!IPAddress.TryParse(name, out var ip)) return false;
            if (ip.AddressFamily == AddressFamily.InterNetwork && name.Contains(':', StringComparison.Ordinal)) return false;
            canonical = ip.ToString();
            return true;
        }
    }
}
