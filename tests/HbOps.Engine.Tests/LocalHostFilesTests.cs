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
