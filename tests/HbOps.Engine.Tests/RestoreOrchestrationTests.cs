using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>
/// The restore test's orchestration without Docker or SSH: the sandbox, the artefact's place on the host, the lease and
/// the SQL endpoint are fakes; the phases, the overlap, the verdict and the cleanup are the engine's own.
/// </summary>
public sealed class RestoreOrchestrationTests : IDisposable
{
    private const string Sha = "aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11";
    private readonly string _folder = Directory.CreateTempSubdirectory("hbops-orch-").FullName;
    private readonly FakeSandboxGateway _sandboxes = new();
    private readonly FakeLease _lease = new();
    private readonly RecordingReporter _report = new();
    private FakeStaging _staging = new(Sha);
    private Func<string, CancellationToken, Task<string>> _answer;

    public RestoreOrchestrationTests()
    {
        _answer = (sql, _) => Task.FromResult(sql.StartsWith("BEGIN ISOLATION", StringComparison.Ordinal) ? Facts(rows: 3) : "");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Facts(long rows, int tables = 1) =>
        $$"""{"version":"15.4","num":150004,"schemas":[{"s":"public","n":{{tables}}}],"counts":[{"s":"public","t":"t","l":null,"x":{{rows}}}]}""";

    private HbBackupArtefact Artefact(bool snapshot = true) => new()
    {
        Path = Path.Combine(_folder, "prod.dump"), FileName = "prod.dump", Location = HbArtefactLocation.Local, Sha256 = Sha,
        Database = "prod", User = "app", ServerMajor = 15, ServerVersion = "15.4", Tag = "prod",
        RowCountSnapshot = snapshot
            ? new HbRowCountSnapshot { Mode = RowCountMode.Exact, Tables = [new HbTableRowCount { Schema = "public", Table = "t", ExactRows = 3 }] }
            : null,
    };

    private RestoreEngine Engine() => new(new FakeCommandHost(_ => (1, "", "no host commands in this test")), _report, null,
        new RestoreSeams(_sandboxes, _staging, new FakeSandboxSql((sql, ct) => _answer(sql, ct)), (_, _) => _lease));

    private void AssertNothingLeft(bool swept = false)
    {
        Assert.Empty(_sandboxes.Live);
        Assert.Equal(1, _lease.Ends);
        Assert.Equal(!swept, _lease.NothingLeft);
    }

    [Fact]
    public async Task Given_a_good_artefact_When_testing_Then_Passed_with_the_phases_in_order_torn_down_and_recorded()
    {
        var r = await Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Passed, r.Result);
        Assert.True(r.ChecksumVerified);
        Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
        // The checksum and the sandbox's creation run side by side: either may start first.
        Assert.Equal(["CreateSandbox", "VerifyChecksum"], r.Phases.Take(2).Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["Restore", "SmokeTests", "Teardown"], r.Phases.Skip(2).Select(p => p.Name));
        Assert.All(r.Phases, p => Assert.Equal(HbCheckStatus.Passed, p.Status));
        Assert.Equal(HbRemovalStatus.Removed, r.Teardown!.Status);
        Assert.Equal("fake", r.Sandbox!.SqlRoute);
        AssertNothingLeft();
        Assert.StartsWith(r.Artefact.Path + RestoreEngine.RecordInfix, r.RecordPath, StringComparison.Ordinal);
        Assert.True(File.Exists(r.RecordPath));
        Assert.Equal([20, 40, 60, 80, 90, 100], _report.Progress.Select(p => p.PercentComplete).Order());
        Assert.All(_report.Progress, p => Assert.Equal(42, p.ActivityId));
        Assert.Contains("pg_restore", Assert.Single(_sandboxes.Commands));
    }

