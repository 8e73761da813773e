using System.Globalization;
using System.Text.RegularExpressions;
using HbOps.Engine.Errors;

namespace HbOps.Engine.Backup;

/// <summary>A compression method of pg_dump's custom format.</summary>
public enum DumpCompressionMethod
{
    /// <summary>No compression (pg_dump <c>-Z 0</c>).</summary>
    None,
    /// <summary>gzip (zlib), levels 1-9; every pg_dump version.</summary>
    Gzip,
    /// <summary>LZ4, levels 1-12; pg_dump 16 and later.</summary>
    Lz4,
    /// <summary>Zstandard, levels 1-22; pg_dump 16 and later.</summary>
    Zstd,
}

/// <summary>
/// pg_dump's compression for a backup, as the operator writes it: <c>gzip:N</c> (0-9), <c>zstd:N</c> (1-22),
/// <c>lz4:N</c> (1-12) or <c>none</c>; a method alone takes pg_dump's default level (gzip 6, zstd 3, lz4 1), and a bare
/// level <c>N</c> (0-9) means what <c>pg_dump -Z N</c> always meant (gzip, none for 0).
/// </summary>
public sealed partial record DumpCompression(DumpCompressionMethod Method, int Level)
{
    /// <summary>The default: gzip at level 6, pg_dump's own default for the custom format.</summary>
    public static DumpCompression Default { get; } = new(DumpCompressionMethod.Gzip, 6);

    /// <summary>The first pg_dump major that accepts <c>-Z method:level</c> and the lz4 and zstd methods.</summary>
    public const int MethodSyntaxMajor = 16;

    [GeneratedRegex(@"^(?<method>[a-z0-9]+)(?::(?<level>[0-9]{1,3}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();

    [GeneratedRegex(@"^pg_dump \(PostgreSQL\) (?<major>[0-9]+)", RegexOptions.CultureInvariant)]
    private static partial Regex DumpVersion();

    /// <summary>Parses the operator's text; anything else is an InvalidArgument naming the accepted forms.</summary>
    public static DumpCompression Parse(string? text)
    {
        var t = (text ?? "").Trim().ToLowerInvariant();
        if (t.Length == 0) return Default;
        // A bare level is pg_dump's historic -Z N (and the old -CompressionLevel N).
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var bare))
        {
            if (bare > 9) throw Invalid(text, "a bare level is gzip's, 0-9");
            return bare == 0 ? new(DumpCompressionMethod.None, 0) : new(DumpCompressionMethod.Gzip, bare);
        }
        var m = Syntax().Match(t);
        if (!m.Success) throw Invalid(text, "the form is method:level");
        var method = m.Groups["method"].Value switch
        {
            "none" => DumpCompressionMethod.None,
            "gzip" => DumpCompressionMethod.Gzip,
            "lz4" => DumpCompressionMethod.Lz4,
            "zstd" => DumpCompressionMethod.Zstd,
            _ => throw Invalid(text, $"unknown method '{Validation.Printable(m.Groups["method"].Value)}'"),
        };
        var (min, max, fallback) = Range(method);
        if (!m.Groups["level"].Success) return new(method, fallback);
        if (method == DumpCompressionMethod.None) throw Invalid(text, "none takes no level");
        var level = int.Parse(m.Groups["level"].Value, NumberStyles.None, CultureInfo.InvariantCulture);
        if (level < min || level > max) throw Invalid(text, $"{m.Groups["method"].Value} levels are {min}-{max}");
        // gzip:0 is pg_dump's "no compression"; recorded as such.
        return method == DumpCompressionMethod.Gzip && level == 0 ? new(DumpCompressionMethod.None, 0) : new(method, level);
    }

    // Accepted levels and the level a method alone stands for (pg_dump's own defaults; lz4's default "fast" mode is level 1).
    private static (int Min, int Max, int Default) Range(DumpCompressionMethod method) => method switch
    {
        DumpCompressionMethod.Gzip => (0, 9, 6),
        DumpCompressionMethod.Lz4 => (1, 12, 1),
        DumpCompressionMethod.Zstd => (1, 22, 3),
        _ => (0, 0, 0),
    };

    private static HbOpsException Invalid(string? text, string why) =>
        new(HbErrorIds.InvalidArgument, HbErrorCategory.InvalidArgument,
            $"-Compression '{Validation.Printable(text)}' is not valid ({why}): use gzip:0-9, zstd:1-22, lz4:1-12 or none.", text);

    /// <summary>The canonical text: <c>method:level</c>, or <c>none</c>. Recorded in the manifest.</summary>
    public override string ToString() => Method == DumpCompressionMethod.None
        ? "none"
        : string.Create(CultureInfo.InvariantCulture, $"{Method.ToString().ToLowerInvariant()}:{Level}");

    /// <summary>The lowest pg_dump major that can write this method.</summary>
    public int MinimumDumpMajor => Method is DumpCompressionMethod.Lz4 or DumpCompressionMethod.Zstd ? MethodSyntaxMajor : 0;

    /// <summary>
    /// The value of pg_dump's <c>-Z</c>: gzip and none as the bare level every pg_dump reads (the method syntax is
    /// refused before 16), lz4 and zstd as <c>method:level</c>.
    /// </summary>
    public string DumpArgument => Method switch
    {
        DumpCompressionMethod.None => "0",
        DumpCompressionMethod.Gzip => Level.ToString(CultureInfo.InvariantCulture),
        _ => ToString(),
    };

    /// <summary>The major of a <c>pg_dump --version</c> line (null when it is not one).</summary>
    public static int? DumpMajor(string? versionLine)
    {
        var m = DumpVersion().Match(versionLine?.Trim() ?? "");
        return m.Success && int.TryParse(m.Groups["major"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : null;
    }

    /// <summary>
    /// Throws <see cref="HbErrorIds.CompressionUnsupported"/> when the pg_dump that will run (its <c>--version</c> line)
    /// cannot write this method. A version line that cannot be read passes: pg_dump itself then refuses the method and
    /// the backup fails as a dump failure, with nothing claimed.
    /// </summary>
    public void RequireSupportedBy(string? pgDumpVersion, string container)
    {
        if (MinimumDumpMajor == 0 || DumpMajor(pgDumpVersion) is not { } major || major >= MinimumDumpMajor) return;
        throw new HbOpsException(HbErrorIds.CompressionUnsupported, HbErrorCategory.InvalidArgument,
            $"-Compression {this}: the pg_dump in container '{container}' is {pgDumpVersion?.Trim()}; {Method.ToString().ToLowerInvariant()} " +
            $"needs pg_dump {MinimumDumpMajor} or later. Nothing was written.",
            ToString(), $"Use -Compression gzip:N (or none) with PostgreSQL {major}.");
    }
}
