using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// The backup's orchestration without Docker or SSH: the host answers the preflight's commands from a script and the
/// dump itself is a fake that makes (and on abort removes) its partial file.
/// </summary>
public sealed class BackupOrchestrationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("hbops-borch-").FullName;
    private readonly RecordingReporter _report = new();
    private readonly List<FakeDumpRun> _dumps = new();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // The preflight of a run without a snapshot: container, server facts (one psql call), pg_dump's version, free space.
    private static FakeCommandHost Host(bool running = true, long freeKb = 10_000_000) => new(argv =>
    {
        var line = string.Join(' ', argv);
        if (line.StartsWith("docker container inspect", StringComparison.Ordinal)) return (0, FakeContainer.Inspect(running), "");
        if (line.Contains("pg_dump --version", StringComparison.Ordinal)) return (0, "pg_dump (PostgreSQL) 15.20", "");
        if (line.Contains("psql", StringComparison.Ordinal)) return (0, """{"v":"15.20","n":150020,"s":1000000000,"m":[]}""", "");
        if (line.Contains("df -Pk", StringComparison.Ordinal)) return (0, freeKb + "\nnew\n", "");
        return (1, "", "unexpected command in test: " + line);
    });

    private static BackupRequest Request() => new()
    {
        Database = "prod", User = "app", Destination = "/b", RowCounts = RowCountMode.None, Fingerprint = HbFingerprintMode.None,
    };

    private BackupEngine Engine(FakeCommandHost host, Func<CancellationToken, Task<DumpResult>>? dump = null) =>
        new(host, _report, (_, spec, argv, _, _) =>
        {
            var run = new FakeDumpRun(spec, Path.Combine(_folder, spec.BaseName + ".dump." + spec.RunId + ".partial"),
                dump ?? (_ => Task.FromResult(new DumpResult(new string('d', 64), 42, "", (0, "2026-01-01T00:00:00Z")))));
            _dumps.Add(run);
            return run;
        });

    [Fact]
    public async Task Given_a_stopped_container_When_backing_up_Then_ContainerNotRunning_and_nothing_is_dumped()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine(Host(running: false)).RunAsync(Request(), CancellationToken.None));

        Assert.Equal(HbErrorIds.ContainerNotRunning, ex.ErrorId);
        Assert.Empty(_dumps);
    }

    [Fact]
    public async Task Given_a_missing_container_When_backing_up_Then_ContainerNotFound_and_nothing_is_dumped()
    {
        var host = new FakeCommandHost(_ => (1, "[]", "Error: No such container: postgres"));

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine(host).RunAsync(Request(), CancellationToken.None));

        Assert.Equal(HbErrorIds.ContainerNotFound, ex.ErrorId);
        Assert.Empty(_dumps);
    }

    [Fact]
    public async Task Given_too_little_free_space_When_backing_up_Then_InsufficientDiskSpace_before_the_dump_is_made()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine(Host(freeKb: 1000)).RunAsync(Request(), CancellationToken.None));

        Assert.Equal(HbErrorIds.InsufficientDiskSpace, ex.ErrorId);
        Assert.Empty(_dumps);
        Assert.True(Assert.Single(_report.Progress).Completed);
    }

    [Fact]
    public async Task Given_too_little_free_space_and_Force_When_backing_up_Then_it_dumps_with_a_warning()
    {
        var a = await Engine(Host(freeKb: 1000)).RunAsync(new BackupRequest
        {
            Database = "prod", User = "app", Destination = "/b", RowCounts = RowCountMode.None, Fingerprint = HbFingerprintMode.None, Force = true,
        }, CancellationToken.None);

        Assert.True(a.SpaceCheckForced);
        Assert.Contains(_report.Warnings, w => w.Contains("-Force", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_Ctrl_C_during_the_dump_Then_the_dump_is_aborted_and_its_partial_file_removed()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        var run = Engine(Host(), async ct => { await Hold.UntilCancelled(reached)(ct); throw new InvalidOperationException("not reached"); })
            .RunAsync(Request(), cts.Token);
        await reached.Task;
        var dump = Assert.Single(_dumps);
        Assert.True(File.Exists(dump.Partial));

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.IsAssignableFrom<OperationCanceledException>(dump.AbortedBy);
        Assert.False(File.Exists(dump.Partial));
        Assert.True(dump.Disposed);
        Assert.Null(dump.Claimed);
    }

    [Fact]
    public async Task Given_a_dump_that_fails_Then_the_error_is_the_dumps_and_it_is_aborted()
    {
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine(Host(), _ => Task.FromException<DumpResult>(
            new HbOpsException(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed, "Backup failed: pg_dump exited 1", "p"))).RunAsync(Request(), CancellationToken.None));

        Assert.Equal(HbErrorIds.DumpFailed, ex.ErrorId);
        Assert.Same(ex, Assert.Single(_dumps).AbortedBy);
    }

    [Fact]
    public async Task Given_a_good_dump_When_backing_up_Then_it_is_claimed_with_its_manifest_and_the_container_observed_after()
    {
        var a = await Engine(Host()).RunAsync(Request(), CancellationToken.None);

        var dump = Assert.Single(_dumps);
        Assert.Equal(new string('d', 64), a.Sha256);
        Assert.Equal(42, a.SizeBytes);
        Assert.Equal(dump.Claimed, a.FileName);
        Assert.Contains("sha256: " + a.Sha256, dump.Manifest, StringComparison.Ordinal);
        Assert.Equal(0, a.ContainerRestartCountAfter);
        Assert.Equal("pg_dump (PostgreSQL) 15.20", a.PgDumpVersion);
        Assert.Equal(15, a.ServerMajor);
        Assert.Null(dump.AbortedBy);
        Assert.True(dump.Disposed);
    }

    [Fact]
    public async Task Given_a_dump_that_did_not_observe_the_container_Then_the_engine_looks_itself()
    {
        var host = Host();
        var a = await Engine(host, _ => Task.FromResult(new DumpResult(new string('d', 64), 42, "", null))).RunAsync(Request(), CancellationToken.None);

        Assert.Equal(0, a.ContainerRestartCountAfter);
        Assert.Equal(2, host.Calls.Count(c => string.Join(' ', c).StartsWith("docker container inspect", StringComparison.Ordinal)));
    }
}

/// <summary>A dump that makes its partial file, runs as the test says, and removes the file when aborted.</summary>
internal sealed class FakeDumpRun(HostDumpSpec spec, string partial, Func<CancellationToken, Task<DumpResult>> run) : DumpRun(spec)
{
    public string Partial { get; } = partial;
    public Exception? AbortedBy { get; private set; }
    public bool Disposed { get; private set; }
    public string? Claimed { get; private set; }
    public string Manifest { get; private set; } = "";

    public override Task<DumpResult> RunAsync(CancellationToken ct)
    {
        File.WriteAllText(Partial, "partial dump");
        return run(ct);
    }

    public override Task<string> ClaimAsync(string sha256, Func<string, string> manifestFor, CancellationToken ct)
    {
        Claimed = Spec.BaseName + ".dump";
        Manifest = manifestFor(Claimed);
        return Task.FromResult(Claimed);
    }

    public override Task AbortAsync(Exception? cause)
    {
        AbortedBy = cause;
        File.Delete(Partial);
        return Task.CompletedTask;
    }

    public override ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
