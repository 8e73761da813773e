using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>
/// Throwaway sshd's of its own: two jump hosts (127.0.0.2, 127.0.0.3, forwarding allowed, LogLevel DEBUG1 so each
/// forward is logged) and a target (127.0.0.5), plus an ssh-agent whose keys exist nowhere on disk.
/// </summary>
public sealed class JumpHostsFixture : IDisposable
{
    public JumpHostsFixture()
    {
        Dir = Directory.CreateTempSubdirectory("hbops-jump-").FullName; // 0700
        Directory.CreateDirectory("/run/sshd");
        try
        {
            KeyGen("id_file", "ed25519");
            foreach (var k in AgentKeyNames) KeyGen(k, k.Replace("agent_", "", StringComparison.Ordinal) is "stranger" ? "ed25519" : k.Replace("agent_", "", StringComparison.Ordinal));
            KeyGen("locked", "ed25519");

            var fileKey = File.ReadAllText(Path.Combine(Dir, "id_file.pub"));
            var agentEd25519 = File.ReadAllText(Path.Combine(Dir, "agent_ed25519.pub"));
            File.WriteAllText(Path.Combine(Dir, "bastion_keys"), fileKey + agentEd25519);
            File.WriteAllText(Path.Combine(Dir, "target_keys"), fileKey + agentEd25519 +
                File.ReadAllText(Path.Combine(Dir, "agent_rsa.pub")) + File.ReadAllText(Path.Combine(Dir, "agent_ecdsa.pub")) +
                File.ReadAllText(Path.Combine(Dir, "locked.pub")));

            Bastion1 = Sshd.Start(Dir, "bastion1", "127.0.0.2", Path.Combine(Dir, "bastion_keys"), "DEBUG1", "AllowTcpForwarding yes");
            Bastion2 = Sshd.Start(Dir, "bastion2", "127.0.0.3", Path.Combine(Dir, "bastion_keys"), "DEBUG1", "AllowTcpForwarding yes");
            Target = Sshd.Start(Dir, "target", "127.0.0.5", Path.Combine(Dir, "target_keys"), "VERBOSE", "AllowTcpForwarding no");
            File.WriteAllText(KnownHostsPath, Bastion1.KnownHostsLine + Bastion2.KnownHostsLine + Target.KnownHostsLine);

            // The agent's keys, in this order: one no server accepts (offered first, refused), then the accepted ones.
            var agentOut = TestEnvironment.Sh($"ssh-agent -a {AgentSocket} -s");
            AgentPid = int.Parse(Regex.Match(agentOut, @"SSH_AGENT_PID=(\d+);").Groups[1].Value, CultureInfo.InvariantCulture);
            foreach (var k in AgentKeyNames)
            {
                TestEnvironment.Sh($"SSH_AUTH_SOCK={AgentSocket} ssh-add -q {Dir}/{k} && rm {Dir}/{k}");
            }
            // 'locked' is in the agent and on disk, encrypted; its .pub is gone, so only the key file's header tells which key it is.
            TestEnvironment.Sh($"SSH_AUTH_SOCK={AgentSocket} ssh-add -q {Dir}/locked && ssh-keygen -q -p -P '' -N 'locked pass' -f {Dir}/locked && rm {Dir}/locked.pub");

            // Jump host aliases; no known_hosts file is named, so a hop uses the target's (the tests pass their own).
            File.WriteAllText(ConfigPath, $"""
                Host jb1
                  HostName 127.0.0.2
                  Port {Bastion1.Port}
                  User {User}
                  IdentityFile {Dir}/id_file
                Host jb2
                  HostName 127.0.0.3
                  Port {Bastion2.Port}
                  User {User}
                  IdentityFile {Dir}/id_file
                Host 127.0.0.*
                  IdentityFile {Dir}/id_file

                """);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static readonly string[] AgentKeyNames = ["agent_stranger", "agent_ed25519", "agent_rsa", "agent_ecdsa"];

    public string Dir { get; }
    public string User { get; } = Environment.UserName;
    public Sshd Bastion1 { get; } = null!;
    public Sshd Bastion2 { get; } = null!;
    public Sshd Target { get; } = null!;
    public int AgentPid { get; }
    public string AgentSocket => Path.Combine(Dir, "agent.sock");
    public string ConfigPath => Path.Combine(Dir, "config");
    public string KnownHostsPath => Path.Combine(Dir, "known_hosts");

    public string Fingerprint(string name) => TestEnvironment.Sh($"ssh-keygen -lf {Dir}/{name}.pub | cut -d' ' -f2").Trim();

    /// <summary>The target as a resolved host, with the given connection settings.</summary>
    public HbHost TargetHost(string? proxyJump = null, IEnumerable<string>? identityFiles = null, bool identitiesOnly = false,
        string? identityAgent = "none", string? hostKeyAlias = null, string? knownHosts = null, int? port = null) => new()
    {
        Kind = HbHostKind.Ssh,
        HostName = Target.Address,
        Port = port ?? Target.Port,
        User = User,
        IdentityFiles = (identityFiles ?? [Path.Combine(Dir, "id_file")]).ToList(),
        KnownHostsFiles = [knownHosts ?? KnownHostsPath],
        SshConfigPath = ConfigPath,
        ProxyJump = proxyJump,
        IdentitiesOnly = identitiesOnly,
        IdentityAgent = identityAgent,
        HostKeyAlias = hostKeyAlias,
    };

    private void KeyGen(string name, string type) =>
        TestEnvironment.Sh($"ssh-keygen -q -t {type} -N '' -C hbops-test-{name} -f {Dir}/{name}");

    public void Dispose()
    {
        foreach (var sshd in new[] { Bastion1, Bastion2, Target }) sshd?.Stop();
        if (AgentPid > 0) TestEnvironment.Sh($"kill {AgentPid} 2>/dev/null || true");
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}

/// <summary>One throwaway sshd on a loopback address and a free port.</summary>
public sealed class Sshd
{
    private Sshd(string address, int port, int pid, string logPath, string knownHostsLine)
    {
        Address = address;
        Port = port;
        Pid = pid;
        LogPath = logPath;
        KnownHostsLine = knownHostsLine;
    }

    public string Address { get; }
    public int Port { get; }
    public int Pid { get; }
    public string LogPath { get; }
    public string KnownHostsLine { get; }

    public static Sshd Start(string dir, string name, string address, string authorizedKeys, string logLevel, string extra)
    {
        TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N '' -C {name}-host -f {dir}/{name}_host");
        var port = FreePort(address);
        var config = Path.Combine(dir, name + ".sshd_config");
        File.WriteAllText(config, $"""
            ListenAddress {address}
            Port {port}
            HostKey {dir}/{name}_host
            AuthorizedKeysFile {authorizedKeys}
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PermitRootLogin prohibit-password
            StrictModes no
            PidFile {dir}/{name}.pid
            LogLevel {logLevel}
            {extra}

            """);
        var log = Path.Combine(dir, name + ".log");
        TestEnvironment.Sh($"/usr/sbin/sshd -f {config} -E {log}");
        // sshd listens before it daemonizes and writes its pid file: wait for both.
        var pidFile = Path.Combine(dir, name + ".pid");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(address, port);
                if (File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n')) break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
            }
            if (DateTime.UtcNow > deadline) throw new InvalidOperationException($"sshd {name} did not start; see {log}");
            Thread.Sleep(50);
        }
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture);
        var hostKey = string.Join(' ', File.ReadAllText($"{dir}/{name}_host.pub").Split(' ').Take(2));
        return new Sshd(address, port, pid, log, $"[{address}]:{port} {hostKey}\n");
    }

    public void Stop() => TestEnvironment.Sh($"kill {Pid} 2>/dev/null || true");

    /// <summary>
    /// Waits (up to 10 s) for a log line matching <paramref name="pattern"/>; sshd writes it a moment after acting. Its -E
    /// log lines end in CR LF.
    /// </summary>
    public async Task<Match> WaitForLogAsync(string pattern)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var m = Regex.Match(File.ReadAllText(LogPath), pattern, RegexOptions.Multiline);
            if (m.Success || DateTime.UtcNow > deadline) return m;
            await Task.Delay(50);
        }
    }

    private static int FreePort(string address)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(address), 0));
        return ((System.Net.IPEndPoint)s.LocalEndPoint!).Port;
    }
}