    [Fact]
    public async Task Given_a_checksum_mismatch_When_the_sandbox_was_made_meanwhile_Then_ChecksumMismatch_and_it_is_torn_down()
    {
        var created = new TaskCompletionSource();
        _sandboxes.DuringCreate = _ => { created.TrySetResult(); return Task.CompletedTask; };
        _staging = new FakeStaging(new string('b', 64)) { DuringChecksum = _ => created.Task };

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Equal(HbErrorIds.ChecksumMismatch, ex.ErrorId);
        Assert.Single(_sandboxes.Created);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        Assert.Empty(_sandboxes.Commands); // pg_restore never read the artefact
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_a_checksum_mismatch_When_creating_a_sandbox_Then_nothing_is_made()
    {
        _staging = new FakeStaging(new string('b', 64));

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine().CreateSandboxAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Equal(HbErrorIds.ChecksumMismatch, ex.ErrorId);
        Assert.Empty(_sandboxes.Created);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_a_good_artefact_When_creating_a_sandbox_Then_it_is_ready_kept_and_the_lease_lets_go()
    {
        var sandbox = await Engine().CreateSandboxAsync(Artefact(), new RestoreRequest(), CancellationToken.None);

        Assert.Equal(sandbox.Name, Assert.Single(_sandboxes.Live));
        Assert.Empty(_sandboxes.TornDown);
        Assert.Empty(_sandboxes.Commands);
        Assert.Equal("fake", sandbox.SqlRoute);
        Assert.Equal(1, _lease.Ends);
        Assert.True(_lease.NothingLeft);
    }

    [Fact]
    public async Task Given_Ctrl_C_during_the_checksum_When_the_sandbox_was_made_meanwhile_Then_nothing_is_left()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        var created = new TaskCompletionSource();
        _sandboxes.DuringCreate = _ => { created.TrySetResult(); return Task.CompletedTask; };
        _staging = new FakeStaging(Sha) { DuringChecksum = async ct => { await created.Task; await Hold.UntilCancelled(reached)(ct); } };

        var run = Engine().RunAsync(Artefact(), new RestoreRequest(), cts.Token);
        await reached.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        Assert.Empty(_sandboxes.Commands);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_Ctrl_C_during_sandbox_creation_When_the_artefact_was_uploaded_Then_the_upload_is_removed_and_the_lease_sweeps()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        _staging = new FakeStaging(Sha, upload: true);
        _sandboxes.DuringCreate = Hold.UntilCancelled(reached);

        var run = Engine().RunAsync(Artefact(), new RestoreRequest(), cts.Token);
        await reached.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.NotNull(_staging.UploadedTo);
        Assert.Contains(_staging.UploadedTo, _lease.Armed);
        Assert.Equal([_staging.UploadedTo], _sandboxes.ScratchRemoved);
        // Creation began: the lease sweeps whatever it may have left under the run's id.
        AssertNothingLeft(swept: true);
    }

    [Fact]
    public async Task Given_Ctrl_C_during_pg_restore_Then_the_sandbox_and_its_upload_are_torn_down()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        _staging = new FakeStaging(Sha, upload: true);
        _sandboxes.Command = async (_, ct) => { await Hold.UntilCancelled(reached)(ct); return new CommandResult(0, "", ""); };

        var run = Engine().RunAsync(Artefact(), new RestoreRequest(), cts.Token);
        await reached.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        Assert.Equal([_staging.UploadedTo!], _sandboxes.ScratchRemoved);
        AssertNothingLeft();
        Assert.Contains(_report.Progress, p => p.Status == "Teardown" && p.PercentComplete == 90);
        Assert.True(_report.Progress[^1].Completed);
    }

    [Fact]
    public async Task Given_Ctrl_C_during_the_smoke_tests_Then_the_sandbox_is_torn_down()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        _answer = async (_, ct) => { await Hold.UntilCancelled(reached)(ct); return ""; };

        var run = Engine().RunAsync(Artefact(), new RestoreRequest(), cts.Token);
        await reached.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_KeepSandbox_When_testing_Then_the_sandbox_stays_and_the_teardown_says_Skipped()
    {
        var r = await Engine().RunAsync(Artefact(), new RestoreRequest { KeepSandbox = true }, CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Passed, r.Result);
        Assert.Equal(HbRemovalStatus.Skipped, r.Teardown!.Status);
        Assert.Empty(_sandboxes.TornDown);
        Assert.Equal(r.Sandbox!.Name, Assert.Single(_sandboxes.Live));
        Assert.DoesNotContain(r.Phases, p => p.Name == "Teardown");
        Assert.True(_lease.NothingLeft); // kept on purpose: the lease lets go without a sweep
    }

