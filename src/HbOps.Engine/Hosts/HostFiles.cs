using System.Globalization;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>Chooses where file operations run.</summary>
public static class HostFiles
{
    /// <summary>Files on this machine when <paramref name="local"/> is set or the host is this machine; otherwise on the host.</summary>
    public static IHostFiles For(ICommandHost host, bool local)
    {
        ArgumentNullException.ThrowIfNull(host);
        return local || host.Host.Kind == HbHostKind.Local ? new LocalHostFiles() : new ShellHostFiles(host);
    }

    /// <summary>True when an artefact's files are on this machine.</summary>
    public static bool IsLocal(HbBackupArtefact artefact)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        // A copy on an SFTP storage host is never on this machine, whatever its docker host is.
        return artefact.Location is HbArtefactLocation.Local or HbArtefactLocation.LocalCopy ||
            (artefact.Location == HbArtefactLocation.Host && artefact.Host.Kind == HbHostKind.Local);
    }

    /// <summary>Files of an artefact, wherever they are.</summary>
    public static IHostFiles ForArtefact(ICommandHost host, HbBackupArtefact artefact) => For(host, IsLocal(artefact));
}

/// <summary>
/// A file's size and SHA-256 (lower-case hex) as observed, the checksum list read beside it, and the SHA-256 of its
/// manifest (null when no manifest was asked for or it does not exist).
/// </summary>
public sealed record FileChecksum(long Size, string Sha256, string Sums, string? ManifestSha256 = null)
{
    /// <summary>True when the checksum list has the line <c>&lt;sha256&gt;  &lt;fileName&gt;</c> (sha256sum -c format).</summary>
    public bool Lists(string fileName) => Lists(fileName, Sha256);

    /// <summary>True when the manifest was read and the checksum list has its line (<paramref name="manifestFileName"/> with its observed hash).</summary>
    public bool ListsManifest(string manifestFileName) => ManifestSha256 is { } sha && Lists(manifestFileName, sha);

    private bool Lists(string fileName, string sha) => Sums.Split('\n').Any(l => l.Trim() == $"{sha}  {fileName}");
}

/// <summary>A text file to be written atomically once its content is known.</summary>
public interface IPendingTextFile : IAsyncDisposable
{
    /// <summary>Writes the content to a temporary file and renames it into place.</summary>
    Task CommitAsync(string content, CancellationToken ct);
}

/// <summary>File operations on the machine where an artefact lives (this machine or the docker host).</summary>
public interface IHostFiles
{
    /// <summary>Creates the directory (and parents, private: 0700) and checks it is writable.</summary>
    Task EnsureWritableDirectoryAsync(string path, CancellationToken ct);
    /// <summary>
    /// Writes a text file atomically (temporary file + rename). The file is private (0600), or 0640 when its folder is
    /// group-readable: never wider than the folder it is in.
    /// </summary>
    Task WriteTextAtomicAsync(string path, string content, CancellationToken ct);
    /// <summary>
    /// Prepares an atomic write of <paramref name="path"/> whose content is known only later: remotely the writing
    /// command (and its SSH channel) starts now, so the write itself costs no connection set-up. Disposing the handle
    /// without <see cref="IPendingTextFile.CommitAsync"/> writes nothing.
    /// </summary>
    Task<IPendingTextFile> BeginWriteTextAtomicAsync(string path, CancellationToken ct);
    /// <summary>Reads a text file; null when it does not exist.</summary>
    Task<string?> ReadTextAsync(string path, CancellationToken ct);
    /// <summary>Deletes a file if present.</summary>
    Task DeleteAsync(string path, CancellationToken ct);
    /// <summary>
    /// Reads a file once for its size and SHA-256, together with the checksum list <paramref name="sumsPath"/> (empty
    /// when absent) and the SHA-256 of <paramref name="manifestPath"/> (when given and present); null when the file does
    /// not exist. One round trip remotely.
    /// </summary>
    Task<FileChecksum?> ChecksumAsync(string path, string sumsPath, string? manifestPath, CancellationToken ct);
    /// <summary>
    /// Checks, without creating anything, that <paramref name="directory"/> is or can be created as a writable
    /// directory (its nearest existing ancestor is a writable directory), and returns the free bytes of the filesystem it
    /// will be on and whether <paramref name="file"/> already exists. Read-only, so it can run alongside other probes;
    /// one round trip remotely.
    /// </summary>
    Task<(long FreeBytes, bool FileExists)> CheckDestinationAsync(string directory, string file, CancellationToken ct);
    /// <summary>SHA-256 (lower-case hex) of a file, read once.</summary>
    Task<string> Sha256Async(string path, CancellationToken ct);
    /// <summary>Files below <paramref name="directory"/> (two levels) whose name ends with <paramref name="suffix"/>.</summary>
    Task<IReadOnlyList<string>> FindFilesAsync(string directory, string suffix, CancellationToken ct);

