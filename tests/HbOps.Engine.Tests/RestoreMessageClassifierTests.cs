using HbOps.Engine.Restore;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class RestoreMessageClassifierTests
{
    // Exactly what pg_restore 15 printed for the production-like fixture in a fresh sandbox.
    private const string ReferenceStderr = """
        pg_restore: error: could not execute query: ERROR:  role "workflow_admin" does not exist
        Command was: CREATE USER MAPPING FOR workflow_admin SERVER workflow_remote OPTIONS (
            password 'fdw-mapping-secret',
            "user" 'workflow_admin'
        );


        pg_restore: warning: errors ignored on restore: 1

        """;

    [Fact]
    public void Reference_warning_is_one_non_fatal_note_and_a_summary()
    {
        var messages = RestoreMessageClassifier.Classify(ReferenceStderr);
        Assert.Equal(2, messages.Count);
        Assert.Equal(HbMessageSeverity.NonFatal, messages[0].Severity);
        Assert.Equal("MissingRoleUserMapping", messages[0].Rule);
        Assert.StartsWith("CREATE USER MAPPING FOR workflow_admin", messages[0].Command);
        Assert.Equal(HbMessageSeverity.Info, messages[1].Severity);
        Assert.Equal(1, RestoreMessageClassifier.IgnoredErrorCount(messages));
    }

    [Fact]
    public void Mapping_password_never_survives_classification()
    {
        var messages = RestoreMessageClassifier.Classify(ReferenceStderr);
        Assert.All(messages, m => Assert.DoesNotContain("fdw-mapping-secret", m.Text + m.Command));
    }

    [Fact]
    public void Unknown_errors_are_fatal()
    {
        var stderr = """
            pg_restore: error: could not execute query: ERROR:  extension "postgis" is not available
            Command was: CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;
            pg_restore: warning: errors ignored on restore: 1
            """;
        var messages = RestoreMessageClassifier.Classify(stderr);
        Assert.Equal(HbMessageSeverity.Fatal, messages[0].Severity);
        Assert.Equal("Unrecognised", messages[0].Rule);
    }

    [Theory]
    [InlineData("GRANT SELECT ON TABLE public.t TO reporting;", "MissingRoleGrant")]
    [InlineData("ALTER TABLE public.t OWNER TO reporting;", "MissingRoleOwner")]
    [InlineData("ALTER DEFAULT PRIVILEGES FOR ROLE reporting GRANT SELECT ON TABLES TO x;", "MissingRoleDefaultPrivileges")]
    public void Missing_roles_in_ownership_and_privileges_are_non_fatal(string command, string rule)
    {
        var stderr = $"pg_restore: error: could not execute query: ERROR:  role \"reporting\" does not exist\nCommand was: {command}\n";
        var m = Assert.Single(RestoreMessageClassifier.Classify(stderr));
        Assert.Equal(HbMessageSeverity.NonFatal, m.Severity);
        Assert.Equal(rule, m.Rule);
    }

    [Fact]
    public void A_missing_role_elsewhere_is_fatal()
    {
        var stderr = "pg_restore: error: could not execute query: ERROR:  role \"app\" does not exist\nCommand was: CREATE POLICY p ON t TO app USING (true);\n";
        Assert.Equal(HbMessageSeverity.Fatal, Assert.Single(RestoreMessageClassifier.Classify(stderr)).Severity);
    }

    [Fact]
    public void Empty_stderr_has_no_messages() => Assert.Empty(RestoreMessageClassifier.Classify(""));
}
