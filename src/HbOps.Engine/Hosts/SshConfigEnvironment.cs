using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace HbOps.Engine.Hosts;

/// <summary>
/// The local facts ssh_config resolution depends on: home directories, local user and host name, platform and
/// environment variables. <see cref="Current"/> reads them from this machine; tests inject their own so a
/// resolution can be compared with OpenSSH run under the same conditions (and Windows rules checked on Linux).
/// </summary>
public sealed class SshConfigEnvironment
{
    private readonly Lazy<string> _hostName;
    private readonly Lazy<string> _userId;

    /// <summary>Creates an environment; unspecified facts are read lazily from this machine.</summary>
    public SshConfigEnvironment(Func<string>? localHostName = null, Func<string>? userId = null)
    {
        _hostName = new Lazy<string>(localHostName ?? Dns.GetHostName);
        _userId = new Lazy<string>(userId ?? CurrentUserId);
    }

    /// <summary>This machine as it is now.</summary>
    public static SshConfigEnvironment Current => new()
    {
        IsWindows = OperatingSystem.IsWindows(),
        HomeDirectory = SshConfig.HomeDirectory,
        IncludeHomeDirectory = SshConfig.HomeDirectory,
        LocalUser = Environment.UserName,
        GetEnvironmentVariable = Environment.GetEnvironmentVariable,
        SystemConfigPath = OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "ssh", "ssh_config")
            : "/etc/ssh/ssh_config",
    };

    /// <summary>
    /// Windows rules: <c>\</c> separates path components, <c>~\</c> is the home directory, <c>%NAME%</c> is an
    /// environment variable, drive-letter and UNC paths are absolute, and Include globs ignore case.
    /// </summary>
    public bool IsWindows { get; init; }

    /// <summary>
    /// The home directory that <c>~</c> and <c>%d</c> stand for in values (OpenSSH takes it from the account
    /// database; HbOps from the user profile, which is the same unless HOME was changed).
    /// </summary>
    public required string HomeDirectory { get; init; }

    /// <summary>
    /// The home directory relative <c>Include</c> paths (<c>~/.ssh/...</c>) and an Include's <c>~</c> resolve
    /// against (OpenSSH's glob takes it from HOME).
    /// </summary>
    public required string IncludeHomeDirectory { get; init; }

    /// <summary>The local user name (<c>%u</c>, <c>Match localuser</c>, the default User).</summary>
    public required string LocalUser { get; init; }

    /// <summary>Reads an environment variable (<c>${NAME}</c>, and <c>%NAME%</c> on Windows).</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = _ => null;

    /// <summary>The system-wide config read after the user's (none when null), as ssh does without <c>-F</c>.</summary>
    public string? SystemConfigPath { get; init; }

    /// <summary>The local host name with its domain, as gethostname(2) gives it (<c>%l</c>; <c>%L</c> is its first label).</summary>
    public string LocalHostName => _hostName.Value;

    /// <summary>The numeric local user id (<c>%i</c>).</summary>
    public string UserId => _userId.Value;

    /// <summary>The user's ssh folder (where relative Include paths point).</summary>
    internal string UserSshDirectory => JoinPath(IncludeHomeDirectory, ".ssh");

    /// <summary>Joins a directory and a relative path with this platform's separator.</summary>
    internal string JoinPath(string directory, string relative)
    {
        char sep = IsWindows ? '\\' : '/';
        return directory.Length > 0 && (directory[^1] == '/' || (IsWindows && directory[^1] == '\\'))
            ? directory + relative
            : directory + sep + relative;
    }

    /// <summary>True when <paramref name="c"/> separates path components on this platform.</summary>
    internal bool IsSeparator(char c) => c == '/' || (IsWindows && c == '\\');

    /// <summary>True for an absolute path on this platform (OpenSSH's path_absolute).</summary>
    internal bool IsAbsolute(string path)
    {
        if (path.Length == 0) return false;
        if (path[0] == '/') return true;
        if (!IsWindows) return false;
        return path[0] == '\\' || (path.Length >= 3 && char.IsAsciiLetter(path[0]) && path[1] == ':' && IsSeparator(path[2]));
    }

    private static string CurrentUserId()
    {
        if (OperatingSystem.IsWindows()) return "0";
        try
        {
            return NativeMethods.getuid().ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return "0";
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
#pragma warning disable SYSLIB1054 // a parameterless blittable call needs no marshalling code to be generated
        internal static extern uint getuid();
#pragma warning restore SYSLIB1054
    }
}
