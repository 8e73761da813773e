using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class ProxyJumpTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hbops-jump").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, true);
        GC.SuppressFinalize(this);
    }

    [Theory]
    [InlineData("bastion", null, "bastion", null)]
    [InlineData("ops@bastion", "ops", "bastion", null)]
    [InlineData("ops@10.0.0.1:2222", "ops", "10.0.0.1", 2222)]
    [InlineData("ssh://ops@bastion:2200/", "ops", "bastion", 2200)]
    [InlineData("[fd00::1]:22", null, "fd00::1", 22)]
    [InlineData("fd00::1", null, "fd00::1", null)]
    [InlineData("first.last@corp@jump", "first.last@corp", "jump", null)]
    public void A_hop_is_user_host_and_port(string text, string? user, string host, int? port)
    {
        var hop = Assert.Single(ProxyJump.Parse(text));
        Assert.Equal(new JumpSpec(user, host, port), hop);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("none")]
    public void No_ProxyJump_means_a_direct_connection(string? value) => Assert.Empty(ProxyJump.Parse(value));

    [Fact]
    public void A_chain_keeps_its_order()
    {
        Assert.Equal(new[] { "a", "ops@b:2", "c" }, ProxyJump.Parse("a,ops@b:2,c").Select(h => h.ToString()));
    }

    [Theory]
    [InlineData("a,,b")]
    [InlineData("bastion:0")]
    [InlineData("bastion:65536")]
    [InlineData("bastion:ssh")]
    [InlineData("@bastion")]
    [InlineData("[fd00::1")]
    [InlineData("[fd00::1]x")]
    [InlineData("ops@")]
    public void A_malformed_hop_is_InvalidArgument_quoting_it(string value)
    {
        var ex = Assert.Throws<HbOpsException>(() => ProxyJump.Parse(value));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.Contains(value, ex.Message);
    }

    private HbHost Target(string proxyJump, string configText, List<string>? knownHosts = null)
    {
        var config = Path.Combine(_dir, "config");
        File.WriteAllText(config, configText);
        return new HbHost
        {
            Kind = HbHostKind.Ssh, Alias = "target", HostName = "10.1.0.5", User = "deploy", ProxyJump = proxyJump, SshConfigPath = config,
            KnownHostsFiles = knownHosts ?? [KnownHosts.DefaultPath],
        };
    }

    [Fact]
    public void Hops_are_aliases_of_the_targets_config_or_names_its_patterns_apply_to_and_the_jump_spec_wins()
    {
        var target = Target("bastion,admin@10.1.0.9:2022,bastion:2200", """
            Host bastion
              HostName 198.51.100.4
              User jumper
              Port 2201
              IdentityFile /keys/bastion
              UserKnownHostsFile /keys/bastion_known_hosts
            Host 10.1.*
              User inner
              IdentityFile /keys/inner
            """, knownHosts: ["/target/known_hosts"]);

        var hops = ProxyJump.Hops(target);

        Assert.Equal(3, hops.Count);
        Assert.Equal(("bastion", "198.51.100.4", 2201, "jumper"), (hops[0].Alias, hops[0].HostName, hops[0].Port, hops[0].User));
        Assert.Equal(new[] { "/keys/bastion" }, hops[0].IdentityFiles);
        // A hop trusts its own known_hosts files and the target's.
        Assert.Equal(new[] { "/keys/bastion_known_hosts", "/target/known_hosts" }, hops[0].KnownHostsFiles);
        // A plain name: the config's pattern gives the key; the ProxyJump's user and port win.
        Assert.Equal(("10.1.0.9", 2022, "admin"), (hops[1].HostName, hops[1].Port, hops[1].User));
        Assert.Equal(new[] { "/keys/inner" }, hops[1].IdentityFiles);
        Assert.Equal("/target/known_hosts", hops[1].KnownHostsFiles[^1]);
        Assert.Equal(("198.51.100.4", 2200, "jumper"), (hops[2].HostName, hops[2].Port, hops[2].User));
    }

    [Fact]
    public void The_first_hops_own_ProxyJump_is_followed_and_the_later_hops_are_reached_as_listed()
    {
        var target = Target("inner,edge", """
            Host inner
              HostName 10.2.0.1
              ProxyJump outer
            Host edge
              HostName 10.3.0.1
              ProxyJump nowhere.example
            Host outer
              HostName 192.0.2.1
            """);
        Assert.Equal(new[] { "192.0.2.1", "10.2.0.1", "10.3.0.1" }, ProxyJump.Hops(target).Select(h => h.HostName));
    }

    [Fact]
    public void A_ProxyJump_that_leads_back_to_itself_is_InvalidArgument_instead_of_an_endless_chain()
    {
        var target = Target("bastion", """
            Host *
              ProxyJump bastion
            """);
        var ex = Assert.Throws<HbOpsException>(() => ProxyJump.Hops(target));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.Contains("more than 8 jump hosts", ex.Message);
    }

    [Fact]
    public void A_direct_host_has_no_hops() => Assert.Empty(ProxyJump.Hops(Target("none", "")));
}
