using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

public class KnownHostsTests
{
    private static readonly byte[] Key = Encoding.ASCII.GetBytes("fake-ed25519-key-blob-one");
    private static readonly byte[] Other = Encoding.ASCII.GetBytes("fake-ed25519-key-blob-two");
    private static string B64(byte[] b) => Convert.ToBase64String(b);

    private static string Hashed(string hostField)
    {
        var salt = RandomNumberGenerator.GetBytes(20);
#pragma warning disable CA5350 // the format under test is HMAC-SHA1
        var hash = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(hostField));
#pragma warning restore CA5350
        return $"|1|{B64(salt)}|{B64(hash)}";
    }

    [Fact]
    public void Plain_entry_on_port_22_is_trusted()
    {
        var text = $"db.example.test,192.0.2.5 ssh-ed25519 {B64(Key)} comment\n";
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.Check(new[] { text }, "192.0.2.5", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Bracketed_host_and_port_entry_is_trusted_only_for_that_port()
    {
        var text = $"[127.0.0.1]:2222 ssh-ed25519 {B64(Key)}\n";
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.Check(new[] { text }, "127.0.0.1", 2222, "ssh-ed25519", Key));
        Assert.Equal(HostKeyStatus.Unknown, KnownHosts.Check(new[] { text }, "127.0.0.1", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Hashed_entries_match_plain_and_bracketed_names()
    {
        var text = $"{Hashed("db.example.test")} ssh-ed25519 {B64(Key)}\n{Hashed("[127.0.0.1]:2222")} ssh-ed25519 {B64(Key)}\n";
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.Check(new[] { text }, "db.example.test", 22, "ssh-ed25519", Key));
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.Check(new[] { text }, "127.0.0.1", 2222, "ssh-ed25519", Key));
        Assert.Equal(HostKeyStatus.Unknown, KnownHosts.Check(new[] { text }, "other.example.test", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Changed_key_of_the_same_type_is_a_mismatch()
    {
        var text = $"db.example.test ssh-ed25519 {B64(Other)}\n";
        Assert.Equal(HostKeyStatus.Mismatch, KnownHosts.Check(new[] { text }, "db.example.test", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Revoked_key_is_a_mismatch_even_when_also_listed()
    {
        var text = $"db.example.test ssh-ed25519 {B64(Key)}\n@revoked * ssh-ed25519 {B64(Key)}\n";
        Assert.Equal(HostKeyStatus.Mismatch, KnownHosts.Check(new[] { text }, "db.example.test", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Wildcards_and_negation_in_host_fields()
    {
        var text = $"*.example.test,!evil.example.test ssh-ed25519 {B64(Key)}\n";
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.Check(new[] { text }, "db.example.test", 22, "ssh-ed25519", Key));
        Assert.Equal(HostKeyStatus.Unknown, KnownHosts.Check(new[] { text }, "evil.example.test", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Other_key_types_do_not_vouch_for_a_key()
    {
        var text = $"db.example.test ecdsa-sha2-nistp256 {B64(Other)}\n";
        Assert.Equal(HostKeyStatus.Unknown, KnownHosts.Check(new[] { text }, "db.example.test", 22, "ssh-ed25519", Key));
    }

    [Fact]
    public void Append_writes_an_entry_that_is_then_trusted()
    {
        var file = Path.Combine(Path.GetTempPath(), "hbops-kh-" + Guid.NewGuid().ToString("N"));
        KnownHosts.Append(file, "127.0.0.1", 2200, "ssh-ed25519", Key);
        Assert.Equal(HostKeyStatus.Trusted, KnownHosts.CheckFiles(new[] { file }, "127.0.0.1", 2200, "ssh-ed25519", Key));
        File.Delete(file);
    }

    [Fact]
    public void Fingerprint_is_openssh_style()
    {
        var fp = KnownHosts.Fingerprint(Key);
        Assert.StartsWith("SHA256:", fp);
        Assert.DoesNotContain("=", fp);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(Key)).TrimEnd('='), fp["SHA256:".Length..]);
    }
}
