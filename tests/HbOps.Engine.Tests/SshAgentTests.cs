using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;
using Renci.SshNet;
using Renci.SshNet.Common;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>A stream standing in for an agent connection: records what is written, reads back a prepared reply.</summary>
internal sealed class ScriptedAgentStream(params byte[][] replies) : Stream
{
    private readonly MemoryStream _reply = new(replies.SelectMany(r => r).ToArray());
    public MemoryStream Written { get; } = new();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => _reply.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
}

/// <summary>Builds agent protocol frames and key blobs for the tests.</summary>
internal static class AgentWire
{
    public static byte[] Frame(byte type, Action<SshWireWriter>? body = null)
    {
        var w = new SshWireWriter().Byte(type);
        body?.Invoke(w);
        return new SshWireWriter().String(w.ToArray()).ToArray();
    }

    public static byte[] Ed25519Blob() => new SshWireWriter().String("ssh-ed25519").String(RandomNumberGenerator.GetBytes(32)).ToArray();

    public static byte[] RsaBlob() => new SshWireWriter().String("ssh-rsa").String([1, 0, 1]).String(RandomNumberGenerator.GetBytes(257)).ToArray();

    public static byte[] IdentitiesAnswer(params (byte[] Blob, string Comment)[] keys) => Frame(SshAgentClient.IdentitiesAnswer, w =>
    {
        w.UInt32((uint)keys.Length);
        foreach (var (blob, comment) in keys) w.String(blob).String(comment);
    });

    public static byte[] Signature(string format) =>
        new SshWireWriter().String(format).String(RandomNumberGenerator.GetBytes(64)).ToArray();

    public static byte[] SignResponse(byte[] signature) => Frame(SshAgentClient.SignResponse, w => w.String(signature));
}

public class SshAgentWireTests
{
    [Fact]
    public void Listing_keys_sends_REQUEST_IDENTITIES_and_reads_blobs_and_comments_in_order()
    {
        var a = AgentWire.Ed25519Blob();
        var b = AgentWire.RsaBlob();
        var stream = new ScriptedAgentStream(AgentWire.IdentitiesAnswer((a, "ops@laptop"), (b, "")));
        using var agent = new SshAgentClient(stream, "/run/test.sock");

        var keys = agent.ListIdentities();

        Assert.Equal(new byte[] { 0, 0, 0, 1, 11 }, stream.Written.ToArray());
        Assert.Equal(2, keys.Count);
        Assert.Equal(a, keys[0].PublicKey);
        Assert.Equal("ssh-ed25519", keys[0].KeyType);
        Assert.Equal("ops@laptop", keys[0].Comment);
        Assert.Equal(KnownHosts.Fingerprint(a), keys[0].Fingerprint);
        Assert.Equal("ssh-rsa", keys[1].KeyType);
        Assert.Equal($"ssh-rsa {KnownHosts.Fingerprint(b)}", keys[1].ToString());
    }

    [Fact]
    public void Signing_sends_the_key_the_data_and_the_flags_and_returns_the_signature_blob()
    {
        var key = AgentWire.RsaBlob();
        var signature = AgentWire.Signature("rsa-sha2-512");
        var stream = new ScriptedAgentStream(AgentWire.SignResponse(signature));
        using var agent = new SshAgentClient(stream, "/run/test.sock");
        var data = "session id and request"u8.ToArray();

        var result = agent.Sign(key, data, SshAgentClient.RsaSha512);

        Assert.Equal(signature, result);
        var expectedBody = new SshWireWriter().Byte(13).String(key).String(data).UInt32(4).ToArray();
        Assert.Equal(new SshWireWriter().String(expectedBody).ToArray(), stream.Written.ToArray());
    }

    [Fact]
    public void An_agent_failure_reply_to_a_sign_request_is_a_refusal_not_an_error()
    {
        using var agent = new SshAgentClient(new ScriptedAgentStream(AgentWire.Frame(SshAgentClient.AgentFailure)), "a");
        Assert.Null(agent.Sign(AgentWire.Ed25519Blob(), [1, 2, 3], 0));
    }

