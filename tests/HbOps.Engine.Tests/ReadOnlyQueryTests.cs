using HbOps.Engine.Errors;
using HbOps.Engine.Postgres;
using Xunit;

namespace HbOps.Engine.Tests;

public class ReadOnlyQueryTests
{
    [Theory]
    [InlineData("SELECT 1")]
    [InlineData("\\! touch /tmp/x")]
    [InlineData("SELECT $$a$$ \\g /tmp/x")]
    [InlineData("SELECT 1;\nROLLBACK;\nCOPY (SELECT 1) TO PROGRAM 'id'")]
    public void Given_any_query_When_scripted_for_psql_Then_it_sits_whole_inside_one_dollar_quoted_literal(string query)
    {
        var script = ReadOnlyQuery.PsqlScript(query);
        var lines = script.Split('\n');
        Assert.Equal("BEGIN READ ONLY;", lines[0]);
        // The only place the query occurs is between the two tags of the SET LOCAL literal.
        var set = script.Substring(script.IndexOf("SET LOCAL hbops.query = ", StringComparison.Ordinal));
        var tag = set.Substring("SET LOCAL hbops.query = ".Length, "$hbops_".Length + 12 + 1);
        Assert.Matches("^\\$hbops_[0-9a-f]{12}\\$$", tag);
        Assert.StartsWith("SET LOCAL hbops.query = " + tag + query + tag + ";\n", set, StringComparison.Ordinal);
        Assert.EndsWith(ReadOnlyQuery.Open + ";\n" + ReadOnlyQuery.Fetch + ";\n" + ReadOnlyQuery.End + ";\n", script, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_a_query_that_contains_a_would_be_tag_When_tagged_Then_the_tag_differs_from_every_occurrence()
    {
        // Every tag the generator could pick is 12 hex digits; a text containing one still gets another.
        var text = string.Concat(Enumerable.Range(0, 50).Select(_ => ReadOnlyQuery.DollarTag("")));
        var tag = ReadOnlyQuery.DollarTag(text);
        Assert.DoesNotContain(tag, text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    [InlineData("SELECT 1\0; SELECT 2")]
    public void Given_text_no_server_could_run_When_checked_Then_InvalidArgument_before_anything_runs(string query)
    {
        var ex = Assert.Throws<HbOpsException>(() => ReadOnlyQuery.RequireText(query));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
    }

    [Fact]
    public void The_assertion_role_is_created_without_superuser_and_reads_through_predefined_roles()
    {
        Assert.Contains("CREATE ROLE hbops_assertion LOGIN NOSUPERUSER", ReadOnlyQuery.RoleSetupSql, StringComparison.Ordinal);
        Assert.Contains("pg_read_all_data", ReadOnlyQuery.RoleSetupSql, StringComparison.Ordinal);
        Assert.DoesNotContain("pg_write", ReadOnlyQuery.RoleSetupSql, StringComparison.Ordinal);
        Assert.DoesNotContain("pg_execute_server_program", ReadOnlyQuery.RoleSetupSql, StringComparison.Ordinal);
    }
}
