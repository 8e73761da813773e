using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Records;
using HbOps.Engine.Restore;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>Recipient and identity checks, the manifest's Encryption section, and how a decryption's report is judged.</summary>
public class EncryptionValidationTests
{
    // Public keys only (written by age-keygen -y and ssh-keygen for these tests); no private key is in the source.
    private const string AgeRecipient = "age1r4v5qm0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg33u";
    private const string SshRecipient = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBrcmmkeKvTWj/StWNg+JEpkW0P4sqgX13WA4gV1I2B0";

    [Fact]
    public void Age_and_ssh_recipients_are_accepted_normalised_and_deduplicated()
    {
        var r = AgeEncryption.ValidateRecipients(new[] { " " + AgeRecipient + " ", SshRecipient + " test@x", AgeRecipient });
        Assert.Equal(new[] { AgeRecipient, SshRecipient }, r);
    }

    [Theory]
    [InlineData("age1r4v5qm0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg33v")] // checksum
    [InlineData("age1r4v5qm0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg3")] // truncated
    [InlineData("AGE1R4V5QM0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg33u")] // mixed case
    [InlineData("age1yubikey1qwerty")]
    [InlineData("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ")] // blob of another type
    [InlineData("ssh-dss AAAAB3NzaC1kc3MAAACBA")]
    [InlineData("")]
    [InlineData("age1r4v5qm0gnkq45zpnape298rt0u5zddg3znyrag9ntnxwpgthp9ws5rg33u\n-r evil")]
    public void Anything_else_is_RecipientInvalid(string value)
    {
        var ex = Assert.Throws<HbOpsException>(() => AgeEncryption.ValidateRecipients(new[] { value }));
        Assert.Equal(HbErrorIds.RecipientInvalid, ex.ErrorId);
        Assert.Equal(HbErrorCategory.InvalidArgument, ex.Category);
    }

    [Fact]
    public void A_private_key_passed_as_recipient_is_refused_without_repeating_it()
    {
        var secret = "AGE-SECRET-KEY-1" + new string('Q', 58);
        var ex = Assert.Throws<HbOpsException>(() => AgeEncryption.ValidateRecipients(new[] { secret }));
        Assert.Equal(HbErrorIds.RecipientInvalid, ex.ErrorId);
        Assert.DoesNotContain("QQQQ", ex.Message, StringComparison.Ordinal);
        Assert.Null(ex.Target);
    }

    [Fact]
    public void An_identity_file_is_reduced_to_its_key_lines()
    {
        var key = AgeKeygen().Identity;
        var file = Encoding.UTF8.GetBytes($"# created: 2026-01-01\r\n# public key: {AgeRecipient}\n\n{key}\n");
        Assert.Equal(key + "\n", Encoding.ASCII.GetString(AgeEncryption.ValidateIdentity(file, "id.txt")));
    }

