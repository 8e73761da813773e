using System.Security.Cryptography;
using System.Text.Json;
using HbOps.Engine.Backup;
using HbOps.Engine.Copies;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Sandbox;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Restore;

/// <summary>
/// Where the sandbox reads the artefact (<paramref name="Folder"/> on the docker host), its SHA-256 as observed, whether
/// SHA256SUMS lists it with that hash, and whether HbOps uploaded it there (the folder is then the run's own).
/// </summary>
internal sealed record ArtefactOnHost(string Folder, string Sha256, bool SumsLineMatches, bool Uploaded);

/// <summary>Puts an artefact where a sandbox can mount it and observes its checksum there; a seam for unit tests.</summary>
internal interface IArtefactStaging
{
    /// <summary>The folder a sandbox can mount before anything is uploaded, or null when the artefact must be uploaded first.</summary>
    string? MountableFolder(HbBackupArtefact artefact);

    /// <summary>
    /// Re-reads the artefact (uploading it to the docker host first when it is not there) and returns what was observed.
    /// A folder it uploads into is armed on <paramref name="lease"/> before it exists and removed again if the upload fails.
    /// </summary>
    Task<ArtefactOnHost> EnsureOnHostAsync(HbBackupArtefact artefact, string runId, IRunLease lease, CancellationToken ct);
}

