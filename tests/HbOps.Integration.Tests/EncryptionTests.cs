using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>One encrypted backup through the SSH alias (as the non-root operator), with a key pair made for it.</summary>
public sealed class EncryptedBackupFixture : IAsyncLifetime
{
    public TestEnvironment Env { get; } = new();
    public ICommandHost Host { get; private set; } = null!;
    public HbBackupArtefact Artefact { get; private set; } = null!;
    public string Root { get; } = TestEnvironment.NewOperatorFolder("hbops-xcrypt-");
    public string Keys { get; } = Directory.CreateTempSubdirectory("hbops-xcrypt-keys-").FullName;
    public byte[] Identity { get; private set; } = null!;
    public string Secret { get; private set; } = "";
    public string Recipient { get; private set; } = "";

    public async Task InitializeAsync()
    {
        TestEnvironment.Sh($"chmod 700 '{Keys}' && age-keygen -o '{Keys}/id' 2>/dev/null");
        Recipient = TestEnvironment.Sh($"age-keygen -y '{Keys}/id'").Trim();
        var file = await File.ReadAllBytesAsync(Path.Combine(Keys, "id"));
        Identity = AgeEncryption.ValidateIdentity(file, "id");
        Secret = Encoding.ASCII.GetString(Identity).Trim();
        Host = await Env.ConnectAsync();
        Artefact = await new BackupEngine(Host).RunAsync(new BackupRequest
        {
            Container = Env.Container, Database = Env.Database, User = Env.User, Destination = Root, Tag = "xcrypt",
            Recipients = new[] { Recipient },
        }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Directory.Delete(Root, true);
        Directory.Delete(Keys, true);
    }
}

public class EncryptionTests(EncryptedBackupFixture f) : IClassFixture<EncryptedBackupFixture>
{
    [Fact]
    public void The_artefact_is_age_ciphertext_of_the_recorded_plaintext()
    {
        var a = f.Artefact;
        Assert.Equal(f.Recipient, Assert.Single(a.Encryption!.Recipients));
        Assert.Equal(AgeEncryption.Header, File.ReadLines(a.Path).First());
        Assert.Equal(a.Sha256, TestEnvironment.Sh($"sha256sum '{a.Path}'").Split(' ')[0]);
        Assert.Equal(a.Encryption.PlaintextSha256, TestEnvironment.Sh($"age -d -i '{f.Keys}/id' '{a.Path}' | sha256sum").Split(' ')[0]);
        Assert.Equal(a.Encryption.PlaintextSizeBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TestEnvironment.Sh($"age -d -i '{f.Keys}/id' '{a.Path}' | wc -c").Trim());
        Assert.Contains(": OK", TestEnvironment.Sh($"cd '{a.RunFolder}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
        var manifest = BackupEngine.ParseManifest(File.ReadAllText(a.ManifestPath));
        Assert.Equal(a.Encryption.PlaintextSha256, manifest.Encryption!.PlaintextSha256);
        Assert.Empty(Directory.GetFiles(a.RunFolder, "*.partial"));
    }

    [Fact]
    public async Task A_kept_sandbox_has_the_identity_only_on_its_private_tmpfs_and_removes_it_once_decrypted()
    {
        var r = await new RestoreEngine(f.Host).RunAsync(f.Artefact, new RestoreRequest { KeepSandbox = true, Identity = f.Identity.ToArray() }, CancellationToken.None);
        try
        {
            Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
            Assert.True(r.PlaintextChecksumVerified);
            Assert.Equal(f.Artefact.Encryption!.PlaintextSha256, r.DecryptedSha256);
            var name = r.Sandbox.Name;
            // The tmpfs: in memory, root-only, size-limited, no devices or set-uid; not a mount of any host folder or volume.
            Assert.Contains("\"/run/hbops-secret\":\"rw,exec,nosuid,nodev,size=16m,mode=0700\"", TestEnvironment.Sh($"docker inspect -f '{{{{json .HostConfig.Tmpfs}}}}' {name}"), StringComparison.Ordinal);
            Assert.DoesNotContain("hbops-secret", TestEnvironment.Sh($"docker inspect -f '{{{{json .Mounts}}}}' {name}"), StringComparison.Ordinal);
            Assert.Matches(@"^tmpfs /run/hbops-secret tmpfs rw,nosuid,nodev", TestEnvironment.Sh($"docker exec {name} grep ' /run/hbops-secret ' /proc/mounts"));
            Assert.Equal("700", TestEnvironment.Sh($"docker exec {name} stat -c %a /run/hbops-secret").Trim());
            // Decrypted and restored: the identity is gone already, age stays until the container goes.
            var left = TestEnvironment.Sh($"docker exec {name} ls /run/hbops-secret").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.DoesNotContain("identity", left);
            Assert.Contains("age", left);
            Assert.True(r.Sandbox.IsolationVerified);
        }
        finally
        {
            Assert.True((await new SandboxManager(f.Host).RemoveAsync(r.Sandbox.Name, CancellationToken.None)).Verified);
        }
        // Nothing the run wrote holds the identity: the record beside the artefact, the run folder, the volumes' folder.
        Assert.DoesNotContain(f.Secret, File.ReadAllText(r.RecordPath), StringComparison.Ordinal);
        Assert.Equal("", TestEnvironment.Sh($"grep -rlF -e '{f.Secret}' '{f.Root}' /var/lib/docker/volumes /var/lib/docker/containers || true").Trim());
    }

    [Fact]
    public async Task Without_an_identity_nothing_is_made_and_the_error_says_IdentityRequired()
    {
        var before = TestEnvironment.Sh("docker ps -aq --filter label=hbops.sandbox=true --filter name=pg-restore-test-xcrypt");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new RestoreEngine(f.Host).RunAsync(f.Artefact, new RestoreRequest(), CancellationToken.None));
        Assert.Equal(HbErrorIds.IdentityRequired, ex.ErrorId);
        Assert.Contains(f.Recipient[..20], ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, TestEnvironment.Sh("docker ps -aq --filter label=hbops.sandbox=true --filter name=pg-restore-test-xcrypt"));
    }

    [Fact]
    public async Task Test_HbBackup_verifies_the_ciphertext_and_does_not_claim_readability()
    {
        var v = await new ArtefactCatalog(f.Host, false).VerifyAsync(f.Artefact, null, CancellationToken.None);
        Assert.Equal(HbVerificationStatus.Verified, v.Status);
        Assert.True(v.Encrypted);
        Assert.Equal(HbCheckStatus.NotRun, v.ReadabilityCheck);
        Assert.False(v.Readable);
    }
}
