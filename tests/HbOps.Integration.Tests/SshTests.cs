using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Integration.Tests;

public class SshTests
{
    private readonly TestEnvironment _env = new();

    // The alias's resolved host with one setting changed.
    private HbOps.Model.HbHost AliasWith(string? identityFile = null, int? port = null)
    {
        var r = _env.ResolveAlias();
        return new HbOps.Model.HbHost
        {
            Kind = r.Kind, HostName = r.HostName, Port = port ?? r.Port, User = r.User,
            IdentityFiles = identityFile is null ? r.IdentityFiles : new List<string> { identityFile }, KnownHostsFiles = r.KnownHostsFiles,
        };
    }

    [Fact]
    public async Task Given_the_alias_When_running_a_command_Then_arguments_arrive_verbatim()
    {
        await using var host = await _env.ConnectAsync();
        var r = await host.RunAsync(new[] { "printf", "%s|%s", "$(id)", "a b;c" }, CancellationToken.None);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("$(id)|a b;c", r.StandardOutput);
    }

    [Fact]
    public async Task Given_an_empty_known_hosts_When_connecting_Then_HostKeyUnknown_names_the_fingerprint_and_AcceptNewHostKey_records_it()
    {
        var kh = Path.Combine(Path.GetTempPath(), "hbops-kh-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(kh, "");
        var host = HostResolver.Resolve(new HostSpec { Alias = _env.SshAlias, SshConfigPath = _env.SshConfigPath, KnownHostsPath = kh });
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None));
        Assert.Equal(HbErrorIds.HostKeyUnknown, ex.ErrorId);
        var expectedFp = TestEnvironment.Sh($"ssh-keygen -lf {_env.EnvDir}/ssh/host_ed25519.pub | cut -d' ' -f2").Trim();
        Assert.Contains(expectedFp, ex.Message);

        await using (var accepted = await HostResolver.ConnectAsync(host, new SshConnectOptions { AcceptNewHostKey = true }, CancellationToken.None))
        {
            Assert.Equal(0, (await accepted.RunAsync(new[] { "true" }, CancellationToken.None)).ExitCode);
        }
        await using var again = await HostResolver.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None);
        Assert.Equal(0, (await again.RunAsync(new[] { "true" }, CancellationToken.None)).ExitCode);
        File.Delete(kh);
    }

    [Fact]
    public async Task Given_a_changed_host_key_When_connecting_Then_HostKeyMismatch_even_with_AcceptNewHostKey()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-kh").FullName;
        TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N '' -f {dir}/other");
        var otherKey = File.ReadAllText($"{dir}/other.pub").Split(' ')[1];
        File.WriteAllText($"{dir}/known_hosts", $"[127.0.0.1]:{_env.SshPort} ssh-ed25519 {otherKey}\n");
        var host = HostResolver.Resolve(new HostSpec { Alias = _env.SshAlias, SshConfigPath = _env.SshConfigPath, KnownHostsPath = $"{dir}/known_hosts" });
        var ex = await Assert.ThrowsAsync<HbOpsException>(() =>
            HostResolver.ConnectAsync(host, new SshConnectOptions { AcceptNewHostKey = true }, CancellationToken.None));
        Assert.Equal(HbErrorIds.HostKeyMismatch, ex.ErrorId);
        Assert.Contains("SHA256:", ex.Message);
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Given_a_key_the_server_does_not_know_When_connecting_Then_SshAuthenticationFailed()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-key").FullName;
        TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N '' -f {dir}/stranger");
        var host = AliasWith(identityFile: $"{dir}/stranger");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None));
        Assert.Equal(HbErrorIds.SshAuthenticationFailed, ex.ErrorId);
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Given_an_encrypted_key_When_connecting_without_and_with_the_passphrase_Then_KeyFileInvalid_then_success()
    {
        var dir = Directory.CreateTempSubdirectory("hbops-key").FullName;
        TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N 'correct horse' -f {dir}/locked && cat {dir}/locked.pub >> {_env.AuthorizedKeysPath}");
        var host = AliasWith(identityFile: $"{dir}/locked");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None));
        Assert.Equal(HbErrorIds.KeyFileInvalid, ex.ErrorId);
        Assert.DoesNotContain("correct horse", ex.Message);
        await using var ok = await HostResolver.ConnectAsync(host, new SshConnectOptions { KeyPassphrase = "correct horse" }, CancellationToken.None);
        Assert.Equal(0, (await ok.RunAsync(new[] { "true" }, CancellationToken.None)).ExitCode);
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task Given_a_closed_port_When_connecting_Then_SshConnectionFailed()
    {
        var port = int.Parse(TestEnvironment.Sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var host = AliasWith(port: port);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => HostResolver.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None));
        Assert.Equal(HbErrorIds.SshConnectionFailed, ex.ErrorId);
    }
}

