using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>What to copy where.</summary>
public sealed class CopyRequest
{
    /// <summary>The folder at the destination that receives the artefact's run folder (as Invoke-HbBackup's -Destination).</summary>
    public string DestinationRoot { get; init; } = "";

    /// <summary>Copy even when the destination reports less free space than the dump's size.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// Runs once the transfer ended and before the copy is read back, with the path of the transferred (still partial)
    /// file: a seam for tests that alter the stored bytes the way faulty storage would.
    /// </summary>
    public Func<string, CancellationToken, Task>? AfterTransfer { get; init; }
}

/// <summary>
/// Copies an artefact (its dump, its manifest unchanged, its SHA256SUMS lines) to another location and proves the copy:
/// <list type="number">
/// <item>checks: the source's manifest and SHA256SUMS agree with the artefact, nothing of that name exists at the
/// destination, the destination has room (unless forced);</item>
/// <item>transfers the dump into <c>&lt;name&gt;.partial</c> (created exclusively, private), streamed from the source and
/// hashed on the way, never held in memory or on this machine's disk;</item>
/// <item>reads the partial copy back whole from the destination and compares its SHA-256 and size with the manifest's
/// (CopyVerificationFailed otherwise);</item>
/// <item>claims it: SHA256SUMS lines (atomic rewrite), rename into place (never over a file), the copy record with the
/// proof, then the manifest, so every listed copy carries its proof.</item>
/// </list>
/// Any failure or cancellation before the claim removes the partial file; nothing is claimed.
/// </summary>
public sealed class CopyEngine(IHbReporter? reporter = null)
{
    private const int ProgressId = 43;
    private const string Activity = "Copy-HbBackup";
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;

