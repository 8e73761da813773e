using System.Text.RegularExpressions;
using HbOps.Model;

namespace HbOps.Engine.Errors;

/// <summary>
/// Input guards. Every value is also passed as a separate quoted argument, so these checks are a
/// second line of defence that give the operator a clear error instead of a confusing failure.
/// </summary>
public static partial class Validation
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ContainerNameRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex TagRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$")]
    private static partial Regex HostTokenRegex();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_./:@-]{0,254}$")]
    private static partial Regex ImageRegex();

    /// <summary>A Docker container or volume name.</summary>
    public static string ContainerName(string? value, string parameter) =>
        Check(value, parameter, ContainerNameRegex(), "a Docker name: letters, digits, '_', '.', '-', starting with a letter or digit");

    /// <summary>A run tag used in folder and sandbox names.</summary>
    public static string Tag(string? value, string parameter) =>
        Check(value, parameter, TagRegex(), "letters, digits, '_', '.', '-' (at most 64)");

    /// <summary>
    /// A PostgreSQL database or role name: whatever PostgreSQL accepts as a quoted identifier ("Prod DB", "bäckerei",
    /// names with quotes or '='), at most 63 bytes in UTF-8 (PostgreSQL would cut a longer one), and without control
    /// characters (PostgreSQL takes them, but they would make messages, logs and the one-line-per-statement
    /// initialisation ambiguous). Such names are safe to pass on: every argument is quoted on its own, SQL quotes them
    /// as identifiers or literals, and file names derived from them are escaped.
    /// </summary>
    public static string PgIdentifier(string? value, string parameter)
    {
        if (string.IsNullOrEmpty(value) || value.Any(char.IsControl) || System.Text.Encoding.UTF8.GetByteCount(value) > 63)
        {
            throw HbOpsException.Invalid(
                $"-{parameter} '{Printable(value)}' is not valid: expected a PostgreSQL name of 1 to 63 bytes without control characters.", value);
        }
        return value;
    }

    /// <summary>An SSH alias or host name.</summary>
    public static string HostToken(string? value, string parameter) =>
        Check(value, parameter, HostTokenRegex(), "a host name, address or ssh alias");

    /// <summary>A Docker image reference.</summary>
    public static string Image(string? value, string parameter) =>
        Check(value, parameter, ImageRegex(), "an image reference such as postgres:15");

    /// <summary>An absolute POSIX path with no control characters, no '..' and no shell-special characters.</summary>
    public static string PosixPath(string? value, string parameter)
    {
        if (string.IsNullOrEmpty(value) || !value.StartsWith('/') || value.Any(c => char.IsControl(c) || "`$\\\"'*?;&|<>(){}[]!#~".Contains(c)) ||
            value.Split('/').Contains(".."))
        {
            throw HbOpsException.Invalid(
                $"-{parameter} '{Printable(value)}' is not acceptable: use an absolute path without '..', control or shell-special characters.", value);
        }
        return value;
    }

    private static string Check(string? value, string parameter, Regex regex, string expected)
    {
        if (value is null || !regex.IsMatch(value))
        {
            throw HbOpsException.Invalid($"-{parameter} '{Printable(value)}' is not valid: expected {expected}.", value);
        }
        return value;
    }

    /// <summary>Shows control characters visibly so an error message cannot be spoofed.</summary>
    public static string Printable(string? value) =>
        value is null ? "" : new string(value.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
