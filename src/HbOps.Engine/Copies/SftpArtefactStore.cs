using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Sftp;

namespace HbOps.Engine.Copies;

/// <summary>
/// Artefacts and copies on an SFTP storage host: an account that may allow nothing but SFTP (chrooted, no shell, so no
/// sha256sum), reached over its own SSH connection with the same host key verification and keys as the docker host.
/// Every check that needs a file's content (the read-back proof of a copy, a checksum) reads it back whole over SFTP and
/// hashes it here. Transfers are SSH.NET's pipelined writes and reads; memory stays bounded by the SSH channel window.
/// </summary>
public sealed class SftpArtefactStore : IArtefactStore, IHostFiles, IAsyncDisposable
{
    private const short PrivateFileMode = 600;
    private const short PrivateDirectoryMode = 700;
    private readonly Func<CancellationToken, Task<(SftpClient, IReadOnlyList<IDisposable>)>> _connect;
    private readonly SemaphoreSlim _reconnect = new(1, 1);
    private SftpClient _client;
    // What the connection runs through (jump hosts' clients and forwards), closed after the client.
    private IReadOnlyList<IDisposable> _jumps;

    private SftpArtefactStore(HbHost host, (SftpClient Client, IReadOnlyList<IDisposable> Jumps) connection,
        Func<CancellationToken, Task<(SftpClient, IReadOnlyList<IDisposable>)>> connect)
    {
        StorageHost = host;
        (_client, _jumps) = connection;
        _connect = connect;
    }

    /// <summary>Connects to the storage host (host key verified before authentication, as for the docker host).</summary>
    public static async Task<SftpArtefactStore> ConnectAsync(HbHost host, SshConnectOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        if (host.Kind != HbHostKind.Ssh || host.HostName is null || host.User is null)
        {
            throw HbOpsException.Invalid($"The storage host '{host}' is not an SSH host with a host name and user.", host.ToString());
        }
        // A later reconnection (to clean up after a broken transfer) must not record a new host key.
        var again = new SshConnectOptions { KeyPassphrase = options.KeyPassphrase, ConnectTimeout = options.ConnectTimeout };
        var connection = await Connect(host, options, ct).ConfigureAwait(false);
        return new SftpArtefactStore(host, connection, t => Connect(host, again, t));
    }

    // Through the storage host's jump hosts, if it has any, as the docker host's connection.
    private static Task<(SftpClient, IReadOnlyList<IDisposable>)> Connect(HbHost host, SshConnectOptions options, CancellationToken ct) =>
        SshCommandHost.ConnectClientAsync(host, options, info => new SftpClient(info)
        {
            // SFTP writes travel as channel packets of at most 32 KiB (OpenSSH); reads may ask for more per request.
            BufferSize = 64 * 1024,
            // One request never takes this long on a working storage; a stuck one fails the copy instead of hanging it.
            OperationTimeout = TimeSpan.FromMinutes(5),
        }, ct);

    /// <inheritdoc />
    public HbArtefactLocation Location => HbArtefactLocation.Sftp;

    /// <inheritdoc />
    public HbHost? StorageHost { get; }

    /// <inheritdoc />
    public IHostFiles Files => this;

    /// <inheritdoc />
    public string Describe(string path) => $"'{path}' on {StorageHost}";