public class SshCipherTests
{
    [Fact]
    public async Task Connections_prefer_hardware_accelerated_aes_gcm()
    {
        await using var host = (SshCommandHost)await new TestEnvironment().ConnectAsync();
        Assert.Contains("gcm", host.Ciphers, StringComparison.Ordinal);
    }
}

public class SshStreamingTests
{
    // A sink slower than the SSH link: 256 KiB every 10 ms at most (~25 MiB/s).
    private sealed class SlowSink : Stream
    {
        public long Written;
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
        {
            await Task.Delay(10, ct);
            Written += buffer.Length;
        }
        public override void Write(byte[] buffer, int offset, int count) => Written += count;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Given_a_reader_slower_than_the_link_When_streaming_over_ssh_Then_the_sender_is_held_back_and_memory_stays_bounded()
    {
        await using var host = await new TestEnvironment().ConnectAsync();
        const long total = 96L << 20;
        await using var cmd = await host.StartStreamingAsync(new[] { "head", "-c", total.ToString(System.Globalization.CultureInfo.InvariantCulture), "/dev/zero" }, CancellationToken.None);
        var pipe = Assert.IsType<BoundedPipeStream>(ShellStartFilter.Pipe(cmd.StandardOutput));
        await cmd.StandardInput.DisposeAsync();
        var sink = new SlowSink();
        var buffer = new byte[256 * 1024];
        int n;
        while ((n = await cmd.StandardOutput.ReadAsync(buffer)) > 0) await sink.WriteAsync(buffer.AsMemory(0, n));
        Assert.Equal(0, await cmd.WaitForExitAsync(CancellationToken.None));
        Assert.Equal(total, sink.Written);
        // The producer had to wait for the reader (the link is faster), and never more than the pipe's capacity was held.
        Assert.True(pipe.ProducerWaits > 0, "the sender was never held back");
        Assert.True(pipe.PeakBuffered <= pipe.Capacity);
        Assert.True(pipe.Capacity < total / 16);
    }

    [Fact]
    public async Task Given_many_commands_waiting_for_output_When_read_together_Then_their_streams_are_thread_free_pipes()
    {
        // Each command's stdout and stderr are read asynchronously while it sleeps: twice as many pending reads as
        // commands. SSH.NET's own pipes have no asynchronous read (each pending read would hold a thread-pool thread,
        // and work queued meanwhile would wait for the pool to grow); HbOps' pipes wait without a thread.
        await using var host = await new TestEnvironment().ConnectAsync();
        const int commands = 16;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var runs = Enumerable.Range(0, commands)
            .Select(i => host.RunAsync(new[] { "sh", "-c", $"sleep 1; echo out{i}; echo err{i} >&2" }, CancellationToken.None)).ToList();
        var results = await Task.WhenAll(runs);
        var elapsed = sw.Elapsed;
        for (var i = 0; i < commands; i++)
        {
            Assert.Equal($"out{i}\n", results[i].StandardOutput);
            Assert.Equal($"err{i}\n", results[i].StandardError);
        }
        await using (var probe = await host.StartAsync(new[] { "true" }, CancellationToken.None))
        {
            Assert.IsType<BoundedPipeStream>(ShellStartFilter.Pipe(probe.StandardOutput));
            Assert.IsType<BoundedPipeStream>(ShellStartFilter.Pipe(probe.StandardError));
            Assert.True(((BoundedPipeStream)ShellStartFilter.Pipe(probe.StandardOutput)).Capacity > BoundedPipeStream.DefaultCapacity, "an ordinary command's stdout must not hold the connection when unread");
        }
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"{commands} one-second commands took {elapsed.TotalSeconds:n1} s");
    }

