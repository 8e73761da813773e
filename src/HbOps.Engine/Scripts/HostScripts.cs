using System.Text;

namespace HbOps.Engine.Scripts;

/// <summary>
/// POSIX sh scripts HbOps runs on a docker host. They live in <c>Scripts/*.sh</c> (embedded resources, linted with
/// shellcheck), take their inputs as positional arguments only and report <c>key=value</c> lines.
/// </summary>
internal static class HostScripts
{
    /// <summary>One pg_dump run: writes or streams the dump, stops it with its connection, claims it on request.</summary>
    public static string Dump { get; } = Load("dump.sh");

    /// <summary>Holds a sandbox for the life of the connection that made it: removes it when that connection ends.</summary>
    public static string SandboxLease { get; } = Load("sandbox-lease.sh");

    /// <summary>One psql query whose server session ends when HbOps gives up on it or its connection is gone.</summary>
    public static string PsqlGuard { get; } = Load("psql-guard.sh");

    /// <summary>The text of an embedded script, without its comment lines (they travel on every command line).</summary>
    public static string Load(string name)
    {
        using var stream = typeof(HostScripts).Assembly.GetManifestResourceStream("HbOps.Engine.Scripts." + name)
            ?? throw new InvalidOperationException($"The script '{name}' is not embedded in {typeof(HostScripts).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var lines = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')
            .Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#'));
        return string.Join('\n', lines) + "\n";
    }
}
