using System.Diagnostics;
using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Sandbox;
using HbOps.Engine.Scripts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// Scripts/dump.sh run on this machine (the way it runs on a docker host) with a stand-in for pg_dump: every run owns
/// its files, a claim never replaces a file, SHA256SUMS lists only claimed artefacts, nothing is left when a run is
/// aborted or its input ends, files are private.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class DumpScriptTests
{
    private const string Base = "db_full_20260101T000000Z";
    private static readonly LocalCommandHost Local = new();

    private static HostDumpSpec Spec(string dir, string run, bool group = false) =>
        new(run, group, "hbops-test-no-such-container", "u", "d", "hbops-dump-" + run, dir, Base);

    private static string[] Dump(int bytes, string extra = "") => new[] { "sh", "-c", $"head -c {bytes} /dev/urandom{extra}" };

    private static string Run(string script)
    {
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    private static async Task<string> DumpAndClaimAsync(string dir, string run, bool group = false)
    {
        await using var dump = await HostDump.StartAsync(Local, stream: false, Spec(dir, run, group), Dump(300_000), null, CancellationToken.None);
        var s = await dump.WaitDumpedAsync(CancellationToken.None);
        Assert.True(s.Ended);
        Assert.Equal(0, s.DumpExit);
        Assert.Equal(0, s.WriteExit);
        Assert.Equal(300_000, s.Size);
        Assert.Equal(Path.Combine(dir, $"{Base}.dump.{run}.partial"), s.Partial);
        return await dump.ClaimAsync(s.Sha256!, name => $"fileName: {name}\n", CancellationToken.None);
    }

    [Fact]
    public void The_embedded_scripts_are_shellcheck_clean_posix_sh()
    {
        foreach (var script in new[] { HostScripts.Dump, HostScripts.SandboxLease, HostScripts.PsqlGuard })
        {
            var file = Path.GetTempFileName();
            File.WriteAllText(file, "#!/bin/sh\n" + script);
            var psi = new ProcessStartInfo("shellcheck") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-s");
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add(file);
            Process p;
            try { p = Process.Start(psi)!; }
            catch (System.ComponentModel.Win32Exception ex) { throw new InvalidOperationException("shellcheck is required (apt-get install -y shellcheck; tests/env/up.sh installs it).", ex); }
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            File.Delete(file);
            Assert.True(p.ExitCode == 0, output);
        }
    }

    [Fact]
    public async Task Two_runs_of_one_second_claim_two_names_and_SHA256SUMS_lists_both_verifiably()
    {
        var root = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        var dir = Path.Combine(root, "new", "run");
        try
        {
            Assert.Equal(Base + ".dump", await DumpAndClaimAsync(dir, "aaaa1111"));
            Assert.Equal(Base + "-bbbb2222.dump", await DumpAndClaimAsync(dir, "bbbb2222"));
            Assert.Contains($"{Base}.dump: OK", Run($"cd '{dir}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
            Assert.Contains($"{Base}-bbbb2222.dump: OK", Run($"cd '{dir}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
            // Each artefact's dump and manifest, and nothing else; sha256sum -c verifies all four.
            Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "SHA256SUMS")).Length);
            Assert.Contains($"{Base}-bbbb2222.dump.manifest.yml: OK", Run($"cd '{dir}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
            Assert.DoesNotContain("FAILED", Run($"cd '{dir}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
            Assert.Equal($"fileName: {Base}-bbbb2222.dump\n", File.ReadAllText(Path.Combine(dir, $"{Base}-bbbb2222.dump.manifest.yml")));
            Assert.Equal(new[] { "SHA256SUMS", $"{Base}-bbbb2222.dump", $"{Base}-bbbb2222.dump.manifest.yml", $"{Base}.dump", $"{Base}.dump.manifest.yml" },
                Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
            // Private: folders made 0700, files 0600.
            var rwx = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            Assert.Equal(rwx, File.GetUnixFileMode(Path.Combine(root, "new")));
            Assert.Equal(rwx, File.GetUnixFileMode(dir));
            Assert.All(Directory.GetFiles(dir), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task Group_access_makes_folders_0750_and_files_0640()
    {
        var root = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        var dir = Path.Combine(root, "run");
        try
        {
            await DumpAndClaimAsync(dir, "cccc3333", group: true);
            Assert.Equal("750", Run($"stat -c %a '{dir}'").Trim());
            Assert.All(Directory.GetFiles(dir), f => Assert.Equal("640", Run($"stat -c %a '{f}'").Trim()));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task An_aborted_dump_removes_its_partial_file_and_nothing_of_another_run()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        try
        {
            var others = Path.Combine(dir, $"{Base}.dump.eeee5555.partial");
            File.WriteAllText(others, "another run's dump in flight");
            await using (var dump = await HostDump.StartAsync(Local, false, Spec(dir, "dddd4444"), Dump(200_000), null, CancellationToken.None))
            {
                await dump.WaitDumpedAsync(CancellationToken.None);
                Assert.True(await dump.AbortAsync());
            }
            Assert.Equal(new[] { others }, Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_dump_whose_input_ends_without_a_request_stops_and_removes_its_partial_file()
    {
        // The end of the input is what a lost SSH connection looks like to the script.
        var dir = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        try
        {
            var argv = new List<string> { "sh", "-c", HostScripts.Dump, "hbops-dump", "host", "ffff6666", "private", "hbops-test-no-such-container", "u", "d",
                "hbops-dump-ffff6666", dir, Base, "--" };
            argv.AddRange(Dump(5_000_000, "; sleep 1"));
            await using var cmd = await Local.StartAsync(argv, CancellationToken.None);
            var output = new StreamReader(cmd.StandardOutput).ReadToEndAsync();
            while (!File.Exists(Path.Combine(dir, $"{Base}.dump.ffff6666.partial"))) await Task.Delay(20);
            await cmd.StandardInput.DisposeAsync();
            Assert.Equal(1, await cmd.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("aborted=1", await output, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_failing_dump_reports_its_exit_code_and_stderr_as_key_value_lines_and_leaves_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        try
        {
            await using (var dump = await HostDump.StartAsync(Local, false, Spec(dir, "abab1212"),
                new[] { "sh", "-c", "printf 'pg_dump: error: connection failed\\nsecond line\\n' >&2; exit 1" }, null, CancellationToken.None))
            {
                var s = await dump.WaitDumpedAsync(CancellationToken.None);
                Assert.Equal(1, s.DumpExit);
                Assert.Equal(new[] { "pg_dump: error: connection failed", "second line" }, s.Stderr);
                Assert.True(await dump.AbortAsync());
            }
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_claim_waits_while_another_run_holds_the_SHA256SUMS_lock()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-dumpsh").FullName;
        try
        {
            var lockFile = Path.Combine(dir, "SHA256SUMS.lock");
            File.WriteAllText(lockFile, "");
            var claim = DumpAndClaimAsync(dir, "cdcd3434");
            await Task.Delay(1500);
            Assert.False(claim.IsCompleted, "the claim must wait for the lock");
            Assert.False(File.Exists(Path.Combine(dir, "SHA256SUMS")));
            File.Delete(lockFile);
            Assert.Equal(Base + ".dump", await claim.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "SHA256SUMS")).Length);
            Assert.False(File.Exists(lockFile));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

/// <summary>The local side of -Local backups claims the way the host-side script does, under the same lock.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class LocalClaimTests
{
    private const string Base = "db_full_20260101T000000Z";

    private static async Task<string> WritePartialAndClaimAsync(string dir, string run, string content)
    {
        var partial = Path.Combine(dir, $"{Base}.dump.{run}.partial");
        await using (var fs = LocalHostFiles.CreateNewFile(partial, groupReadable: false)) await fs.WriteAsync(Encoding.UTF8.GetBytes(content));
        var sha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(content))).ToLowerInvariant();
        return await LocalHostFiles.ClaimArtefactAsync(partial, Base, run, sha, name => $"fileName: {name}\n", false, CancellationToken.None);
    }

    [Fact]
    public async Task Claims_of_one_second_get_two_names_and_one_SHA256SUMS_lists_both()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-claim").FullName;
        try
        {
            Assert.Equal(Base + ".dump", await WritePartialAndClaimAsync(dir, "11112222", "first"));
            Assert.Equal(Base + "-33334444.dump", await WritePartialAndClaimAsync(dir, "33334444", "second"));
            Assert.Equal("first", File.ReadAllText(Path.Combine(dir, Base + ".dump")));
            var sums = File.ReadAllLines(Path.Combine(dir, "SHA256SUMS"));
            Assert.Equal(4, sums.Length);
            Assert.EndsWith($"  {Base}-33334444.dump", sums[2], StringComparison.Ordinal);
            Assert.EndsWith($"  {Base}-33334444.dump.manifest.yml", sums[3], StringComparison.Ordinal);
            Assert.Equal($"fileName: {Base}-33334444.dump\n", File.ReadAllText(Path.Combine(dir, $"{Base}-33334444.dump.manifest.yml")));
            Assert.All(Directory.GetFiles(dir), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
            Assert.Empty(Directory.GetFiles(dir, "*.partial"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_claim_waits_for_the_lock_the_host_side_script_takes_too()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-claim").FullName;
        try
        {
            var lockFile = Path.Combine(dir, "SHA256SUMS.lock");
            File.WriteAllText(lockFile, "");
            var claim = WritePartialAndClaimAsync(dir, "55556666", "x");
            await Task.Delay(1000);
            Assert.False(claim.IsCompleted);
            File.Delete(lockFile);
            await claim.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "SHA256SUMS")).Length);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_claim_that_cannot_write_its_manifest_removes_what_it_made_and_lists_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-claim").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "SHA256SUMS"), "aa  earlier.dump\n");
            // Something already sits where the manifest's temporary file goes.
            Directory.CreateDirectory(Path.Combine(dir, $"{Base}.dump.manifest.yml.tmp.77778888"));
            var ex = await Assert.ThrowsAsync<HbOpsException>(() => WritePartialAndClaimAsync(dir, "77778888", "x"));
            Assert.Equal(HbErrorIds.DestinationNotWritable, ex.ErrorId);
            Assert.Equal("aa  earlier.dump\n", File.ReadAllText(Path.Combine(dir, "SHA256SUMS")));
            Assert.False(File.Exists(Path.Combine(dir, Base + ".dump")));
            Assert.False(File.Exists(Path.Combine(dir, "SHA256SUMS.lock")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Text_files_are_private_unless_their_folder_is_group_readable()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-claim").FullName;
        try
        {
            await new LocalHostFiles().WriteTextAtomicAsync(Path.Combine(dir, "a.yml"), "a", CancellationToken.None);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "a.yml")));
            File.SetUnixFileMode(dir, File.GetUnixFileMode(dir) | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            await new LocalHostFiles().WriteTextAtomicAsync(Path.Combine(dir, "b.yml"), "b", CancellationToken.None);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Path.Combine(dir, "b.yml")));
            Assert.Equal(new[] { "a.yml", "b.yml" }, Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

/// <summary>Sandboxes of concurrent runs: a name is a run's only once its volume carries its id and its container exists.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class SandboxOwnershipTests
{
    private static readonly FakeCommandHost Host = new(_ => (1, "", "no commands expected"));
    private static readonly string Day = DateTime.UtcNow.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);

    private static Dictionary<string, string> Labels(string name, string run) => new()
    {
        [HbSandbox.SandboxLabel] = "true", ["hbops.sandbox-name"] = name, ["hbops.volume"] = name + "-data", ["hbops.run-id"] = run,
    };

    private static SandboxSpec Spec(string run) => new() { Tag = "t", RunId = run, Image = "postgres:15", ImageMajor = 15 };

    [Fact]
    public async Task When_another_run_makes_the_volume_first_this_run_takes_the_name_with_its_id_and_touches_nothing_of_the_other()
    {
        var engine = new FakeDockerGateway();
        var name = $"pg-restore-test-t-{Day}";
        engine.BeforeVolumeCreate = v =>
        {
            if (v == name + "-data") engine.Volumes.TryAdd(v, Labels(name, "other1"));
        };
        var sandbox = await new SandboxManager(Host, null, engine).CreateAsync(Spec("mine01"), CancellationToken.None);
        Assert.Equal(name + "-mine01", sandbox.Name);
        Assert.Equal("other1", engine.Volumes[name + "-data"]["hbops.run-id"]);
        Assert.Empty(engine.Removed);
    }

    [Fact]
    public async Task When_another_run_makes_the_container_first_this_run_removes_only_its_own_volume_and_takes_the_name_with_its_id()
    {
        var engine = new FakeDockerGateway();
        var name = $"pg-restore-test-t-{Day}";
        engine.BeforeContainerCreate = c =>
        {
            if (c == name) engine.Containers.TryAdd(c, Labels(name, "other2"));
            return Task.CompletedTask;
        };
        var sandbox = await new SandboxManager(Host, null, engine).CreateAsync(Spec("mine02"), CancellationToken.None);
        Assert.Equal(name + "-mine02", sandbox.Name);
        Assert.Equal("other2", engine.Containers[name]["hbops.run-id"]);
        Assert.Equal(new[] { $"volume:{name}-data" }, engine.Removed);
    }

    [Fact]
    public async Task An_exact_name_another_run_holds_is_SandboxCollision_and_nothing_of_it_is_removed()
    {
        var engine = new FakeDockerGateway();
        engine.BeforeContainerCreate = c =>
        {
            engine.Containers.TryAdd(c, Labels(c, "other3"));
            return Task.CompletedTask;
        };
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => new SandboxManager(Host, null, engine).CreateAsync(
            new SandboxSpec { Name = "exact", RunId = "mine03", Image = "postgres:15", ImageMajor = 15 }, CancellationToken.None));
        Assert.Equal(HbErrorIds.SandboxCollision, ex.ErrorId);
        Assert.True(engine.Containers.ContainsKey("exact"));
        Assert.Equal(new[] { "volume:exact-data" }, engine.Removed);
    }

    [Fact]
    public async Task A_removal_for_one_run_leaves_another_runs_container_and_volume_of_that_name()
    {
        var engine = new FakeDockerGateway();
        engine.Containers["s"] = Labels("s", "other4");
        engine.Volumes["s-data"] = Labels("s", "other4");
        var removal = await new SandboxManager(Host, null, engine).RemoveAsync("s", CancellationToken.None, "s-data", null, runId: "mine04");
        Assert.True(removal.Verified);
        Assert.Equal(HbRemovalStatus.AlreadyGone, removal.Status);
        Assert.Empty(engine.Removed);
    }

    [Fact]
    public void An_orphaned_volume_expires_after_the_creation_grace_and_a_sandbox_only_at_its_expiry()
    {
        var now = DateTime.UtcNow;
        Assert.True(new HbSandbox { Orphaned = true, CreatedUtc = now - HbSandbox.OrphanGrace - TimeSpan.FromSeconds(1), ExpiresUtc = now.AddHours(2) }.Expired);
        Assert.False(new HbSandbox { Orphaned = true, CreatedUtc = now, ExpiresUtc = now.AddHours(2) }.Expired);
        Assert.False(new HbSandbox { CreatedUtc = now.AddHours(-1), ExpiresUtc = now.AddHours(1) }.Expired);
        Assert.True(new HbSandbox { CreatedUtc = now.AddHours(-3), ExpiresUtc = now.AddHours(-1) }.Expired);
    }
}

/// <summary>Scripts/dump.sh in stream mode (-Local): the dump on stdout, key=value status on stderr, the script ends with the dump.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class StreamDumpScriptTests
{
    private static readonly LocalCommandHost Local = new();

    private static HostDumpSpec Spec(string run) => new(run, false, "hbops-test-no-such-container", "u", "d", "hbops-dump-" + run, "-", "-");

    [Fact]
    public async Task The_dump_arrives_whole_on_stdout_and_the_script_ends_with_it_without_being_asked()
    {
        await using var dump = await HostDump.StartAsync(Local, stream: true, Spec("1a2b3c4d"), new[] { "sh", "-c", "head -c 3000000 /dev/zero" }, null, CancellationToken.None);
        long total = 0;
        var buffer = new byte[65536];
        int n;
        while ((n = await dump.Data.ReadAsync(buffer)) > 0) total += n;
        var s = await dump.WaitDumpedAsync(CancellationToken.None);
        await dump.FinishAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3_000_000, total);
        Assert.True(s.Ended);
        Assert.Equal(0, s.DumpExit);
        Assert.Equal(0, s.PassExit);
        Assert.False(s.Aborted);
    }

    [Fact]
    public async Task An_abort_line_stops_the_dump_and_the_script_confirms()
    {
        await using var dump = await HostDump.StartAsync(Local, stream: true, Spec("5e6f7a8b"),
            new[] { "sh", "-c", "head -c 100000 /dev/zero; sleep 2" }, null, CancellationToken.None);
        var first = new byte[1];
        Assert.Equal(1, await dump.Data.ReadAsync(first));
        Assert.True(await dump.AbortAsync());
        Assert.True(dump.Status.Aborted);
    }
}
