using System.Text;

namespace HbOps.Model;

/// <summary>
/// One record as one line of '|'-separated fields, for long lists in manifests (a scalar per item parses several times
/// faster than a mapping per item). A backslash escapes '|', itself and line breaks, so any field text round-trips.
/// </summary>
internal static class CompactLine
{
    /// <summary>Joins fields into one line.</summary>
    public static string Join(params string[] fields)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0) sb.Append('|');
            foreach (var c in fields[i] ?? "")
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '|': sb.Append("\\|"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    default: sb.Append(c); break;
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>Splits a line into exactly <paramref name="count"/> fields.</summary>
    public static string[] Split(string line, int count)
    {
        var fields = new List<string>(count);
        var sb = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                var n = line[++i];
                sb.Append(n switch { 'n' => '\n', 'r' => '\r', _ => n });
            }
            else if (c == '|')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }
        fields.Add(sb.ToString());
        if (fields.Count != count)
        {
            throw new FormatException($"Expected {count} '|'-separated fields, found {fields.Count}: '{line}'.");
        }
        return fields.ToArray();
    }
}
