using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>Artefacts and copies in folders on this machine.</summary>
public sealed class LocalArtefactStore : IArtefactStore
{
    private const int BufferSize = 1 << 20;
    private static readonly UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly UnixFileMode PrivateDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly LocalHostFiles _files = new();

    /// <inheritdoc />
    public HbArtefactLocation Location => HbArtefactLocation.LocalCopy;

    /// <inheritdoc />
    public HbHost? StorageHost => null;

    /// <inheritdoc />
    public IHostFiles Files => _files;

    /// <inheritdoc />
    public string Describe(string path) => $"'{path}' on this machine";

    /// <inheritdoc />
    public Task<Stream> OpenReadAsync(string path, CancellationToken ct)
    {
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, useAsync: true));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound, $"Cannot read '{path}': {ex.Message}", path, null, ex);
        }
    }

    /// <inheritdoc />
    public Task<long?> FreeBytesAsync(string directory, CancellationToken ct)
    {
        var existing = Path.GetFullPath(directory);
        while (!Directory.Exists(existing)) existing = Path.GetDirectoryName(existing) ?? existing;
        return Task.FromResult<long?>(new DriveInfo(existing).AvailableFreeSpace);
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string path, CancellationToken ct) => Task.FromResult(File.Exists(path) || Directory.Exists(path));

    /// <inheritdoc />
    public Task CreatePrivateDirectoryAsync(string path, CancellationToken ct)
    {
        try
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
            else Directory.CreateDirectory(path, PrivateDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw LocalHostFiles.NotWritable(path, ex.Message, ex);
        }
        return Task.CompletedTask;
    }

    private static FileStream CreateNew(string path)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, Options = FileOptions.Asynchronous, BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFile;
        return new FileStream(path, options);
    }

    /// <inheritdoc />
    public async Task<long> WriteNewFileAsync(string path, Stream content, long expectedBytes, Action<long>? progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(content);
        FileStream file;
        try
        {
            file = CreateNew(path);
        }
        catch (IOException ex) when (File.Exists(path))
        {
            throw new HbOpsException(HbErrorIds.CopyExists, HbErrorCategory.ResourceUnavailable, $"'{path}' already exists.", path,
                "Another copy is running or was interrupted; remove the file if no copy is running.", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw LocalHostFiles.NotWritable(path, ex.Message, ex);
        }
        long total = 0;
        await using (file.ConfigureAwait(false))
        {
            var buffer = new byte[BufferSize];
            int n;
            while ((n = await content.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    throw WriteFailed(path, total, expectedBytes, ex);
                }
                total += n;
                progress?.Invoke(total);
            }
            try
            {
                await file.FlushAsync(ct).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw WriteFailed(path, total, expectedBytes, ex);
            }
        }
        return total;
    }

    // ENOSPC has no portable exception type; the free space observed now tells a full disk from another failure.
    private HbOpsException WriteFailed(string path, long written, long expected, IOException ex)
    {
        var free = FreeBytesAsync(Path.GetDirectoryName(path)!, CancellationToken.None).GetAwaiter().GetResult();
        return free < Math.Max(1 << 20, expected - written)
            ? new HbOpsException(HbErrorIds.StorageFull, HbErrorCategory.ResourceUnavailable,
                $"The disk holding '{path}' ran full after {written:N0} bytes ({ex.Message}).", path, "Free space at the destination or choose another one.", ex)
            : new HbOpsException(HbErrorIds.CopyFailed, HbErrorCategory.OperationFailed, $"Writing '{path}' failed after {written:N0} bytes: {ex.Message}", path, null, ex);
    }

    /// <inheritdoc />
    public Task RenameNoReplaceAsync(string from, string to, CancellationToken ct)
    {
        try
        {
            File.Move(from, to, overwrite: false);
        }
        catch (IOException ex) when (File.Exists(to))
        {
            throw new HbOpsException(HbErrorIds.CopyExists, HbErrorCategory.ResourceUnavailable, $"'{to}' already exists; it is never replaced.", to, null, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw LocalHostFiles.NotWritable(to, ex.Message, ex);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task WriteNewTextAsync(string path, string content, CancellationToken ct)
    {
        var tmp = TempName(path);
        await WriteTextAsync(tmp, content, ct).ConfigureAwait(false);
        try
        {
            await RenameNoReplaceAsync(tmp, path, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    /// <inheritdoc />
    public async Task ReplaceTextAsync(string path, string content, CancellationToken ct)
    {
        var tmp = TempName(path);
        await WriteTextAsync(tmp, content, ct).ConfigureAwait(false);
        try
        {
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(tmp);
            throw LocalHostFiles.NotWritable(path, ex.Message, ex);
        }
    }

    private static string TempName(string path) => path + ".tmp-" + Guid.NewGuid().ToString("N")[..12];

    private static async Task WriteTextAsync(string path, string content, CancellationToken ct)
    {
        try
        {
            await using var file = CreateNew(path);
            await file.WriteAsync(new UTF8Encoding(false).GetBytes(content), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(path);
            throw LocalHostFiles.NotWritable(path, ex.Message, ex);
        }
    }

    /// <inheritdoc />
    public async Task<(long Size, string Sha256)> ReadBackAsync(string path, Action<long>? progress, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = await OpenReadAsync(path, ct).ConfigureAwait(false);
        var buffer = new byte[BufferSize];
        long total = 0;
        int n;
        while ((n = await file.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
            progress?.Invoke(total);
        }
        return (total, Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant());
    }

    /// <inheritdoc />
    public Task DeleteAsync(string path, CancellationToken ct)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IAsyncDisposable> LockChecksumsAsync(string folder, CancellationToken ct) => LocalHostFiles.LockChecksumsAsync(folder, ct);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RemoveArtefactAsync(HbBackupArtefact artefact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var folder = Path.GetDirectoryName(artefact.Path)!;
        var removed = new List<string>();
        try
        {
            foreach (var path in new[] { artefact.Path + BackupEngine.ManifestSuffix, artefact.Path })
            {
                if (!File.Exists(path)) continue;
                File.Delete(path);
                removed.Add(path);
            }
            var sumsPath = Path.Combine(folder, BackupEngine.ChecksumFileName);
            if (File.Exists(sumsPath))
            {
                // Read, edited and written under the folder's lock: a backup or copy claiming meanwhile keeps its lines.
                await using (await LockChecksumsAsync(folder, ct).ConfigureAwait(false))
                {
                    var rest = ArtefactFiles.Without(await File.ReadAllTextAsync(sumsPath, ct).ConfigureAwait(false), ArtefactFiles.ListedNames(artefact));
                    if (rest.Length == 0) File.Delete(sumsPath);
                    else await ReplaceTextAsync(sumsPath, rest, ct).ConfigureAwait(false);
                }
            }
            if (Directory.Exists(folder))
            {
                foreach (var path in Directory.EnumerateFiles(folder).Where(f => ArtefactFiles.BelongsTo(Path.GetFileName(f), artefact.FileName)).ToList())
                {
                    File.Delete(path);
                    removed.Add(path);
                }
                if (HostArtefactSource.RunFolderToRemove(artefact, Path.DirectorySeparatorChar) is { } run && !Directory.EnumerateFileSystemEntries(run).Any())
                {
                    Directory.Delete(run);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HbOpsException(HbErrorIds.RemovalFailed, HbErrorCategory.OperationFailed,
                $"Removing '{artefact.Path}' failed after removing [{string.Join(", ", removed)}]: {ex.Message}", artefact.Path, null, ex);
        }
        return removed;
    }
}
