using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>
/// Turns a manifest found at a copy location into the copy it describes: the manifest is copied unchanged (it names
/// where the backup was made), so the paths are those where it was found, and the proof comes from the copy record.
/// </summary>
internal static class CopyRecords
{
    /// <summary>
    /// The artefact described by <paramref name="parsed"/> (its manifest) as found with its dump at
    /// <paramref name="dumpPath"/>: paths relocated there, <paramref name="location"/> set, the copy's proof attached.
    /// </summary>
    public static HbBackupArtefact Relocate(HbBackupArtefact parsed, string dumpPath, HbArtefactLocation location, HbArtefactCopy? proof)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(dumpPath);
        var cut = dumpPath.LastIndexOfAny(['/', '\\']);
        var folder = cut <= 0 ? (cut == 0 ? dumpPath[..1] : ".") : dumpPath[..cut];
        var separator = cut < 0 ? "/" : dumpPath[cut].ToString();
        parsed.Path = dumpPath;
        parsed.RunFolder = folder;
        parsed.ChecksumPath = folder.TrimEnd('/', '\\') + separator + BackupEngine.ChecksumFileName;
        parsed.ManifestPath = dumpPath + BackupEngine.ManifestSuffix;
        parsed.Location = location;
        parsed.Copy = proof;
        return parsed;
    }

    /// <summary>
    /// Applies the copy record (<paramref name="recordYaml"/>, null when there is none) beside a manifest found at
    /// <paramref name="manifestPath"/>: with a record (or wherever the location holds only copies) the artefact becomes the
    /// copy found there. An artefact without a copy record in a folder of originals is left as its manifest describes it.
    /// </summary>
    public static HbBackupArtefact Apply(HbBackupArtefact parsed, string manifestPath, string? recordYaml, HbArtefactLocation copyLocation,
        bool onlyCopies, HbHost? storageHost, IHbReporter report)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        ArgumentNullException.ThrowIfNull(manifestPath);
        ArgumentNullException.ThrowIfNull(report);
        var dumpPath = manifestPath[..^BackupEngine.ManifestSuffix.Length];
        if (recordYaml is null && !onlyCopies) return parsed;
        HbArtefactCopy proof;
        if (recordYaml is null)
        {
            // A copy without its proof (the copy record is written before the manifest, so this one was not made by
            // Copy-HbBackup or its record was removed): listed, never counted as verified.
            report.Warning($"'{dumpPath}' has no copy record ({ArtefactFiles.CopyRecordSuffix}): listed as an unverified copy.");
            proof = new HbArtefactCopy { Verified = false, Verification = "no copy record beside the copy" };
        }
        else
        {
            try
            {
                proof = HbYaml.Deserialize<HbArtefactCopy>(recordYaml) ?? throw new HbOpsException(HbErrorIds.ConfigInvalid, HbErrorCategory.InvalidData, "the file is empty");
            }
            catch (HbOpsException ex) when (ex.ErrorId == HbErrorIds.ConfigInvalid)
            {
                report.Warning($"The copy record beside '{dumpPath}' is unreadable ({ex.Message}): listed as an unverified copy.");
                proof = new HbArtefactCopy { Verified = false, Verification = "unreadable copy record" };
            }
            // The proof holds for the bytes the manifest records, nothing else.
            proof.Verified = proof.Verified && proof.VerifiedSha256 == parsed.Sha256 && proof.VerifiedSizeBytes == parsed.SizeBytes;
        }
        proof.StorageHost = storageHost;
        proof.RecordPath = dumpPath + ArtefactFiles.CopyRecordSuffix;
        return Relocate(parsed, dumpPath, copyLocation, proof);
    }
}