    [Fact]
    public async Task Given_a_full_pipe_When_the_reader_leaves_early_Then_the_connection_stays_usable()
    {
        await using var host = await new TestEnvironment().ConnectAsync();
        await using (var cmd = await host.StartStreamingAsync(new[] { "head", "-c", "67108864", "/dev/zero" }, CancellationToken.None))
        {
            var pipe = Assert.IsType<BoundedPipeStream>(ShellStartFilter.Pipe(cmd.StandardOutput));
            var buffer = new byte[1024];
            Assert.True(await cmd.StandardOutput.ReadAsync(buffer) > 0);
            // Let the pipe fill up so SSH.NET's message loop waits in it, then walk away.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (pipe.ProducerWaits == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(pipe.ProducerWaits > 0);
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var r = await host.RunAsync(new[] { "echo", "still here" }, cts.Token);
        Assert.Equal("still here\n", r.StandardOutput);
    }
}

public class ShellHostFilesTests
{
    [Fact]
    public async Task The_host_and_local_checksums_of_one_file_agree_in_one_round_trip_and_a_missing_file_is_null()
    {
        await using var host = await new TestEnvironment().ConnectAsync();
        var dir = TestEnvironment.NewOperatorFolder("hbops-sum");
        var file = Path.Combine(dir, "a b.dump");
        File.WriteAllBytes(file, System.Security.Cryptography.RandomNumberGenerator.GetBytes(3_000_001));
        var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();
        File.WriteAllText(Path.Combine(dir, "SHA256SUMS"), $"{expected}  a b.dump\n");
        var remote = await new ShellHostFiles(host).ChecksumAsync(file, Path.Combine(dir, "SHA256SUMS"), null, CancellationToken.None);
        var local = await new LocalHostFiles().ChecksumAsync(file, Path.Combine(dir, "SHA256SUMS"), null, CancellationToken.None);
        Assert.NotNull(remote);
        Assert.Equal(local, remote);
        Assert.Equal(expected, remote!.Sha256);
        Assert.Equal(3_000_001, remote.Size);
        Assert.True(remote.Lists("a b.dump"));
        Assert.False(remote.Lists("other.dump"));
        Assert.Equal(expected, await new ShellHostFiles(host).Sha256Async(file, CancellationToken.None));
        Assert.Null(await new ShellHostFiles(host).ChecksumAsync(file + ".missing", Path.Combine(dir, "SHA256SUMS"), null, CancellationToken.None));
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task A_pending_write_a_finalize_and_a_psql_session_never_exit_before_their_input_ends()
    {
        // A command that exits while its end-of-file is still on the way lets SSH.NET send that end-of-file after the
        // channel closed, and OpenSSH then drops the whole connection. Here the end-of-file is held back for a while:
        // the commands must still be running when it is sent, and finish their work after it.
        await using var inner = await new TestEnvironment().ConnectAsync();
        var host = new SlowEofHost(inner, TimeSpan.FromMilliseconds(700));
        var files = new ShellHostFiles(host);
        var dir = TestEnvironment.NewOperatorFolder("hbops-eof");

        await using (var pending = await files.BeginWriteTextAtomicAsync(Path.Combine(dir, "record.yml"), CancellationToken.None))
        {
            await pending.CommitAsync("result: Passed\n", CancellationToken.None);
        }
        Assert.Equal("result: Passed\n", File.ReadAllText(Path.Combine(dir, "record.yml")));

        // The host-side dump answers its claim only after the manifest and the end of its input arrived.
        var env = new TestEnvironment();
        var a = await new HbOps.Engine.Backup.BackupEngine(host).RunAsync(new HbOps.Engine.Backup.BackupRequest
        {
            Container = env.Container, Database = env.Database, User = env.User, Destination = dir, Tag = "eof", RowCounts = HbOps.Model.RowCountMode.None,
        }, CancellationToken.None);
        Assert.Equal(a.Sha256, TestEnvironment.Sh($"sha256sum {a.Path}").Split(' ')[0]);
        Assert.Equal(a.Sha256, HbOps.Engine.Backup.BackupEngine.ParseManifest(File.ReadAllText(a.ManifestPath)).Sha256);

        var session = await HbOps.Engine.Postgres.PsqlSession.StartAsync(
            new HbOps.Engine.Postgres.PgEndpoint(new HbOps.Engine.Docker.DockerCli(host), env.Container, env.User, env.Database), "hbops-test", CancellationToken.None);
        Assert.Equal("1\n", await session.ExecuteAsync("SELECT 1;", CancellationToken.None));
        await session.DisposeAsync();

        // The pending write, the dump and the psql sessions (the backup's server query and the session) read input; the
        // backup's other probes are sent none.
        // One-shot queries (psql-guard.sh) are the opposite: they read a counted input and exit while it is still open,
        // as its end means HbOps gave up on them.
        var guarded = host.Commands.Where(c => c.Argv.Contains("hbops-psql")).ToList();
        Assert.NotEmpty(guarded);
        await Task.WhenAll(guarded.Select(c => c.Exited)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(guarded, c => Assert.True(c.EofSentAt is null || c.ExitedAt <= c.EofSentAt, $"a guarded query exited {c.ExitedAt:O}, after its end-of-file {c.EofSentAt:O}"));
        var readers = host.Commands.Where(c => !c.Argv.Contains("hbops-psql") &&
            (c.Argv.Contains("hbops-write") || c.Argv.Contains("hbops-dump") || (c.Argv.Contains("psql") && c.Argv.Contains("-i")))).ToList();
        Assert.Single(readers, c => c.Argv.Contains("hbops-write"));
        Assert.Single(readers, c => c.Argv.Contains("hbops-dump"));
        Assert.Contains(readers, c => c.Argv.Contains("PGAPPNAME=hbops-test"));
        await Task.WhenAll(readers.Select(c => c.Exited)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(readers, c => Assert.True(c.ExitedAfterEof, $"{c.Argv[Math.Min(3, c.Argv.Count - 1)]} exited {c.ExitedAt:O}, end-of-file sent {c.EofSentAt:O}"));
        Assert.Equal("still here\n", (await inner.RunAsync(new[] { "echo", "still here" }, CancellationToken.None)).StandardOutput);
        Directory.Delete(dir, true);
    }

    // Delays every command's end-of-file and records when each command exited relative to it.
    private sealed class SlowEofHost(ICommandHost inner, TimeSpan delay) : ICommandHost
    {
        public List<SlowEofCommand> Commands { get; } = new();
        public HbOps.Model.HbHost Host => inner.Host;

        public async Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct)
        {
            var c = new SlowEofCommand(await inner.StartAsync(argv, ct), delay, argv);
            lock (Commands) Commands.Add(c);
            return c;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class SlowEofCommand : IRunningCommand
    {
        private readonly IRunningCommand _inner;
        private readonly SlowEofStream _stdin;

        public SlowEofCommand(IRunningCommand inner, TimeSpan delay, IReadOnlyList<string> argv)
        {
            _inner = inner;
            Argv = argv;
            _stdin = new SlowEofStream(inner.StandardInput, delay, this);
            Exited = inner.WaitForExitAsync(CancellationToken.None).ContinueWith(_ => ExitedAt = DateTime.UtcNow, TaskScheduler.Default);
        }

        public IReadOnlyList<string> Argv { get; }
        public Task Exited { get; }
        public DateTime? EofSentAt { get; set; }
        public DateTime? ExitedAt { get; private set; }
        public bool ExitedAfterEof => EofSentAt is { } eof && ExitedAt is { } exit && exit >= eof;
        public Stream StandardInput => _stdin;
        public Stream StandardOutput => _inner.StandardOutput;
        public Stream StandardError => _inner.StandardError;
        public Task<int> WaitForExitAsync(CancellationToken ct) => _inner.WaitForExitAsync(ct);
        public Task KillAsync() => _inner.KillAsync();
        public ValueTask DisposeAsync() => _inner.DisposeAsync();
    }

    private sealed class SlowEofStream(Stream inner, TimeSpan delay, SlowEofCommand owner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override async ValueTask DisposeAsync()
        {
            await Task.Delay(delay);
            owner.EofSentAt ??= DateTime.UtcNow;
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }
        protected override void Dispose(bool disposing)
        {
            if (disposing && owner.EofSentAt is null)
            {
                Thread.Sleep(delay);
                owner.EofSentAt = DateTime.UtcNow;
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    [Fact]
    public async Task A_pending_write_opened_early_writes_exactly_the_committed_text_and_nothing_when_abandoned()
    {
        await using var host = await new TestEnvironment().ConnectAsync();
        var files = new ShellHostFiles(host);
        var dir = TestEnvironment.NewOperatorFolder("hbops-pending");
        var path = Path.Combine(dir, "record.yml");
        var text = "result: Passed\nnote: 'ünïcødé — and no newline at the end'";
        await using (var pending = await files.BeginWriteTextAtomicAsync(path, CancellationToken.None))
        {
            Assert.False(File.Exists(path));
            await pending.CommitAsync(text, CancellationToken.None);
        }
        Assert.Equal(text, File.ReadAllText(path));

        var abandoned = Path.Combine(dir, "abandoned.yml");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await using (await files.BeginWriteTextAtomicAsync(abandoned, CancellationToken.None))
        {
        }
        // The remote command ends at once (it is told there is no content; it does not wait for a timeout).
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"abandoning took {sw.Elapsed}");
        await files.WriteTextAtomicAsync(path, "second", CancellationToken.None);
        Assert.Equal("second", File.ReadAllText(path));
        Assert.False(File.Exists(abandoned));
        Assert.Equal(new[] { path }, Directory.GetFiles(dir)); // no temporary files left
        Directory.Delete(dir, true);
    }
}