    [Theory]
    [InlineData(new byte[] { 0, 4, 0, 1, 12 })]                          // 256 KiB + 1: longer than any agent message
    [InlineData(new byte[] { 0, 0, 0, 0 })]                              // empty message
    [InlineData(new byte[] { 0, 0, 0, 5, 12, 0, 0, 0, 1 })]             // one key announced, none sent
    [InlineData(new byte[] { 0, 0, 0, 9, 12, 0, 0, 0, 1, 0, 0, 0, 9 })] // key blob longer than the message
    [InlineData(new byte[] { 0, 0, 0, 5, 12, 255, 255, 255, 255 })]     // absurd key count
    [InlineData(new byte[] { 0, 0, 0, 1, 14 })]                          // a sign response to a list request
    [InlineData(new byte[] { 0, 0, 0, 6, 12, 0, 0, 0, 0, 7 })]          // trailing byte
    [InlineData(new byte[] { 0, 0 })]                                    // connection closed mid-length
    public void Malformed_replies_are_InvalidData_or_end_of_stream(byte[] reply)
    {
        using var agent = new SshAgentClient(new ScriptedAgentStream(reply), "a");
        var ex = Assert.ThrowsAny<Exception>(() => agent.ListIdentities());
        Assert.True(ex is InvalidDataException or EndOfStreamException, ex.GetType().Name);
    }

    [Theory]
    [InlineData("ssh-ed25519", "ssh-ed25519", 0u)]
    [InlineData("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256", 0u)]
    [InlineData("sk-ssh-ed25519@openssh.com", "sk-ssh-ed25519@openssh.com", 0u)]
    [InlineData("ssh-rsa", "rsa-sha2-512,rsa-sha2-256", 4u)]
    [InlineData("ssh-rsa-cert-v01@openssh.com", "rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com", 4u)]
    public void Agent_keys_offer_SHA2_for_RSA_and_their_own_name_otherwise(string keyType, string names, uint firstFlags)
    {
        var algorithms = AgentKey.AlgorithmsFor(keyType);
        Assert.Equal(names, string.Join(',', algorithms.Select(a => a.Name)));
        Assert.Equal(firstFlags, algorithms[0].Flags);
        if (algorithms.Count > 1) Assert.Equal(SshAgentClient.RsaSha256, algorithms[1].Flags);
    }

    [Fact]
    public void An_agent_key_presents_its_blob_and_returns_the_agents_signature_unchanged()
    {
        var blob = AgentWire.Ed25519Blob();
        var signature = AgentWire.Signature("ssh-ed25519");
        using var agent = new SshAgentClient(new ScriptedAgentStream(AgentWire.SignResponse(signature)), "/run/a.sock");
        var key = new AgentKey(agent, new AgentIdentity(blob, "c"));
        var algorithm = Assert.Single(key.HostKeyAlgorithms);
        Assert.Equal("ssh-ed25519", algorithm.Name);
        Assert.Equal(blob, algorithm.Data);
        Assert.Equal(signature, algorithm.Sign([9, 9]));
    }

    [Fact]
    public void An_agent_that_signs_RSA_with_SHA1_or_refuses_fails_authentication_naming_the_agent()
    {
        var blob = AgentWire.RsaBlob();
        using (var sha1 = new SshAgentClient(new ScriptedAgentStream(AgentWire.SignResponse(AgentWire.Signature("ssh-rsa"))), "/run/old.sock"))
        {
            var algorithm = new AgentKey(sha1, new AgentIdentity(blob, "")).HostKeyAlgorithms.First();
            Assert.Equal("rsa-sha2-512", algorithm.Name);
            var ex = Assert.Throws<SshAuthenticationException>(() => algorithm.Sign([1]));
            Assert.Contains("/run/old.sock", ex.Message);
            Assert.Contains("rsa-sha2-512", ex.Message);
        }
        using var refusing = new SshAgentClient(new ScriptedAgentStream(AgentWire.Frame(SshAgentClient.AgentFailure)), "/run/no.sock");
        var refused = Assert.Throws<SshAuthenticationException>(() => new AgentKey(refusing, new AgentIdentity(blob, "")).HostKeyAlgorithms.Last().Sign([1]));
        Assert.Contains("refused", refused.Message);
        Assert.Contains(KnownHosts.Fingerprint(blob), refused.Message);
    }
}

