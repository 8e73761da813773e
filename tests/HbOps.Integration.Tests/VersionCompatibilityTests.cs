using System.Globalization;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>
/// Backups of the PostgreSQL 15 and 17 production-like containers with each compression method their pg_dump
/// supports, made once through the SSH alias and shared by the tests of this class.
/// </summary>
public sealed class TwoMajorsFixture : IAsyncLifetime
{
    public TestEnvironment Env { get; } = new();
    public ICommandHost Host { get; private set; } = null!;
    public Dictionary<string, HbBackupArtefact> Artefacts { get; } = new();

    public async Task InitializeAsync()
    {
        Host = await Env.ConnectAsync();
        foreach (var (key, container, compression) in new[]
        {
            ("15 gzip:6", Env.Container, "gzip:6"), ("15 none", Env.Container, "none"),
            ("17 zstd:3", Env.Container17, "zstd:3"), ("17 lz4:1", Env.Container17, "lz4:1"),
        })
        {
            Artefacts[key] = await new BackupEngine(Host).RunAsync(new BackupRequest
            {
                Container = container, Database = Env.Database, User = Env.User, Destination = Env.BackupRoot, Tag = "majors", Compression = compression,
            }, CancellationToken.None);
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public class VersionCompatibilityTests(TwoMajorsFixture f) : IClassFixture<TwoMajorsFixture>
{
    private static string Suffix() => Guid.NewGuid().ToString("N")[..6];

    // pg_restore --list of a dump, read by the given image's pg_restore in a throwaway container without network.
    private static string ListHeader(string image, string path) =>
        TestEnvironment.Sh($"docker run --rm -i --network none --entrypoint pg_restore {image} --list < {path} | head -n 12");

    // Every docker event about a container or volume of this name since the given unix time: creation included.
    private static string EventsSince(string since, string name) =>
        TestEnvironment.Sh($"docker events --since {since} --until $(date +%s.%N) --filter container={name} --format '{{{{.Type}}}} {{{{.Action}}}}'") +
        TestEnvironment.Sh($"docker events --since {since} --until $(date +%s.%N) --filter volume={name}-data --format '{{{{.Type}}}} {{{{.Action}}}}'");

    // A second before now, as docker events reads it (unix seconds).
    private static string Now() => (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - 1).ToString("F3", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData("15 gzip:6", 15, "-Z 6", "6")]
    [InlineData("15 none", 15, "-Z 0", "0")]
    [InlineData("17 zstd:3", 17, "-Z zstd:3", "zstd")]
    [InlineData("17 lz4:1", 17, "-Z lz4:1", "lz4")]
    public async Task Given_a_backup_with_a_compression_When_read_back_Then_manifest_artefact_and_archive_header_agree(
        string key, int major, string dumpFlag, string header)
    {
        var a = f.Artefacts[key];
        var compression = key.Split(' ')[1];
        Assert.Equal(major, a.ServerMajor);
        Assert.StartsWith($"pg_dump (PostgreSQL) {major}.", a.PgDumpVersion, StringComparison.Ordinal);
        Assert.Equal(compression, a.Compression);
        Assert.Contains($" -F c {dumpFlag} ", a.DumpCommand, StringComparison.Ordinal);
        Assert.Equal(compression, BackupEngine.ParseManifest(File.ReadAllText(a.ManifestPath)).Compression);
        Assert.Contains($"compression: {compression}", File.ReadAllText(a.ManifestPath), StringComparison.Ordinal);
        // The archive itself says how it was compressed (PostgreSQL 15 writes the gzip level, 0 for none; 16+ the method).
        var image = major == 15 ? f.Env.Image : f.Env.Image17;
        var list = ListHeader(image, a.Path);
        Assert.Contains($"Dumped by pg_dump version: {major}.", list, StringComparison.Ordinal);
        Assert.Matches($@";\s+Compression: {header}\n", list);
        // Test-HbBackup's verification reads it with the same major's pg_restore.
        var v = await new ArtefactCatalog(f.Host, filesAreLocal: false).VerifyAsync(a, null, CancellationToken.None);
        Assert.Equal(HbVerificationStatus.Verified, v.Status);
    }

    [Fact]
    public void Given_an_uncompressed_backup_Then_it_is_larger_than_the_compressed_ones_of_the_same_data()
    {
        Assert.True(f.Artefacts["15 none"].SizeBytes > 1.5 * f.Artefacts["15 gzip:6"].SizeBytes);
        Assert.True(f.Artefacts["15 none"].SizeBytes > 1.2 * f.Artefacts["17 lz4:1"].SizeBytes);
        Assert.True(f.Artefacts["17 lz4:1"].SizeBytes > f.Artefacts["17 zstd:3"].SizeBytes);
    }

    [Theory]
    [InlineData("15 gzip:6", 15)]
    [InlineData("15 none", 15)]
    [InlineData("17 zstd:3", 17)]
    [InlineData("17 lz4:1", 17)]
    public async Task Given_an_artefact_When_restore_tested_in_its_own_major_Then_it_passes_without_a_version_note(string key, int major)
    {
        var a = f.Artefacts[key];
        var r = await new RestoreEngine(f.Host).RunAsync(a, new RestoreRequest(), CancellationToken.None);
        // The fixture's user mapping for a role the sandbox lacks is the one known note (see BackupRestoreTests).
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.Empty(r.FailureReasons);
        Assert.Empty(r.Notes);
        Assert.Equal(0, r.FatalCount);
        Assert.Equal("MissingRoleUserMapping", Assert.Single(r.Messages, m => m.Severity == HbMessageSeverity.NonFatal).Rule);
        Assert.Equal($"postgres:{major}", r.Sandbox.Image);
        Assert.Equal(major, r.Sandbox.ImageMajor);
        Assert.StartsWith($"{major}.", r.Sandbox.ServerVersion, StringComparison.Ordinal);
        Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
        Assert.Equal(a.RowCountSnapshot!.TableCount, r.RowCounts.Count);
        Assert.True(r.TeardownVerified);
    }

    [Fact]
    public async Task Given_a_15_artefact_When_restored_into_17_Then_it_passes_and_the_result_notes_the_newer_major()
    {
        var a = f.Artefacts["15 gzip:6"];
        var r = await new RestoreEngine(f.Host).RunAsync(a, new RestoreRequest { Image = f.Env.Image17 }, CancellationToken.None);
        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.Empty(r.FailureReasons);
        Assert.Equal(0, r.FatalCount);
        var note = Assert.Single(r.Notes);
        Assert.Contains("newer major", note, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL 17", note, StringComparison.Ordinal);
        Assert.Contains($"PostgreSQL {a.ServerVersion}", note, StringComparison.Ordinal);
        Assert.Equal(17, r.Sandbox.ImageMajor);
        Assert.StartsWith("17.", r.Sandbox.ServerVersion, StringComparison.Ordinal);
        Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
        Assert.True(r.TeardownVerified);
        // The record beside the artefact carries the note too.
        Assert.Contains("newer major", File.ReadAllText(r.RecordPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_17_artefact_When_restored_into_15_Then_SandboxMajorTooLow_before_any_container_or_volume_exists()
    {
        var a = f.Artefacts["17 zstd:3"];
        var name = "pg-restore-test-majors-" + Suffix();
        var since = Now();
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new RestoreEngine(f.Host).RunAsync(a,
            new RestoreRequest { Image = f.Env.Image, SandboxName = name }, CancellationToken.None));
        Assert.Equal(HbErrorIds.SandboxMajorTooLow, ex.ErrorId);
        Assert.Contains("PostgreSQL 15, lower than the artefact's server major 17", ex.Message, StringComparison.Ordinal);
        // Not made and removed again: never made.
        Assert.Equal("", EventsSince(since, name).Trim());
        Assert.Equal("", TestEnvironment.Sh($"docker ps -aq --filter name={name}").Trim());
        Assert.Equal("", TestEnvironment.Sh($"docker volume ls -q --filter name={name}").Trim());
    }

    [Fact]
    public async Task Given_a_17_artefact_When_a_15_sandbox_is_requested_Then_SandboxMajorTooLow_before_any_container_or_volume_exists()
    {
        var a = f.Artefacts["17 lz4:1"];
        var name = "pg-restore-test-majors-" + Suffix();
        var since = Now();
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new RestoreEngine(f.Host).CreateSandboxAsync(a,
            new RestoreRequest { Image = f.Env.Image, SandboxName = name }, CancellationToken.None));
        Assert.Equal(HbErrorIds.SandboxMajorTooLow, ex.ErrorId);
        Assert.Equal("", EventsSince(since, name).Trim());
    }

    [Theory]
    [InlineData("zstd:3")]
    [InlineData("lz4:1")]
    public async Task Given_pg_dump_15_When_backing_up_with_zstd_or_lz4_Then_CompressionUnsupported_and_nothing_is_written(string compression)
    {
        var dest = Path.Combine(f.Env.BackupRoot, "unsupported-" + Suffix());
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new BackupEngine(f.Host).RunAsync(new BackupRequest
        {
            Container = f.Env.Container, Database = f.Env.Database, User = f.Env.User, Destination = dest, Tag = "unsupported", Compression = compression,
        }, CancellationToken.None));
        Assert.Equal(HbErrorIds.CompressionUnsupported, ex.ErrorId);
        Assert.Contains("pg_dump (PostgreSQL) 15.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("needs pg_dump 16 or later", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dest));
    }
}
