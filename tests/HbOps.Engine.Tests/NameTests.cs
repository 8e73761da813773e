using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using Xunit;

namespace HbOps.Engine.Tests;

public class PostgresNameTests
{
    [Theory]
    [InlineData("directus")]
    [InlineData("Prod DB")]
    [InlineData("bäckerei")]
    [InlineData("q'u=o\"te")]
    [InlineData("a;$(touch /tmp/x)`y`|z")]
    [InlineData("-starts-with-dash")]
    [InlineData("日本語データベース")] // 27 bytes
    public void Any_name_PostgreSQL_takes_is_a_valid_database_or_role_name(string name) =>
        Assert.Equal(name, Validation.PgIdentifier(name, "Database"));

    [Theory]
    [InlineData("")]
    [InlineData("a\nb")]
    [InlineData("a\u001b[31mb")]
    [InlineData("äääääääääääääääääääääääääääääääää")] // 33 x 2 bytes: PostgreSQL would cut it to 63
    public void Names_PostgreSQL_would_cut_or_that_hold_control_characters_are_InvalidArgument(string name)
    {
        var ex = Assert.Throws<HbOpsException>(() => Validation.PgIdentifier(name, "Database"));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.DoesNotContain(ex.Message, char.IsControl);
    }

    [Fact]
    public void A_63_byte_name_is_accepted() => Validation.PgIdentifier(new string('a', 63), "Database");

    [Theory]
    [InlineData("directus", "directus")]
    [InlineData("Prod DB", "Prod DB")]
    [InlineData("a=b", "dbname='a=b'")]
    [InlineData("host=evil dbname=x", "dbname='host=evil dbname=x'")]
    [InlineData("postgresql://evil/x", "dbname='postgresql://evil/x'")]
    [InlineData("it's=a\\b", "dbname='it\\'s=a\\\\b'")]
    public void A_database_name_libpq_would_read_as_a_connection_string_is_passed_as_dbname(string name, string argument) =>
        Assert.Equal(argument, PgEndpoint.DatabaseArgument(name));
}

public class ArtefactFileNameTests
{
    private static readonly DateTime At = new(2026, 11, 30, 11, 34, 28, DateTimeKind.Utc);

    [Theory]
    [InlineData("directus", "directus_full_20261130T113428Z.dump")]
    [InlineData("Prod DB", "Prod%20DB_full_20261130T113428Z.dump")]
    [InlineData("bäckerei", "bäckerei_full_20261130T113428Z.dump")]
    [InlineData("my-db.v2_x", "my-db.v2_x_full_20261130T113428Z.dump")]
    [InlineData(".hidden", "%2Ehidden_full_20261130T113428Z.dump")]
    [InlineData("a/b\\c", "a%2Fb%5Cc_full_20261130T113428Z.dump")]
    [InlineData("50%", "50%25_full_20261130T113428Z.dump")]
    [InlineData("x;$(id)`y`'\"", "x%3B%24%28id%29%60y%60%27%22_full_20261130T113428Z.dump")]
    [InlineData("db😀", "db%F0%9F%98%80_full_20261130T113428Z.dump")]
    public void The_dump_file_name_keeps_letters_and_digits_and_escapes_everything_else(string database, string fileName) =>
        Assert.Equal(fileName, ArtefactFileName.ForDump(database, At));

    [Fact]
    public void Different_databases_never_share_a_file_name()
    {
        // Names that a lossy mapping (spaces to '_', dropping characters) would merge.
        var names = new[] { "a b", "a_b", "a%20b", "a%b", "a-b", "a.b", "ab", "a\u00e4", "a\u0061\u0308", "A b", ".ab", "%2Eab" };
        var files = names.Select(n => ArtefactFileName.Component(n)).ToList();
        Assert.Equal(names.Length, files.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void A_name_of_63_escaped_bytes_is_cut_with_a_hash_and_stays_unique()
    {
        var spaces = new string(' ', 63);
        var tabs = new string(' ', 62) + "!";
        var a = ArtefactFileName.Component(spaces);
        var b = ArtefactFileName.Component(tabs);
        Assert.True(a.Length <= 150, a);
        Assert.Matches("^(%20)+~[0-9a-f]{16}$", a);
        Assert.NotEqual(a, b);
        // With the longest suffix an artefact's companion file gets (a restore record's temporary file), within 255 bytes.
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(ArtefactFileName.ForDump(spaces, At) + ".restore-20261130T113428Z.yml.tmp.4194304") <= 255);
    }
}
