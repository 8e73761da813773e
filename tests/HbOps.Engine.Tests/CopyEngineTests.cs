using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Records;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>Copies between folders of this machine (real files): the engine's order, proof and refusals without a network.</summary>
public sealed class CopyEngineTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("hbops-copy").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // An artefact as Invoke-HbBackup -Local leaves it: dump, SHA256SUMS (dump and manifest lines), manifest.
    private HbBackupArtefact MakeArtefact(int size = 3 * 1024 * 1024 + 17)
    {
        var ts = new DateTime(2026, 11, 30, 1, 2, 3, DateTimeKind.Utc);
        var folder = Path.Combine(_root, "src", "hb_2026-11-30");
        Directory.CreateDirectory(folder);
        var bytes = RandomNumberGenerator.GetBytes(size);
        var a = new HbBackupArtefact
        {
            RunId = "c0ffee01", FileName = "directus_full_20261130T010203Z.dump", RunFolder = folder, Location = HbArtefactLocation.Local, Tag = "hb",
            Database = "directus", Container = "postgres", User = "directus", TimestampUtc = ts, SizeBytes = size, ServerMajor = 15,
            Sha256 = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant(),
        };
        a.Path = Path.Combine(folder, a.FileName);
        a.ChecksumPath = Path.Combine(folder, BackupEngine.ChecksumFileName);
        a.ManifestPath = a.Path + BackupEngine.ManifestSuffix;
        File.WriteAllBytes(a.Path, bytes);
        var manifest = HbYaml.Serialize(a);
        File.WriteAllText(a.ManifestPath, manifest, new UTF8Encoding(false));
        var manifestSha = Convert.ToHexString(SHA256.HashData(new UTF8Encoding(false).GetBytes(manifest))).ToLowerInvariant();
        File.WriteAllText(a.ChecksumPath, $"{new string('0', 64)}  other.dump\n{a.Sha256}  {a.FileName}\n{manifestSha}  {a.FileName}{BackupEngine.ManifestSuffix}\n");
        return a;
    }

    private string Destination => Path.Combine(_root, "offsite");

    private static Task<HbBackupArtefact> CopyAsync(HbBackupArtefact a, string destination, Func<string, CancellationToken, Task>? afterTransfer = null) =>
        new CopyEngine().CopyAsync(a, new LocalArtefactStore(), new LocalArtefactStore(),
            new CopyRequest { DestinationRoot = destination, AfterTransfer = afterTransfer }, CancellationToken.None);

    [Fact]
    public async Task A_copy_holds_the_dump_the_unchanged_manifest_its_checksum_lines_and_its_read_back_proof()
    {
        var a = MakeArtefact();
        var c = await CopyAsync(a, Destination);
        var folder = Path.Combine(Destination, "hb_2026-11-30");
        Assert.Equal(Path.Combine(folder, a.FileName), c.Path);
        Assert.Equal(HbArtefactLocation.LocalCopy, c.Location);
        Assert.True(c.IsOffHostCopy);
        Assert.Equal(folder, c.RunFolder);
        Assert.Equal(Path.Combine(folder, "SHA256SUMS"), c.ChecksumPath);
        Assert.Equal(a.Sha256, c.Sha256);
        Assert.Equal(File.ReadAllBytes(a.Path), File.ReadAllBytes(c.Path));
        Assert.Equal(File.ReadAllBytes(a.ManifestPath), File.ReadAllBytes(c.ManifestPath));
        // Only this artefact's two lines are copied, and sha256sum -c verifies both files at the destination.
        var sums = File.ReadAllLines(c.ChecksumPath);
        Assert.Equal(2, sums.Length);
        Assert.DoesNotContain(sums, l => l.EndsWith("other.dump", StringComparison.Ordinal));
        Assert.Contains(": OK", Sh($"cd '{folder}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
        var proof = c.Copy!;
        Assert.True(proof.Verified);
        Assert.Equal(a.Sha256, proof.VerifiedSha256);
        Assert.Equal(a.Sha256, proof.TransferSha256);
        Assert.Equal(a.SizeBytes, proof.VerifiedSizeBytes);
        Assert.Equal(a.Path, proof.SourcePath);
        Assert.Equal(HbArtefactLocation.Local, proof.SourceLocation);
        Assert.Null(proof.StorageHost);
        Assert.Equal(2, proof.ChecksumLines.Count);
        Assert.True(proof.CopiedAtUtc >= proof.VerifiedAtUtc && proof.VerifiedAtUtc >= proof.StartedAtUtc);
        var record = HbYaml.Deserialize<HbArtefactCopy>(File.ReadAllText(c.Path + ArtefactFiles.CopyRecordSuffix));
        Assert.Equal(proof.VerifiedSha256, record.VerifiedSha256);
        // Private: files 0600, folders 0700; no partial or temporary file left.
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(c.Path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        }
        Assert.Equal(new[] { "SHA256SUMS", a.FileName, a.FileName + ".copy.yml", a.FileName + ".manifest.yml" },
            Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_catalog_lists_copies_where_they_are_with_their_proof_and_originals_as_they_were()
    {
        var a = MakeArtefact();
        await CopyAsync(a, Destination);
        var catalog = new ArtefactCatalog(new LocalCommandHost(), filesAreLocal: true);
        var copy = Assert.Single(await catalog.ListAsync(Destination, CancellationToken.None));
        Assert.Equal(HbArtefactLocation.LocalCopy, copy.Location);
        Assert.Equal(Path.Combine(Destination, "hb_2026-11-30", a.FileName), copy.Path);
        Assert.True(copy.Copy!.Verified);
        var original = Assert.Single(await catalog.ListAsync(Path.Combine(_root, "src"), CancellationToken.None));
        Assert.Equal(HbArtefactLocation.Local, original.Location);
        Assert.Null(original.Copy);
        // A copy of the copy names the copy as its source.
        var second = await CopyAsync(copy, Path.Combine(_root, "second"));
        Assert.Equal(copy.Path, second.Copy!.SourcePath);
        Assert.Equal(HbArtefactLocation.LocalCopy, second.Copy.SourceLocation);
    }

    [Fact]
    public async Task A_copy_that_reads_back_differently_is_CopyVerificationFailed_and_nothing_is_claimed()
    {
        var a = MakeArtefact();
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, Destination, (partial, _) =>
        {
            // The storage altered one byte after it was written.
            using var f = File.Open(partial, FileMode.Open, FileAccess.ReadWrite);
            f.Position = f.Length / 2;
            var b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0xFF));
            return Task.CompletedTask;
        }));
        Assert.Equal(HbErrorIds.CopyVerificationFailed, ex.ErrorId);
        Assert.Empty(Directory.GetFiles(Path.Combine(Destination, "hb_2026-11-30")));
    }

    [Fact]
    public async Task An_existing_copy_is_never_overwritten()
    {
        var a = MakeArtefact();
        var first = await CopyAsync(a, Destination);
        var before = File.GetLastWriteTimeUtc(first.Path);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, Destination));
        Assert.Equal(HbErrorIds.CopyExists, ex.ErrorId);
        Assert.Equal(before, File.GetLastWriteTimeUtc(first.Path));
        // A partial file of another run is left alone too.
        var other = Path.Combine(_root, "other");
        Directory.CreateDirectory(Path.Combine(other, "hb_2026-11-30"));
        var partial = Path.Combine(other, "hb_2026-11-30", a.FileName + ".partial");
        File.WriteAllText(partial, "in progress");
        Assert.Equal(HbErrorIds.CopyExists, (await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, other))).ErrorId);
        Assert.Equal("in progress", File.ReadAllText(partial));
    }

    [Fact]
    public async Task A_source_that_no_longer_matches_its_manifest_is_refused_and_the_partial_removed()
    {
        var a = MakeArtefact();
        var bytes = File.ReadAllBytes(a.Path);
        bytes[10] ^= 0xFF;
        File.WriteAllBytes(a.Path, bytes);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, Destination));
        Assert.Equal(HbErrorIds.ChecksumMismatch, ex.ErrorId);
        Assert.Empty(Directory.GetFiles(Path.Combine(Destination, "hb_2026-11-30")));
    }

    [Fact]
    public async Task An_artefact_whose_manifest_or_checksum_line_differs_is_refused_before_anything_is_written()
    {
        var a = MakeArtefact();
        var other = Copy(a, x => x.Sha256 = new string('b', 64));
        Assert.Equal(HbErrorIds.ChecksumMismatch, (await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(other, Destination))).ErrorId);
        File.WriteAllText(a.ChecksumPath, "");
        Assert.Equal(HbErrorIds.ChecksumMismatch, (await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, Destination))).ErrorId);
        Assert.False(Directory.Exists(Destination));
        var unsafeName = Copy(a, x => x.FileName = "../../etc/passwd");
        Assert.Equal(HbErrorIds.ArtefactInvalid, (await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(unsafeName, Destination))).ErrorId);
    }

    [Fact]
    public async Task An_edited_manifest_is_not_copied()
    {
        var a = MakeArtefact();
        File.AppendAllText(a.ManifestPath, "# edited\n");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(a, Destination));
        Assert.Equal(HbErrorIds.ManifestTampered, ex.ErrorId);
        Assert.False(Directory.Exists(Destination));
    }

    [Fact]
    public void Escaped_dump_names_are_plain_names_and_path_parts_are_not()
    {
        Assert.Equal("caf%C3%A9_full_20261130T010203Z.dump", ArtefactFiles.RequireSafeName("caf%C3%A9_full_20261130T010203Z.dump", "file name"));
        Assert.Equal("a..b_full.dump", ArtefactFiles.RequireSafeName("a..b_full.dump", "file name"));
        foreach (var bad in new[] { "..", ".", "a/b.dump", "a\\b.dump", "", "x\n.dump" })
        {
            Assert.Equal(HbErrorIds.ArtefactInvalid, Assert.Throws<HbOpsException>(() => ArtefactFiles.RequireSafeName(bad, "file name")).ErrorId);
        }
    }

    [Fact]
    public async Task Removing_an_artefact_takes_its_files_and_checksum_lines_and_leaves_the_rest()
    {
        var a = MakeArtefact();
        File.WriteAllText(a.Path + ".restore-20261130T010500Z.yml", "result: Passed\n");
        File.WriteAllText(Path.Combine(a.RunFolder, "other.dump"), "x");
        var removed = await new LocalArtefactStore().RemoveArtefactAsync(a, CancellationToken.None);
        Assert.Equal(new[] { a.ManifestPath, a.Path, a.Path + ".restore-20261130T010500Z.yml" }, removed);
        Assert.Equal($"{new string('0', 64)}  other.dump\n", File.ReadAllText(a.ChecksumPath));
        Assert.True(File.Exists(Path.Combine(a.RunFolder, "other.dump")));
        // The last artefact of a run folder takes SHA256SUMS and the folder with it.
        File.Delete(Path.Combine(a.RunFolder, "other.dump"));
        var b = MakeArtefact();
        File.WriteAllText(b.ChecksumPath, File.ReadAllText(b.ChecksumPath).Replace($"{new string('0', 64)}  other.dump\n", "", StringComparison.Ordinal));
        await new LocalArtefactStore().RemoveArtefactAsync(b, CancellationToken.None);
        Assert.False(Directory.Exists(b.RunFolder));
        Assert.True(Directory.Exists(Path.Combine(_root, "src")));
    }

    [Fact]
    public async Task A_closure_record_lists_copies_with_their_proof_and_judges_them_only_when_supplied()
    {
        var a = MakeArtefact();
        var c = await CopyAsync(a, Destination);
        var without = ClosureRecordBuilder.Build("t", new[] { a }, [], [], []);
        Assert.Empty(without.Copies);
        Assert.DoesNotContain(without.Acceptance, x => x.Criterion.Contains("copy", StringComparison.OrdinalIgnoreCase));
        var with = ClosureRecordBuilder.Build("t", new[] { a, c }, [], [], []);
        Assert.Same(a, with.Backup);
        var listed = Assert.Single(with.Copies);
        Assert.Equal(c.Path, listed.Path);
        Assert.Equal(c.Copy!.VerifiedSha256, listed.Copy!.VerifiedSha256);
        var criterion = Assert.Single(with.Acceptance, x => x.Criterion.StartsWith("Off-host copy proven", StringComparison.Ordinal));
        Assert.Equal(HbCriterionStatus.Passed, criterion.Status);
        Assert.Contains($"read back, sha256 {a.Sha256}", criterion.Evidence, StringComparison.Ordinal);
        // A copy without proof fails the criterion; the record survives a YAML round trip with its copies.
        c.Copy.Verified = false;
        Assert.Equal(HbCriterionStatus.Failed, ClosureRecordBuilder.Build("t", new[] { a, c }, [], [], []).Acceptance
            .Single(x => x.Criterion.StartsWith("Off-host copy proven", StringComparison.Ordinal)).Status);
        var back = HbYaml.Deserialize<HbClosureRecord>(ClosureRecordStore.ToYaml(with));
        Assert.Equal(a.Sha256, Assert.Single(back.Copies).Copy!.VerifiedSha256);
    }

    [Theory]
    [InlineData("storage:/backups", null, "storage", "/backups")]
    [InlineData("storage:", null, "storage", ".")]
    [InlineData("storage:nightly/", null, "storage", "nightly")]
    [InlineData("/backups", "storage", "storage", "/backups")]
    [InlineData("storage:/backups", "storage", "storage", "/backups")]
    [InlineData("/mnt/offsite", null, null, "/mnt/offsite")]
    [InlineData("./rel:x", null, null, "./rel:x")]
    [InlineData(@"C:\backups", null, null, @"C:\backups")]
    public void Destinations_are_read_as_scp_does(string value, string? storageHost, string? alias, string path)
    {
        var l = StorageLocation.Parse(value, storageHost, "Destination");
        Assert.Equal(alias, l.StorageAlias);
        Assert.Equal(path, l.Path);
    }

    [Fact]
    public void A_destination_naming_another_storage_host_than_StorageHost_is_refused()
    {
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => StorageLocation.Parse("box:/x", "storage", "Destination")).ErrorId);
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => StorageLocation.Parse("a\nb", null, "Destination")).ErrorId);
    }

    [Fact]
    public void SHA256SUMS_edits_replace_and_remove_only_the_artefact_s_lines()
    {
        var h1 = new string('1', 64);
        var h2 = new string('2', 64);
        var sums = $"{h1}  a.dump\r\n{h2}  b.dump\n{h1}  a.dump.manifest.yml\n";
        Assert.Equal($"{h2}  b.dump\n", ArtefactFiles.Without(sums, new[] { "a.dump", "a.dump.manifest.yml" }));
        Assert.Equal($"{h1}  a.dump\n{h1}  a.dump.manifest.yml\n{h2}  b.dump\n", ArtefactFiles.With($"{h1}  a.dump\n{h1}  a.dump.manifest.yml\n", new[] { $"{h2}  b.dump" }));
        Assert.Equal($"{h2}  b.dump\n{h2}  a.dump\n", ArtefactFiles.With(sums, new[] { $"{h2}  a.dump" }).Replace($"{h1}  a.dump.manifest.yml\n", "", StringComparison.Ordinal));
        Assert.Equal(new[] { $"{h1}  a.dump", $"{h1}  a.dump.manifest.yml" }, ArtefactFiles.LinesFor(sums, new[] { "a.dump", "a.dump.manifest.yml" }));
        Assert.Equal("", ArtefactFiles.Without($"{h1}  a.dump\n", new[] { "a.dump" }));
    }

    private static HbBackupArtefact Copy(HbBackupArtefact a, Action<HbBackupArtefact> change)
    {
        var c = HbYaml.Deserialize<HbBackupArtefact>(HbYaml.Serialize(a));
        change(c);
        return c;
    }

    private static string Sh(string script)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }
}
