using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>
/// A place artefacts are read from and removed at: the docker host, this machine, or an SFTP storage host. The copy,
/// restore and retention engines reach every location through this one shape.
/// </summary>
public interface IArtefactSource
{
    /// <summary>What an artefact found here is: Host (the docker host), LocalCopy (this machine) or Sftp.</summary>
    HbArtefactLocation Location { get; }

    /// <summary>The SFTP storage host, or null.</summary>
    HbHost? StorageHost { get; }

    /// <summary>The location and a path on it, for messages.</summary>
    string Describe(string path);

    /// <summary>Text and listing operations on this location (manifests, SHA256SUMS, records).</summary>
    IHostFiles Files { get; }

    /// <summary>
    /// Opens a file for one sequential read with bounded memory. Reading past its end throws when the file could not be
    /// read whole (it vanished, the connection broke).
    /// </summary>
    Task<Stream> OpenReadAsync(string path, CancellationToken ct);

    /// <summary>
    /// Removes an artefact's files here: the manifest first (so it is no longer listed), then the dump, its SHA256SUMS
    /// lines (the file is rewritten atomically, or removed when nothing else is listed), its copy and restore-test records,
    /// and the run folder when it is left empty. Returns the paths removed.
    /// </summary>
    Task<IReadOnlyList<string>> RemoveArtefactAsync(HbBackupArtefact artefact, CancellationToken ct);
}

/// <summary>A location copies are written to (a folder on this machine or an SFTP storage host).</summary>
public interface IArtefactStore : IArtefactSource
{
    /// <summary>Free bytes of the filesystem <paramref name="directory"/> is (or will be) on; null when the store cannot tell.</summary>
    Task<long?> FreeBytesAsync(string directory, CancellationToken ct);

    /// <summary>True when a file or directory exists at <paramref name="path"/>.</summary>
    Task<bool> ExistsAsync(string path, CancellationToken ct);

    /// <summary>Creates a directory and its missing parents; the ones it creates are private (0700).</summary>
    Task CreatePrivateDirectoryAsync(string path, CancellationToken ct);

    /// <summary>
    /// Creates <paramref name="path"/> exclusively (never over an existing file), private (0600), and streams
    /// <paramref name="content"/> into it; returns the bytes written. <paramref name="progress"/> gets the running total.
    /// A write that fails for want of space (<paramref name="expectedBytes"/> tells how much was still to come) is
    /// StorageFull; a failure of <paramref name="content"/> itself is rethrown as it was.
    /// </summary>
    Task<long> WriteNewFileAsync(string path, Stream content, long expectedBytes, Action<long>? progress, CancellationToken ct);

    /// <summary>Renames a file, refusing to replace an existing one.</summary>
    Task RenameNoReplaceAsync(string from, string to, CancellationToken ct);

    /// <summary>Writes a new text file (UTF-8, private) through a temporary name; refuses to replace an existing file.</summary>
    Task WriteNewTextAsync(string path, string content, CancellationToken ct);

    /// <summary>Replaces (or creates) a text file atomically: a temporary file renamed over it.</summary>
    Task ReplaceTextAsync(string path, string content, CancellationToken ct);

    /// <summary>
    /// Takes the lock on <paramref name="folder"/>'s SHA256SUMS (<c>SHA256SUMS.lock</c>, created exclusively; the one
    /// backups and removals take too). A change of SHA256SUMS is read, edited and written under it; dispose to release.
    /// </summary>
    Task<IAsyncDisposable> LockChecksumsAsync(string folder, CancellationToken ct);

    /// <summary>Reads a file back whole and returns its size and SHA-256 (lower-case hex). <paramref name="progress"/> gets the running total.</summary>
    Task<(long Size, string Sha256)> ReadBackAsync(string path, Action<long>? progress, CancellationToken ct);

    /// <summary>Deletes a file if it exists.</summary>
    Task DeleteAsync(string path, CancellationToken ct);
}
