using System.Security.Cryptography;
using System.Text.Json;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Retention;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>The off-host storage started by tests/env/start-storage.sh: an SFTP-only, chrooted account on its own sshd.</summary>
public sealed class StorageEnvironment
{
    public StorageEnvironment()
    {
        var dir = Environment.GetEnvironmentVariable("HBOPS_ENV_DIR") ?? "/tmp/hbops-testenv";
        var path = Path.Combine(dir, "storage", "storage.json");
        if (!File.Exists(path)) throw new InvalidOperationException($"{path} is missing: start the storage (bash tests/env/start-storage.sh).");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var r = doc.RootElement;
        Alias = r.GetProperty(nameof(Alias)).GetString()!;
        ConfigPath = r.GetProperty(nameof(ConfigPath)).GetString()!;
        KnownHostsPath = r.GetProperty(nameof(KnownHostsPath)).GetString()!;
        Chroot = r.GetProperty(nameof(Chroot)).GetString()!;
        Root = r.GetProperty(nameof(Root)).GetString()!;
        SmallRoot = r.GetProperty(nameof(SmallRoot)).GetString()!;
        PidFile = r.GetProperty(nameof(PidFile)).GetString()!;
        Address = r.GetProperty(nameof(Address)).GetString()!;
        Port = r.GetProperty(nameof(Port)).GetInt32();
        User = r.GetProperty(nameof(User)).GetString()!;
        EnvDir = dir;
    }

    public string EnvDir { get; }
    public string Address { get; }
    public int Port { get; }
    public string User { get; }

    public string Alias { get; }
    public string ConfigPath { get; }
    public string KnownHostsPath { get; }
    /// <summary>The chroot on this machine: a path P on the storage is Chroot + P here.</summary>
    public string Chroot { get; }
    /// <summary>The writable folder on disk (the account's home).</summary>
    public string Root { get; }
    /// <summary>The writable folder on a small tmpfs.</summary>
    public string SmallRoot { get; }
    public string PidFile { get; }

    public HbHost Resolve(string? knownHosts = null) => HostResolver.Resolve(new HostSpec { Alias = Alias, SshConfigPath = ConfigPath, KnownHostsPath = knownHosts });

    public Task<SftpArtefactStore> ConnectAsync(string? knownHosts = null) => SftpArtefactStore.ConnectAsync(Resolve(knownHosts), new SshConnectOptions(), CancellationToken.None);

    /// <summary>Where a storage path is on this machine.</summary>
    public string Local(string storagePath) => Chroot + storagePath;

    /// <summary>A new folder on the storage (at <paramref name="root"/>), removed again by <see cref="Remove"/>.</summary>
    public static string NewFolder(string root, string prefix) => $"{root}/{prefix}-{Guid.NewGuid():N}"[..(root.Length + prefix.Length + 14)];

    public void Remove(string storagePath) => TestEnvironment.Sh($"rm -rf -- '{Local(storagePath)}'");

    /// <summary>
    /// Cuts every connection the storage sshd serves: kills each connection's processes (the privileged monitor, the
    /// network-facing child and its sftp server), leaving the listener running.
    /// </summary>
    public void CutConnections()
    {
        var pending = new Queue<string>(Children(File.ReadAllText(PidFile).Trim()));
        var all = new List<string>();
        while (pending.TryDequeue(out var pid))
        {
            all.Add(pid);
            foreach (var child in Children(pid)) pending.Enqueue(child);
        }
        if (all.Count > 0) TestEnvironment.Sh($"kill -9 {string.Join(' ', all)} 2>/dev/null || true");

        static string[] Children(string pid) =>
            TestEnvironment.Sh($"ps -o pid= --ppid {pid} || true").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}

/// <summary>One real backup on the docker host, copied by the tests of this class to the real SFTP storage.</summary>
public sealed class CopyFixture : IAsyncLifetime
{
    public TestEnvironment Env { get; } = new();
    public StorageEnvironment Storage { get; } = new();
    public HbBackupArtefact Artefact { get; private set; } = null!;
    public ICommandHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await Env.ConnectAsync();
        Artefact = await new BackupEngine(Host).RunAsync(new BackupRequest
        {
            Container = Env.Container, Database = Env.Database, User = Env.User, Destination = Env.BackupRoot, Tag = "xcopy-" + Guid.NewGuid().ToString("N")[..6],
        }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        TestEnvironment.Sh($"rm -rf -- '{Artefact.RunFolder}'");
        await Host.DisposeAsync();
    }
}

/// <summary>Copies to the real SFTP-only storage, the read-back proof, restores from the copy, and the faults.</summary>
public class CopyTests(CopyFixture f) : IClassFixture<CopyFixture>
{
    private Task<HbBackupArtefact> CopyAsync(IArtefactStore to, string root, IArtefactSource? from = null, bool force = false,
        Func<string, CancellationToken, Task>? afterTransfer = null, CancellationToken ct = default) =>
        new CopyEngine().CopyAsync(f.Artefact, from ?? new HostArtefactSource(f.Host), to,
            new CopyRequest { DestinationRoot = root, Force = force, AfterTransfer = afterTransfer }, ct);