/// <summary>
/// The sandbox reads the artefact through a read-only bind mount of its folder. A local artefact with a remote engine is
/// uploaded first into a private folder on the host (and re-hashed there); a copy on an SFTP storage host is streamed
/// from there (<paramref name="copySource"/>).
/// </summary>
internal sealed class ArtefactStaging(ICommandHost dockerHost, ISandboxGateway sandboxes, IHbReporter report, IArtefactSource? copySource) : IArtefactStaging
{
    /// <inheritdoc />
    public string? MountableFolder(HbBackupArtefact artefact)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var needsUpload = (HostFiles.IsLocal(artefact) && dockerHost.Host.Kind != HbHostKind.Local) || artefact.Location == HbArtefactLocation.Sftp;
        return needsUpload ? null : HostFolder(artefact);
    }

    // The folder the sandbox mounts when the artefact is already where the engine runs.
    private static string HostFolder(HbBackupArtefact artefact) =>
        HostFiles.IsLocal(artefact) ? Path.GetDirectoryName(artefact.Path)! : artefact.RunFolder;

    /// <inheritdoc />
    public async Task<ArtefactOnHost> EnsureOnHostAsync(HbBackupArtefact artefact, string runId, IRunLease lease, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        if (artefact.Location == HbArtefactLocation.Sftp) return await UploadCopyAsync(artefact, runId, lease, ct).ConfigureAwait(false);
        var artefactIsLocal = HostFiles.IsLocal(artefact);
        var artefactFiles = HostFiles.ForArtefact(dockerHost, artefact);
        report.Verbose($"Re-reading '{artefact.Path}' to verify its SHA-256.");
        var observed = await artefactFiles.ChecksumAsync(artefact.Path, artefact.ChecksumPath, artefact.ManifestPath, ct).ConfigureAwait(false)
            ?? throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
                $"The artefact '{artefact.Path}' does not exist{(artefactIsLocal ? "" : " on " + dockerHost.Host)}.", artefact.Path);
        // The manifest (which records the checksum and the row counts this test compares) must be the backup's own.
        if (ArtefactCatalog.ManifestProblem(artefact, observed) is { } manifestProblem) throw ArtefactCatalog.ManifestTampered(artefact, manifestProblem);
        var sha = observed.Sha256;
        var sumsMatch = observed.Lists(artefact.FileName);
        if (!artefactIsLocal || dockerHost.Host.Kind == HbHostKind.Local) return new ArtefactOnHost(HostFolder(artefact), sha, sumsMatch, false);

        var remoteFolder = UploadFolder(runId);
        report.Verbose($"Uploading the local artefact to {dockerHost.Host}:{remoteFolder} for the sandbox.");
        var remoteSha = await UploadIntoAsync(remoteFolder, lease, async files =>
        {
            await using (var input = File.OpenRead(artefact.Path))
            {
                await WriteAsync(remoteFolder, remoteFolder + "/" + artefact.FileName, input, ct).ConfigureAwait(false);
            }
            return await files.Sha256Async(remoteFolder + "/" + artefact.FileName, ct).ConfigureAwait(false);
        }, ct).ConfigureAwait(false);
        return new ArtefactOnHost(remoteFolder, sha, sumsMatch && remoteSha == sha, true);
    }

    private static string UploadFolder(string runId) => $"/tmp/hbops-upload-{runId}";

    private async Task WriteAsync(string folder, string target, Stream input, CancellationToken ct)
    {
        var r = await dockerHost.RunFromStreamAsync(new[] { "sh", "-c", "umask 077; cat > \"$1\"", "hbops-upload", target }, input, ct).ConfigureAwait(false);
        if (!r.Succeeded) throw LocalHostFiles.NotWritable(folder, r.StandardError.Trim());
    }

    // The folder an upload makes on the docker host belongs to the run from before it exists: the lease removes it if the
    // connection drops, and a failure or Ctrl+C anywhere from its creation until a sandbox owns it removes it here.
    private async Task<T> UploadIntoAsync<T>(string remoteFolder, IRunLease lease, Func<ShellHostFiles, Task<T>> upload, CancellationToken ct)
    {
        var files = new ShellHostFiles(dockerHost);
        await lease.ArmAsync(remoteFolder, ct).ConfigureAwait(false);
        try
        {
            await files.EnsureWritableDirectoryAsync(remoteFolder, ct).ConfigureAwait(false);
            return await upload(files).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // No sandbox owns the folder yet: it goes here.
            await RemoveUploadAsync(sandboxes, remoteFolder, report).ConfigureAwait(false);
            throw;
        }
    }

    // A copy on an SFTP storage host, streamed from there into a private folder on the docker host in one read of the copy,
    // hashed on the way (the checksum is the copy's own), then re-hashed where the sandbox will read it. Nothing passes
    // through this machine's disk; memory is bounded by the SSH channel windows.
    private async Task<ArtefactOnHost> UploadCopyAsync(HbBackupArtefact artefact, string runId, IRunLease lease, CancellationToken ct)
    {
        var source = copySource ?? throw new HbOpsException(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument,
            $"'{artefact.Path}' is a copy on a storage host, and no connection to it was given.", artefact.Path);
        var sums = await source.Files.ReadTextAsync(artefact.ChecksumPath, ct).ConfigureAwait(false) ?? "";
        // The copy's manifest is checked against its own SHA256SUMS line, as an original's is.
        var manifestSha = await source.Files.ReadTextAsync(artefact.ManifestPath, ct).ConfigureAwait(false) is null ? null
            : await source.Files.Sha256Async(artefact.ManifestPath, ct).ConfigureAwait(false);
        if (ArtefactCatalog.ManifestProblem(artefact, new FileChecksum(0, artefact.Sha256, sums, manifestSha)) is { } manifestProblem)
        {
            throw ArtefactCatalog.ManifestTampered(artefact, manifestProblem);
        }
        var remoteFolder = UploadFolder(runId);
        report.Verbose($"Streaming the copy {source.Describe(artefact.Path)} to {dockerHost.Host}:{remoteFolder} for the sandbox, hashing it on the way.");
        var target = remoteFolder + "/" + artefact.FileName;
        var (sha, remoteSha) = await UploadIntoAsync(remoteFolder, lease, async files =>
        {
            string streamed;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using var input = await source.OpenReadAsync(artefact.Path, ct).ConfigureAwait(false);
                await WriteAsync(remoteFolder, target, new ObservedReadStream(input, hash), ct).ConfigureAwait(false);
                streamed = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            }
            return (streamed, await files.Sha256Async(target, ct).ConfigureAwait(false));
        }, ct).ConfigureAwait(false);
        var sumsMatch = new FileChecksum(0, sha, sums).Lists(artefact.FileName);
        return new ArtefactOnHost(remoteFolder, sha, sumsMatch && remoteSha == sha, true);
    }

    /// <summary>
    /// Removes an uploaded copy's folder on the docker host that no sandbox owns (its creation failed or never came);
    /// a failure is a warning, never the run's error.
    /// </summary>
    internal static async Task RemoveUploadAsync(ISandboxGateway sandboxes, string uploadFolder, IHbReporter report)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            if (await sandboxes.RemoveScratchFolderAsync(uploadFolder, cts.Token).ConfigureAwait(false) is { } error) report.Warning(error);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or JsonException)
        {
            report.Warning($"Could not remove the uploaded copy at '{uploadFolder}': {ex.Message}");
        }
    }
}
