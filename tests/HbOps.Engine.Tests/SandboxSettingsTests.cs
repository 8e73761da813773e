using HbOps.Engine.Errors;
using HbOps.Engine.Sandbox;
using Xunit;

namespace HbOps.Engine.Tests;

public class SandboxSettingsTests
{
    private static KeyValuePair<string, string?> S(string k, string? v) => new(k, v);

    [Fact]
    public void Defaults_become_postgres_dash_c_arguments_and_a_no_sync_initdb()
    {
        var settings = SandboxSettings.Merge(null);
        var cmd = SandboxSettings.ToCommand(settings);
        Assert.Equal("postgres", cmd[0]);
        Assert.Equal(settings.Count * 2 + 1, cmd.Count);
        Assert.Contains("fsync=off", cmd);
        Assert.Contains("wal_level=minimal", cmd);
        Assert.Contains("max_wal_senders=0", cmd);
        Assert.All(cmd.Skip(1).Where((_, i) => i % 2 == 0), a => Assert.Equal("-c", a));
        Assert.Equal("--no-sync", SandboxSettings.InitDbArgs(settings));
    }

    [Fact]
    public void Overrides_replace_add_and_remove_settings()
    {
        var settings = SandboxSettings.Merge(new[] { S("FSYNC", "on"), S("work_mem", "64MB"), S("autovacuum", ""), S("wal_level", "replica"), S("max_wal_senders", null) });
        Assert.Equal("on", settings["fsync"]);
        Assert.Equal("64MB", settings["work_mem"]);
        Assert.False(settings.ContainsKey("autovacuum"));
        Assert.False(settings.ContainsKey("max_wal_senders"));
        Assert.Equal("replica", settings["wal_level"]);
        Assert.Equal("", SandboxSettings.InitDbArgs(settings));
    }

    [Fact]
    public void Minimal_wal_keeps_the_wal_senders_it_needs()
    {
        var settings = SandboxSettings.Merge(new[] { S("max_wal_senders", "") });
        Assert.Equal("0", settings["max_wal_senders"]);
    }

    [Fact]
    public void Removing_every_setting_leaves_the_image_command()
    {
        var settings = SandboxSettings.Merge(SandboxSettings.Defaults.Keys.Select(k => S(k, "")).ToList());
        Assert.Empty(settings);
        Assert.Empty(SandboxSettings.ToCommand(settings));
    }

    [Theory]
    [InlineData("fsync;rm -rf /", "off")]
    [InlineData("shared_preload_libraries", "a b")]
    [InlineData("work_mem", "1'; DROP")]
    [InlineData("work_mem", "$(id)")]
    [InlineData("", "x")]
    public void Names_and_values_with_anything_unusual_are_refused(string name, string value)
    {
        var ex = Assert.Throws<HbOpsException>(() => SandboxSettings.Merge(new[] { S(name, value) }));
        Assert.Equal(HbErrorIds.InvalidArgument, ex.ErrorId);
    }
}
