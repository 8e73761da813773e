using HbOps.Model;
namespace HbOps.Engine.Hosts;

/// <summary>POSIX shell quoting: every argument travels as one literal word, so nothing in it is ever interpreted.</summary>
internal static class ShellQuote
{
    /// <summary>Quotes one argument with single quotes (a single quote becomes <c>'\''</c>).</summary>
    public static string Quote(string arg)
    {
        ArgumentNullException.ThrowIfNull(arg);
        if (arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:@%+,".Contains(c)))
        {
            return arg;
        }
        return "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>Joins an argument vector into one command line for a remote POSIX shell.</summary>
    public static string Join(IEnumerable<string> argv) => string.Join(' ', argv.Select(Quote));
}