    /// <summary>Copies <paramref name="artefact"/> from <paramref name="source"/> to <paramref name="destination"/>; returns the copy.</summary>
    public async Task<HbBackupArtefact> CopyAsync(HbBackupArtefact artefact, IArtefactSource source, IArtefactStore destination, CopyRequest request,
        CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(request);
        var plan = Plan(artefact, destination, request);
        var started = DateTime.UtcNow;

        // 1. What is copied must be what was recorded; nothing may be replaced at the destination.
        _report.Verbose($"Copying {source.Describe(artefact.Path)} to {destination.Describe(plan.Dump)}.");
        var (manifest, sumsLines) = await ReadSourceAsync(artefact, source, ct).ConfigureAwait(false);
        await CheckDestinationAsync(artefact, destination, plan, request, ct).ConfigureAwait(false);

        var partial = plan.Dump + ArtefactFiles.PartialSuffix;
        var claimed = false;
        var partialMade = false;
        try
        {
            // 2. Transfer, hashed while streaming.
            await destination.CreatePrivateDirectoryAsync(plan.Folder, ct).ConfigureAwait(false);
            var transfer = Stopwatch.StartNew();
            string transferSha;
            long sent;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                await using var input = await source.OpenReadAsync(artefact.Path, ct).ConfigureAwait(false);
                var observed = new ObservedReadStream(input, hash);
                partialMade = true;
                sent = await destination.WriteNewFileAsync(partial, observed, artefact.SizeBytes, Reporter("copied", artefact.SizeBytes, transfer), ct)
                    .ConfigureAwait(false);
                transferSha = Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
            }
            transfer.Stop();
            if (transferSha != artefact.Sha256 || sent != artefact.SizeBytes)
            {
                throw new HbOpsException(HbErrorIds.ChecksumMismatch, HbErrorCategory.InvalidData,
                    $"Refusing to copy {source.Describe(artefact.Path)}: it read as {sent:N0} bytes with SHA-256 {transferSha}, but the manifest records " +
                    $"{artefact.SizeBytes:N0} bytes with {artefact.Sha256}.", artefact.Path, "The source was altered or corrupted; make a new backup.");
            }
            if (request.AfterTransfer is not null) await request.AfterTransfer(partial, ct).ConfigureAwait(false);

            // 3. Read-back proof: the copy as the destination returns it now.
            var verify = Stopwatch.StartNew();
            var (size, sha) = await destination.ReadBackAsync(partial, Reporter("read back", artefact.SizeBytes, verify), ct).ConfigureAwait(false);
            verify.Stop();
            if (sha != artefact.Sha256 || size != artefact.SizeBytes)
            {
                throw new HbOpsException(HbErrorIds.CopyVerificationFailed, HbErrorCategory.InvalidData,
                    $"The copy {destination.Describe(partial)} read back as {size:N0} bytes with SHA-256 {sha}, not the {artefact.SizeBytes:N0} bytes with " +
                    $"{artefact.Sha256} that were sent; it was not kept.", partial, "The storage altered or lost data: check it, then copy again.");
            }
            var proof = new HbArtefactCopy
            {
                ToolVersion = EngineInfo.Version, StorageHost = destination.StorageHost, SourcePath = artefact.Path, SourceLocation = artefact.Location,
                SourceHost = source.Location == HbArtefactLocation.Sftp ? source.StorageHost! : source.Location == HbArtefactLocation.Host ? artefact.Host : HbHost.Local,
                StartedAtUtc = started, TransferSha256 = transferSha, VerifiedSha256 = sha, VerifiedSizeBytes = size, VerifiedAtUtc = DateTime.UtcNow,
                Verification = destination.Location == HbArtefactLocation.Sftp
                    ? "read back whole over SFTP after the transfer and hashed on this machine"
                    : "read back whole from the folder after the transfer and hashed",
                Verified = true, ChecksumLines = sumsLines, RecordPath = plan.Dump + ArtefactFiles.CopyRecordSuffix,
                TransferSeconds = Math.Round(transfer.Elapsed.TotalSeconds, 3), VerifySeconds = Math.Round(verify.Elapsed.TotalSeconds, 3),
            };

            // 4. Claim: checksum lines, the name, the proof, then the manifest (what listings look for).
            var copy = BackupEngine.ParseManifest(manifest);
            claimed = true;
            await ClaimAsync(destination, plan, partial, manifest, sumsLines, proof, ct).ConfigureAwait(false);
            _report.Verbose(string.Create(CultureInfo.InvariantCulture,
                $"Copy {destination.Describe(plan.Dump)}: {size:N0} bytes in {proof.TransferSeconds}s, read back in {proof.VerifySeconds}s, sha256 {sha}."));
            return CopyRecords.Relocate(copy, plan.Dump, destination.Location, proof);
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.CopyExists && !claimed)
        {
            // The partial name is taken by another run: its file is not ours to remove.
            throw;
        }
        catch (Exception)
        {
            if (partialMade && !claimed) await RemovePartialAsync(destination, partial).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _report.Progress(new HbProgress(ProgressId, Activity, "done", 100, Completed: true));
        }
    }

    private sealed record CopyPlan(string Folder, string Dump, string Manifest, string Sums);

    private static CopyPlan Plan(HbBackupArtefact artefact, IArtefactStore destination, CopyRequest request)
    {
        if (artefact.Sha256.Length != 64 || !artefact.Sha256.All(char.IsAsciiHexDigitLower) || artefact.SizeBytes <= 0)
        {
            throw new HbOpsException(HbErrorIds.ArtefactInvalid, HbErrorCategory.InvalidData,
                $"The artefact '{artefact.Path}' records no usable SHA-256 and size; only a completed backup can be copied.", artefact.Path);
        }
        if (string.IsNullOrWhiteSpace(request.DestinationRoot) || request.DestinationRoot.Any(char.IsControl))
        {
            throw HbOpsException.Invalid($"-Destination '{Validation.Printable(request.DestinationRoot)}' is not a usable folder.", request.DestinationRoot);
        }
        var sftp = destination.Location == HbArtefactLocation.Sftp;
        var fileName = ArtefactFiles.RequireSafeName(artefact.FileName, "file name");
        var runFolderName = ArtefactFiles.RequireSafeName(LastSegment(artefact.RunFolder.Length > 0 ? artefact.RunFolder : artefact.Path[..^(fileName.Length + 1)]), "run folder");
        var root = sftp ? request.DestinationRoot : Path.GetFullPath(request.DestinationRoot);
        var folder = StorageLocation.Join(sftp, root, runFolderName);
        var dump = StorageLocation.Join(sftp, folder, fileName);
        return new CopyPlan(folder, dump, dump + BackupEngine.ManifestSuffix, StorageLocation.Join(sftp, folder, BackupEngine.ChecksumFileName));
    }

    private static string LastSegment(string path) => path.TrimEnd('/', '\\') is var p ? p[(p.LastIndexOfAny(['/', '\\']) + 1)..] : path;

    // The manifest (copied byte for byte: its own SHA256SUMS line must keep matching) and the SHA256SUMS lines of the dump
    // and the manifest. The manifest on disk must be the artefact's, and SHA256SUMS must list the dump with its hash.
    private static async Task<(string Manifest, List<string> SumsLines)> ReadSourceAsync(HbBackupArtefact artefact, IArtefactSource source,
        CancellationToken ct)
    {
        var manifestTask = source.Files.ReadTextAsync(artefact.Path + BackupEngine.ManifestSuffix, ct);
        var sumsTask = source.Files.ReadTextAsync(SumsPathOf(artefact), ct);
        var manifest = await manifestTask.ConfigureAwait(false);
        var sums = await sumsTask.ConfigureAwait(false);
        if (manifest is null)
        {
            throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
                $"{source.Describe(artefact.Path + BackupEngine.ManifestSuffix)} does not exist: only an artefact with its manifest can be copied.", artefact.Path);
        }
        var onDisk = BackupEngine.ParseManifest(manifest);
        if (onDisk.Sha256 != artefact.Sha256 || onDisk.SizeBytes != artefact.SizeBytes || onDisk.FileName != artefact.FileName)
        {
            throw new HbOpsException(HbErrorIds.ChecksumMismatch, HbErrorCategory.InvalidData,
                $"The manifest beside {source.Describe(artefact.Path)} records {onDisk.FileName} with SHA-256 {onDisk.Sha256} ({onDisk.SizeBytes:N0} bytes), " +
                $"not the artefact's {artefact.Sha256} ({artefact.SizeBytes:N0} bytes).", artefact.Path, "Read the artefact again with Get-HbBackup.");
        }
        var lines = ArtefactFiles.LinesFor(sums, ArtefactFiles.ListedNames(artefact));
        if (!lines.Contains($"{artefact.Sha256}  {artefact.FileName}"))
        {
            throw new HbOpsException(HbErrorIds.ChecksumMismatch, HbErrorCategory.InvalidData,
                $"SHA256SUMS beside {source.Describe(artefact.Path)} does not list it with SHA-256 {artefact.Sha256}.", artefact.Path,
                "The checksum record was altered or lost; make a new backup.");
        }
        // The manifest as it will be written at the destination (the text's UTF-8 bytes) must be the one SHA256SUMS lists:
        // an edited manifest is not copied, and the copy's own SHA256SUMS verifies it there.
        var manifestSha = Convert.ToHexString(SHA256.HashData(new System.Text.UTF8Encoding(false).GetBytes(manifest))).ToLowerInvariant();
        var relocated = new HbBackupArtefact { Path = artefact.Path, ManifestPath = artefact.Path + BackupEngine.ManifestSuffix };
        if (ArtefactCatalog.ManifestProblem(relocated, new FileChecksum(0, artefact.Sha256, sums ?? "", manifestSha)) is { } problem)
        {
            throw ArtefactCatalog.ManifestTampered(artefact, problem);
        }
        return (manifest, lines);
    }

    // The SHA256SUMS of the folder the dump is in (a copy's ChecksumPath is relocated, an original's recorded).
    private static string SumsPathOf(HbBackupArtefact artefact)
    {
        var cut = artefact.Path.LastIndexOfAny(['/', '\\']);
        return cut < 0 ? artefact.ChecksumPath : artefact.Path[..(cut + 1)] + BackupEngine.ChecksumFileName;
    }

    private async Task CheckDestinationAsync(HbBackupArtefact artefact, IArtefactStore destination, CopyPlan plan, CopyRequest request, CancellationToken ct)
    {
        var partial = plan.Dump + ArtefactFiles.PartialSuffix;
        foreach (var path in new[] { plan.Dump, plan.Manifest, partial })
        {
            if (!await destination.ExistsAsync(path, ct).ConfigureAwait(false)) continue;
            throw new HbOpsException(HbErrorIds.CopyExists, HbErrorCategory.ResourceUnavailable,
                path == partial
                    ? $"{destination.Describe(partial)} exists: a copy of this artefact is running there or was interrupted."
                    : $"{destination.Describe(path)} already exists; a copy is never overwritten.",
                path, path == partial ? "Remove the partial file if no copy is running, then copy again." : "Use Get-HbBackup on the destination to see the existing copy.");
        }
        var free = await destination.FreeBytesAsync(plan.Folder, ct).ConfigureAwait(false);
        if (free is { } f && f < artefact.SizeBytes)
        {
            if (!request.Force)
            {
                throw new HbOpsException(HbErrorIds.StorageFull, HbErrorCategory.ResourceUnavailable,
                    $"Only {f:N0} bytes are free at {destination.Describe(plan.Folder)}; the dump needs {artefact.SizeBytes:N0}.", plan.Folder,
                    "Free space on the storage (e.g. Remove-HbBackup), choose another destination, or pass -Force to try anyway.");
            }
            _report.Warning($"Only {f:N0} bytes are free at {destination.Describe(plan.Folder)} for {artefact.SizeBytes:N0}; copying anyway because -Force was given.");
        }
    }

    private static async Task ClaimAsync(IArtefactStore destination, CopyPlan plan, string partial, string manifest, List<string> sumsLines,
        HbArtefactCopy proof, CancellationToken ct)
    {
        var renamed = false;
        var recorded = false;
        try
        {
            // SHA256SUMS is read, edited and written under the folder's lock: concurrent copies, backups and removals keep
            // each other's lines.
            await using (await destination.LockChecksumsAsync(plan.Folder, ct).ConfigureAwait(false))
            {
                var sumsBefore = await destination.Files.ReadTextAsync(plan.Sums, ct).ConfigureAwait(false);
                await destination.ReplaceTextAsync(plan.Sums, ArtefactFiles.With(sumsBefore, sumsLines), ct).ConfigureAwait(false);
            }
            await destination.RenameNoReplaceAsync(partial, plan.Dump, ct).ConfigureAwait(false);
            renamed = true;
            proof.CopiedAtUtc = DateTime.UtcNow;
            await destination.WriteNewTextAsync(proof.RecordPath, HbYaml.Serialize(proof), ct).ConfigureAwait(false);
            recorded = true;
            await destination.WriteNewTextAsync(plan.Manifest, manifest, ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Undo the claim: no half-claimed copy may stay (the caller reports the failure). When another run claimed the
            // same copy meanwhile, its files (and the same SHA256SUMS lines) stay; only this run's partial file goes.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                if (recorded) await destination.DeleteAsync(proof.RecordPath, cts.Token).ConfigureAwait(false);
                await destination.DeleteAsync(renamed ? plan.Dump : partial, cts.Token).ConfigureAwait(false);
                if (ex is not HbOpsException { ErrorId: HbErrorIds.CopyExists })
                {
                    await using (await destination.LockChecksumsAsync(plan.Folder, cts.Token).ConfigureAwait(false))
                    {
                        var now = await destination.Files.ReadTextAsync(plan.Sums, cts.Token).ConfigureAwait(false);
                        var rest = ArtefactFiles.Without(now, sumsLines.Select(l => l[66..]).ToList());
                        if (rest.Length == 0) await destination.DeleteAsync(plan.Sums, cts.Token).ConfigureAwait(false);
                        else await destination.ReplaceTextAsync(plan.Sums, rest, cts.Token).ConfigureAwait(false);
                    }
                }
            }
            catch (Exception undo) when (undo is HbOpsException or IOException or OperationCanceledException or UnauthorizedAccessException)
            {
                // The original failure is the one reported.
            }
            throw;
        }
    }

    private async Task RemovePartialAsync(IArtefactStore destination, string partial)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await destination.DeleteAsync(partial, cts.Token).ConfigureAwait(false);
            _report.Verbose($"Removed the partial copy {destination.Describe(partial)}.");
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or UnauthorizedAccessException)
        {
            _report.Warning($"Could not remove the partial copy {destination.Describe(partial)}: {ex.Message}");
        }
    }

    private Action<long> Reporter(string verb, long total, Stopwatch clock)
    {
        var last = TimeSpan.Zero;
        return bytes =>
        {
            if (clock.Elapsed - last < TimeSpan.FromMilliseconds(500) && bytes < total) return;
            last = clock.Elapsed;
            var rate = clock.Elapsed.TotalSeconds > 0 ? bytes / clock.Elapsed.TotalSeconds / 1048576.0 : 0;
            _report.Progress(new HbProgress(ProgressId, Activity,
                string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:F1} of {total / 1048576.0:F1} MiB {verb} at {rate:F1} MiB/s"),
                total > 0 ? (int)Math.Min(100, bytes * 100 / total) : -1));
        };
    }
}
