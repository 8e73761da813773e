using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Sandbox;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

public class SandboxInitTests
{
    [Fact]
    public void Direct_replaces_the_entrypoint_with_the_init_script_and_renames_initdbs_database()
    {
        var ep = SandboxInit.Entrypoint(HbSandboxInitialization.Direct, "directus", "directus");
        Assert.NotNull(ep);
        Assert.Equal(new[] { "sh", "-c" }, ep!.Take(2));
        Assert.Equal("hbops-init", ep[3]);
        Assert.Equal("ALTER DATABASE postgres RENAME TO \"directus\"\nCOMMENT ON DATABASE \"directus\" IS NULL", ep[5]);
        // The password reaches initdb through a file only, and the server no longer sees it.
        Assert.Contains("--pwfile=", ep[4], StringComparison.Ordinal);
        Assert.Contains("unset POSTGRES_PASSWORD", ep[4], StringComparison.Ordinal);
        Assert.DoesNotContain("--pwfile", ep[2], StringComparison.Ordinal);
    }

    [Fact]
    public void The_image_entrypoint_mode_keeps_the_images_entrypoint()
    {
        Assert.Null(SandboxInit.Entrypoint(HbSandboxInitialization.ImageEntrypoint, "directus", "directus"));
    }

    [Fact]
    public void Database_names_are_quoted_and_postgres_needs_no_statement()
    {
        Assert.Equal("", SandboxInit.DatabaseSql("postgres", "directus"));
        Assert.Equal("ALTER DATABASE postgres RENAME TO \"Hb-Ops.Mixed$1\"\nCOMMENT ON DATABASE \"Hb-Ops.Mixed$1\" IS NULL",
            SandboxInit.DatabaseSql("Hb-Ops.Mixed$1", "directus"));
        Assert.Equal("ALTER DATABASE postgres RENAME TO \"Prod \"\"DB\"\" bäckerei\"\nCOMMENT ON DATABASE \"Prod \"\"DB\"\" bäckerei\" IS NULL",
            SandboxInit.DatabaseSql("Prod \"DB\" bäckerei", "directus"));
    }

    [Theory]
    [InlineData("O'Brien")]
    [InlineData("Ops \"Ü\"")]
    [InlineData("a$b")]
    [InlineData("a\\b")]
    public void A_role_initdb_cannot_make_is_created_after_it_as_a_second_superuser(string user)
    {
        Assert.Equal("postgres", SandboxInit.BootstrapUser(user));
        Assert.Contains("POSTGRES_USER=postgres", SandboxInit.Environment(HbSandboxInitialization.Direct, user, "app", SandboxSettings.Merge(null)));
        Assert.StartsWith($"CREATE ROLE \"{user.Replace("\"", "\"\"", StringComparison.Ordinal)}\" SUPERUSER LOGIN\nALTER DATABASE postgres RENAME TO \"app\"",
            SandboxInit.DatabaseSql("app", user), StringComparison.Ordinal);
        // The image's own initdb would fail on it: refused up front.
        var ex = Assert.Throws<HbOpsException>(() => SandboxInit.Environment(HbSandboxInitialization.ImageEntrypoint, user, "app", SandboxSettings.Merge(null)));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
    }

    [Fact]
    public void A_role_initdb_can_make_is_initdbs_own_superuser()
    {
        Assert.Equal("Ops Üser", SandboxInit.BootstrapUser("Ops Üser"));
        Assert.Equal("", SandboxInit.DatabaseSql("postgres", "Ops Üser"));
    }

    [Theory]
    [InlineData("a\nDROP DATABASE template1")]
    [InlineData("")]
    public void A_database_name_with_a_control_character_or_none_at_all_is_refused(string name)
    {
        var ex = Assert.Throws<HbOpsException>(() => SandboxInit.Entrypoint(HbSandboxInitialization.Direct, name, "directus"));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
    }

    [Fact]
    public void Environment_names_the_data_directory_for_direct_and_the_database_for_the_entrypoint()
    {
        var settings = SandboxSettings.Merge(null);
        var direct = SandboxInit.Environment(HbSandboxInitialization.Direct, "directus", "directus", settings);
        Assert.Contains("POSTGRES_USER=directus", direct);
        Assert.Contains("PGDATA=/var/lib/postgresql/data", direct);
        Assert.Contains("POSTGRES_INITDB_ARGS=--no-sync", direct);
        Assert.DoesNotContain(direct, e => e.StartsWith("POSTGRES_DB=", StringComparison.Ordinal));
        Assert.DoesNotContain(direct, e => e.Contains("PASSWORD", StringComparison.Ordinal));

        var image = SandboxInit.Environment(HbSandboxInitialization.ImageEntrypoint, "directus", "app", SandboxSettings.Merge(new[] { new KeyValuePair<string, string?>("fsync", "on") }));
        Assert.Equal(new[] { "POSTGRES_USER=directus", "POSTGRES_DB=app" }, image);
    }
}
