using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Records;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class DumpCompressionTests
{
    [Theory]
    [InlineData("gzip:6", "gzip:6", "6")]
    [InlineData("GZIP:9", "gzip:9", "9")]
    [InlineData("gzip", "gzip:6", "6")]
    [InlineData("gzip:0", "none", "0")]
    [InlineData("none", "none", "0")]
    [InlineData("0", "none", "0")]
    [InlineData("6", "gzip:6", "6")]
    [InlineData(" 1 ", "gzip:1", "1")]
    [InlineData("zstd:1", "zstd:1", "zstd:1")]
    [InlineData("zstd:22", "zstd:22", "zstd:22")]
    [InlineData("zstd", "zstd:3", "zstd:3")]
    [InlineData("lz4:12", "lz4:12", "lz4:12")]
    [InlineData("lz4", "lz4:1", "lz4:1")]
    [InlineData("", "gzip:6", "6")]
    public void Given_an_accepted_form_When_parsed_Then_it_has_its_canonical_text_and_pg_dump_argument(string text, string canonical, string argument)
    {
        var c = DumpCompression.Parse(text);
        Assert.Equal(canonical, c.ToString());
        Assert.Equal(argument, c.DumpArgument);
        Assert.Equal(c, DumpCompression.Parse(canonical));
    }

    [Theory]
    [InlineData("gzip:10")]
    [InlineData("10")]
    [InlineData("zstd:0")]
    [InlineData("zstd:23")]
    [InlineData("lz4:0")]
    [InlineData("lz4:13")]
    [InlineData("none:1")]
    [InlineData("brotli:3")]
    [InlineData("gzip:")]
    [InlineData("gzip:-1")]
    [InlineData("zstd:3,long")]
    [InlineData("gzip:6;touch /tmp/x")]
    [InlineData("-1")]
    public void Given_a_malformed_or_out_of_range_value_When_parsed_Then_InvalidArgument_names_the_accepted_forms(string text)
    {
        var ex = Assert.Throws<HbOpsException>(() => DumpCompression.Parse(text));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.Contains("gzip:0-9, zstd:1-22, lz4:1-12 or none", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15)]
    [InlineData("pg_dump (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)", 17)]
    [InlineData("pg_dump (PostgreSQL) 16.0", 16)]
    [InlineData("pg_dump (PostgreSQL) 9.6.24", 9)]
    [InlineData("sh: 1: pg_dump: not found", null)]
    public void Given_a_pg_dump_version_line_When_read_Then_its_major_is_known(string line, int? major) =>
        Assert.Equal(major, DumpCompression.DumpMajor(line));

    [Theory]
    [InlineData("zstd:3", "pg_dump (PostgreSQL) 15.18", false)]
    [InlineData("lz4:1", "pg_dump (PostgreSQL) 15.18", false)]
    [InlineData("zstd:3", "pg_dump (PostgreSQL) 16.4", true)]
    [InlineData("lz4:1", "pg_dump (PostgreSQL) 17.12", true)]
    [InlineData("gzip:9", "pg_dump (PostgreSQL) 12.1", true)]
    [InlineData("none", "pg_dump (PostgreSQL) 9.6.24", true)]
    public void Given_a_method_and_a_pg_dump_When_checked_Then_only_lz4_and_zstd_need_16(string text, string version, bool supported)
    {
        var c = DumpCompression.Parse(text);
        if (supported)
        {
            c.RequireSupportedBy(version, "postgres");
            return;
        }
        var ex = Assert.Throws<HbOpsException>(() => c.RequireSupportedBy(version, "postgres"));
        Assert.Equal(HbErrorIds.CompressionUnsupported, ex.ErrorId);
        Assert.Contains("needs pg_dump 16 or later", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_manifest_from_before_the_method_was_recorded_When_read_Then_its_level_reads_as_gzip_or_none()
    {
        Assert.Equal("gzip:6", BackupEngine.ParseManifest("compressionLevel: 6\n").Compression);
        Assert.Equal("none", BackupEngine.ParseManifest("compressionLevel: 0\n").Compression);
        var current = BackupEngine.ParseManifest(HbYaml.Serialize(new HbBackupArtefact { Compression = "zstd:3", CompressionLevel = 3 }));
        Assert.Equal("zstd:3", current.Compression);
        Assert.Equal(3, current.CompressionLevel);
    }
}

public class BackupCompressionWithFakesTests
{
    // A running container whose psql prints the given pg_dump version, a snapshot, and plenty of free space; the dump
    // itself is not answered (it fails), so the command it was given can be inspected.
    private static FakeCommandHost Host(int major) => new(argv =>
    {
        var line = string.Join(' ', argv);
        if (line.StartsWith("docker container inspect", StringComparison.Ordinal)) return (0, FakeContainer.Inspect(), "");
        var facts = $$"""{"v":"{{major}}.2","n":{{major * 10000 + 2}},"s":1000000,"m":[]}""";
        if (line.Contains("PGAPPNAME=hbops-snapshot-", StringComparison.Ordinal))
        {
            return (0, $"pg_dump (PostgreSQL) {major}.2\n00000003-0000001A-1|repeatable read|on|{facts}\n__HBOPS_END_1__\n", "");
        }
        if (line.Contains("df -Pk", StringComparison.Ordinal)) return (0, "10000000\nnew\n", "");
        return (1, "", "unexpected command in test: " + line);
    });

    private static List<string> DumpCall(FakeCommandHost host) =>
        host.Calls.Single(c => c.Contains("pg_dump") && !c.Contains("--version")).ToList();

    [Theory]
    [InlineData("zstd:3")]
    [InlineData("lz4:1")]
    public async Task Given_pg_dump_15_When_backing_up_with_lz4_or_zstd_Then_CompressionUnsupported_before_anything_is_made(string compression)
    {
        var host = Host(15);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(host).RunAsync(
            new BackupRequest { Database = "directus", User = "directus", Destination = "/b", Compression = compression }, CancellationToken.None));
        Assert.Equal(HbErrorIds.CompressionUnsupported, ex.ErrorId);
        // Only the read-only preflight ran (inspect, the snapshot session, the destination check): no dump, no run folder.
        Assert.All(host.Calls, c => Assert.True((c[0] == "docker" && c[1] is "container" or "exec") ||
            (c[0] == "sh" && c[2].Contains("df -Pk", StringComparison.Ordinal)), string.Join(' ', c)));
        Assert.DoesNotContain(host.Calls, c => c.Contains("pg_dump") && !c.Contains("--version"));
    }

    [Theory]
    [InlineData(15, "gzip:6", "6")]
    [InlineData(15, "none", "0")]
    [InlineData(17, "zstd:3", "zstd:3")]
    [InlineData(17, "lz4:5", "lz4:5")]
    [InlineData(17, "gzip:9", "9")]
    public async Task Given_a_supported_method_When_backing_up_Then_pg_dump_gets_it_as_its_Z_argument(int major, string compression, string argument)
    {
        var host = Host(major);
        await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(host).RunAsync(
            new BackupRequest { Database = "directus", User = "directus", Destination = "/b", Compression = compression }, CancellationToken.None));
        var dump = DumpCall(host);
        Assert.Equal(argument, dump[dump.IndexOf("-Z") + 1]);
    }
}