    private string RunFolderName => Path.GetFileName(f.Artefact.RunFolder);

    [Fact]
    public async Task A_copy_on_the_sftp_only_storage_is_read_back_claimed_and_listed_with_its_proof()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "xunit");
        try
        {
            await using var store = await s.ConnectAsync();
            var c = await CopyAsync(store, root);
            Assert.Equal($"{root}/{RunFolderName}/{f.Artefact.FileName}", c.Path);
            Assert.Equal(HbArtefactLocation.Sftp, c.Location);
            Assert.Equal("storage", c.Copy!.StorageHost!.Alias);
            Assert.True(c.Copy.Verified);
            Assert.Equal(f.Artefact.Sha256, c.Copy.VerifiedSha256);
            Assert.Equal("read back whole over SFTP after the transfer and hashed on this machine", c.Copy.Verification);
            // The copy on the storage's disk: same bytes, private, the manifest unchanged, and sha256sum -c verifies it.
            var local = s.Local(c.Path);
            Assert.Equal(f.Artefact.Sha256, TestEnvironment.Sh($"sha256sum '{local}'").Split(' ')[0]);
            Assert.Equal("600 storage", TestEnvironment.Sh($"stat -c '%a %U' '{local}'").Trim());
            Assert.Equal("700 storage", TestEnvironment.Sh($"stat -c '%a %U' '{s.Local(c.RunFolder)}'").Trim());
            Assert.Equal(File.ReadAllBytes(f.Artefact.ManifestPath), File.ReadAllBytes(s.Local(c.ManifestPath)));
            Assert.Contains($"{f.Artefact.FileName}: OK", TestEnvironment.Sh($"cd '{s.Local(c.RunFolder)}' && sha256sum -c SHA256SUMS"), StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(s.Local(c.RunFolder), "*.partial"));
            Assert.Empty(Directory.GetFiles(s.Local(c.RunFolder), "*.tmp-*"));
            // Listed from the storage as the copy it is.
            var listed = Assert.Single(await new ArtefactCatalog(new LocalCommandHost(), store).ListAsync(root, CancellationToken.None));
            Assert.Equal(c.Path, listed.Path);
            Assert.Equal(HbArtefactLocation.Sftp, listed.Location);
            Assert.True(listed.Copy!.Verified);
            Assert.Equal(f.Artefact.RowCountSnapshot!.TableCount, listed.RowCountSnapshot!.TableCount);
            // Re-verified later: read back again over SFTP, and pg_restore --list on the docker host reads it from the storage.
            var v = await new ArtefactCatalog(f.Host, store).VerifyAsync(listed, null, CancellationToken.None);
            Assert.Equal(HbVerificationStatus.Verified, v.Status);
            Assert.True(v.TocEntries > 30);
        }
        finally
        {
            s.Remove(root);
        }
    }

    [Fact]
    public async Task A_storage_host_behind_a_jump_host_is_copied_to_through_it()
    {
        var s = f.Storage;
        var bastionLog = Path.Combine(s.EnvDir, "bastion1", "sshd.log");
        Assert.True(File.Exists(bastionLog), "the test environment's jump host (start-bastion.sh) is running");
        var dir = Directory.CreateTempSubdirectory("hbops-jumpcfg").FullName;
        var root = StorageEnvironment.NewFolder(s.Root, "jump");
        try
        {
            var config = Path.Combine(dir, "config");
            File.WriteAllText(config, $"""
                Include {Path.Combine(s.EnvDir, "bastion", "config")}
                Host storage-via-jump
                  HostName {s.Address}
                  Port {s.Port}
                  User {s.User}
                  IdentityFile {f.Env.KeyFile}
                  UserKnownHostsFile {s.KnownHostsPath}
                  ProxyJump hbops-bastion1
                """);
            var logBefore = new FileInfo(bastionLog).Length;
            var host = HostResolver.Resolve(new HostSpec { Alias = "storage-via-jump", SshConfigPath = config });
            Assert.Equal("hbops-bastion1", host.ProxyJump);
            await using var store = await SftpArtefactStore.ConnectAsync(host, new SshConnectOptions(), CancellationToken.None);
            var c = await CopyAsync(store, root);
            Assert.True(c.Copy!.Verified);
            Assert.Equal(f.Artefact.Sha256, TestEnvironment.Sh($"sha256sum '{s.Local(c.Path)}'").Split(' ')[0]);
            // The jump host forwarded a connection to the storage sshd.
            using var log = new FileStream(bastionLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite) { Position = logBefore };
            Assert.Matches($@"server_request_direct_tcpip: originator \S+ port \d+, target {System.Text.RegularExpressions.Regex.Escape(s.Address)} port {s.Port}",
                await new StreamReader(log).ReadToEndAsync());
        }
        finally
        {
            s.Remove(root);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void The_storage_account_allows_sftp_and_nothing_else()
    {
        var r = TestEnvironment.Sh($"ssh -F '{f.Storage.ConfigPath}' -o BatchMode=yes {f.Storage.Alias} id 2>&1 || true");
        Assert.Contains("This service allows sftp connections only.", r, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restore_test_of_the_copy_reads_the_copy_not_the_original()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "xunit-restore");
        var aside = f.Artefact.Path + ".aside";
        try
        {
            await using var store = await s.ConnectAsync();
            var c = await CopyAsync(store, root);
            // The original is out of reach during the restore: only the copy can be what is restored.
            TestEnvironment.Sh($"mv '{f.Artefact.Path}' '{aside}'");
            var r = await new RestoreEngine(f.Host, null, store).RunAsync(c, new RestoreRequest(), CancellationToken.None);
            Assert.NotEqual(HbRestoreOutcome.Failed, r.Result);
            Assert.True(r.ChecksumVerified);
            Assert.Equal(f.Artefact.Sha256, r.ObservedSha256);
            Assert.Equal(HbCheckStatus.Passed, r.RowCountCheck);
            Assert.True(r.Teardown!.Verified);
            // The record is written beside the copy, on the storage; the upload folder went with the sandbox.
            Assert.StartsWith(c.Path + RestoreEngine.RecordInfix, r.RecordPath, StringComparison.Ordinal);
            Assert.True(File.Exists(s.Local(r.RecordPath)));
        }
        finally
        {
            if (File.Exists(aside)) TestEnvironment.Sh($"mv '{aside}' '{f.Artefact.Path}'");
            s.Remove(root);
        }
    }

    [Fact]
    public async Task A_full_storage_is_refused_before_anything_is_written()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.SmallRoot, "full");
        await using var store = await s.ConnectAsync();
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(store, root));
        Assert.Equal(HbErrorIds.StorageFull, ex.ErrorId);
        Assert.Contains("bytes are free", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(s.Local(root)));
    }

    [Fact]
    public async Task Storage_running_full_during_the_transfer_is_StorageFull_and_the_partial_file_is_removed()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.SmallRoot, "fills");
        try
        {
            await using var store = await s.ConnectAsync();
            var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(store, root, force: true));
            Assert.Equal(HbErrorIds.StorageFull, ex.ErrorId);
            Assert.Contains("ran full after", ex.Message, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(s.Local(root), "*", SearchOption.AllDirectories));
            // The space is free again.
            Assert.True(await store.FreeBytesAsync(s.SmallRoot, CancellationToken.None) > 7 * 1024 * 1024);
        }
        finally
        {
            s.Remove(root);
        }
    }

    [Fact]
    public async Task A_connection_cut_mid_copy_claims_nothing_and_the_partial_file_is_removed()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "cut");
        try
        {
            await using var store = await s.ConnectAsync();
            var gate = new GatedSource(new HostArtefactSource(f.Host), 8 * 1024 * 1024);
            var copy = CopyAsync(store, root, from: gate);
            await gate.Reached.Task.WaitAsync(TimeSpan.FromMinutes(2));
            var partial = s.Local($"{root}/{RunFolderName}/{f.Artefact.FileName}.partial");
            Assert.True(new FileInfo(partial).Length > 0, "the transfer was under way");
            s.CutConnections();
            gate.Release.TrySetResult();
            var ex = await Assert.ThrowsAsync<HbOpsException>(() => copy);
            Assert.Equal(HbErrorIds.CopyFailed, ex.ErrorId);
            Assert.Contains("broke off", ex.Message, StringComparison.Ordinal);
            // Cleaned up over a new connection: nothing claimed, nothing partial.
            Assert.Empty(Directory.GetFiles(s.Local(root), "*", SearchOption.AllDirectories));
        }
        finally
        {
            s.Remove(root);
        }
    }

    [Fact]
    public async Task A_storage_host_key_that_differs_from_known_hosts_is_refused_and_an_unknown_one_too()
    {
        var s = f.Storage;
        var dir = Directory.CreateTempSubdirectory("hbops-kh").FullName;
        try
        {
            var line = File.ReadAllText(s.KnownHostsPath).Trim();
            var hostField = line.Split(' ')[0];
            TestEnvironment.Sh($"ssh-keygen -q -t ed25519 -N '' -f '{dir}/other'");
            File.WriteAllText(Path.Combine(dir, "mismatch"), hostField + " " + string.Join(' ', File.ReadAllText(Path.Combine(dir, "other.pub")).Split(' ')[..2]) + "\n");
            File.WriteAllText(Path.Combine(dir, "empty"), "");
            var mismatch = await Assert.ThrowsAsync<HbOpsException>(() => s.ConnectAsync(Path.Combine(dir, "mismatch")));
            Assert.Equal(HbErrorIds.HostKeyMismatch, mismatch.ErrorId);
            var unknown = await Assert.ThrowsAsync<HbOpsException>(() => s.ConnectAsync(Path.Combine(dir, "empty")));
            Assert.Equal(HbErrorIds.HostKeyUnknown, unknown.ErrorId);
            Assert.Equal("", File.ReadAllText(Path.Combine(dir, "empty")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_copy_that_changed_after_it_was_written_fails_its_read_back_and_is_not_kept()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "altered");
        try
        {
            await using var store = await s.ConnectAsync();
            var ex = await Assert.ThrowsAsync<HbOpsException>(() => CopyAsync(store, root, afterTransfer: (partial, _) =>
            {
                // The storage altered a byte of what it was sent (bit rot, a faulty disk or controller).
                FlipMiddleByte(s.Local(partial));
                return Task.CompletedTask;
            }));
            Assert.Equal(HbErrorIds.CopyVerificationFailed, ex.ErrorId);
            Assert.Empty(Directory.GetFiles(s.Local(root), "*", SearchOption.AllDirectories));

            // A claimed copy that changes later no longer verifies either.
            var c = await CopyAsync(store, root);
            FlipMiddleByte(s.Local(c.Path));
            var v = await new ArtefactCatalog(f.Host, store).VerifyAsync(c, null, CancellationToken.None);
            Assert.Equal(HbVerificationStatus.Failed, v.Status);
            Assert.False(v.ChecksumMatches);
        }
        finally
        {
            s.Remove(root);
        }
    }

    [Fact]
    public async Task Removing_a_copy_on_the_storage_and_an_original_on_the_host_takes_their_files_and_checksum_lines()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "remove");
        var hostRoot = TestEnvironment.NewOperatorFolder("hbops-remove-");
        try
        {
            await using var store = await s.ConnectAsync();
            var c = await CopyAsync(store, root);
            File.WriteAllText(s.Local(c.Path + ".restore-20261130T000000Z.yml"), "result: Passed\n");
            var removed = await store.RemoveArtefactAsync(c, CancellationToken.None);
            Assert.Equal(new[] { c.ManifestPath, c.Path }, removed.Take(2));
            Assert.Contains(c.Path + ArtefactFiles.CopyRecordSuffix, removed);
            Assert.Contains(c.Path + ".restore-20261130T000000Z.yml", removed);
            Assert.False(Directory.Exists(s.Local(c.RunFolder)));
            Assert.True(Directory.Exists(s.Local(root)));

            // On the docker host (one script over SSH): a copy of the artefact laid out as a backup, then removed.
            var copied = await new CopyEngine().CopyAsync(f.Artefact, new HostArtefactSource(f.Host), new LocalArtefactStore(),
                new CopyRequest { DestinationRoot = hostRoot }, CancellationToken.None);
            TestEnvironment.Sh($"chown -R {f.Env.Operator}: '{hostRoot}'");
            File.AppendAllText(copied.ChecksumPath, new string('0', 64) + "  other.dump\n");
            var asHost = BackupEngine.ParseManifest(File.ReadAllText(copied.ManifestPath));
            asHost.Path = copied.Path;
            var gone = await new HostArtefactSource(f.Host).RemoveArtefactAsync(asHost, CancellationToken.None);
            Assert.Equal(new[] { copied.ManifestPath, copied.Path, copied.Path + ArtefactFiles.CopyRecordSuffix }, gone);
            Assert.Equal(new string('0', 64) + "  other.dump\n", File.ReadAllText(copied.ChecksumPath));
        }
        finally
        {
            s.Remove(root);
            Directory.Delete(hostRoot, true);
        }
    }

    [Fact]
    public async Task Retention_across_host_and_storage_keeps_the_last_verified_off_host_copy()
    {
        var s = f.Storage;
        var root = StorageEnvironment.NewFolder(s.Root, "retention");
        try
        {
            await using var store = await s.ConnectAsync();
            var c = await CopyAsync(store, root);
            var inventory = new List<StoredArtefact> { new(f.Artefact, new HostArtefactSource(f.Host)), new(c, store) };
            var plan = await new RetentionEngine().PlanAsync(inventory, new RetentionPolicy { OlderThan = TimeSpan.FromSeconds(1), MinimumKeep = 0 },
                DateTime.UtcNow.AddDays(1), CancellationToken.None);
            Assert.True(plan.Single(d => d.Artefact == f.Artefact).Remove);
            Assert.Equal("OffHostCopy", plan.Single(d => d.Artefact == c).Guard);
        }
        finally
        {
            s.Remove(root);
        }
    }

    private static void FlipMiddleByte(string path)
    {
        using var file = File.Open(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = file.Length / 2;
        var b = file.ReadByte();
        file.Position--;
        file.WriteByte((byte)(b ^ 0xFF));
    }

    // A source whose read stops after a number of bytes until released: lets a test act in the middle of a transfer
    // (awaited, no sleeps).
    private sealed class GatedSource(IArtefactSource inner, long after) : IArtefactSource
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public HbArtefactLocation Location => inner.Location;
        public HbHost? StorageHost => inner.StorageHost;
        public IHostFiles Files => inner.Files;
        public string Describe(string path) => inner.Describe(path);
        public Task<IReadOnlyList<string>> RemoveArtefactAsync(HbBackupArtefact artefact, CancellationToken ct) => inner.RemoveArtefactAsync(artefact, ct);

        public async Task<Stream> OpenReadAsync(string path, CancellationToken ct) => new Gate(await inner.OpenReadAsync(path, ct), this);

        private sealed class Gate(Stream s, GatedSource owner) : Stream
        {
            private long _read;
            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                if (_read >= owner._after)
                {
                    owner.Reached.TrySetResult();
                    await owner.Release.Task.WaitAsync(cancellationToken);
                }
                var n = await s.ReadAsync(buffer, cancellationToken);
                _read += n;
                return n;
            }

            public override async ValueTask DisposeAsync()
            {
                await s.DisposeAsync();
                await base.DisposeAsync();
            }
        }

        private readonly long _after = after;
    }
}