public class SshPublicKeyTests
{
    [Fact]
    public void A_public_key_line_parses_when_its_type_matches_the_blob()
    {
        var blob = AgentWire.Ed25519Blob();
        Assert.Equal(blob, SshPublicKeys.ParsePublicKeyLine($"ssh-ed25519 {Convert.ToBase64String(blob)} me@host\n"));
        Assert.Null(SshPublicKeys.ParsePublicKeyLine($"ssh-rsa {Convert.ToBase64String(blob)}"));
        Assert.Null(SshPublicKeys.ParsePublicKeyLine("-----BEGIN OPENSSH PRIVATE KEY-----"));
        Assert.Null(SshPublicKeys.ParsePublicKeyLine("ssh-ed25519 not-base64!"));
    }

    [Fact]
    public void The_public_key_of_an_encrypted_OpenSSH_private_key_is_read_from_its_header()
    {
        var blob = AgentWire.Ed25519Blob();
        var body = "openssh-key-v1\0"u8.ToArray().Concat(new SshWireWriter()
            .String("aes256-ctr").String("bcrypt").String(RandomNumberGenerator.GetBytes(24)).UInt32(1).String(blob)
            .String(RandomNumberGenerator.GetBytes(160)).ToArray()).ToArray();
        var b64 = Convert.ToBase64String(body);
        var wrapped = string.Join('\n', Enumerable.Range(0, (b64.Length + 69) / 70).Select(i => b64.Substring(i * 70, Math.Min(70, b64.Length - i * 70))));
        var pem = $"-----BEGIN OPENSSH PRIVATE KEY-----\n{wrapped}\n-----END OPENSSH PRIVATE KEY-----\n";
        Assert.Equal(blob, SshPublicKeys.FromOpenSshPrivateKey(pem));
        Assert.Null(SshPublicKeys.FromOpenSshPrivateKey("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"));

        var dir = Directory.CreateTempSubdirectory("hbops-pub").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "id"), pem);
            Assert.Equal(blob, SshPublicKeys.ReadForIdentityFile(Path.Combine(dir, "id")));
            // A .pub beside the key wins (OpenSSH reads it first).
            var other = AgentWire.Ed25519Blob();
            File.WriteAllText(Path.Combine(dir, "id.pub"), $"ssh-ed25519 {Convert.ToBase64String(other)} c\n");
            Assert.Equal(other, SshPublicKeys.ReadForIdentityFile(Path.Combine(dir, "id")));
            Assert.True(SshPublicKeys.IsPublicKeyFile(Path.Combine(dir, "id.pub")));
            Assert.False(SshPublicKeys.IsPublicKeyFile(Path.Combine(dir, "id")));
            Assert.Null(SshPublicKeys.ReadForIdentityFile(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public class SshAgentLocationTests
{
    private static readonly Dictionary<string, string> Env = new() { ["SSH_AUTH_SOCK"] = "/run/user/0/agent.sock", ["OTHER_SOCK"] = "/tmp/other.sock" };
    private static string? Lookup(string name) => Env.GetValueOrDefault(name);

    [Theory]
    [InlineData(null, "/run/user/0/agent.sock")]
    [InlineData("SSH_AUTH_SOCK", "/run/user/0/agent.sock")]
    [InlineData("$OTHER_SOCK", "/tmp/other.sock")]
    [InlineData("/srv/agent.sock", "/srv/agent.sock")]
    public void IdentityAgent_names_a_socket_or_a_variable_holding_one(string? identityAgent, string expected)
    {
        Assert.Equal(expected, SshKeys.AgentLocation(identityAgent, Lookup, out _));
    }

    [Fact]
    public void Tilde_expands_to_the_home_directory()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".ssh/agent.sock"), SshKeys.AgentLocation("~/.ssh/agent.sock", Lookup, out _));
    }

    [Theory]
    [InlineData("none", "IdentityAgent is none")]
    [InlineData("$UNSET_SOCK", "UNSET_SOCK is not set")]
    public void None_or_an_empty_variable_means_no_agent_with_the_reason(string identityAgent, string reason)
    {
        Assert.Null(SshKeys.AgentLocation(identityAgent, Lookup, out var why));
        Assert.Equal(reason, why);
    }

    [Fact]
    public void No_SSH_AUTH_SOCK_means_no_agent()
    {
        if (OperatingSystem.IsWindows()) return; // Windows falls back to OpenSSH's agent pipe
        Assert.Null(SshKeys.AgentLocation(null, _ => null, out var why));
        Assert.Equal("SSH_AUTH_SOCK is not set", why);
    }
}