    // The connection, reconnected once it was lost (a broken transfer still has a partial file to remove).
    private async Task<SftpClient> ClientAsync(CancellationToken ct)
    {
        if (_client.IsConnected) return _client;
        await _reconnect.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected) return _client;
            _client.Dispose();
            SshCommandHost.CloseAll(_jumps);
            (_client, _jumps) = await _connect(ct).ConfigureAwait(false);
            return _client;
        }
        finally
        {
            _reconnect.Release();
        }
    }

    // Runs one SFTP operation, translating SSH.NET's exceptions into the engine's errors.
    private async Task<T> Op<T>(string what, string path, Func<SftpClient, Task<T>> op, CancellationToken ct)
    {
        var client = await ClientAsync(ct).ConfigureAwait(false);
        try
        {
            return await op(client).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex, what, path, client) is { } translated)
        {
            throw translated;
        }
    }

    private Task<bool> Op(string what, string path, Func<SftpClient, Task> op, CancellationToken ct) =>
        Op(what, path, async c => { await op(c).ConfigureAwait(false); return true; }, ct);

    private HbOpsException? Translate(Exception ex, string what, string path, SftpClient client) => ex switch
    {
        HbOpsException or OperationCanceledException => null,
        SftpPermissionDeniedException => new HbOpsException(HbErrorIds.DestinationNotWritable, HbErrorCategory.PermissionDenied,
            $"{what} {Describe(path)} was refused: permission denied.", path, "Check the storage account's rights on that path."),
        SftpPathNotFoundException => new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
            $"{what} {Describe(path)} failed: no such file or directory.", path),
        _ when ex is SshConnectionException or SocketException or ObjectDisposedException || !client.IsConnected =>
            new HbOpsException(HbErrorIds.SshConnectionLost, HbErrorCategory.ConnectionError,
                $"The SFTP connection to {StorageHost} was lost: {what} {Describe(path)} did not complete ({ex.Message}).", path, null, ex),
        SshException or IOException or InvalidOperationException => new HbOpsException(HbErrorIds.CopyFailed, HbErrorCategory.OperationFailed,
            $"{what} {Describe(path)} failed: {ex.Message}", path, null, ex),
        _ => null,
    };

    private static bool IsMissing(Exception ex) => ex is SftpPathNotFoundException || ex is HbOpsException { ErrorId: HbErrorIds.ArtefactNotFound };

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string path, CancellationToken ct) =>
        Op<Stream>("Reading", path, async c => new ReadStream(await c.OpenAsync(path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false), this, path, c), ct);

    // An SFTP file read by a consumer (a copy to elsewhere, a restore upload): a broken connection surfaces from the reads,
    // and is reported as the engine's error, not SSH.NET's.
    private sealed class ReadStream(Stream inner, SftpArtefactStore store, string path, SftpClient client) : ReadOnlyStream
    {

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (store.Translate(ex, "Reading", path, client) is { } translated)
            {
                throw translated;
            }
        }

        public override async ValueTask DisposeAsync()
        {
            try { await inner.DisposeAsync().ConfigureAwait(false); }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { /* closing a broken handle */ }
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                try { inner.Dispose(); }
                catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException) { /* closing a broken handle */ }
            }
            base.Dispose(disposing);
        }
    }

    /// <inheritdoc />
    public async Task<long?> FreeBytesAsync(string directory, CancellationToken ct)
    {
        var existing = await NearestExistingAsync(directory, ct).ConfigureAwait(false);
        try
        {
            // statvfs@openssh.com: f_bavail in units of f_frsize.
            var fs = await Op("Reading the free space of", existing, c => c.GetStatusAsync(existing, ct), ct).ConfigureAwait(false);
            return (long)Math.Min(long.MaxValue, fs.AvailableBlocks * fs.BlockSize);
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyFailed)
        {
            // The server does not offer statvfs: the transfer itself will tell.
            return null;
        }
    }

    private async Task<string> NearestExistingAsync(string path, CancellationToken ct)
    {
        var p = path;
        while (!await ExistsAsync(p, ct).ConfigureAwait(false))
        {
            var parent = Parent(p);
            if (parent == p) break;
            p = parent;
        }
        return p;
    }

    private static string Parent(string path)
    {
        var trimmed = path.TrimEnd('/');
        var cut = trimmed.LastIndexOf('/');
        return cut < 0 ? "." : cut == 0 ? "/" : trimmed[..cut];
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string path, CancellationToken ct) => Op("Looking up", path, c => c.ExistsAsync(path, ct), ct);

    /// <inheritdoc />
    public async Task CreatePrivateDirectoryAsync(string path, CancellationToken ct)
    {
        var parts = path.Split('/');
        var prefix = path.StartsWith('/') ? "" : null;
        foreach (var part in parts)
        {
            if (part.Length == 0 || part == ".") continue;
            prefix = prefix is null ? part : prefix + "/" + part;
            if (await ExistsAsync(prefix, ct).ConfigureAwait(false)) continue;
            var dir = prefix;
            try
            {
                await Op("Creating the folder", dir, async c =>
                {
                    await c.CreateDirectoryAsync(dir, ct).ConfigureAwait(false);
                    c.ChangePermissions(dir, PrivateDirectoryMode);
                }, ct).ConfigureAwait(false);
            }
            catch (HbOpsException)
            {
                // Made meanwhile by another run: fine.
                if (!await ExistsAsync(dir, ct).ConfigureAwait(false)) throw;
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> WriteNewFileAsync(string path, Stream content, long expectedBytes, Action<long>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        await CreateExclusiveAsync(path, ct).ConfigureAwait(false);
        var observed = new ObservedReadStream(content, progress: progress);
        var client = await ClientAsync(ct).ConfigureAwait(false);
        try
        {
            // The file exists (exclusively ours, private): SSH.NET's upload writes into it with many requests in flight.
            await client.UploadFileAsync(observed, path, canOverride: true, uploadProgress: null, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ex is OperationCanceledException ? null : await WriteFailedAsync(path, observed.Total, expectedBytes, ex, client).ConfigureAwait(false);
            // SSH.NET leaves the file's handle open on the server when an upload breaks off: the server keeps the file's
            // space until the session ends, even once the partial file is deleted. Closing the session releases it; the
            // next operation (removing the partial file) reconnects.
            Disconnect(client);
            observed.SourceFailure?.Throw();
            if (error is null) throw;
            throw error;
        }
        return observed.Total;
    }

    private static void Disconnect(SftpClient client)
    {
        try
        {
            if (client.IsConnected) client.Disconnect();
        }
        catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Already broken.
        }
    }

    /// <inheritdoc />
    public async Task<IAsyncDisposable> LockChecksumsAsync(string folder, CancellationToken ct)
    {
        var path = folder + "/" + BackupEngine.ChecksumFileName + ".lock";
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await CreateExclusiveAsync(path, ct).ConfigureAwait(false);
                return new ChecksumLock(this, path);
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyExists && attempt < 150)
            {
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyExists)
            {
                throw new HbOpsException(HbErrorIds.CopyFailed, HbErrorCategory.ResourceUnavailable,
                    $"{Describe(path)} stays locked (left by a killed run?).", path, "Remove it when no copy or removal is running.", ex);
            }
        }
    }

    // A held SHA256SUMS lock: the lock file, removed on release.
    private sealed class ChecksumLock(SftpArtefactStore store, string path) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await store.DeleteQuietlyAsync(path).ConfigureAwait(false);
    }

    // O_CREAT|O_EXCL, then 0600 before a single byte is written (the server's umask decides the mode at creation).
    private async Task CreateExclusiveAsync(string path, CancellationToken ct)
    {
        try
        {
            await Op("Creating", path, async c =>
            {
                await (await c.OpenAsync(path, FileMode.CreateNew, FileAccess.Write, ct).ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
                c.ChangePermissions(path, PrivateFileMode);
            }, ct).ConfigureAwait(false);
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyFailed)
        {
            if (!await ExistsAsync(path, ct).ConfigureAwait(false)) throw;
            throw new HbOpsException(HbErrorIds.CopyExists, HbErrorCategory.ResourceUnavailable, $"{Describe(path)} already exists.", path,
                "Another copy is running or was interrupted; remove the file if no copy is running.", ex);
        }
    }

    // SFTP reports a full disk as a bare "Failure" (OpenSSH maps ENOSPC to SSH_FX_FAILURE): the free space observed now
    // tells it from other failures.
    private async Task<HbOpsException> WriteFailedAsync(string path, long written, long expected, Exception ex, SftpClient client)
    {
        if (ex is HbOpsException hb) return hb;
        if (!client.IsConnected || ex is SshConnectionException or SocketException or ObjectDisposedException)
        {
            return new HbOpsException(HbErrorIds.CopyFailed, HbErrorCategory.ConnectionError,
                $"The SFTP connection to {StorageHost} broke off after {written:N0} bytes of {Describe(path)}: {ex.Message}", path,
                "Check the storage host and the network, then copy again.", ex);
        }
        long? free = null;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            free = await FreeBytesAsync(Parent(path), cts.Token).ConfigureAwait(false);
        }
        catch (Exception probe) when (probe is HbOpsException or OperationCanceledException)
        {
            // Unknown: reported as a plain failure below.
        }
        if (free is { } f && f < Math.Max(1 << 20, expected - written))
        {
            return new HbOpsException(HbErrorIds.StorageFull, HbErrorCategory.ResourceUnavailable,
                $"The storage ran full after {written:N0} of {expected:N0} bytes of {Describe(path)} ({f:N0} bytes free; the server said: {ex.Message}).", path,
                "Free space on the storage (e.g. Remove-HbBackup) or choose another destination.", ex);
        }
        return new HbOpsException(HbErrorIds.CopyFailed, HbErrorCategory.OperationFailed,
            $"Writing {Describe(path)} failed after {written:N0} bytes: {ex.Message}", path, null, ex);
    }

    /// <inheritdoc />
    public async Task RenameNoReplaceAsync(string from, string to, CancellationToken ct)
    {
        try
        {
            // SSH_FXP_RENAME (not posix-rename): OpenSSH links the new name and unlinks the old one, never replacing a file.
            await Op("Renaming", from, c => Task.Run(() => c.RenameFile(from, to, isPosix: false), ct), ct).ConfigureAwait(false);
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyFailed)
        {
            if (!await ExistsAsync(to, ct).ConfigureAwait(false)) throw;
            throw new HbOpsException(HbErrorIds.CopyExists, HbErrorCategory.ResourceUnavailable, $"{Describe(to)} already exists; it is never replaced.", to, null, ex);
        }
    }

    private static string TempName(string path) => path + ".tmp-" + Guid.NewGuid().ToString("N")[..12];

    private async Task WriteSmallAsync(string path, string content, CancellationToken ct)
    {
        await CreateExclusiveAsync(path, ct).ConfigureAwait(false);
        await Op("Writing", path, async c =>
        {
            await using var file = await c.OpenAsync(path, FileMode.Open, FileAccess.Write, ct).ConfigureAwait(false);
            await file.WriteAsync(new UTF8Encoding(false).GetBytes(content), ct).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WriteNewTextAsync(string path, string content, CancellationToken ct)
    {
        var tmp = TempName(path);
        try
        {
            await WriteSmallAsync(tmp, content, ct).ConfigureAwait(false);
            await RenameNoReplaceAsync(tmp, path, ct).ConfigureAwait(false);
        }
        catch
        {
            await DeleteQuietlyAsync(tmp).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task ReplaceTextAsync(string path, string content, CancellationToken ct)
    {
        var tmp = TempName(path);
        try
        {
            await WriteSmallAsync(tmp, content, ct).ConfigureAwait(false);
            // posix-rename@openssh.com: rename(2), atomically over the old file.
            await Op("Replacing", path, c => Task.Run(() => c.RenameFile(tmp, path, isPosix: true), ct), ct).ConfigureAwait(false);
        }
        catch
        {
            await DeleteQuietlyAsync(tmp).ConfigureAwait(false);
            throw;
        }
    }

    private async Task DeleteQuietlyAsync(string path)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try { await DeleteAsync(path, cts.Token).ConfigureAwait(false); }
        catch (Exception ex) when (ex is HbOpsException or OperationCanceledException) { }
    }

    /// <inheritdoc />
    public async Task<(long Size, string Sha256)> ReadBackAsync(string path, Action<long>? progress, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sink = new HashSinkStream(hash, progress);
        await Op("Reading back", path, c => c.DownloadFileAsync(path, sink, ct), ct).ConfigureAwait(false);
        return (sink.Total, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant());
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string path, CancellationToken ct)
    {
        try
        {
            await Op("Deleting", path, c => c.DeleteFileAsync(path, ct), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsMissing(ex))
        {
            // Already gone.
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RemoveArtefactAsync(HbBackupArtefact artefact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var folder = Parent(artefact.Path);
        var removed = new List<string>();
        try
        {
            foreach (var path in new[] { artefact.Path + BackupEngine.ManifestSuffix, artefact.Path })
            {
                if (!await ExistsAsync(path, ct).ConfigureAwait(false)) continue;
                await DeleteAsync(path, ct).ConfigureAwait(false);
                removed.Add(path);
            }
            var sumsPath = folder + "/" + BackupEngine.ChecksumFileName;
            if (await ExistsAsync(sumsPath, ct).ConfigureAwait(false))
            {
                // Read, edited and written under the folder's lock: a copy claiming meanwhile keeps its lines.
                await using (await LockChecksumsAsync(folder, ct).ConfigureAwait(false))
                {
                    if (await ReadTextAsync(sumsPath, ct).ConfigureAwait(false) is { } sums)
                    {
                        var rest = ArtefactFiles.Without(sums, ArtefactFiles.ListedNames(artefact));
                        if (rest.Length == 0) await DeleteAsync(sumsPath, ct).ConfigureAwait(false);
                        else await ReplaceTextAsync(sumsPath, rest, ct).ConfigureAwait(false);
                    }
                }
            }
            foreach (var entry in await ListAsync(folder, ct).ConfigureAwait(false))
            {
                if (entry.IsDirectory || !ArtefactFiles.BelongsTo(entry.Name, artefact.FileName)) continue;
                await DeleteAsync(entry.FullName, ct).ConfigureAwait(false);
                removed.Add(entry.FullName);
            }
            if (HostArtefactSource.RunFolderToRemove(artefact, '/') is { } run && (await ListAsync(run, ct).ConfigureAwait(false)).Count == 0)
            {
                await Op("Removing the folder", run, c => c.DeleteDirectoryAsync(run, ct), ct).ConfigureAwait(false);
            }
        }
        catch (HbOpsException ex)
        {
            throw new HbOpsException(HbErrorIds.RemovalFailed, HbErrorCategory.OperationFailed,
                $"Removing {Describe(artefact.Path)} failed after removing [{string.Join(", ", removed)}]: {ex.Message}", artefact.Path, null, ex);
        }
        return removed;
    }

    // The entries of a directory other than . and ..; empty when it does not exist.
    private async Task<List<ISftpFile>> ListAsync(string directory, CancellationToken ct)
    {
        var entries = new List<ISftpFile>();
        try
        {
            await Op("Listing", directory, async c =>
            {
                await foreach (var f in c.ListDirectoryAsync(directory, ct).ConfigureAwait(false))
                {
                    if (f.Name is not "." and not "..") entries.Add(f);
                }
            }, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsMissing(ex))
        {
            // No such folder: nothing in it.
        }
        return entries;
    }

    // ---- IHostFiles: what the catalog, the restore test and the preflight read and write on a copy location ----

    /// <inheritdoc />
    public async Task EnsureWritableDirectoryAsync(string path, CancellationToken ct)
    {
        await CreatePrivateDirectoryAsync(path, ct).ConfigureAwait(false);
        var probe = path.TrimEnd('/') + "/.hbops-write-probe-" + Guid.NewGuid().ToString("N")[..12];
        await CreateExclusiveAsync(probe, ct).ConfigureAwait(false);
        await DeleteAsync(probe, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task WriteTextAtomicAsync(string path, string content, CancellationToken ct) => ReplaceTextAsync(path, content, ct);

    /// <inheritdoc />
    public Task<IPendingTextFile> BeginWriteTextAtomicAsync(string path, CancellationToken ct) =>
        Task.FromResult<IPendingTextFile>(new PendingFile(this, path));

    private sealed class PendingFile(SftpArtefactStore store, string path) : IPendingTextFile
    {
        public Task CommitAsync(string content, CancellationToken ct) => store.ReplaceTextAsync(path, content, ct);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken ct)
    {
        try
        {
            return await Op("Reading", path, async c =>
            {
                await using var file = await c.OpenAsync(path, FileMode.Open, FileAccess.Read, ct).ConfigureAwait(false);
                using var reader = new StreamReader(file, new UTF8Encoding(false));
                return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsMissing(ex))
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async Task<FileChecksum?> ChecksumAsync(string path, string sumsPath, string? manifestPath, CancellationToken ct)
    {
        if (!await ExistsAsync(path, ct).ConfigureAwait(false)) return null;
        var (size, sha) = await ReadBackAsync(path, null, ct).ConfigureAwait(false);
        var manifestSha = manifestPath is not null && await ExistsAsync(manifestPath, ct).ConfigureAwait(false)
            ? (await ReadBackAsync(manifestPath, null, ct).ConfigureAwait(false)).Sha256
            : null;
        return new FileChecksum(size, sha, await ReadTextAsync(sumsPath, ct).ConfigureAwait(false) ?? "", manifestSha);
    }

    /// <inheritdoc />
    public async Task<(long FreeBytes, bool FileExists)> CheckDestinationAsync(string directory, string file, CancellationToken ct)
    {
        var existing = await NearestExistingAsync(directory, ct).ConfigureAwait(false);
        var probe = existing.TrimEnd('/') + "/.hbops-probe-" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            await Op("Probing", probe, async c =>
            {
                await c.CreateDirectoryAsync(probe, ct).ConfigureAwait(false);
                await c.DeleteDirectoryAsync(probe, ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (HbOpsException ex) when (ex.ErrorId != HbErrorIds.SshConnectionLost)
        {
            throw LocalHostFiles.NotWritable(directory, $"'{existing}' on {StorageHost} is not a writable directory ({ex.Message})", ex);
        }
        return (await FreeBytesAsync(existing, ct).ConfigureAwait(false) ?? long.MaxValue, await ExistsAsync(file, ct).ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<string> Sha256Async(string path, CancellationToken ct) => (await ReadBackAsync(path, null, ct).ConfigureAwait(false)).Sha256;

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        var found = new List<string>();
        foreach (var entry in await ListAsync(directory, ct).ConfigureAwait(false))
        {
            if (entry.IsDirectory)
            {
                found.AddRange((await ListAsync(entry.FullName, ct).ConfigureAwait(false))
                    .Where(f => f.IsRegularFile && f.Name.EndsWith(suffix, StringComparison.Ordinal)).Select(f => f.FullName));
            }
            else if (entry.IsRegularFile && entry.Name.EndsWith(suffix, StringComparison.Ordinal))
            {
                found.Add(entry.FullName);
            }
        }
        return found.Order(StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc />
    /// <remarks>One listing per folder and one read per file (SFTP has no way to read many files in one request).</remarks>
    public async Task<IReadOnlyList<HostTextFile>?> ReadTextFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        if (!await ExistsAsync(directory, ct).ConfigureAwait(false)) return null;
        var result = new List<HostTextFile>();
        foreach (var path in await FindFilesAsync(directory, suffix, ct).ConfigureAwait(false))
        {
            string? text;
            try
            {
                text = await ReadTextAsync(path, ct).ConfigureAwait(false);
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.DestinationNotWritable)
            {
                // Permission denied: listed as unreadable.
                text = null;
            }
            result.Add(new HostTextFile(path, text));
        }
        return result;
    }

    /// <inheritdoc />
    public async Task FinalizeArtefactAsync(string sumsPath, string sumsLine, string partial, string final, string manifestPath, string manifest, CancellationToken ct)
    {
        var lines = sumsLine.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await using (await LockChecksumsAsync(Parent(sumsPath), ct).ConfigureAwait(false))
        {
            await ReplaceTextAsync(sumsPath, ArtefactFiles.With(await ReadTextAsync(sumsPath, ct).ConfigureAwait(false), lines), ct).ConfigureAwait(false);
        }
        await RenameNoReplaceAsync(partial, final, ct).ConfigureAwait(false);
        await ReplaceTextAsync(manifestPath, manifest, ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Disconnect(_client);
        _client.Dispose();
        SshCommandHost.CloseAll(_jumps);
        _reconnect.Dispose();
        return ValueTask.CompletedTask;
    }
}