    [Fact]
    public async Task Given_a_row_count_that_differs_When_testing_Then_a_Failed_result_not_an_exception()
    {
        _answer = (sql, _) => Task.FromResult(sql.StartsWith("BEGIN ISOLATION", StringComparison.Ordinal) ? Facts(rows: 2) : "");

        var r = await Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Failed, r.Result);
        Assert.Equal(HbCheckStatus.Failed, r.RowCountCheck);
        Assert.Contains(r.FailureReasons, f => f.Contains("public.t", StringComparison.Ordinal));
        Assert.Equal(HbCheckStatus.Failed, r.Phases.Single(p => p.Name == "SmokeTests").Status);
        Assert.True(File.Exists(r.RecordPath));
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_an_assertion_that_does_not_hold_When_testing_Then_a_Failed_result_naming_it()
    {
        _answer = (sql, _) => Task.FromResult(sql.StartsWith("BEGIN ISOLATION", StringComparison.Ordinal) ? Facts(rows: 3)
            : sql == "SELECT count(*) FROM public.t" ? "3" : "");
        var assertion = new HbAssertion { Name = "four rows", Sql = "SELECT count(*) FROM public.t", Expected = "4" };

        var r = await Engine().RunAsync(Artefact(), new RestoreRequest { Assertions = [assertion] }, CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Failed, r.Result);
        Assert.Equal(HbCheckStatus.Failed, Assert.Single(r.Assertions).Status);
        Assert.Contains(r.FailureReasons, f => f.Contains("'four rows'", StringComparison.Ordinal));
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_no_row_count_snapshot_When_testing_Then_counts_are_NotRun_with_a_warning()
    {
        var r = await Engine().RunAsync(Artefact(snapshot: false), new RestoreRequest(), CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Passed, r.Result);
        Assert.Equal(HbCheckStatus.NotRun, r.RowCountCheck);
        Assert.Contains(_report.Warnings, w => w.Contains("no row-count snapshot", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_the_connection_drops_during_pg_restore_Then_SshConnectionLost_and_the_lease_sweeps()
    {
        _sandboxes.Command = (_, _) => Task.FromException<CommandResult>(Hold.ConnectionLost());
        _sandboxes.TeardownFails = Hold.ConnectionLost();

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Equal(HbErrorIds.SshConnectionLost, ex.ErrorId);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        Assert.Contains(_report.Warnings, w => w.Contains("host-side lease removes", StringComparison.Ordinal));
        // The teardown could not be verified: the lease on the host removes what carries the run's id.
        Assert.Equal(1, _lease.Ends);
        Assert.False(_lease.NothingLeft);
    }

    [Fact]
    public async Task Given_the_connection_drops_during_pg_restore_When_the_teardown_still_works_Then_SshConnectionLost_and_nothing_left()
    {
        _sandboxes.Command = (_, _) => Task.FromException<CommandResult>(Hold.ConnectionLost());

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Equal(HbErrorIds.SshConnectionLost, ex.ErrorId);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_an_image_of_a_lower_major_When_testing_Then_SandboxMajorTooLow_and_nothing_is_made()
    {
        _sandboxes.ImageMajor = 14;

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Equal(HbErrorIds.SandboxMajorTooLow, ex.ErrorId);
        Assert.Empty(_sandboxes.Created);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_a_newer_image_When_testing_Then_PassedWithNotes_saying_so()
    {
        _sandboxes.ImageMajor = 17;

        var r = await Engine().RunAsync(Artefact(), new RestoreRequest { Image = "postgres:17" }, CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.PassedWithNotes, r.Result);
        Assert.Contains(r.Notes, n => n.StartsWith("Restored into a newer major", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_an_encrypted_artefact_When_testing_Then_the_identity_goes_into_the_sandbox_and_is_cleared_here()
    {
        var plain = new string('c', 64);
        var artefact = Artefact();
        artefact.Encryption = new HbEncryption { Recipients = ["age1example"], PlaintextSha256 = plain };
        var identity = "AGE-SECRET-KEY-1EXAMPLE"u8.ToArray();
        var request = new RestoreRequest { Identity = identity.ToArray(), Jobs = 4 };
        _sandboxes.Command = (_, _) => Task.FromResult(new CommandResult(0, $"hbops-decrypt-rc=0\nhbops-plain-sha256={plain}\n", ""));

        var r = await Engine().RunAsync(artefact, request, CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Passed, r.Result);
        Assert.Equal(identity, _sandboxes.IdentitySeen);
        Assert.All(request.Identity!, b => Assert.Equal(0, b));
        Assert.Equal(1, r.Jobs);
        Assert.True(r.PlaintextChecksumVerified);
        Assert.StartsWith("age -d -i ", r.RestoreCommand, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_pg_restore_exits_nonzero_without_messages_that_account_for_it_Then_a_Failed_result()
    {
        _sandboxes.Command = (_, _) => Task.FromResult(new CommandResult(1, "", ""));

        var r = await Engine().RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None);

        Assert.Equal(HbRestoreOutcome.Failed, r.Result);
        Assert.Equal(HbCheckStatus.Failed, r.Phases.Single(p => p.Name == "Restore").Status);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Given_Ctrl_C_while_New_HbSandbox_creates_the_sandbox_Then_nothing_is_left_and_the_lease_sweeps()
    {
        using var cts = new CancellationTokenSource();
        var reached = new TaskCompletionSource();
        _staging = new FakeStaging(Sha, upload: true);
        _sandboxes.DuringCreate = Hold.UntilCancelled(reached);

        var run = Engine().CreateSandboxAsync(Artefact(), new RestoreRequest(), cts.Token);
        await reached.Task;
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal([_staging.UploadedTo!], _sandboxes.ScratchRemoved);
        AssertNothingLeft(swept: true);
    }

    [Fact]
    public async Task Given_a_server_that_never_becomes_ready_Then_SandboxStartFailed_and_the_sandbox_is_torn_down()
    {
        var notReady = new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.ResourceUnavailable, "did not become ready (timed out)", "sb");
        var gateway = new NeverReady(_sandboxes, notReady);
        var engine = new RestoreEngine(new FakeCommandHost(_ => (1, "", "")), _report, null,
            new RestoreSeams(gateway, _staging, new FakeSandboxSql((sql, ct) => _answer(sql, ct)), (_, _) => _lease));

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => engine.RunAsync(Artefact(), new RestoreRequest(), CancellationToken.None));

        Assert.Same(notReady, ex);
        Assert.Equal(_sandboxes.Created, _sandboxes.TornDown);
        AssertNothingLeft();
    }

    // A sandbox whose server never accepts connections: the command is never started (as SandboxManager reports it).
    private sealed class NeverReady(FakeSandboxGateway inner, Exception why) : Sandbox.ISandboxGateway
    {
        public Task<int> ProbeImageMajorAsync(string image, CancellationToken ct) => inner.ProbeImageMajorAsync(image, ct);
        public Task<HbSandbox> CreateAsync(Sandbox.SandboxSpec spec, CancellationToken ct) => inner.CreateAsync(spec, ct);
        public Task<string> PrepareDecryptionAsync(HbSandbox sandbox, byte[] identity, CancellationToken ct) => inner.PrepareDecryptionAsync(sandbox, identity, ct);
        public Task WaitReadyAsync(HbSandbox sandbox, TimeSpan timeout, CancellationToken ct) => Task.FromException(why);
        public Task<CommandResult> RunWhenReadyAsync(HbSandbox sandbox, IReadOnlyList<string> argv, TimeSpan timeout, Action onReady, CancellationToken ct) =>
            Task.FromException<CommandResult>(why);
        public Task<HbSandboxRemoval> RemoveAsync(string name, CancellationToken ct, string? volumeName = null, string? scratchFolder = null, string? runId = null) =>
            inner.RemoveAsync(name, ct, volumeName, scratchFolder, runId);
        public Task<string?> RemoveScratchFolderAsync(string folder, CancellationToken ct) => inner.RemoveScratchFolderAsync(folder, ct);
        public Task<List<HbSandbox>> ListAsync(CancellationToken ct) => inner.ListAsync(ct);
    }
}