    /// <summary>
    /// Every file below <paramref name="directory"/> (two levels) whose name ends with <paramref name="suffix"/>, with its
    /// text (null when it cannot be read), in path order; null when the directory does not exist. One round trip remotely.
    /// </summary>
    Task<IReadOnlyList<HostTextFile>?> ReadTextFilesAsync(string directory, string suffix, CancellationToken ct);
}

/// <summary>A file's path and its text (null when it could not be read).</summary>
public sealed record HostTextFile(string Path, string? Text);

/// <summary>Files on this machine.</summary>
internal sealed class LocalHostFiles : IHostFiles
{
    /// <inheritdoc />
    public Task EnsureWritableDirectoryAsync(string path, CancellationToken ct)
    {
        try
        {
            CreateDirectory(path, groupReadable: false);
            var probe = Path.Combine(path, ".hbops-write-probe-" + Guid.NewGuid().ToString("N"));
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotWritable(path, ex.Message, ex);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task WriteTextAtomicAsync(string path, string content, CancellationToken ct)
    {
        var tmp = path + ".tmp." + Guid.NewGuid().ToString("N");
        try
        {
            await WriteNewFileAsync(tmp, new UTF8Encoding(false).GetBytes(content), FolderIsGroupReadable(Path.GetDirectoryName(Path.GetFullPath(path))), ct).ConfigureAwait(false);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    /// <summary>Folders 0700 and files 0600 unless a backup group may read them (0750 and 0640).</summary>
    private static UnixFileMode DirectoryModeFor(bool groupReadable) =>
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        (groupReadable ? UnixFileMode.GroupRead | UnixFileMode.GroupExecute : UnixFileMode.None);

    private static UnixFileMode FileModeFor(bool groupReadable) =>
        UnixFileMode.UserRead | UnixFileMode.UserWrite | (groupReadable ? UnixFileMode.GroupRead : UnixFileMode.None);

    private static bool FolderIsGroupReadable(string? folder) =>
        !OperatingSystem.IsWindows() && folder is not null && Directory.Exists(folder) &&
        (File.GetUnixFileMode(folder) & UnixFileMode.GroupRead) != 0;

    /// <summary>
    /// Creates <paramref name="path"/> and any missing parent with mode 0700 (0750 when <paramref name="groupReadable"/>),
    /// set explicitly so the process's umask neither widens nor narrows it (a setgid bit inherited from the parent is
    /// kept); folders that exist are left as they are.
    /// </summary>
    public static void CreateDirectory(string path, bool groupReadable)
    {
        var missing = new Stack<string>();
        for (var d = Path.GetFullPath(path); !Directory.Exists(d); d = Path.GetDirectoryName(d) ?? throw NotWritable(path, "no existing parent directory"))
        {
            missing.Push(d);
        }
        while (missing.TryPop(out var d))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(d);
                continue;
            }
            Directory.CreateDirectory(d, DirectoryModeFor(groupReadable));
            // The setgid bit a folder inherits from a setgid parent passes the backup group on to what is made inside.
            File.SetUnixFileMode(d, DirectoryModeFor(groupReadable) | (File.GetUnixFileMode(d) & UnixFileMode.SetGroup));
        }
    }

    /// <summary>
    /// Creates a file that must not exist yet (O_EXCL), 0600 (0640 when <paramref name="groupReadable"/>), for writing.
    /// </summary>
    public static FileStream CreateNewFile(string path, bool groupReadable, int bufferSize = 1)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.Read, BufferSize = bufferSize, Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileModeFor(groupReadable);
        var stream = new FileStream(path, options);
        // The umask may narrow the mode given at creation; the mode is meant exactly.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(stream.SafeFileHandle, FileModeFor(groupReadable));
        return stream;
    }

    private static async Task WriteNewFileAsync(string path, byte[] content, bool groupReadable, CancellationToken ct)
    {
        await using var fs = CreateNewFile(path, groupReadable);
        await fs.WriteAsync(content, ct).ConfigureAwait(false);
        await fs.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<IPendingTextFile> BeginWriteTextAtomicAsync(string path, CancellationToken ct) =>
        Task.FromResult<IPendingTextFile>(new PendingLocalFile(this, path));

    private sealed class PendingLocalFile(LocalHostFiles files, string path) : IPendingTextFile
    {
        public Task CommitAsync(string content, CancellationToken ct) => files.WriteTextAtomicAsync(path, content, ct);
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken ct) =>
        File.Exists(path) ? await File.ReadAllTextAsync(path, ct).ConfigureAwait(false) : null;

    /// <inheritdoc />
    public Task DeleteAsync(string path, CancellationToken ct)
    {
        File.Delete(path);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<FileChecksum?> ChecksumAsync(string path, string sumsPath, string? manifestPath, CancellationToken ct)
    {
        if (!File.Exists(path)) return null;
        var size = new FileInfo(path).Length;
        var manifestSha = manifestPath is not null && File.Exists(manifestPath) ? await Sha256Async(manifestPath, ct).ConfigureAwait(false) : null;
        return new FileChecksum(size, await Sha256Async(path, ct).ConfigureAwait(false), await ReadTextAsync(sumsPath, ct).ConfigureAwait(false) ?? "", manifestSha);
    }

    /// <inheritdoc />
    public Task<(long FreeBytes, bool FileExists)> CheckDestinationAsync(string directory, string file, CancellationToken ct) =>
        Task.Run(() => CheckDestination(directory, file), ct);

    private static (long FreeBytes, bool FileExists) CheckDestination(string directory, string file)
    {
        var existing = Path.GetFullPath(directory);
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw NotWritable(directory, $"'{existing}' is a file, not a directory");
            existing = Path.GetDirectoryName(existing) ?? throw NotWritable(directory, "no existing parent directory");
        }
        // A probe directory made and removed in the nearest existing directory proves that the run folder can be made there.
        try
        {
            var probe = Path.Combine(existing, ".hbops-probe-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw NotWritable(directory, ex.Message, ex);
        }
        return (new DriveInfo(existing).AvailableFreeSpace, File.Exists(file));
    }

    /// <inheritdoc />
    public async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
        var hash = await System.Security.Cryptography.SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
        return Convert.ToHexString(hash).ToLowerInvariant();
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> FindFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        if (!Directory.Exists(directory)) return Task.FromResult<IReadOnlyList<string>>(Array.Empty<string>());
        var files = Directory.EnumerateFiles(directory, "*" + suffix, new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1 })
            .Order(StringComparer.Ordinal).ToList();
        return Task.FromResult<IReadOnlyList<string>>(files);
    }

    /// <summary>
    /// Claims a dump written to <paramref name="partial"/> (this run's own file), the way the host-side script does:
    /// the final name <c>&lt;baseName&gt;.dump</c> is taken without ever replacing a file (another run's artefact of the
    /// same second keeps its name; this one becomes <c>&lt;baseName&gt;-&lt;runId&gt;.dump</c>), the manifest
    /// <paramref name="manifestFor"/> makes for that name is written, and the dump's and the manifest's checksum lines are
    /// appended to SHA256SUMS under the folder's lock (<c>SHA256SUMS.lock</c>, created with O_EXCL, shared with the host-side script). What a
    /// claim that fails has made is removed again. Returns the claimed file name.
    /// </summary>
    public static async Task<string> ClaimArtefactAsync(string partial, string baseName, string runId, string sha256,
        Func<string, string> manifestFor, bool groupReadable, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(manifestFor);
        var dir = Path.GetDirectoryName(partial)!;
        string? final = null;
        var name = "";
        foreach (var candidate in new[] { baseName + ".dump", $"{baseName}-{runId}.dump" })
        {
            try
            {
                // Never over an existing file: on Unix this is link(2) + unlink(2), which fails when the name is taken.
                File.Move(partial, Path.Combine(dir, candidate), overwrite: false);
                (final, name) = (Path.Combine(dir, candidate), candidate);
                break;
            }
            catch (IOException) when (File.Exists(Path.Combine(dir, candidate)))
            {
                // Taken by another run of the same second.
            }
        }
        if (final is null) throw NotWritable(partial, "no free name to claim the artefact under");
        var manifest = final + ".manifest.yml";
        var tmp = manifest + ".tmp." + runId;
        var tmpMade = false;
        try
        {
            var manifestBytes = new UTF8Encoding(false).GetBytes(manifestFor(name));
            await using (var fs = CreateNewFile(tmp, groupReadable))
            {
                tmpMade = true;
                await fs.WriteAsync(manifestBytes, ct).ConfigureAwait(false);
            }
            // The manifest's own SHA-256 beside the dump's: an edited manifest no longer verifies.
            var manifestSha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(manifestBytes)).ToLowerInvariant();
            await using (await SumsLock.TakeAsync(dir, groupReadable, ct).ConfigureAwait(false))
            {
                AppendLine(Path.Combine(dir, BackupChecksumFile), $"{sha256}  {name}\n{manifestSha}  {Path.GetFileName(manifest)}", groupReadable);
            }
            File.Move(tmp, manifest, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or OperationCanceledException or HbOpsException)
        {
            // Only what this claim made goes: the manifest's temporary file (if it was made) and the claimed dump.
            if (tmpMade) File.Delete(tmp);
            File.Delete(final);
            if (ex is HbOpsException or OperationCanceledException) throw;
            throw NotWritable(final, $"claiming the artefact failed: {ex.Message}{(IsDiskFull(ex) ? " (ENOSPC)" : "")}", ex);
        }
        return name;
    }

    private const string BackupChecksumFile = "SHA256SUMS";

    /// <summary>
    /// Takes the lock on <paramref name="directory"/>'s SHA256SUMS (<c>SHA256SUMS.lock</c>, created with O_EXCL; the
    /// host-side scripts take the same one): every change of a run folder's SHA256SUMS (a claim, a copy, a removal) is
    /// made under it, so concurrent runs never lose each other's lines. Released by disposing the handle.
    /// </summary>
    public static async Task<IAsyncDisposable> LockChecksumsAsync(string directory, CancellationToken ct) =>
        await SumsLock.TakeAsync(directory, groupReadable: false, ct).ConfigureAwait(false);

    /// <summary>True when an I/O error says the filesystem is full (ENOSPC).</summary>
    public static bool IsDiskFull(Exception ex) =>
        ex is IOException io && (io.HResult == 28 || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase));

