using System.Diagnostics;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Records;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// Listing artefacts on a docker host: the catalog's shell script runs for real (through /bin/sh on this machine), and
/// the fake host counts how many remote commands it took.
/// </summary>
public class ArtefactListingTests
{
    // Runs each argument vector as a local process, as the SSH host would, and records it.
    private static FakeCommandHost ShellHost() => new(argv =>
    {
        var psi = new ProcessStartInfo(argv[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in argv.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    });

    private static string Manifest(int i) => HbYaml.Serialize(new HbBackupArtefact
    {
        RunId = $"run{i:d2}", Path = $"/backups/r{i:d2}/db_full_{i:d2}.dump", FileName = $"db_full_{i:d2}.dump", Database = "db",
        Sha256 = new string('a', 64), TimestampUtc = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i),
        Host = new HbHost { Kind = HbHostKind.Ssh, Alias = "h", HostName = "127.0.0.1", User = "ops", IdentityFiles = { "/k" } },
        RowCountSnapshot = new HbRowCountSnapshot { Mode = RowCountMode.Exact, Tables = { new HbTableRowCount { Schema = "public", Table = "t", ExactRows = i } } },
    });

    [Fact]
    public async Task Every_manifest_under_a_root_is_read_with_one_remote_command()
    {
        var root = Directory.CreateTempSubdirectory("hbops-list").FullName;
        try
        {
            for (var i = 30; i >= 1; i--)
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, $"r{i:d2}")).FullName;
                // Half of them without a final newline: the next file's header must not run into them.
                var text = Manifest(i);
                File.WriteAllText(Path.Combine(dir, $"db_full_{i:d2}.dump.manifest.yml"), i % 2 == 0 ? text.TrimEnd('\n') : text);
            }
            File.WriteAllText(Path.Combine(root, "r01", "broken.dump.manifest.yml"), "path: [unclosed");
            File.WriteAllText(Path.Combine(root, "r01", "notes.txt"), "not a manifest");
            var host = ShellHost();
            var warnings = new List<string>();
            var list = await new ArtefactCatalog(host, filesAreLocal: false, new Collect(warnings)).ListAsync(root, CancellationToken.None);

            Assert.Single(host.Calls);
            Assert.Equal(30, list.Count);
            Assert.Equal(Enumerable.Range(1, 30).Select(i => $"run{i:d2}"), list.Select(a => a.RunId));
            Assert.Equal(30, list[^1].RowCountSnapshot!.Tables[0].ExactRows);
            Assert.Equal("h", list[0].Host.Alias);
            var warning = Assert.Single(warnings);
            Assert.Contains("broken.dump.manifest.yml", warning, StringComparison.Ordinal);
            Assert.Contains("line 1 ('path')", warning, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task A_root_that_does_not_exist_is_empty_or_PathNotFound()
    {
        var host = ShellHost();
        var catalog = new ArtefactCatalog(host, filesAreLocal: false);
        Assert.Empty(await catalog.ListAsync("/nonexistent/hbops-root", CancellationToken.None));
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => catalog.ListAsync("/nonexistent/hbops-root", CancellationToken.None, requireDirectory: true));
        Assert.Equal(HbErrorIds.PathNotFound, ex.ErrorId);
        Assert.Contains("does not exist on fake", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_errors_name_the_line_the_key_and_the_problem_without_type_names()
    {
        foreach (var (yaml, expected) in new[]
        {
            ("manifestVersion: 1\nsizeBytes: many\n", "line 2 ('sizeBytes'): 'many' is not a valid value here."),
            ("location: Elsewhere\n", "line 1 ('location'): 'Elsewhere' is not a valid value here."),
            ("path: [a, b]\n", "line 1 ('path'): the value has the wrong shape"),
            ("- 1\n- 2\n", "line 1: the value has the wrong shape"),
        })
        {
            var ex = Assert.Throws<HbOpsException>(() => BackupEngine.ParseManifest(yaml));
            Assert.Equal(HbErrorIds.ConfigInvalid, ex.ErrorId);
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", ex.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("Version=", ex.Message, StringComparison.Ordinal);
        }
    }

    private sealed class Collect(List<string> warnings) : IHbReporter
    {
        public void Verbose(string message) { }
        public void Warning(string message) { lock (warnings) warnings.Add(message); }
        public void Progress(HbProgress progress) { }
    }
}
