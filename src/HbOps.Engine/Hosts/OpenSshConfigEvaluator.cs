using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>
/// Evaluates an ssh_config with OpenSSH itself: <c>ssh -G</c> prints the configuration ssh would use for a host
/// without connecting (it does run <c>Match exec</c> commands, as every ssh invocation does). Identity files come
/// back unexpanded and are expanded here exactly as ssh expands them when it loads them. Whether the alias is
/// defined is read from ssh's debug log (<c>Applying options for</c> a Host pattern other than <c>*</c>, or a
/// matching <c>Match</c> line with a host or originalhost criterion). ssh prints UserKnownHostsFile as one
/// space-separated line, so a known_hosts path containing a space cannot be told apart there.
/// </summary>
internal static class OpenSshConfigEvaluator
{
    /// <summary>How long ssh may take (a Match exec command runs inside this time).</summary>
    public static TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Resolves <paramref name="query"/> with <c>ssh -G</c> (<paramref name="sshPath"/>, else <c>ssh</c> from PATH).</summary>
    public static SshConfigEntry Resolve(SshConfigQuery query, SshConfigEnvironment? environment = null, string? sshPath = null) =>
        Resolve(query, environment, sshPath, null);

    /// <summary>As <see cref="Resolve(SshConfigQuery, SshConfigEnvironment?, string?)"/>, with variables set for ssh (tests).</summary>
    internal static SshConfigEntry Resolve(SshConfigQuery query, SshConfigEnvironment? environment, string? sshPath,
        IReadOnlyDictionary<string, string>? variables)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.ConfigText is not null)
        {
            throw HbOpsException.Invalid("ssh -G reads config files only; write the config text to a file first.", query.Host);
        }
        var env = environment ?? SshConfigEnvironment.Current;
        var (stdout, stderr) = Run(sshPath ?? "ssh", Arguments(query), query.Host, variables);
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in stdout.Split('\n'))
        {
            var l = line.TrimEnd('\r');
            int space = l.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0) continue;
            var key = l[..space];
            if (!values.TryGetValue(key, out var list)) values[key] = list = new List<string>();
            list.Add(l[(space + 1)..]);
        }
        string? One(string key) => values.TryGetValue(key, out var v) ? v[0] : null;

        var entry = new SshConfigEntry
        {
            HostName = One("hostname") ?? query.Host,
            User = One("user") ?? env.LocalUser,
            Port = int.TryParse(One("port"), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : 22,
            HostKeyAlias = One("hostkeyalias"),
            IdentitiesOnly = string.Equals(One("identitiesonly"), "yes", StringComparison.Ordinal),
            IdentityAgent = One("identityagent"),
            ProxyJump = One("proxyjump"),
            ProxyCommand = values.ContainsKey("proxyjump") ? null : One("proxycommand"),
            MatchedSpecificHost = NamesHost(stderr),
            Evaluator = SshConfigEvaluator.OpenSsh,
        };
        if (query.ConfigPath is not null) entry.ConfigFiles.Add(query.ConfigPath);
        var tokens = SshConfigResolver.ClientTokens(env, entry.HostName, entry.Port, entry.User, entry.HostKeyAlias, query.Host);
        var given = new HashSet<string>(query.IdentityFiles, StringComparer.Ordinal);
        foreach (var value in values.GetValueOrDefault("identityfile") ?? new List<string>())
        {
            entry.IdentityFileValues.Add(value);
            if (value.Equals("none", StringComparison.OrdinalIgnoreCase)) continue;
            entry.IdentityFiles.Add(given.Contains(value) ? value : SshConfigResolver.ExpandPathValue(value, tokens, env, "IdentityFile"));
        }
        // ssh drops an -i file it cannot read (with a warning); HbOps keeps explicit key files first, so that a missing
        // one is reported by name when the connection finds no usable key.
        var missing = query.IdentityFiles.Where(f => !entry.IdentityFiles.Contains(f, StringComparer.Ordinal)).ToList();
        entry.IdentityFiles.InsertRange(0, missing);
        entry.IdentityFileValues.InsertRange(0, missing);
        var knownHosts = One("userknownhostsfile");
        if (knownHosts is not null && !knownHosts.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            entry.UserKnownHostsFiles.AddRange(knownHosts.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        return entry;
    }

    private static List<string> Arguments(SshConfigQuery query)
    {
        // -vvv for the log lines that tell which blocks applied; "--" so a host can never be read as an option.
        var args = new List<string> { "-G", "-vvv" };
        if (query.ConfigPath is not null) args.AddRange(new[] { "-F", query.ConfigPath });
        if (query.User is not null) args.AddRange(new[] { "-l", query.User });
        if (query.Port is int p) args.AddRange(new[] { "-p", p.ToString(CultureInfo.InvariantCulture) });
        if (query.HostName is not null) args.AddRange(new[] { "-o", "HostName=" + query.HostName });
        foreach (var file in query.IdentityFiles) args.AddRange(new[] { "-i", file });
        args.Add("--");
        args.Add(query.Host);
        return args;
    }

    private static (string Stdout, string Stderr) Run(string ssh, List<string> args, string host, IReadOnlyDictionary<string, string>? variables)
    {
        var psi = new ProcessStartInfo(ssh)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (variables is not null)
        {
            foreach (var (k, v) in variables) psi.Environment[k] = v;
        }
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("no process");
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            throw new HbOpsException(HbErrorIds.SshConfigUnsupported, HbErrorCategory.ResourceUnavailable,
                $"OpenSSH's ssh ('{ssh}') cannot be started to evaluate the ssh config: {ex.Message}", host,
                "Install the OpenSSH client, or unset HBOPS_SSH_CONFIG_EVALUATOR to use HbOps' built-in resolver.", ex);
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new HbOpsException(HbErrorIds.SshConfigInvalid, HbErrorCategory.OperationFailed,
                    $"'ssh -G {host}' did not finish within {Timeout.TotalSeconds:0} s (a Match exec command?).", host);
            }
            process.WaitForExit();
            var output = stdout.GetAwaiter().GetResult();
            var log = stderr.GetAwaiter().GetResult();
            if (process.ExitCode != 0)
            {
                var reason = string.Join(" ", log.Split('\n').Select(l => l.Trim())
                    .Where(l => l.Length > 0 && !l.StartsWith("debug", StringComparison.Ordinal) && !l.StartsWith("OpenSSH_", StringComparison.Ordinal)));
                throw new HbOpsException(HbErrorIds.SshConfigInvalid, HbErrorCategory.InvalidData,
                    $"'ssh -G' refused the config for '{host}': {reason}", host, "Fix the ssh config.");
            }
            return (output, log);
        }
    }

    /// <summary>True when ssh's debug log shows a Host pattern other than <c>*</c>, or a Match naming the host, applied.</summary>
    internal static bool NamesHost(string log)
    {
        string? pendingMatch = null;
        foreach (var raw in log.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            const string applying = ": Applying options for ";
            int a = line.IndexOf(applying, StringComparison.Ordinal);
            if (a >= 0 && line.StartsWith("debug", StringComparison.Ordinal))
            {
                if (line[(a + applying.Length)..] != "*") return true;
                continue;
            }
            const string checking = "checking match for '";
            int c = line.IndexOf(checking, StringComparison.Ordinal);
            if (c >= 0)
            {
                var rest = line[(c + checking.Length)..];
                int end = rest.IndexOf("' host ", StringComparison.Ordinal);
                pendingMatch = end >= 0 ? rest[..end] : rest;
                continue;
            }
            if (line.EndsWith("match found", StringComparison.Ordinal) && !line.EndsWith("not found", StringComparison.Ordinal) && pendingMatch is not null)
            {
                string? cp = pendingMatch;
                string? token;
                while ((token = SshConfigSyntax.NextToken(ref cp)) is { Length: > 0 })
                {
                    var name = token.ToLowerInvariant();
                    if (name is "host" or "originalhost")
                    {
                        var list = SshConfigSyntax.NextToken(ref cp);
                        if (list is not null && list != "*") return true;
                    }
                }
                pendingMatch = null;
            }
        }
        return false;
    }
}