public class SshJumpAgentTests(JumpHostsFixture env) : IClassFixture<JumpHostsFixture>
{
    private static readonly SshConnectOptions Options = new();

    // The client address and port the target's session came from, as the target's sshd reports them.
    private static async Task<(string Address, int Port)> ClientOfSessionAsync(ICommandHost host)
    {
        var r = await host.RunAsync(["sh", "-c", "printf 'hbops-conn=%s\\n' \"$SSH_CONNECTION\""], CancellationToken.None);
        Assert.Equal(0, r.ExitCode);
        var m = Regex.Match(r.StandardOutput, @"^hbops-conn=(\S+) (\d+) ", RegexOptions.Multiline);
        Assert.True(m.Success, r.StandardOutput);
        return (m.Groups[1].Value, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    // The processes owning the local end of established TCP connections matching an ss filter.
    private static List<int> SocketOwners(string filter) =>
        Regex.Matches(TestEnvironment.Sh($"ss -tnpH state established '{filter}'"), @"pid=(\d+)")
            .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).Distinct().ToList();

    // Listening sockets of this process on 127.0.0.1 (the jump forwards; no other test of this class listens).
    private static int OwnLoopbackListeners() =>
        Regex.Matches(TestEnvironment.Sh("ss -tlnpH 'src 127.0.0.1'"), @"pid=(\d+)")
            .Count(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) == Environment.ProcessId);

