using System.Text.RegularExpressions;
using HbOps.Engine.Copies;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Backup;

/// <summary>Reads artefacts back from their manifests and re-verifies them.</summary>
public sealed partial class ArtefactCatalog(ICommandHost host, bool filesAreLocal, IHbReporter? reporter = null)
{
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;
    private readonly IHostFiles _files = HostFiles.For(host, filesAreLocal);
    private readonly IArtefactSource? _store;

    /// <summary>
    /// A catalog of the artefacts at <paramref name="store"/> (a copy location: an SFTP storage host or a folder of
    /// copies); <paramref name="host"/> runs what verification needs (pg_restore --list).
    /// </summary>
    public ArtefactCatalog(ICommandHost host, IArtefactSource store, IHbReporter? reporter = null) : this(host, false, reporter)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _files = store.Files;
    }

    [GeneratedRegex(@"^[0-9a-f]{64}$")]
    private static partial Regex HexSha();

    /// <summary>
    /// Every artefact whose manifest lies in <paramref name="directory"/> or one level below, oldest first; all manifests are
    /// read in one round trip. A manifest that cannot be read or parsed is skipped with a warning. A missing directory is
    /// an empty list, or <see cref="HbErrorIds.PathNotFound"/> with <paramref name="requireDirectory"/>.
    /// </summary>
    public async Task<List<HbBackupArtefact>> ListAsync(string directory, CancellationToken ct, bool requireDirectory = false)
    {
        var where = _store is { StorageHost: { } storage } ? storage.ToString()
            : filesAreLocal || host.Host.Kind == HbHostKind.Local ? "this machine" : host.Host.ToString();
        _report.Verbose($"Reading the manifests under '{directory}' on {where}.");
        var files = await _files.ReadTextFilesAsync(directory, BackupEngine.ManifestSuffix, ct).ConfigureAwait(false);
        if (files is null)
        {
            if (!requireDirectory)
            {
                _report.Verbose($"'{directory}' does not exist on {where}: no artefacts.");
                return new List<HbBackupArtefact>();
            }
            throw new HbOpsException(HbErrorIds.PathNotFound, HbErrorCategory.ObjectNotFound,
                $"The folder '{directory}' does not exist on {where}.", directory,
                "Check -Path (a backup root or run folder on the docker host; add -Local for a folder on this machine).");
        }
        _report.Verbose($"Read {files.Count} manifest(s) under '{directory}'{(where == "this machine" ? "" : " with one command")}.");
        // Parsing is the CPU part of a long listing (a manifest with a row-count snapshot is a few hundred YAML lines):
        // the manifests are parsed in parallel, and warnings reported afterwards in path order.
        var parsed = new (HbBackupArtefact? Artefact, string? Problem)[files.Count];
        var done = 0;
        Parallel.For(0, files.Count, new ParallelOptions { CancellationToken = ct }, i =>
        {
            parsed[i] = Parse(files[i]);
            var n = Interlocked.Increment(ref done);
            if (files.Count > 1) _report.Progress(new HbProgress(ListProgressId, "Get-HbBackup", $"{n}/{files.Count} manifests parsed", n * 100 / files.Count));
        });
        var records = await CopyRecordsAsync(directory, ct).ConfigureAwait(false);
        var result = new List<HbBackupArtefact>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            if (parsed[i].Artefact is { } artefact)
            {
                result.Add(WithCopyRecord(artefact, files[i].Path, records));
                _report.Verbose($"Read {files[i].Path}.");
            }
            else
            {
                _report.Warning($"Skipping manifest '{files[i].Path}': {parsed[i].Problem}");
            }
        }
        if (files.Count > 1) _report.Progress(new HbProgress(ListProgressId, "Get-HbBackup", "done", 100, Completed: true));
        return result.OrderBy(a => a.TimestampUtc).ToList();
    }

    private const int ListProgressId = 41;

    private static (HbBackupArtefact? Artefact, string? Problem) Parse(HostTextFile file)
    {
        if (file.Text is null) return (null, "it cannot be read (permissions?).");
        try
        {
            return BackupEngine.ParseManifest(file.Text) is { } artefact ? (artefact, null) : (null, "the file is empty.");
        }
        catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.ConfigInvalid)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>Reads one artefact from a dump path or its manifest path.</summary>
    public async Task<HbBackupArtefact> ReadAsync(string path, CancellationToken ct)
    {
        var manifestPath = path.EndsWith(BackupEngine.ManifestSuffix, StringComparison.Ordinal) ? path : path + BackupEngine.ManifestSuffix;
        var yaml = await _files.ReadTextAsync(manifestPath, ct).ConfigureAwait(false)
            ?? throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
                $"No manifest at '{manifestPath}'.", manifestPath, "Pass the path of a dump made by Invoke-HbBackup.");
        var parsed = BackupEngine.ParseManifest(yaml);
        if (parsed is null || !ReadsCopyRecords) return parsed!;
        var record = await _files.ReadTextAsync(manifestPath[..^BackupEngine.ManifestSuffix.Length] + ArtefactFiles.CopyRecordSuffix, ct).ConfigureAwait(false);
        return WithCopyRecord(parsed, manifestPath, new Dictionary<string, string?> { [manifestPath[..^BackupEngine.ManifestSuffix.Length] + ArtefactFiles.CopyRecordSuffix] = record });
    }

    // Copy records are looked for on this machine and on storage hosts; a docker host's folders hold no copies (and its
    // listing stays one round trip).
    private bool ReadsCopyRecords => _store is { Location: HbArtefactLocation.Sftp } || (_store is not { Location: HbArtefactLocation.Host } && _files is LocalHostFiles);

    // The copy records under the listed folder, by path, read with one more listing (none on a docker host).
    private async Task<Dictionary<string, string?>> CopyRecordsAsync(string directory, CancellationToken ct)
    {
        if (!ReadsCopyRecords) return new Dictionary<string, string?>();
        var found = await _files.ReadTextFilesAsync(directory, ArtefactFiles.CopyRecordSuffix, ct).ConfigureAwait(false) ?? Array.Empty<HostTextFile>();
        return found.ToDictionary(f => f.Path, f => f.Text, StringComparer.Ordinal);
    }

    // A manifest found beside a copy record is a copy (Copy-HbBackup writes the record first): it is described where it was
    // found, with its proof. An SFTP location holds only copies.
    private HbBackupArtefact WithCopyRecord(HbBackupArtefact parsed, string manifestPath, Dictionary<string, string?> records)
    {
        if (!ReadsCopyRecords) return parsed;
        var recordPath = manifestPath[..^BackupEngine.ManifestSuffix.Length] + ArtefactFiles.CopyRecordSuffix;
        var sftp = _store is { Location: HbArtefactLocation.Sftp };
        return CopyRecords.Apply(parsed, manifestPath, records.GetValueOrDefault(recordPath), sftp ? HbArtefactLocation.Sftp : HbArtefactLocation.LocalCopy,
            onlyCopies: sftp, sftp ? _store!.StorageHost : null, _report);
    }

    /// <summary>
    /// Why an artefact's manifest cannot be trusted, or null when SHA256SUMS lists it with the SHA-256 observed now
    /// (<paramref name="observed"/> must have been read with the manifest's path).
    /// </summary>
    public static string? ManifestProblem(HbBackupArtefact artefact, FileChecksum observed)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        ArgumentNullException.ThrowIfNull(observed);
        // The manifest's own file name: its SHA256SUMS line names it so (an artefact object may point at another dump).
        var name = System.IO.Path.GetFileName(artefact.ManifestPath);
        if (observed.ManifestSha256 is null) return $"its manifest '{artefact.ManifestPath}' does not exist";
        if (observed.ListsManifest(name)) return null;
        var recorded = observed.Sums.Split('\n').Any(l => l.TrimEnd().EndsWith("  " + name, StringComparison.Ordinal));
        return recorded
            ? $"its manifest's SHA-256 ({observed.ManifestSha256}) differs from the one SHA256SUMS records for {name}: the manifest was edited after the backup"
            : $"SHA256SUMS records no SHA-256 for its manifest {name}";
    }

    /// <summary>The error for a manifest that cannot be trusted (see <see cref="ManifestProblem"/>).</summary>
    public static HbOpsException ManifestTampered(HbBackupArtefact artefact, string problem)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        return new HbOpsException(HbErrorIds.ManifestTampered, HbErrorCategory.InvalidData,
            $"Refusing artefact '{artefact.Path}': {problem}; the checksum and row counts it records cannot be trusted.", artefact.ManifestPath,
            "Put the original manifest back, or make a new backup.");
    }

    /// <summary>
    /// Re-reads the dump once for its SHA-256, checks the manifest and SHA256SUMS, and proves the archive is readable with
    /// <c>pg_restore --list</c> in a throwaway container (no network, nothing mounted; the dump arrives on stdin).
    /// </summary>
    public async Task<HbBackupVerification> VerifyAsync(HbBackupArtefact artefact, string? image, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var v = new HbBackupVerification { Path = artefact.Path, ExpectedSha256 = artefact.Sha256, CheckedAtUtc = DateTime.UtcNow };
        if (await _files.ChecksumAsync(artefact.Path, artefact.ChecksumPath, artefact.ManifestPath, ct).ConfigureAwait(false) is not { } observed)
        {
            v.Status = HbVerificationStatus.Missing;
            v.Message = "dump file not found";
            return v;
        }
        var size = observed.Size;
        v.SizeBytes = size;
        v.ObservedSha256 = observed.Sha256;
        v.ChecksumMatches = HexSha().IsMatch(v.ObservedSha256) && v.ObservedSha256 == artefact.Sha256 && size == artefact.SizeBytes;
        v.ChecksumFileMatches = observed.Lists(artefact.FileName);
        var manifestProblem = ManifestProblem(artefact, observed);
        v.ManifestMatches = manifestProblem is null;

        if (artefact.Encryption is not null)
        {
            // The key is never on the docker host (nor handed to Test-HbBackup): the archive inside the ciphertext is
            // read only by Test-HbRestore -Identity, in a sandbox's tmpfs. Here the ciphertext is what is verified.
            v.Encrypted = true;
            v.Status = v.ManifestMatches && v.ChecksumMatches && v.ChecksumFileMatches ? HbVerificationStatus.Verified : HbVerificationStatus.Failed;
            v.Message = v.Status == HbVerificationStatus.Verified
                ? "sha256 of the age ciphertext matches manifest and SHA256SUMS; the manifest matches its SHA256SUMS line; readability not checked " +
                  "(encrypted: no key on the docker host; Test-HbRestore -Identity proves it restores)"
                : string.Join("; ", new[]
                {
                    manifestProblem,
                    v.ChecksumMatches ? null : $"sha256 {v.ObservedSha256} (size {size}) differs from the manifest ({artefact.Sha256}, size {artefact.SizeBytes})",
                    v.ChecksumFileMatches ? null : "SHA256SUMS does not list this file with the observed hash",
                }.Where(s => s is not null));
            return v;
        }
        var img = Validation.Image(image ?? $"postgres:{artefact.ServerMajor}", "Image");
        var list = new[] { "docker", "run", "-i", "--rm", "--network", "none", "--label", "hbops.probe=true", "--entrypoint", "pg_restore", img, "--list" };
        CommandResult r;
        if (_files is LocalHostFiles || _store is { Location: HbArtefactLocation.Sftp })
        {
            // pg_restore --list stops reading after the TOC; the rest of the stream is read to its end so the command
            // never exits while its input is still arriving (see HostFiles' scripts).
            var drained = new List<string> { "sh", "-c", "\"$@\"; rc=$?; cat > /dev/null; exit $rc", "hbops-list" };
            drained.AddRange(list);
            await using var input = _store is { Location: HbArtefactLocation.Sftp } sftp
                ? await sftp.OpenReadAsync(artefact.Path, ct).ConfigureAwait(false)
                : File.OpenRead(artefact.Path);
            r = await host.RunFromStreamAsync(drained, input, ct).ConfigureAwait(false);
        }
        else
        {
            var argv = new List<string> { "sh", "-c", "f=$1; shift; exec \"$@\" < \"$f\"", "hbops-list", artefact.Path };
            argv.AddRange(list);
            r = await host.RunAsync(argv, ct).ConfigureAwait(false);
        }
        v.Readable = r.Succeeded;
        v.ReadabilityCheck = r.Succeeded ? HbCheckStatus.Passed : HbCheckStatus.Failed;
        v.TocEntries = r.StandardOutput.Split('\n').Count(l => l.Length > 0 && !l.StartsWith(';'));
        v.Status = v.ManifestMatches && v.ChecksumMatches && v.ChecksumFileMatches && v.Readable ? HbVerificationStatus.Verified : HbVerificationStatus.Failed;
        v.Message = v.Status == HbVerificationStatus.Verified
            ? $"sha256 matches manifest and SHA256SUMS; the manifest matches its SHA256SUMS line; pg_restore --list read {v.TocEntries} TOC entries"
            : string.Join("; ", new[]
            {
                manifestProblem,
                v.ChecksumMatches ? null : $"sha256 {v.ObservedSha256} (size {size}) differs from the manifest ({artefact.Sha256}, size {artefact.SizeBytes})",
                v.ChecksumFileMatches ? null : "SHA256SUMS does not list this file with the observed hash",
                v.Readable ? null : "pg_restore --list failed: " + Redaction.Redact(r.StandardError.Trim()),
            }.Where(s => s is not null));
        return v;
    }
}
