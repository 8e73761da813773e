using System.Diagnostics;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// A temporary copy of SshConfigCorpus/ (see its README.md) plus the facts OpenSSH resolves with on this machine, so
/// HbOps can be run under exactly the same conditions as <c>ssh -G</c>.
/// </summary>
public sealed class SshConfigCorpusFixture : IDisposable
{
    public const string Ssh = "/usr/bin/ssh";

    public SshConfigCorpusFixture()
    {
        Root = Directory.CreateTempSubdirectory("hbops-sshcorpus-").FullName;
        Corpus = Path.Combine(Root, "corpus");
        IncludeHome = Path.Combine(Root, "home");
        var source = Path.Combine(AppContext.BaseDirectory, "SshConfigCorpus");
        Copy(source, Corpus);
        Copy(Path.Combine(source, "dot-ssh"), Path.Combine(IncludeHome, ".ssh"));
        SetMode(Path.Combine(IncludeHome, ".ssh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Variables = new Dictionary<string, string>
        {
            ["HOME"] = IncludeHome,
            ["HBOPS_CORPUS_AGENT"] = "/run/hbops-corpus/agent dir",
            ["HBOPS_CORPUS_DIR"] = Path.Combine(Root, "env dir"),
            ["HBOPS_CORPUS_NAME"] = "ed25519",
        };

        // ssh takes ~ from the password database, not from HOME: ask it which home and user it uses.
        var (exit, output, _) = RunSsh(new[] { "-G", "-F", "/dev/null", "--", "probe-host" });
        Assert.Equal(0, exit);
        var known = Field(output, "userknownhostsfile")!.Split(' ')[0];
        PasswdHome = known[..known.LastIndexOf("/.ssh/", StringComparison.Ordinal)];
        LocalUser = Field(output, "user")!;
        Environment = new SshConfigEnvironment
        {
            IsWindows = false,
            HomeDirectory = PasswdHome,
            IncludeHomeDirectory = IncludeHome,
            LocalUser = LocalUser,
            GetEnvironmentVariable = name => Variables.TryGetValue(name, out var v) ? v : null,
            SystemConfigPath = null,
        };
    }

    public string Root { get; }
    public string Corpus { get; }
    public string IncludeHome { get; }
    public string PasswdHome { get; }
    public string LocalUser { get; }
    public IReadOnlyDictionary<string, string> Variables { get; }
    public SshConfigEnvironment Environment { get; }

    /// <summary>Runs ssh with the corpus environment (HOME and the variables the corpus uses).</summary>
    public (int Exit, string Stdout, string Stderr) RunSsh(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Ssh)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in Variables) psi.Environment[k] = v;
        psi.Environment.Remove("HBOPS_CORPUS_UNSET_VARIABLE");
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(30_000), "ssh -G did not finish");
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string? Field(string output, string key) => Fields(output, key).FirstOrDefault();

    public static List<string> Fields(string output, string key) => output.Split('\n')
        .Select(l => l.TrimEnd('\r'))
        .Where(l => l.StartsWith(key + " ", StringComparison.Ordinal))
        .Select(l => l[(key.Length + 1)..])
        .ToList();

    private void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from))
        {
            var name = Path.GetFileName(dir);
            if (name == "dot-ssh" && to == Corpus) continue; // it becomes HOME/.ssh instead
            Copy(dir, Path.Combine(to, name));
        }
        foreach (var file in Directory.GetFiles(from))
        {
            var target = Path.Combine(to, Path.GetFileName(file));
            var text = File.ReadAllText(file).Replace("@CORPUS@", Corpus, StringComparison.Ordinal);
            File.WriteAllText(target, text, new UTF8Encoding(false));
            var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            if (target.EndsWith("-worldwritable.conf", StringComparison.Ordinal)) mode |= UnixFileMode.OtherWrite;
            SetMode(target, mode);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        // ssh (and HbOps, like it) refuse included files others may write to; the modes are set explicitly
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, mode);
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// Every query of the corpus resolved by HbOps' built-in resolver and by <c>ssh -G</c> (OpenSSH is the oracle);
/// the <c>ssh -G</c> evaluator is checked against the same output.
/// </summary>
public sealed class SshConfigCorpusTests : IClassFixture<SshConfigCorpusFixture>
{
    private readonly SshConfigCorpusFixture _fx;

    public SshConfigCorpusTests(SshConfigCorpusFixture fixture) => _fx = fixture;

