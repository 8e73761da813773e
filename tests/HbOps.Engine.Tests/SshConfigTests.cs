using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

public class SshConfigTests
{
    private const string Config = """
        # global defaults come after specific hosts in real configs; first value wins
        Host contabo prod-*
          HostName 203.0.113.10
          User deploy
          Port 2222
          IdentityFile ~/.ssh/contabo_ed25519

        Host *.internal !bastion.internal
          User ops

        Host staging
          HostName %h.example.test
          IdentityFile "/keys/staging key"
          UserKnownHostsFile /etc/hbops/known_hosts /tmp/second

        Match host something
          User ignored

        Host *
          User fallback
          Port 22
          IdentityFile ~/.ssh/id_ed25519
        """;

    [Fact]
    public void Alias_resolves_host_user_port_and_identity_files_in_order()
    {
        var e = SshConfig.Resolve(Config, "contabo");
        Assert.True(e.MatchedSpecificHost);
        Assert.Equal("203.0.113.10", e.HostName);
        Assert.Equal("deploy", e.User);
        Assert.Equal(2222, e.Port);
        Assert.Equal(2, e.IdentityFiles.Count);
        Assert.EndsWith(".ssh/contabo_ed25519", e.IdentityFiles[0]);
        Assert.EndsWith(".ssh/id_ed25519", e.IdentityFiles[1]);
    }

    [Fact]
    public void Wildcard_patterns_match_and_first_value_wins()
    {
        var e = SshConfig.Resolve(Config, "prod-db1");
        Assert.Equal("deploy", e.User);
        Assert.Equal(2222, e.Port);
    }

    [Fact]
    public void Negated_pattern_excludes_a_host()
    {
        Assert.Equal("ops", SshConfig.Resolve(Config, "db.internal").User);
        Assert.Equal("fallback", SshConfig.Resolve(Config, "bastion.internal").User);
    }

    [Fact]
    public void Percent_h_quoted_paths_and_known_hosts_files_are_expanded()
    {
        var e = SshConfig.Resolve(Config, "staging");
        Assert.Equal("staging.example.test", e.HostName);
        Assert.Equal("/keys/staging key", e.IdentityFiles[0]);
        Assert.Equal(new[] { "/etc/hbops/known_hosts", "/tmp/second" }, e.UserKnownHostsFiles);
    }

    [Fact]
    public void Host_only_matched_by_star_is_not_a_defined_alias()
    {
        var e = SshConfig.Resolve(Config, "unknown-host");
        Assert.False(e.MatchedSpecificHost);
        Assert.Equal("unknown-host", e.HostName);
    }

    [Fact]
    public void Unknown_alias_in_a_file_is_a_stable_error()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, Config);
        var ex = Assert.Throws<HbOpsException>(() => SshConfig.ResolveAlias(path, "nope"));
        Assert.Equal(HbErrorIds.SshAliasNotFound, ex.ErrorId);
        File.Delete(path);
    }

    [Fact]
    public void ListAliases_returns_concrete_names_only()
    {
        Assert.Equal(new[] { "contabo", "staging" }, SshConfig.ListAliases(Config));
    }
}
