using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>Writes and reads closure records (local YAML files).</summary>
public static class ClosureRecordStore
{
    /// <summary>Serializes the record; refuses to write anything that still looks like a secret.</summary>
    public static string ToYaml(HbClosureRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var yaml = "# HbOps closure record: observed facts only; acceptance criteria are evaluated from them.\n" + HbYaml.Serialize(record);
        if (Redaction.Redact(yaml) != yaml)
        {
            throw new HbOpsException(HbErrorIds.Unexpected, HbErrorCategory.InvalidData,
                "The closure record would contain text that looks like a secret; it was not written.", record.Title);
        }
        return yaml;
    }

    /// <summary>Writes the record atomically.</summary>
    public static async Task WriteAsync(HbClosureRecord record, string path, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(record);
        record.Path = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(record.Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        await new Hosts.LocalHostFiles().WriteTextAtomicAsync(record.Path, ToYaml(record), ct).ConfigureAwait(false);
    }

    /// <summary>Reads a record back into objects.</summary>
    public static async Task<HbClosureRecord> ReadAsync(string path, CancellationToken ct) =>
        await ReadAnyAsync(path, ct).ConfigureAwait(false) as HbClosureRecord
        ?? throw new HbOpsException(HbErrorIds.ConfigInvalid, HbErrorCategory.InvalidData, $"'{path}' is not a closure record.", path);

    /// <summary>
    /// Reads any record HbOps writes back into its objects, telling the kinds apart by their top-level keys: a closure record
    /// (<see cref="HbClosureRecord"/>), a restore-test record written beside an artefact (<see cref="HbRestoreTestResult"/>),
    /// or an artefact's manifest (<see cref="HbBackupArtefact"/>).
    /// </summary>
    public static async Task<object> ReadAnyAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound, $"No record at '{path}'.", path);
        }
        var yaml = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
        var keys = HbYaml.Deserialize<Dictionary<string, object?>>(yaml)?.Keys.ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>();
        if (keys.Contains("recordVersion") || keys.Contains("acceptance"))
        {
            var record = HbYaml.Deserialize<HbClosureRecord>(yaml);
            record.Path = Path.GetFullPath(path);
            return record;
        }
        if (keys.Contains("result") && keys.Contains("sandbox"))
        {
            var result = HbYaml.Deserialize<HbRestoreTestResult>(yaml);
            result.RecordPath = Path.GetFullPath(path);
            return result;
        }
        if (keys.Contains("manifestVersion"))
        {
            return HbYaml.Deserialize<HbBackupArtefact>(yaml);
        }
        throw new HbOpsException(HbErrorIds.ConfigInvalid, HbErrorCategory.InvalidData,
            $"'{path}' is not an HbOps record (a closure record, a restore-test record or a manifest).", path);
    }
}