    public static IEnumerable<object[]> Queries()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "SshConfigCorpus");
        foreach (var file in Directory.GetFiles(dir, "*.conf").OrderBy(f => f, StringComparer.Ordinal))
        {
            foreach (var line in File.ReadAllLines(file))
            {
                if (line.StartsWith("#@", StringComparison.Ordinal)) yield return new object[] { Path.GetFileName(file), line.TrimEnd('\r') };
            }
        }
    }

    [Fact]
    public void Corpus_has_at_least_15_configs_and_covers_each_kind_of_query()
    {
        var queries = Queries().ToList();
        Assert.True(queries.Select(q => q[0]).Distinct().Count() >= 15);
        Assert.Contains(queries, q => ((string)q[1]).StartsWith("#@! ", StringComparison.Ordinal));
        Assert.Contains(queries, q => ((string)q[1]).StartsWith("#@exec ", StringComparison.Ordinal));
        Assert.Contains(queries, q => ((string)q[1]).Contains(" -l ", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Queries))]
    public void Resolution_equals_ssh_G(string file, string queryLine)
    {
        var config = Path.Combine(_fx.Corpus, file);
        var marker = queryLine.Split(' ')[0];
        var words = queryLine.Replace("@CORPUS@", _fx.Corpus, StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
        var alias = words[0];
        var options = words.Skip(1).ToList();
        var query = Query(config, alias, options);

        var (exit, output, stderr) = _fx.RunSsh(new[] { "-G", "-F", config }.Concat(options).Concat(new[] { "--", alias }));
        if (exit != 0)
        {
            Assert.True(marker != "#@exec", $"ssh refused {file} for {alias}: {stderr}");
            var ex = Assert.Throws<HbOpsException>(() => SshConfigResolver.Resolve(query, _fx.Environment));
            Assert.Contains(ex.ErrorId, new[] { HbErrorIds.SshConfigInvalid, HbErrorIds.SshConfigUnsupported });
            return;
        }

        bool defined = marker != "#@!";
        var problems = new List<string>();
        if (marker == "#@exec")
        {
            var ex = Assert.Throws<HbOpsException>(() => SshConfigResolver.Resolve(query, _fx.Environment));
            Assert.Equal(HbErrorIds.SshConfigUnsupported, ex.ErrorId);
        }
        else
        {
            var builtIn = SshConfigResolver.Resolve(query, _fx.Environment);
            Compare("built-in", builtIn, output, defined, problems);
            CompareExpandedIdentityFiles(config, alias, options, builtIn, problems);
        }
        var viaSsh = OpenSshConfigEvaluator.Resolve(query, _fx.Environment, SshConfigCorpusFixture.Ssh, _fx.Variables);
        Compare("ssh -G evaluator", viaSsh, output, defined, problems);

        Assert.True(problems.Count == 0, $"{file} {alias} {string.Join(' ', options)}:\n  " + string.Join("\n  ", problems));
    }

    private static SshConfigQuery Query(string config, string alias, List<string> options)
    {
        string? user = null, hostName = null;
        int? port = null;
        var identities = new List<string>();
        for (int i = 0; i < options.Count; i += 2)
        {
            var value = options[i + 1];
            switch (options[i])
            {
                case "-l": user = value; break;
                case "-p": port = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "-i": identities.Add(value); break;
                case "-o" when value.StartsWith("HostName=", StringComparison.Ordinal): hostName = value["HostName=".Length..]; break;
                default: throw new InvalidOperationException("corpus option not understood: " + options[i] + " " + value);
            }
        }
        return new SshConfigQuery { Host = alias, ConfigPath = config, User = user, Port = port, HostName = hostName, IdentityFiles = identities };
    }

    private static void Compare(string who, SshConfigEntry e, string output, bool defined, List<string> problems)
    {
        void Same(string key, string? expected, string? actual)
        {
            if (!string.Equals(expected, actual, StringComparison.Ordinal)) problems.Add($"{who}: {key} ssh='{expected}' hbops='{actual}'");
        }
        string? F(string key) => SshConfigCorpusFixture.Field(output, key);
        Same("hostname", F("hostname"), e.HostName);
        Same("user", F("user"), e.User);
        Same("port", F("port"), e.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Same("identityfile", string.Join(" | ", SshConfigCorpusFixture.Fields(output, "identityfile")), string.Join(" | ", e.IdentityFileValues));
        Same("userknownhostsfile", F("userknownhostsfile"), e.UserKnownHostsFiles.Count == 0 ? "none" : string.Join(" ", e.UserKnownHostsFiles));
        Same("proxyjump", F("proxyjump"), e.ProxyJump);
        Same("proxycommand", F("proxycommand"), e.ProxyCommand);
        Same("hostkeyalias", F("hostkeyalias"), e.HostKeyAlias);
        Same("identitiesonly", F("identitiesonly"), e.IdentitiesOnly ? "yes" : "no");
        Same("identityagent", F("identityagent"), e.IdentityAgent);
        if (e.MatchedSpecificHost != defined) problems.Add($"{who}: alias defined expected {defined}, got {e.MatchedSpecificHost}");
    }

    /// <summary>
    /// ssh -G prints IdentityFile unexpanded; ssh expands it exactly as it expands UserKnownHostsFile (tilde, then
    /// ${VAR} and tokens, with the same values). So the oracle for HbOps' expanded identity files is ssh's
    /// UserKnownHostsFile output for a copy of the config whose first line sets UserKnownHostsFile to those values.
    /// </summary>
    private void CompareExpandedIdentityFiles(string config, string alias, List<string> options, SshConfigEntry e, List<string> problems)
    {
        var raw = e.IdentityFileValues.Where(v => !v.Equals("none", StringComparison.OrdinalIgnoreCase)).ToList();
        if (raw.Count == 0) return;
        var probe = config + ".probe";
        var quoted = raw.Select(v => "\"" + v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"");
        File.WriteAllText(probe, "Host *\n  UserKnownHostsFile " + string.Join(" ", quoted) + "\n" + File.ReadAllText(config));
        try
        {
            var (exit, output, stderr) = _fx.RunSsh(new[] { "-G", "-F", probe }.Concat(options).Concat(new[] { "--", alias }));
            if (exit != 0)
            {
                problems.Add("identity probe refused by ssh: " + stderr.Trim());
                return;
            }
            var expected = SshConfigCorpusFixture.Field(output, "userknownhostsfile");
            var actual = string.Join(" ", e.IdentityFiles);
            if (!string.Equals(expected, actual, StringComparison.Ordinal)) problems.Add($"built-in: expanded identity files ssh='{expected}' hbops='{actual}'");
        }
        finally
        {
            File.Delete(probe);
        }
    }
}
