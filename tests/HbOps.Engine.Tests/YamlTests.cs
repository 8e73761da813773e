using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Records;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class YamlTests
{
    [Fact]
    public void Artefact_manifest_round_trips_with_host_and_snapshot()
    {
        var a = new HbBackupArtefact
        {
            Path = "/b/x.dump", FileName = "x.dump", Host = new HbHost { Kind = HbHostKind.Ssh, Alias = "contabo", HostName = "127.0.0.1", Port = 2222, User = "root", IdentityFiles = { "/k" } },
            Sha256 = new string('a', 64), SizeBytes = 123, TimestampUtc = new DateTime(2026, 5, 15, 1, 2, 3, DateTimeKind.Utc), ServerMajor = 15,
            DurationSeconds = 9.5,
            RowCountSnapshot = new HbRowCountSnapshot { Mode = RowCountMode.Exact, SnapshotId = "00000003-1", Tables = { new HbTableRowCount { Schema = "public", Table = "dot_tools", ExactRows = 992 } } },
        };
        var yaml = HbYaml.Serialize(a);
        Assert.DoesNotContain("sizeMiB", yaml);
        Assert.DoesNotContain("qualifiedName", yaml);
        var b = BackupEngine.ParseManifest(yaml);
        Assert.Equal(a.Path, b.Path);
        Assert.Equal(a.Sha256, b.Sha256);
        Assert.Equal(a.TimestampUtc, b.TimestampUtc.ToUniversalTime());
        Assert.Equal("contabo", b.Host.Alias);
        Assert.Equal(2222, b.Host.Port);
        Assert.Equal(992, b.RowCountSnapshot!.Tables[0].ExactRows);
        Assert.Equal(TimeSpan.FromSeconds(9.5), b.Duration);
    }

    [Fact]
    public void Malformed_yaml_is_a_stable_error()
    {
        var ex = Assert.Throws<HbOpsException>(() => BackupEngine.ParseManifest("path: [unclosed"));
        Assert.Equal(HbErrorIds.ConfigInvalid, ex.ErrorId);
    }
}