    // Appends in place (the file keeps its mode and group); an append that fails is cut back to the old length.
    private static void AppendLine(string path, string line, bool groupReadable)
    {
        var existed = File.Exists(path);
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileModeFor(groupReadable);
        using var fs = new FileStream(path, options);
        if (!existed && !OperatingSystem.IsWindows()) File.SetUnixFileMode(fs.SafeFileHandle, FileModeFor(groupReadable));
        var length = fs.Length;
        try
        {
            var newline = false;
            if (length > 0)
            {
                fs.Seek(-1, SeekOrigin.End);
                newline = fs.ReadByte() != '\n';
            }
            fs.Seek(0, SeekOrigin.End);
            fs.Write(Encoding.UTF8.GetBytes((newline ? "\n" : "") + line + "\n"));
            fs.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            fs.SetLength(length);
            if (!existed) File.Delete(path);
            throw;
        }
    }

    // The lock on a run folder's SHA256SUMS: a file created with O_EXCL (the host-side script takes the same one with
    // noclobber), removed when released. It is held for milliseconds; one left by a killed run is named after 30 s.
    private sealed class SumsLock(string path) : IAsyncDisposable
    {
        public static async Task<SumsLock> TakeAsync(string dir, bool groupReadable, CancellationToken ct)
        {
            var path = Path.Combine(dir, BackupChecksumFile + ".lock");
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await using (CreateNewFile(path, groupReadable)) { }
                    return new SumsLock(path);
                }
                catch (IOException) when (File.Exists(path) && attempt < 150)
                {
                    await Task.Delay(200, ct).ConfigureAwait(false);
                }
                catch (IOException ex) when (File.Exists(path))
                {
                    throw NotWritable(path, "it stays locked (left by a killed run? remove it when no backup is running)", ex);
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            File.Delete(path);
            return ValueTask.CompletedTask;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<HostTextFile>?> ReadTextFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        if (!Directory.Exists(directory)) return null;
        var result = new List<HostTextFile>();
        foreach (var file in await FindFilesAsync(directory, suffix, ct).ConfigureAwait(false))
        {
            string? text;
            try { text = await File.ReadAllTextAsync(file, ct).ConfigureAwait(false); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { text = null; }
            result.Add(new HostTextFile(file, text));
        }
        return result;
    }

    internal static HbOpsException NotWritable(string path, string detail, Exception? inner = null) =>
        new(HbErrorIds.DestinationNotWritable, HbErrorCategory.PermissionDenied,
            $"The destination '{path}' cannot be created or written: {detail}", path, "Choose a writable -Destination.", inner);
}

/// <summary>Files on a remote host, through small POSIX sh scripts with the paths as positional arguments.</summary>
internal sealed class ShellHostFiles(ICommandHost host) : IHostFiles
{
    // Everything these scripts create is private (umask 077: folders 0700, files 0600) unless they say otherwise.
    private async Task<CommandResult> Sh(string script, byte[]? stdin, string[] args, CancellationToken ct)
    {
        var argv = new List<string> { "sh", "-c", "umask 077\n" + script, "hbops" };
        argv.AddRange(args);
        return await host.RunAsync(argv, ct, stdin).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task EnsureWritableDirectoryAsync(string path, CancellationToken ct)
    {
        var r = await Sh("mkdir -p -- \"$1\" && test -d \"$1\" && test -w \"$1\"", null, [path], ct).ConfigureAwait(false);
        if (!r.Succeeded) throw LocalHostFiles.NotWritable(path, r.StandardError.Trim().Length > 0 ? r.StandardError.Trim() : "not writable");
    }

    /// <inheritdoc />
    public async Task WriteTextAtomicAsync(string path, string content, CancellationToken ct)
    {
        await using var pending = await BeginWriteTextAtomicAsync(path, ct).ConfigureAwait(false);
        await pending.CommitAsync(content, ct).ConfigureAwait(false);
    }

    // Reads the content's length in bytes on the first line, then exactly that many bytes into a temporary file, and
    // renames it into place. Anything else (end of input before a length, a short content) writes nothing. It always
    // reads its input to the end before exiting: SSH.NET may send the end-of-file after a channel that closed meanwhile,
    // and OpenSSH drops the whole connection for that.
    // The file is private (0600), or 0640 in a group-readable folder (never wider than its folder).
    private const string PendingWriteScript = """
        umask 077
        if [ -n "$(find "$(dirname -- "$1")" -prune -perm -g=r 2>/dev/null)" ]; then umask 027; fi
        IFS= read -r n || exit 3
        case $n in ''|*[!0-9]*) cat > /dev/null; exit 3;; esac
        tmp="$1.tmp.$$"
        if head -c "$n" > "$tmp" && [ "$(wc -c < "$tmp")" -eq "$n" ] && mv -f -- "$tmp" "$1"; then cat > /dev/null; exit 0; fi
        rm -f -- "$tmp"; cat > /dev/null; exit 1
        """;

    /// <inheritdoc />
    public async Task<IPendingTextFile> BeginWriteTextAtomicAsync(string path, CancellationToken ct) =>
        new PendingShellFile(path, await host.StartAsync(new[] { "sh", "-c", PendingWriteScript, "hbops-write", path }, ct).ConfigureAwait(false));

    private sealed class PendingShellFile(string path, IRunningCommand cmd) : IPendingTextFile
    {
        private bool _done;

        public async Task CommitAsync(string content, CancellationToken ct)
        {
            _done = true;
            var bytes = new UTF8Encoding(false).GetBytes(content);
            var stderr = new StreamReader(cmd.StandardError, Encoding.UTF8).ReadToEndAsync(ct);
            try
            {
                await cmd.StandardInput.WriteAsync(Encoding.ASCII.GetBytes(bytes.Length.ToString(CultureInfo.InvariantCulture) + "\n"), ct).ConfigureAwait(false);
                await cmd.StandardInput.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
            catch (IOException)
            {
                // The command ended early; its exit code and stderr say why.
            }
            await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
            var exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
            if (exit != 0) throw LocalHostFiles.NotWritable(path, (await stderr.ConfigureAwait(false)).Trim() is { Length: > 0 } e ? e : $"exit {exit}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_done)
            {
                // No content: a line that is not a length, so the command writes nothing and exits. (Closing an SSH.NET
                // input stream nothing was written to sends no end-of-file, so the line is needed.)
                try { await cmd.StandardInput.WriteAsync("abort\n"u8.ToArray()).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException or HbOpsException) { }
                await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await cmd.WaitForExitAsync(cts.Token).ConfigureAwait(false); }
                catch (Exception ex) when (ex is OperationCanceledException or HbOpsException) { }
            }
            await cmd.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<string?> ReadTextAsync(string path, CancellationToken ct)
    {
        var r = await Sh("test -f \"$1\" || exit 3; cat -- \"$1\"", null, [path], ct).ConfigureAwait(false);
        if (r.ExitCode == 3) return null;
        if (!r.Succeeded) throw CannotRead(path, r);
        return r.StandardOutput;
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string path, CancellationToken ct) =>
        await Sh("rm -f -- \"$1\"", null, [path], ct).ConfigureAwait(false);

    /// <summary>
    /// A shell function printing the SHA-256 of its standard input first on its line: OpenSSL where installed (it uses
    /// the CPU's SHA instructions, several times faster than coreutils' sha256sum, which matters on a busy host), else
    /// sha256sum.
    /// </summary>
    public const string Sha256Function = """
        hbops_sha256() { if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r; else sha256sum; fi; }
        """;

    /// <summary>The 64 hex digits at the start of <paramref name="line"/>, or null.</summary>
    public static string? ParseSha256(string line)
    {
        var hex = (line ?? "").Trim().Split(' ', 2)[0].TrimStart('\\').ToLowerInvariant();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex : null;
    }

    /// <inheritdoc />
    public async Task<FileChecksum?> ChecksumAsync(string path, string sumsPath, string? manifestPath, CancellationToken ct)
    {
        // Lines: size, the file's hash, the manifest's hash (or "none"), then SHA256SUMS.
        var r = await Sh(Sha256Function + """

            test -f "$1" || exit 3
            wc -c < "$1"
            hbops_sha256 < "$1" || exit 4
            if [ -n "$3" ] && [ -f "$3" ]; then hbops_sha256 < "$3" || exit 4; else echo none; fi
            cat -- "$2" 2>/dev/null; exit 0
            """, null, [path, sumsPath, manifestPath ?? ""], ct).ConfigureAwait(false);
        if (r.ExitCode == 3) return null;
        var lines = r.StandardOutput.Split('\n', 4);
        if (!r.Succeeded || lines.Length < 3 || !long.TryParse(lines[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) ||
            ParseSha256(lines[1]) is not { } sha)
        {
            throw CannotRead(path, r);
        }
        return new FileChecksum(size, sha, lines.Length > 3 ? lines[3] : "", ParseSha256(lines[2]));
    }

    // The nearest existing ancestor must be a directory in which a directory can be made (a probe directory is made
    // and removed again: permission bits alone do not tell, e.g. on read-only or virtual filesystems); df reports the
    // filesystem it is on.
    private const string CheckDestinationScript = """
        d=$1
        while [ ! -e "$d" ] && [ ! -L "$d" ]; do d=$(dirname -- "$d"); done
        probe="$d/.hbops-probe-$$"
        if [ ! -d "$d" ] || ! mkdir -- "$probe" 2>/dev/null || ! rmdir -- "$probe"; then echo "'$d' is not a writable directory" >&2; exit 3; fi
        df -Pk -- "$d" | awk 'NR==2 {print $4}'
        if [ -e "$2" ]; then echo exists; else echo new; fi
        """;

    /// <inheritdoc />
    public async Task<(long FreeBytes, bool FileExists)> CheckDestinationAsync(string directory, string file, CancellationToken ct)
    {
        var r = await Sh(CheckDestinationScript, null, [directory, file], ct).ConfigureAwait(false);
        var lines = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (!r.Succeeded || lines.Length != 2 || !long.TryParse(lines[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb))
        {
            throw LocalHostFiles.NotWritable(directory, r.StandardError.Trim().Length > 0 ? r.StandardError.Trim() : "not writable");
        }
        return (kb * 1024, lines[1] == "exists");
    }

    /// <inheritdoc />
    public async Task<string> Sha256Async(string path, CancellationToken ct)
    {
        var r = await Sh(Sha256Function + "\nhbops_sha256 < \"$1\"", null, [path], ct).ConfigureAwait(false);
        if (!r.Succeeded || ParseSha256(r.StandardOutput) is not { } sha) throw CannotRead(path, r);
        return sha;
    }

    private HbOpsException CannotRead(string path, CommandResult r) =>
        new(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound, $"Cannot read '{path}' on {host.Host}: {Redaction.Redact(r.StandardError.Trim())}", path);

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> FindFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        var r = await Sh("test -d \"$1\" || exit 0; find \"$1\" -maxdepth 2 -type f -name \"*$2\" | sort", null, [directory, suffix], ct).ConfigureAwait(false);
        return r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    // Every matching file in one command: each file's text follows a header line made of a random separator (that no
    // file holds), a status (+ read, ! unreadable) and the path. The newline before each header keeps a file without a
    // final newline from running into the next header; it is not part of the file's text.
    private const string ReadTextFilesScript = """
        test -d "$1" || exit 3
        find "$1" -maxdepth 2 -type f -name "*$2" | sort | while IFS= read -r f; do
          if [ -r "$f" ]; then printf '\n%s+%s\n' "$3" "$f"; cat -- "$f" 2>/dev/null; else printf '\n%s!%s\n' "$3" "$f"; fi
        done
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<HostTextFile>?> ReadTextFilesAsync(string directory, string suffix, CancellationToken ct)
    {
        var separator = "hbops-file-" + Guid.NewGuid().ToString("N");
        var r = await Sh(ReadTextFilesScript, null, [directory, suffix, separator], ct).ConfigureAwait(false);
        if (r.ExitCode == 3) return null;
        if (!r.Succeeded) throw CannotRead(directory, r);
        var result = new List<HostTextFile>();
        foreach (var part in r.StandardOutput.Split("\n" + separator, StringSplitOptions.None).Skip(1))
        {
            var headerEnd = part.IndexOf('\n', StringComparison.Ordinal);
            var header = headerEnd < 0 ? part : part[..headerEnd];
            if (header.Length < 2) continue;
            result.Add(new HostTextFile(header[1..], header[0] == '+' ? (headerEnd < 0 ? "" : part[(headerEnd + 1)..]) : null));
        }
        return result;
    }
}
