using HbOps.Engine.Errors;
using HbOps.Engine.Util;
using Xunit;

namespace HbOps.Engine.Tests;

public class RedactionTests
{
    [Theory]
    [InlineData("OPTIONS (\n    password 'fdw-mapping-secret',\n    \"user\" 'x')", "fdw-mapping-secret")]
    [InlineData("CREATE ROLE a LOGIN PASSWORD 'it''s-secret';", "it''s-secret")]
    [InlineData("PGPASSWORD=hunter2 psql", "hunter2")]
    [InlineData("env POSTGRES_PASSWORD=abc123xyz", "abc123xyz")]
    [InlineData("postgresql://app:s3cr3t@db:5432/x", "s3cr3t")]
    [InlineData("password=\"quoted secret\" host=x", "quoted secret")]
    public void Secrets_are_replaced(string input, string secret)
    {
        var output = Redaction.Redact(input);
        Assert.DoesNotContain(secret, output);
        Assert.Contains(Redaction.Mask, output);
    }

    [Fact]
    public void Text_without_secrets_is_unchanged()
    {
        const string text = "pg_restore: error: could not execute query: ERROR:  role \"workflow_admin\" does not exist";
        Assert.Equal(text, Redaction.Redact(text));
    }
}

public class ValidationTests
{
    [Theory]
    [InlineData("postgres;rm -rf /")]
    [InlineData("$(id)")]
    [InlineData("a b")]
    [InlineData("-rm")]
    [InlineData("")]
    [InlineData("x`y`")]
    public void Container_names_with_metacharacters_are_rejected_with_a_stable_id(string value)
    {
        var ex = Assert.Throws<HbOpsException>(() => Validation.ContainerName(value, "Container"));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
        Assert.Contains("-Container", ex.Message);
    }

    [Theory]
    [InlineData("/var/backups/hbops")]
    [InlineData("/tmp/a_b-c.d")]
    public void Sane_paths_are_accepted(string path) => Assert.Equal(path, Validation.PosixPath(path, "Destination"));

    [Theory]
    [InlineData("relative/path")]
    [InlineData("/tmp/../etc")]
    [InlineData("/tmp/$(id)")]
    [InlineData("/tmp/a;b")]
    [InlineData("/tmp/a\nb")]
    public void Unsafe_paths_are_rejected(string path) =>
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => Validation.PosixPath(path, "Destination")).ErrorId);

    [Fact]
    public void Control_characters_are_not_echoed_into_messages()
    {
        var ex = Assert.Throws<HbOpsException>(() => Validation.Tag("a\u001b[31mb", "Tag"));
        Assert.DoesNotContain(ex.Message, c => c == (char)27);
    }
}
