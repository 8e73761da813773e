using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// Resolver behaviour that the ssh -G corpus cannot show on this machine: Windows paths (injected platform), how
/// HostResolver turns a resolution into an HbHost, refusals, alias listing.
/// </summary>
public sealed class SshConfigResolverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hbops-sshcfg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SshConfigEnvironment Windows() => new(localHostName: () => "WS01.corp.example", userId: () => "0")
    {
        IsWindows = true,
        HomeDirectory = @"C:\Users\ops",
        IncludeHomeDirectory = @"C:\Users\ops",
        LocalUser = "ops",
        GetEnvironmentVariable = name => name switch
        {
            "USERPROFILE" => @"C:\Users\ops",
            "ProgramData" => @"C:\ProgramData",
            _ => null,
        },
    };

    private SshConfigEnvironment Linux(string? includeHome = null) => new(localHostName: () => "build.example.org", userId: () => "1000")
    {
        HomeDirectory = "/home/ops",
        IncludeHomeDirectory = includeHome ?? _dir,
        LocalUser = "ops",
        GetEnvironmentVariable = name => name == "HBOPS_TEST_AGENT" ? "/run/agent.sock" : null,
    };

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Windows_home_and_USERPROFILE_style_paths_resolve()
    {
        const string config = """
            Host win
              HostName win.example
              IdentityFile ~\.ssh\id_ed25519
              IdentityFile ~/.ssh/id_rsa
              IdentityFile %USERPROFILE%\.ssh\%h_key
              IdentityFile "%ProgramData%\ssh\keys\%r"
              IdentityFile C:\Keys\100%%.key
              UserKnownHostsFile %USERPROFILE%\.ssh\known_hosts ~\.ssh\known_hosts2
            """;
        var e = SshConfig.Resolve(config, "win", Windows());
        Assert.Equal(new[]
        {
            @"C:\Users\ops\.ssh\id_ed25519",
            @"C:\Users\ops\.ssh\id_rsa",
            @"C:\Users\ops\.ssh\win.example_key",
            @"C:\ProgramData\ssh\keys\ops",
            @"C:\Keys\100%.key",
        }, e.IdentityFiles);
        Assert.Equal(new[] { @"C:\Users\ops\.ssh\known_hosts", @"C:\Users\ops\.ssh\known_hosts2" }, e.UserKnownHostsFiles);
    }

    [Fact]
    public void Windows_defaults_expand_under_the_profile()
    {
        var e = SshConfig.Resolve("Host *\n  Port 2222\n", "any", Windows());
        Assert.Equal(@"C:\Users\ops\.ssh\id_rsa", e.IdentityFiles[0]);
        Assert.Equal(@"C:\Users\ops\.ssh\known_hosts", e.UserKnownHostsFiles[0]);
        Assert.Equal(2222, e.Port);
    }

    [Fact]
    public void A_percent_variable_is_a_token_outside_Windows_and_unknown_ones_are_errors()
    {
        var ex = Assert.Throws<HbOpsException>(() => SshConfig.Resolve("Host x\n  IdentityFile %USERPROFILE%\\k\n", "x", Linux()));
        Assert.Equal(HbErrorIds.SshConfigInvalid, ex.ErrorId);
        Assert.Contains("%U", ex.Message, StringComparison.Ordinal);
        var undefined = Assert.Throws<HbOpsException>(() => SshConfig.Resolve("Host x\n  IdentityFile %NOT_DEFINED%\\k\n", "x", Windows()));
        Assert.Equal(HbErrorIds.SshConfigInvalid, undefined.ErrorId);
    }

    [Fact]
    public void Windows_absolute_paths_are_recognised()
    {
        var w = Windows();
        Assert.True(w.IsAbsolute(@"C:\ssh\config"));
        Assert.True(w.IsAbsolute("D:/ssh/config"));
        Assert.True(w.IsAbsolute(@"\\server\share\config"));
        Assert.False(w.IsAbsolute(@"conf.d\*.conf"));
        Assert.False(Linux().IsAbsolute(@"C:\ssh\config"));
    }

    [Fact]
    public void Tokens_use_the_injected_host_user_and_port()
    {
        var e = SshConfig.Resolve("Host t\n  HostName T.Example\n  User deploy\n  Port 2200\n  IdentityFile ~/k/%h-%p-%r-%u-%l-%L-%i-%n-%d\n", "t", Linux());
        Assert.Equal("/home/ops/k/t.example-2200-deploy-ops-build.example.org-build-1000-t-/home/ops", e.IdentityFiles[0]);
        Assert.Equal("~/k/%h-%p-%r-%u-%l-%L-%i-%n-%d", e.IdentityFileValues[0]);
    }

    [Fact]
    public void Match_exec_is_refused_by_the_built_in_resolver_with_its_location()
    {
        var path = Write("exec.conf", "Host x\n  User a\nMatch exec \"true\"\n  User b\n");
        var ex = Assert.Throws<HbOpsException>(() => SshConfigResolver.Resolve(new SshConfigQuery { Host = "x", ConfigPath = path }, Linux()));
        Assert.Equal(HbErrorIds.SshConfigUnsupported, ex.ErrorId);
        Assert.Contains("exec.conf line 3", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HBOPS_SSH_CONFIG_EVALUATOR", ex.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ssh_G_evaluator_follows_Match_exec_through_HostResolver()
    {
        var path = Write("exec2.conf", "Host x\n  HostName 127.0.0.1\nMatch originalhost x exec \"test %h = 127.0.0.1\"\n  User by-exec\n  Port 2201\n");
        var host = HostResolver.Resolve(new HostSpec { Alias = "x", SshConfigPath = path, Evaluator = SshConfigEvaluator.OpenSsh });
        Assert.Equal("by-exec", host.User);
        Assert.Equal(2201, host.Port);
        Assert.Equal("127.0.0.1", host.HostName);
    }

    [Fact]
    public void Include_that_includes_itself_stops_at_the_depth_limit()
    {
        var path = Write("loop.conf", $"Include {Path.Combine(_dir, "loop.conf")}\nHost x\n  User a\n");
        var ex = Assert.Throws<HbOpsException>(() => SshConfigResolver.Resolve(new SshConfigQuery { Host = "x", ConfigPath = path }, Linux()));
        Assert.Equal(HbErrorIds.SshConfigInvalid, ex.ErrorId);
    }

    [Fact]
    public void HostResolver_fills_jump_alias_identities_only_and_agent()
    {
        var path = Write("full.conf", """
            Host app
              HostName 10.1.2.3
              User deploy
              Port 2022
              ProxyJump ops@bastion:2200
              HostKeyAlias App-Key
              IdentitiesOnly yes
              IdentityAgent ~/.ssh/agent.sock
              IdentityFile ~/.ssh/app
            Host agent-env
              IdentityAgent SSH_AUTH_SOCK
            Host agent-var
              IdentityAgent $HBOPS_TEST_AGENT
            Host agent-unset
              IdentityAgent $HBOPS_TEST_UNSET
            Host agent-none
              IdentityAgent none
            """);
        var env = Linux();
        var h = HostResolver.Resolve(new HostSpec { Alias = "app", SshConfigPath = path }, env);
        Assert.Equal("10.1.2.3", h.HostName);
        Assert.Equal("deploy", h.User);
        Assert.Equal(2022, h.Port);
        Assert.Equal("ops@bastion:2200", h.ProxyJump);
        Assert.Equal("app-key", h.HostKeyAlias);
        Assert.True(h.IdentitiesOnly);
        Assert.Equal("/home/ops/.ssh/agent.sock", h.IdentityAgent);
        Assert.Equal(new[] { "/home/ops/.ssh/app" }, h.IdentityFiles);
        Assert.Equal(new[] { "/home/ops/.ssh/known_hosts", "/home/ops/.ssh/known_hosts2" }, h.KnownHostsFiles);
        Assert.Equal(path, h.SshConfigPath);

        Assert.Null(HostResolver.Resolve(new HostSpec { Alias = "agent-env", SshConfigPath = path }, env).IdentityAgent);
        Assert.Equal("/run/agent.sock", HostResolver.Resolve(new HostSpec { Alias = "agent-var", SshConfigPath = path }, env).IdentityAgent);
        Assert.Equal("none", HostResolver.Resolve(new HostSpec { Alias = "agent-unset", SshConfigPath = path }, env).IdentityAgent);
        Assert.Equal("none", HostResolver.Resolve(new HostSpec { Alias = "agent-none", SshConfigPath = path }, env).IdentityAgent);
        var plain = HostResolver.Resolve(new HostSpec { Alias = "agent-none", SshConfigPath = path }, env);
        Assert.Null(plain.ProxyJump);
        Assert.False(plain.IdentitiesOnly);
        Assert.Null(plain.HostKeyAlias);
    }

    [Fact]
    public void Explicit_parameters_win_and_are_seen_by_Match()
    {
        var key = Write("keys/explicit", "key");
        var path = Write("explicit.conf", """
            Host app
              HostName config.example
              User deploy
              Port 2022
              IdentityFile ~/.ssh/app
              UserKnownHostsFile /etc/config_known_hosts
            Match user cli-user
              IdentityFile ~/.ssh/for-cli-user-%r-%p
            """);
        var h = HostResolver.Resolve(new HostSpec
        {
            Alias = "app", SshConfigPath = path, HostName = "cli.example", User = "cli-user", Port = 2999, KeyFile = key,
            KnownHostsPath = Path.Combine(_dir, "kh"),
        }, Linux());
        Assert.Equal("cli.example", h.HostName);
        Assert.Equal("cli-user", h.User);
        Assert.Equal(2999, h.Port);
        Assert.Equal(new[] { key, "/home/ops/.ssh/app", "/home/ops/.ssh/for-cli-user-cli-user-2999" }, h.IdentityFiles);
        Assert.Equal(new[] { Path.Combine(_dir, "kh") }, h.KnownHostsFiles);
    }

    [Fact]
    public void A_host_name_without_alias_is_resolved_through_the_config_but_keeps_its_name()
    {
        var path = Write("byname.conf", "Host 10.9.8.7\n  User from-config\n  HostName ignored.example\n");
        var h = HostResolver.Resolve(new HostSpec { HostName = "10.9.8.7", SshConfigPath = path }, Linux());
        Assert.Equal("10.9.8.7", h.HostName);
        Assert.Equal("from-config", h.User);
        Assert.Null(h.SshConfigPath);
    }

    [Fact]
    public void ProxyCommand_is_refused_and_ProxyJump_none_lets_it_through_as_ssh_does()
    {
        var path = Write("pc.conf", "Host pc\n  ProxyJump none\n  ProxyCommand nc %h %p\nHost pj\n  ProxyJump j1\n  ProxyCommand nc %h %p\n");
        var ex = Assert.Throws<HbOpsException>(() => HostResolver.Resolve(new HostSpec { Alias = "pc", SshConfigPath = path }, Linux()));
        Assert.Equal(HbErrorIds.SshConfigUnsupported, ex.ErrorId);
        Assert.Equal("j1", HostResolver.Resolve(new HostSpec { Alias = "pj", SshConfigPath = path }, Linux()).ProxyJump);
    }

    [Fact]
    public void Undefined_alias_is_SshAliasNotFound_unless_the_caller_resolves_a_jump_hop()
    {
        var path = Write("hop.conf", "Host defined\n  User a\nHost *\n  User everyone\n  Port 2200\n");
        var ex = Assert.Throws<HbOpsException>(() => HostResolver.Resolve(new HostSpec { Alias = "bastion", SshConfigPath = path }, Linux()));
        Assert.Equal(HbErrorIds.SshAliasNotFound, ex.ErrorId);
        Assert.Contains("hop.conf", ex.Message, StringComparison.Ordinal);
        var hop = HostResolver.Resolve(new HostSpec { Alias = "bastion", SshConfigPath = path, AliasMustBeDefined = false }, Linux());
        Assert.Equal("bastion", hop.HostName);
        Assert.Equal("everyone", hop.User);
        Assert.Equal(2200, hop.Port);
    }

    [Fact]
    public void A_Match_naming_the_host_defines_the_alias()
    {
        var e = SshConfig.Resolve("Match originalhost only-by-match\n  User m\n", "only-by-match", Linux());
        Assert.True(e.MatchedSpecificHost);
        Assert.Equal("m", e.User);
    }

    [Fact]
    public void Missing_explicit_config_keeps_the_alias_error()
    {
        var ex = Assert.Throws<HbOpsException>(() => HostResolver.Resolve(new HostSpec { Alias = "x", SshConfigPath = Path.Combine(_dir, "none.conf") }, Linux()));
        Assert.Equal(HbErrorIds.SshAliasNotFound, ex.ErrorId);
    }

    [Fact]
    public void ListAliases_follows_includes_and_Match_originalhost()
    {
        Write(".ssh/extra/one.conf", "Host from-include other-*\n  User x\n");
        Write(".ssh/extra/two.conf", "Match originalhost by-match,!negated,wild*\n  User y\n");
        var main = Write("list.conf", "Host main !neg * a,b\n  Include extra/*.conf\nInclude /does/not/exist.conf\nHost \"quoted name\n");
        Assert.Equal(new[] { "by-match", "from-include", "main" }, SshConfig.ListAliasesInFile(main, Linux()));
        Assert.Empty(SshConfig.ListAliasesInFile(Path.Combine(_dir, "missing.conf"), Linux()));
    }

    [Fact]
    public void Include_glob_matches_brackets_and_skips_dot_files_in_byte_order()
    {
        Write(".ssh/g/b.conf", "Host g\n  User from-b\n");
        Write(".ssh/g/a.conf", "Host g\n  Port 2001\n");
        Write(".ssh/g/.a.conf", "Host g\n  User hidden\n");
        Write(".ssh/g/c1.conf", "Host g\n  HostName from-c1\n");
        Write(".ssh/g/cx.conf", "Host g\n  HostName from-cx\n");
        var e = SshConfig.Resolve("Include g/[ab].conf g/c[0-9].conf\n", "g", Linux());
        Assert.Equal("from-b", e.User);
        Assert.Equal(2001, e.Port);
        Assert.Equal("from-c1", e.HostName);
    }
}