    private static bool DescendsFrom(int pid, int ancestor)
    {
        for (var p = pid; p > 1;)
        {
            if (p == ancestor) return true;
            var status = File.ReadAllLines($"/proc/{p}/status");
            p = int.Parse(status.First(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim(), CultureInfo.InvariantCulture);
        }
        return false;
    }

    // Proves that the TCP connection carrying the target's session was made by the jump host's sshd, not by this process.
    private static void AssertSessionCameThrough(Sshd jump, Sshd next, (string Address, int Port) client)
    {
        var owners = SocketOwners($"( src {client.Address}:{client.Port} and dst {next.Address}:{next.Port} )");
        Assert.NotEmpty(owners);
        Assert.All(owners, pid => Assert.True(DescendsFrom(pid, jump.Pid), $"the connection to {next.Address}:{next.Port} belongs to pid {pid}, not to the jump host's sshd {jump.Pid}"));
        Assert.DoesNotContain(Environment.ProcessId, owners);
    }

    [Fact]
    public async Task Given_a_one_hop_ProxyJump_alias_When_running_a_command_Then_the_session_reaches_the_target_through_the_jump_host()
    {
        await using var host = await HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1"), Options, CancellationToken.None);
        var client = await ClientOfSessionAsync(host);
        AssertSessionCameThrough(env.Bastion1, env.Target, client);
        Assert.True((await env.Bastion1.WaitForLogAsync($@"server_request_direct_tcpip: originator \S+ port \d+, target {Regex.Escape(env.Target.Address)} port {env.Target.Port}\r?$")).Success,
            "the jump host's log shows no forward to the target");
        // Nothing of this process talks to the target directly.
        Assert.DoesNotContain(Environment.ProcessId, SocketOwners($"( dst {env.Target.Address}:{env.Target.Port} )"));
    }

    [Fact]
    public async Task Given_a_two_hop_chain_When_connected_Then_each_hop_reaches_the_next_and_disposing_closes_every_hop()
    {
        var jump = $"jb1,{env.User}@{env.Bastion2.Address}:{env.Bastion2.Port}";
        var host = await HostResolver.ConnectAsync(env.TargetHost(proxyJump: jump), Options, CancellationToken.None);
        try
        {
            var client = await ClientOfSessionAsync(host);
            AssertSessionCameThrough(env.Bastion2, env.Target, client);
            // The connection into the second jump host was made by the first one.
            var intoSecond = SocketOwners($"( dst {env.Bastion2.Address}:{env.Bastion2.Port} )");
            Assert.NotEmpty(intoSecond);
            Assert.All(intoSecond, pid => Assert.True(DescendsFrom(pid, env.Bastion1.Pid), $"pid {pid} is not the first jump host's"));
            Assert.True((await env.Bastion1.WaitForLogAsync($@"target {Regex.Escape(env.Bastion2.Address)} port {env.Bastion2.Port}\r?$")).Success);
            Assert.True((await env.Bastion2.WaitForLogAsync($@"target {Regex.Escape(env.Target.Address)} port {env.Target.Port}\r?$")).Success);
            Assert.Contains(Environment.ProcessId, SocketOwners($"( dst {env.Bastion1.Address}:{env.Bastion1.Port} )"));
            Assert.Equal(2, OwnLoopbackListeners()); // one forward per jump host
        }
        finally
        {
            await host.DisposeAsync();
        }
        // Every hop's connection (and the loopback forwards) went with the command host.
        Assert.DoesNotContain(Environment.ProcessId, SocketOwners($"( dst {env.Bastion1.Address}:{env.Bastion1.Port} )"));
        Assert.Equal(0, OwnLoopbackListeners());
        Assert.DoesNotContain(Environment.ProcessId, SocketOwners($"( dst {env.Bastion2.Address}:{env.Bastion2.Port} )"));
    }

    [Fact]
    public async Task Given_an_ssh_config_alias_with_ProxyJump_IdentityAgent_IdentitiesOnly_and_HostKeyAlias_When_resolved_and_connected_Then_every_hop_uses_the_agent()
    {
        // Everything from the config, as an operator writes it: two jump hosts, the key only in the agent (named by its
        // .pub), the target's key recorded under an alias.
        var config = Path.Combine(env.Dir, "config_agent_jumps");
        var knownHosts = Path.Combine(env.Dir, "known_hosts_agent_jumps");
        File.WriteAllText(knownHosts, env.Bastion1.KnownHostsLine + env.Bastion2.KnownHostsLine +
            "hbops-jump-target " + env.Target.KnownHostsLine.Split(' ', 2)[1]);
        File.WriteAllText(config, $"""
            Host hbops-behind-jumps
              HostName {env.Target.Address}
              Port {env.Target.Port}
              ProxyJump hop1,hop2
              HostKeyAlias hbops-jump-target
            Host hop1
              HostName {env.Bastion1.Address}
              Port {env.Bastion1.Port}
            Host hop2
              HostName {env.Bastion2.Address}
              Port {env.Bastion2.Port}
            Host *
              User {env.User}
              IdentityFile {env.Dir}/agent_ed25519.pub
              IdentitiesOnly yes
              IdentityAgent {env.AgentSocket}
              UserKnownHostsFile {knownHosts}

            """);
        var host = HostResolver.Resolve(new HostSpec { Alias = "hbops-behind-jumps", SshConfigPath = config });
        Assert.Equal(("hop1,hop2", "hbops-jump-target", true, env.AgentSocket), (host.ProxyJump, host.HostKeyAlias, host.IdentitiesOnly, host.IdentityAgent));

        await using var connected = await HostResolver.ConnectAsync(host, Options, CancellationToken.None);
        var client = await ClientOfSessionAsync(connected);
        AssertSessionCameThrough(env.Bastion2, env.Target, client);
        var agentKey = env.Fingerprint("agent_ed25519");
        Assert.Equal(agentKey, (await env.Target.WaitForLogAsync($@"Accepted publickey for \S+ from \S+ port {client.Port} ssh2: \S+ (\S+)\r?$")).Groups[1].Value);
        Assert.True((await env.Bastion1.WaitForLogAsync($@"Accepted publickey for \S+ from .* ED25519 {Regex.Escape(agentKey)}\r?$")).Success);
        Assert.True((await env.Bastion2.WaitForLogAsync($@"Accepted publickey for \S+ from .* ED25519 {Regex.Escape(agentKey)}\r?$")).Success);
    }

    [Fact]
    public async Task Given_a_two_hop_chain_When_many_commands_wait_at_once_Then_they_run_side_by_side()
    {
        // Each jump forward holds a thread-pool thread for its connection's lifetime (SSH.NET reads its socket
        // blocking); the commands' pending reads must still not wait for the pool to grow. SSH.NET runs at most 10
        // sessions at once, so 16 commands take two rounds: ~3.5 s measured here, the same as without jump hosts (the
        // bound is the one the direct test uses).
        await using var host = await HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1,jb2"), Options, CancellationToken.None);
        const int commands = 16;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, commands)
            .Select(i => host.RunAsync(["sh", "-c", $"sleep 1; echo out{i}"], CancellationToken.None)));
        var elapsed = sw.Elapsed;
        for (var i = 0; i < commands; i++) Assert.EndsWith($"out{i}\n", results[i].StandardOutput);
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"{commands} one-second commands took {elapsed.TotalSeconds:n1} s");
    }

    [Fact]
    public async Task Given_only_an_agent_holds_the_key_When_connecting_Then_the_agent_signs_and_without_the_agent_KeyFileInvalid_names_it()
    {
        var missing = Path.Combine(env.Dir, "no_such_key");
        await using (var host = await HostResolver.ConnectAsync(env.TargetHost(identityFiles: [missing], identityAgent: env.AgentSocket), Options, CancellationToken.None))
        {
            var client = await ClientOfSessionAsync(host);
            // The stranger key (first in the agent) was refused; the agent's ed25519 key got in.
            var accepted = await env.Target.WaitForLogAsync($@"Accepted publickey for \S+ from \S+ port {client.Port} ssh2: (\S+) (\S+)\r?$");
            Assert.True(accepted.Success);
            Assert.Equal(env.Fingerprint("agent_ed25519"), accepted.Groups[2].Value);
        }

        var none = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(identityFiles: [missing], identityAgent: "none"), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.KeyFileInvalid, none.ErrorId);
        Assert.Contains("IdentityAgent is none", none.Message);

        var gone = Path.Combine(env.Dir, "gone.sock");
        var unreachable = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(identityFiles: [missing], identityAgent: gone), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.KeyFileInvalid, unreachable.ErrorId);
        Assert.Contains(gone, unreachable.Message);
    }

    [Fact]
    public async Task Given_an_unreachable_agent_When_a_key_file_exists_Then_the_file_is_used()
    {
        await using var host = await HostResolver.ConnectAsync(
            env.TargetHost(identityAgent: Path.Combine(env.Dir, "gone.sock")), Options, CancellationToken.None);
        var client = await ClientOfSessionAsync(host);
        var accepted = await env.Target.WaitForLogAsync($@"Accepted publickey for \S+ from \S+ port {client.Port} ssh2: (\S+) (\S+)\r?$");
        Assert.Equal(env.Fingerprint("id_file"), accepted.Groups[2].Value);
    }

    [Theory]
    [InlineData("agent_rsa", "RSA")]
    [InlineData("agent_ecdsa", "ECDSA")]
    [InlineData("agent_ed25519", "ED25519")]
    public async Task Given_IdentitiesOnly_and_a_public_key_file_When_connecting_Then_only_the_matching_agent_key_is_used(string key, string logType)
    {
        var host = env.TargetHost(identityFiles: [Path.Combine(env.Dir, key + ".pub")], identitiesOnly: true, identityAgent: env.AgentSocket);
        await using var connected = await HostResolver.ConnectAsync(host, Options, CancellationToken.None);
        var client = await ClientOfSessionAsync(connected);
        var accepted = await env.Target.WaitForLogAsync($@"Accepted publickey for \S+ from \S+ port {client.Port} ssh2: (\S+) (\S+)\r?$");
        Assert.Equal(logType, accepted.Groups[1].Value);
        Assert.Equal(env.Fingerprint(key), accepted.Groups[2].Value);
        // Only that key was offered: the target logged no other key for this connection.
        var log = File.ReadAllText(env.Target.LogPath);
        Assert.DoesNotContain($"port {client.Port} ssh2: ED25519 {env.Fingerprint("agent_stranger")}", log);
    }

    [Fact]
    public async Task Given_IdentitiesOnly_with_an_identity_the_server_refuses_When_connecting_Then_the_agents_other_keys_are_not_offered()
    {
        var strangerOnly = new[] { Path.Combine(env.Dir, "agent_stranger.pub") };
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(
            env.TargetHost(identityFiles: strangerOnly, identitiesOnly: true, identityAgent: env.AgentSocket), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.SshAuthenticationFailed, ex.ErrorId);
        Assert.Contains(env.AgentSocket, ex.Message);
        Assert.Contains(env.Fingerprint("agent_stranger"), ex.Message);
        Assert.DoesNotContain(env.Fingerprint("agent_ed25519"), ex.Message);

        // Without IdentitiesOnly the same settings get in with the agent's other keys.
        await using var host = await HostResolver.ConnectAsync(
            env.TargetHost(identityFiles: strangerOnly, identitiesOnly: false, identityAgent: env.AgentSocket), Options, CancellationToken.None);
        Assert.Equal(0, (await host.RunAsync(["true"], CancellationToken.None)).ExitCode);
    }

    [Fact]
    public async Task Given_an_encrypted_key_file_the_agent_also_holds_When_connecting_without_passphrase_Then_the_agent_key_is_used()
    {
        var locked = new[] { Path.Combine(env.Dir, "locked") };
        var withoutAgent = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(identityFiles: locked, identityAgent: "none"), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.KeyFileInvalid, withoutAgent.ErrorId);
        Assert.DoesNotContain("locked pass", withoutAgent.Message);

        // IdentitiesOnly: the file has no .pub, so its key is recognised from the file's unencrypted header.
        await using var host = await HostResolver.ConnectAsync(
            env.TargetHost(identityFiles: locked, identitiesOnly: true, identityAgent: env.AgentSocket), Options, CancellationToken.None);
        var client = await ClientOfSessionAsync(host);
        var accepted = await env.Target.WaitForLogAsync($@"Accepted publickey for \S+ from \S+ port {client.Port} ssh2: (\S+) (\S+)\r?$");
        Assert.Equal(TestEnvironment.Sh($"ssh-keygen -lf {env.Dir}/locked -P 'locked pass' | cut -d' ' -f2").Trim(), accepted.Groups[2].Value);
    }

    [Fact]
    public async Task Given_a_wrong_jump_host_key_When_connecting_Then_HostKeyMismatch_names_the_jump_host()
    {
        var other = Path.Combine(env.Dir, "other_host");
        if (!File.Exists(other)) TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N '' -f {other}");
        var otherKey = string.Join(' ', File.ReadAllText(other + ".pub").Split(' ').Take(2));
        var kh = Path.Combine(env.Dir, "known_hosts_wrong_bastion");
        File.WriteAllText(kh, $"[{env.Bastion1.Address}]:{env.Bastion1.Port} {otherKey}\n" + env.Target.KnownHostsLine);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1", knownHosts: kh), new SshConnectOptions { AcceptNewHostKey = true }, CancellationToken.None));
        Assert.Equal(HbErrorIds.HostKeyMismatch, ex.ErrorId);
        Assert.Contains($"jump host [{env.Bastion1.Address}]:{env.Bastion1.Port}", ex.Message);
        Assert.Contains("jb1", ex.Target?.ToString());

        File.WriteAllText(kh, env.Bastion1.KnownHostsLine + env.Target.KnownHostsLine);
        var unknown = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(
            env.TargetHost(proxyJump: $"jb1,{env.Bastion2.Address}:{env.Bastion2.Port}", knownHosts: kh), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.HostKeyUnknown, unknown.ErrorId);
        Assert.Contains($"jump host [{env.Bastion2.Address}]:{env.Bastion2.Port}", unknown.Message);
    }

    [Fact]
    public async Task Given_a_target_behind_a_jump_When_its_key_is_recorded_only_under_its_HostKeyAlias_Then_the_alias_is_looked_up()
    {
        var kh = Path.Combine(env.Dir, "known_hosts_alias");
        var targetKey = env.Target.KnownHostsLine.Split(' ', 2)[1];
        File.WriteAllText(kh, env.Bastion1.KnownHostsLine + "hbops-target-alias " + targetKey);
        await using (var host = await HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1", hostKeyAlias: "hbops-target-alias", knownHosts: kh), Options, CancellationToken.None))
        {
            Assert.Equal(0, (await host.RunAsync(["true"], CancellationToken.None)).ExitCode);
        }
        // Without the alias the target's own name and port are looked up (never the forward's 127.0.0.1 port).
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1", knownHosts: kh), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.HostKeyUnknown, ex.ErrorId);
        Assert.Contains($"[{env.Target.Address}]:{env.Target.Port}", ex.Message);
        Assert.DoesNotContain("jump host", ex.Message);
    }

    [Fact]
    public async Task Given_a_jump_host_that_cannot_reach_the_target_When_connecting_Then_SshConnectionFailed_names_the_jump_host()
    {
        var closed = new TcpListener(System.Net.IPAddress.Parse(env.Target.Address), 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(env.TargetHost(proxyJump: "jb1", port: port), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.SshConnectionFailed, ex.ErrorId);
        Assert.Contains("through jump host jb1", ex.Message);
    }

    [Fact]
    public async Task Given_a_jump_host_that_refuses_the_user_When_connecting_Then_SshAuthenticationFailed_names_the_jump_host()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(
            env.TargetHost(proxyJump: $"hbops-nobody@{env.Bastion1.Address}:{env.Bastion1.Port}"), Options, CancellationToken.None));
        Assert.Equal(HbErrorIds.SshAuthenticationFailed, ex.ErrorId);
        Assert.Contains("on jump host ", ex.Message);
        Assert.Contains($"hbops-nobody@{env.Bastion1.Address}:{env.Bastion1.Port}", ex.Message);
    }
}