/// <summary>An in-process agent on a unix socket that lists fixed keys (it never signs).</summary>
internal sealed class ListingAgent : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();

    public ListingAgent(string path, params byte[][] keys)
    {
        Path = path;
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(4);
        var answer = AgentWire.IdentitiesAnswer(keys.Select((k, i) => (k, $"key{i}")).ToArray());
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await _listener.AcceptAsync(_stop.Token);
                var request = new byte[5];
                await client.ReceiveAsync(request, SocketFlags.None);
                await client.SendAsync(answer, SocketFlags.None);
            }
        });
    }

    public string Path { get; }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _stop.Dispose();
    }
}

public class SshKeyPlanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hbops-plan").FullName;

    public void Dispose()
    {
        Directory.Delete(_dir, true);
        GC.SuppressFinalize(this);
    }

    // A real key file (ssh-keygen), with its .pub, optionally encrypted.
    private string KeyFile(string name, string? passphrase = null)
    {
        var path = Path.Combine(_dir, name);
        var psi = new ProcessStartInfo("ssh-keygen") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-q", "-t", "ed25519", "-N", passphrase ?? "", "-C", name, "-f", path }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    private static byte[] PublicOf(string keyFile) => SshPublicKeys.ReadForIdentityFile(keyFile)!;

    private static HbHost Host(IEnumerable<string> files, string? agent, bool identitiesOnly = false) => new()
    {
        Kind = HbHostKind.Ssh, HostName = "203.0.113.7", User = "ops", IdentityFiles = files.ToList(),
        IdentityAgent = agent, IdentitiesOnly = identitiesOnly,
    };

    private static SshKeyPlan Plan(HbHost host, string? passphrase = null)
    {
        using var agents = new SshAgentPool(TimeSpan.FromSeconds(5));
        return SshKeys.Plan(host, passphrase, agents, _ => null);
    }

    [Fact]
    public void Agent_keys_come_first_in_the_agents_order_then_the_files_the_agent_does_not_hold()
    {
        var inAgent = KeyFile("in_agent");
        var onlyFile = KeyFile("only_file");
        var other = AgentWire.Ed25519Blob();
        using var agent = new ListingAgent(Path.Combine(_dir, "a.sock"), other, PublicOf(inAgent));

        var plan = Plan(Host([Path.Combine(_dir, "missing"), inAgent, onlyFile], agent.Path));

        Assert.Equal(3, plan.Keys.Count);
        Assert.Equal(other, Assert.IsType<AgentKey>(plan.Keys[0]).Identity.PublicKey);
        Assert.Equal(PublicOf(inAgent), Assert.IsType<AgentKey>(plan.Keys[1]).Identity.PublicKey);
        Assert.IsType<PrivateKeyFile>(plan.Keys[2]);
        Assert.Equal(onlyFile, plan.Offered[2]);
        Assert.Contains(agent.Path, plan.Agent);
        Assert.Contains("2 keys", plan.Agent);
    }

    [Fact]
    public void IdentitiesOnly_offers_only_agent_keys_matching_an_identity_file_or_its_pub()
    {
        var wanted = KeyFile("wanted");
        File.Delete(wanted); // only wanted.pub is left: the private key lives in the agent alone
        using var agent = new ListingAgent(Path.Combine(_dir, "a.sock"), AgentWire.Ed25519Blob(), PublicOf(wanted + ".pub"), AgentWire.RsaBlob());

        var plan = Plan(Host([wanted + ".pub"], agent.Path, identitiesOnly: true));

        var key = Assert.IsType<AgentKey>(Assert.Single(plan.Keys));
        Assert.Equal(PublicOf(wanted + ".pub"), key.Identity.PublicKey);
        Assert.Contains("1 matching an IdentityFile", plan.Agent);

        var all = Plan(Host([wanted + ".pub"], agent.Path, identitiesOnly: false));
        Assert.Equal(3, all.Keys.Count);
    }

    [Fact]
    public void IdentitiesOnly_with_no_matching_agent_key_and_no_private_file_is_KeyFileInvalid_saying_so()
    {
        var stranger = KeyFile("stranger");
        File.Delete(stranger);
        using var agent = new ListingAgent(Path.Combine(_dir, "a.sock"), AgentWire.Ed25519Blob());
        var ex = Assert.Throws<HbOpsException>(() => Plan(Host([stranger + ".pub"], agent.Path, identitiesOnly: true)));
        Assert.Equal(HbErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Contains("none matching an IdentityFile", ex.Message);
    }

    [Fact]
    public void An_encrypted_file_without_passphrase_is_skipped_beside_agent_keys_and_an_error_alone()
    {
        var locked = KeyFile("locked", passphrase: "pw-not-in-messages");
        using var agent = new ListingAgent(Path.Combine(_dir, "a.sock"), AgentWire.Ed25519Blob());

        var plan = Plan(Host([locked], agent.Path));
        Assert.IsType<AgentKey>(Assert.Single(plan.Keys));
        Assert.Contains($"{locked} (encrypted, no passphrase given)", plan.Describe());

        var alone = Assert.Throws<HbOpsException>(() => Plan(Host([locked], "none")));
        Assert.Equal(HbErrorIds.KeyFileInvalid, alone.ErrorId);
        Assert.Contains("encrypted", alone.Message);

        // With the passphrase the file is offered after the agent's key.
        Assert.Equal(2, Plan(Host([locked], agent.Path), "pw-not-in-messages").Keys.Count);
    }

    [Fact]
    public void An_encrypted_file_whose_key_the_agent_holds_needs_no_passphrase()
    {
        var locked = KeyFile("locked", passphrase: "secret");
        using var agent = new ListingAgent(Path.Combine(_dir, "a.sock"), PublicOf(locked));
        var plan = Plan(Host([locked], agent.Path));
        Assert.IsType<AgentKey>(Assert.Single(plan.Keys));
        Assert.Empty(plan.NotOffered);
    }

    [Fact]
    public void No_key_file_and_an_unreachable_agent_is_KeyFileInvalid_naming_the_socket()
    {
        var socket = Path.Combine(_dir, "nobody-listens.sock");
        var ex = Assert.Throws<HbOpsException>(() => Plan(Host([Path.Combine(_dir, "id_ed25519")], socket)));
        Assert.Equal(HbErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.Contains(socket, ex.Message);
        Assert.Contains("unreachable", ex.Message);
    }

    [Fact]
    public void An_unreachable_agent_falls_back_to_the_key_files()
    {
        var file = KeyFile("id");
        var plan = Plan(Host([file], Path.Combine(_dir, "nobody-listens.sock")));
        Assert.IsType<PrivateKeyFile>(Assert.Single(plan.Keys));
    }
}
