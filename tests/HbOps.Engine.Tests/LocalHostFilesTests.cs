using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

public class LocalHostFilesTests
{
    [Fact]
    public async Task Checking_a_destination_that_does_not_exist_yet_creates_nothing_and_reports_its_filesystem()
    {
        var root = Directory.CreateTempSubdirectory("hbops-dest").FullName;
        var runFolder = Path.Combine(root, "a", "b_2026-01-01");
        var (free, exists) = await new LocalHostFiles().CheckDestinationAsync(runFolder, Path.Combine(runFolder, "x.dump"), CancellationToken.None);
        Assert.True(free > 0);
        Assert.False(exists);
        Assert.False(Directory.Exists(Path.Combine(root, "a")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
        Directory.Delete(root, true);
    }

    [Fact]
    public async Task An_existing_artefact_is_reported()
    {
        var root = Directory.CreateTempSubdirectory("hbops-dest").FullName;
        File.WriteAllText(Path.Combine(root, "x.dump"), "");
        var (_, exists) = await new LocalHostFiles().CheckDestinationAsync(root, Path.Combine(root, "x.dump"), CancellationToken.None);
        Assert.True(exists);
        Directory.Delete(root, true);
    }

    [Theory]
    [InlineData("file")]
    [InlineData("proc")]
    public async Task A_destination_where_no_directory_can_be_made_is_DestinationNotWritable(string kind)
    {
        var root = Directory.CreateTempSubdirectory("hbops-dest").FullName;
        string target;
        if (kind == "file")
        {
            File.WriteAllText(Path.Combine(root, "blocker"), "");
            target = Path.Combine(root, "blocker", "run");
        }
        else
        {
            target = "/proc/hbops-" + Guid.NewGuid().ToString("N") + "/run";
        }
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new LocalHostFiles().CheckDestinationAsync(target, Path.Combine(target, "x.dump"), CancellationToken.None));
        Assert.Equal(HbErrorIds.DestinationNotWritable, ex.ErrorId);
        Directory.Delete(root, true);
    }
}

public class Sha256ParsingTests
{
    [Theory]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad *stdin", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  -\n", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("\\ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a\\nb", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("", null)]
    [InlineData("openssl: not found", null)]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a  -", null)]
    public void Only_64_hex_digits_at_the_start_of_the_line_are_a_sha256(string line, string? expected) =>
        Assert.Equal(expected, ShellHostFiles.ParseSha256(line));

    [Fact]
    public async Task A_manifest_is_trusted_only_while_SHA256SUMS_lists_it_with_its_own_hash()
    {
        var root = Directory.CreateTempSubdirectory("hbops-manifest").FullName;
        var artefact = new HbOps.Model.HbBackupArtefact
        {
            FileName = "d_full.dump", Path = Path.Combine(root, "d_full.dump"), ChecksumPath = Path.Combine(root, "SHA256SUMS"),
            ManifestPath = Path.Combine(root, "d_full.dump.manifest.yml"), Sha256 = new string('0', 64),
        };
        File.WriteAllText(artefact.Path, "dump");
        const string manifest = "exactRows: 992\n";
        File.WriteAllText(artefact.ManifestPath, manifest);
        var files = new LocalHostFiles();
        async Task<string?> Problem() => Backup.ArtefactCatalog.ManifestProblem(artefact,
            (await files.ChecksumAsync(artefact.Path, artefact.ChecksumPath, artefact.ManifestPath, CancellationToken.None))!);

        Assert.Contains("records no SHA-256", await Problem(), StringComparison.Ordinal);
        // What the backup writes: the dump's line and the manifest's.
        File.WriteAllText(artefact.ChecksumPath, Backup.BackupEngine.SumsLines(artefact, manifest) + "\n");
        Assert.Null(await Problem());
        // An artefact object pointed at another dump (a copy) still has its own manifest, which still verifies.
        artefact.FileName = "copy-d_full.dump";
        Assert.Null(await Problem());
        File.WriteAllText(artefact.ManifestPath, "exactRows: 993\n");
        Assert.Contains("was edited after the backup", await Problem(), StringComparison.Ordinal);
        File.Delete(artefact.ManifestPath);
        Assert.Contains("does not exist", await Problem(), StringComparison.Ordinal);
        Directory.Delete(root, true);
    }

    [Fact]
    public void A_checksum_list_lists_a_file_only_with_the_same_hash_and_name()
    {
        var c = new FileChecksum(3, new string('a', 64), $"{new string('b', 64)}  x.dump\n{new string('a', 64)}  y.dump\n");
        Assert.True(c.Lists("y.dump"));
        Assert.False(c.Lists("x.dump"));
        Assert.False(c.Lists("z.dump"));
    }
}