    [Theory]
    [InlineData("")]
    [InlineData(AgeRecipient)]
    [InlineData("AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ")] // bad checksum
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----")]
    [InlineData("# only a comment")]
    public void Anything_but_an_age_identity_file_is_IdentityInvalid_without_its_content_in_the_message(string content)
    {
        var ex = Assert.Throws<HbOpsException>(() => AgeEncryption.ValidateIdentity(Encoding.UTF8.GetBytes(content), "id.txt"));
        Assert.Equal(HbErrorIds.IdentityInvalid, ex.ErrorId);
        Assert.DoesNotContain("QQQQ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("b3BlbnNz", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_manifest_round_trips_the_encryption_section_and_an_unencrypted_one_has_none()
    {
        var a = new HbBackupArtefact
        {
            FileName = "d.dump", Sha256 = new string('a', 64),
            Encryption = new HbEncryption { ToolVersion = "1.1.1", Recipients = { AgeRecipient, SshRecipient }, PlaintextSha256 = new string('b', 64), PlaintextSizeBytes = 42 },
        };
        var back = BackupEngine.ParseManifest(HbYaml.Serialize(a));
        Assert.True(back.Encrypted);
        Assert.Equal("age", back.Encryption!.Tool);
        Assert.Equal("1.1.1", back.Encryption.ToolVersion);
        Assert.Equal(new[] { AgeRecipient, SshRecipient }, back.Encryption.Recipients);
        Assert.Equal(new string('b', 64), back.Encryption.PlaintextSha256);
        Assert.Equal(42, back.Encryption.PlaintextSizeBytes);
        Assert.Equal(new string('a', 64), back.Sha256);
        Assert.False(BackupEngine.ParseManifest(HbYaml.Serialize(new HbBackupArtefact { FileName = "p.dump" })).Encrypted);
    }

    [Fact]
    public async Task The_docker_host_without_age_is_EncryptionUnavailable()
    {
        var host = new FakeCommandHost(argv => (127, "", "sh: 1: age: not found"));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => AgeEncryption.ProbeHostAsync(host, CancellationToken.None));
        Assert.Equal(HbErrorIds.EncryptionUnavailable, ex.ErrorId);
        Assert.Contains("age", ex.Message, StringComparison.Ordinal);
        Assert.Equal("1.1.1", await AgeEncryption.ProbeHostAsync(new FakeCommandHost(_ => (0, "1.1.1\n", "")), CancellationToken.None));
    }

    private static HbBackupArtefact Encrypted(string plainSha) => new()
    {
        Path = "/b/d.dump", FileName = "d.dump",
        Encryption = new HbEncryption { Recipients = { AgeRecipient }, PlaintextSha256 = plainSha },
    };

    [Fact]
    public void A_decryption_that_matched_no_identity_is_DecryptionFailed_naming_the_recipients()
    {
        var output = "hbops-decrypt-rc=1\nhbops-plain-sha256=e3b0\nhbops-decrypt-error=age: error: no identity matched any of the recipients\n" +
            "hbops-decrypt-error=age: report unexpected or unhelpful errors at https://filippo.io/age/report\n";
        var ex = Assert.Throws<HbOpsException>(() => RestoreEngine.CheckDecryption(Encrypted(new string('c', 64)), output, new HbRestoreTestResult()));
        Assert.Equal(HbErrorIds.DecryptionFailed, ex.ErrorId);
        Assert.Contains("no identity matched", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("filippo.io", ex.Message, StringComparison.Ordinal);
        Assert.Contains(AgeRecipient, ex.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plaintext_that_is_not_the_recorded_one_is_ChecksumMismatch_and_the_right_one_is_recorded()
    {
        var good = new string('c', 64);
        var result = new HbRestoreTestResult();
        var ex = Assert.Throws<HbOpsException>(() => RestoreEngine.CheckDecryption(Encrypted(good), $"hbops-decrypt-rc=0\nhbops-plain-sha256={new string('d', 64)}\n", result));
        Assert.Equal(HbErrorIds.ChecksumMismatch, ex.ErrorId);
        Assert.False(result.PlaintextChecksumVerified);
        RestoreEngine.CheckDecryption(Encrypted(good), $"hbops-ready\nhbops-decrypt-rc=0\nhbops-plain-sha256={good}\n", result);
        Assert.True(result.PlaintextChecksumVerified);
        Assert.Equal(good, result.DecryptedSha256);
    }

    internal static (string Identity, string Recipient) AgeKeygen()
    {
        var psi = new ProcessStartInfo("age-keygen") { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var identity = text.Split('\n').Single(l => l.StartsWith("AGE-SECRET-KEY-1", StringComparison.Ordinal));
        var recipient = text.Split('\n').Single(l => l.StartsWith("# public key: ", StringComparison.Ordinal))["# public key: ".Length..];
        return (identity, recipient);
    }
}

/// <summary>
/// Scripts/dump.sh with recipients, run on this machine with age (as on a docker host) and a stand-in for pg_dump:
/// what is written or passed on is age ciphertext of exactly the dump, and the plaintext's SHA-256 and size are reported.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class EncryptingDumpScriptTests
{
    private static readonly LocalCommandHost Local = new();

    private static string Hex(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

    private static byte[] Decrypt(string identity, byte[] ciphertext)
    {
        var dir = Directory.CreateTempSubdirectory("hbops-agetest");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "id"), identity + "\n");
            File.WriteAllBytes(Path.Combine(dir.FullName, "c"), ciphertext);
            var psi = new ProcessStartInfo("age") { RedirectStandardOutput = true };
            foreach (var a in new[] { "-d", "-i", Path.Combine(dir.FullName, "id"), Path.Combine(dir.FullName, "c") }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            using var ms = new MemoryStream();
            p.StandardOutput.BaseStream.CopyTo(ms);
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            return ms.ToArray();
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static string[] TempFolders(string run) => Directory.GetDirectories(Path.GetTempPath(), $"hbops-age-{run}.*");

    [Fact]
    public async Task Host_mode_writes_only_ciphertext_and_reports_the_plaintext_checksum()
    {
        var (identity, recipient) = EncryptionValidationTests.AgeKeygen();
        var dir = Directory.CreateTempSubdirectory("hbops-dumpsh-age").FullName;
        try
        {
            var plain = RandomNumberGenerator.GetBytes(700_000);
            var source = Path.Combine(dir, "plain.src");
            await File.WriteAllBytesAsync(source, plain);
            var run = "abab1212";
            var spec = new HostDumpSpec(run, false, "hbops-test-no-such-container", "u", "d", "hbops-dump-" + run, Path.Combine(dir, "out"), "db_full", new[] { recipient });
            await using var dump = await HostDump.StartAsync(Local, stream: false, spec, new[] { "cat", source }, null, CancellationToken.None);
            var s = await dump.WaitDumpedAsync(CancellationToken.None);
            Assert.True(s.Ended);
            Assert.Equal(0, s.EncryptExit);
            Assert.Equal(Hex(plain), s.PlainSha256);
            Assert.Equal(plain.Length, s.PlainSize);
            var name = await dump.ClaimAsync(s.Sha256!, n => $"fileName: {n}\n", CancellationToken.None);
            var file = await File.ReadAllBytesAsync(Path.Combine(dir, "out", name));
            Assert.StartsWith(AgeEncryption.Header + "\n", Encoding.ASCII.GetString(file, 0, 30), StringComparison.Ordinal);
            Assert.Equal(s.Sha256, Hex(file));
            Assert.Equal(file.Length, s.Size);
            Assert.Equal(plain, Decrypt(identity, file));
            Assert.Empty(TempFolders(run));
            Assert.Equal(new[] { "SHA256SUMS", name, name + ".manifest.yml" }.Order(), Directory.GetFiles(Path.Combine(dir, "out")).Select(Path.GetFileName).Order());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Stream_mode_passes_on_only_ciphertext_and_an_aborted_run_leaves_no_temporary_folder()
    {
        var (identity, recipient) = EncryptionValidationTests.AgeKeygen();
        var run = "cdcd3434";
        var spec = new HostDumpSpec(run, false, "hbops-test-no-such-container", "u", "d", "hbops-dump-" + run, "-", "-", new[] { recipient });
        await using (var dump = await HostDump.StartAsync(Local, stream: true, spec, new[] { "sh", "-c", "head -c 2000000 /dev/zero" }, null, CancellationToken.None))
        {
            using var ms = new MemoryStream();
            await dump.Data.CopyToAsync(ms);
            var s = await dump.WaitDumpedAsync(CancellationToken.None);
            await dump.FinishAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, s.EncryptExit);
            Assert.Equal(2_000_000, s.PlainSize);
            var zeros = new byte[2_000_000];
            Assert.Equal(Hex(zeros), s.PlainSha256);
            Assert.Equal(zeros, Decrypt(identity, ms.ToArray()));
        }
        Assert.Empty(TempFolders(run));

        var run2 = "efef5656";
        var spec2 = spec with { RunId = run2, ApplicationName = "hbops-dump-" + run2 };
        await using (var dump = await HostDump.StartAsync(Local, stream: true, spec2, new[] { "sh", "-c", "head -c 100000 /dev/zero; sleep 2" }, null, CancellationToken.None))
        {
            var first = new byte[1];
            Assert.Equal(1, await dump.Data.ReadAsync(first));
            Assert.True(await dump.AbortAsync());
        }
        Assert.Empty(TempFolders(run2));
    }
}
