using HbOps.Model;

namespace HbOps.Engine.Records;

/// <summary>Copies of result objects shaped for records (no duplicated artefact payloads).</summary>
internal static class RecordCopies
{
    /// <summary>A deep copy of a restore result whose artefact is reduced to the facts that identify it.</summary>
    public static HbRestoreTestResult WithArtefactReference(HbRestoreTestResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var copy = HbYaml.Deserialize<HbRestoreTestResult>(HbYaml.Serialize(result));
        copy.Artefact = Reference(result.Artefact);
        return copy;
    }

    /// <summary>The identifying facts of an artefact.</summary>
    public static HbBackupArtefact Reference(HbBackupArtefact a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new HbBackupArtefact
        {
            RunId = a.RunId, Path = a.Path, FileName = a.FileName, RunFolder = a.RunFolder, Location = a.Location, Host = a.Host,
            Container = a.Container, Database = a.Database, User = a.User, SizeBytes = a.SizeBytes, Sha256 = a.Sha256,
            ChecksumPath = a.ChecksumPath, ManifestPath = a.ManifestPath, TimestampUtc = a.TimestampUtc, ServerVersion = a.ServerVersion,
            ServerMajor = a.ServerMajor, ToolVersion = a.ToolVersion, Tag = a.Tag, Compression = a.Compression, CompressionLevel = a.CompressionLevel,
            Copy = a.Copy,
        };
    }
}
