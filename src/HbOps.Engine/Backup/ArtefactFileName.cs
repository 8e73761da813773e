using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HbOps.Engine.Backup;

/// <summary>
/// File names derived from database names. A database may be called anything PostgreSQL accepts ("Prod DB",
/// "bäckerei", even "a;$(b)"); its dump's file name keeps letters, digits, '_', '-' and '.' (not as the first character)
/// and writes every other character as <c>%XX</c> per UTF-8 byte, '%' included. So the name stays readable
/// ("Prod%20DB_full_...dump", "bäckerei_full_...dump"), has no meaning to a shell or a path, and two databases never
/// get the same file name. (A file system that ignores case still sees "Prod" and "prod" as one name; the backup then
/// refuses to overwrite the existing file.)
/// </summary>
internal static class ArtefactFileName
{
    // Beyond this many characters the name is cut and a hash of the whole name appended, so that a name made of 63
    // escaped bytes still leaves room for the suffixes of the artefact's companion files within 255 bytes.
    private const int MaxComponent = 150;

    /// <summary>The dump's file name: <c>&lt;database, escaped&gt;_full_&lt;yyyyMMddTHHmmssZ&gt;.dump</c>.</summary>
    public static string ForDump(string database, DateTime timestampUtc) =>
        Component(database) + "_full_" + timestampUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + ".dump";

    /// <summary>The database name as a file-name component (see the class).</summary>
    public static string Component(string database)
    {
        ArgumentNullException.ThrowIfNull(database);
        var sb = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in database.EnumerateRunes())
        {
            var keep = Rune.IsLetterOrDigit(rune) || rune.Value == '_' || rune.Value == '-' || (rune.Value == '.' && sb.Length > 0);
            if (keep)
            {
                sb.Append(rune.ToString());
                continue;
            }
            var n = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < n; i++) sb.Append('%').Append(utf8[i].ToString("X2", CultureInfo.InvariantCulture));
        }
        if (sb.Length <= MaxComponent) return sb.ToString();
        // '~' never occurs in an uncut component, so a cut one cannot equal it; cut ones differ by the hash.
        var cut = sb.ToString(0, MaxComponent - 17);
        var escape = cut.LastIndexOf('%');
        if (escape >= cut.Length - 2) cut = cut[..escape];
        if (char.IsHighSurrogate(cut[^1])) cut = cut[..^1];
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(database)))[..16].ToLowerInvariant();
        return cut + "~" + hash;
    }
}
