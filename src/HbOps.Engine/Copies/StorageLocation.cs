using System.Text.RegularExpressions;
using HbOps.Engine.Errors;

namespace HbOps.Engine.Copies;

/// <summary>
/// Where copies are kept: a folder on this machine, or a path on an SFTP storage host named by its ssh_config alias.
/// Written as scp does: <c>storage:/backups</c> (or <c>storage:</c> for the account's home, <c>storage:nightly</c> relative
/// to it); anything else is a local folder. A one-letter prefix (<c>C:\backups</c>) is a Windows drive, not an alias.
/// </summary>
public sealed partial record StorageLocation(string? StorageAlias, string Path)
{
    /// <summary>True when the location is on an SFTP storage host.</summary>
    public bool IsSftp => StorageAlias is not null;

    [GeneratedRegex(@"^(?<alias>[A-Za-z0-9][A-Za-z0-9_.-]+):(?<path>.*)$", RegexOptions.Singleline)]
    private static partial Regex ScpStyle();

    /// <summary>
    /// Reads a location. With <paramref name="storageHost"/> the value is a path on that host (an <c>alias:</c> prefix
    /// naming the same host is accepted); without it, <c>alias:path</c> names an SFTP storage host.
    /// </summary>
    public static StorageLocation Parse(string value, string? storageHost, string parameter)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Any(char.IsControl))
        {
            throw HbOpsException.Invalid($"-{parameter} '{Validation.Printable(value)}' is not a usable location.", value);
        }
        var m = ScpStyle().Match(value);
        if (storageHost is not null)
        {
            Validation.HostToken(storageHost, "StorageHost");
            if (m.Success && !string.Equals(m.Groups["alias"].Value, storageHost, StringComparison.Ordinal))
            {
                throw HbOpsException.Invalid(
                    $"-{parameter} '{value}' names the storage host '{m.Groups["alias"].Value}' but -StorageHost is '{storageHost}'.", value);
            }
            return new StorageLocation(storageHost, SftpPath(m.Success ? m.Groups["path"].Value : value));
        }
        if (m.Success && !m.Groups["path"].Value.StartsWith('\\'))
        {
            var alias = Validation.HostToken(m.Groups["alias"].Value, parameter);
            return new StorageLocation(alias, SftpPath(m.Groups["path"].Value));
        }
        return new StorageLocation(null, value);
    }

    // An empty path is the account's home directory (where an SFTP session starts).
    private static string SftpPath(string path) => path.Length == 0 ? "." : path.TrimEnd('/') is { Length: > 0 } p ? p : "/";

    /// <summary>The location as it was written: <c>alias:path</c> or the local path.</summary>
    public override string ToString() => IsSftp ? $"{StorageAlias}:{Path}" : Path;

    /// <summary>Joins a location path and a name with '/' (SFTP) or the platform's separator (local).</summary>
    public static string Join(bool sftp, string directory, string name) =>
        sftp ? (directory == "/" ? "/" + name : directory.TrimEnd('/') + "/" + name) : System.IO.Path.Combine(directory, name);
}
