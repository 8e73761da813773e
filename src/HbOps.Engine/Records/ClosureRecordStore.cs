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
    public static async Task<HbClosureRecord> ReadAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound, $"No closure record at '{path}'.", path);
        }
        var record = HbYaml.Deserialize<HbClosureRecord>(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false));
        record.Path = Path.GetFullPath(path);
        return record;
    }
}
