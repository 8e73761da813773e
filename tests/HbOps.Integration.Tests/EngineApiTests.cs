using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>The Docker Engine API gateway against the real engine, locally and through SSH dial-stdio.</summary>
public sealed class EngineApiTests : IAsyncLifetime
{
    private readonly TestEnvironment _env = new();
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..6];
    private ICommandHost _ssh = null!;
    private string Container => $"hbops-apitest-{_suffix}";

    public async Task InitializeAsync()
    {
        _ssh = await _env.ConnectAsync();
        // A throwaway container labelled like a sandbox (so a leak is caught by the leftover checks), running no server.
        TestEnvironment.Sh($"docker run -d --name {Container} --network none --label hbops.sandbox=true postgres:15 sleep 300");
    }

    public async Task DisposeAsync()
    {
        TestEnvironment.Sh($"docker rm -fv {Container} >/dev/null 2>&1; docker image rm -f hbops-test/postgres:15-nomajor-{_suffix} hbops-test/postgres:15-claims14-{_suffix} >/dev/null 2>&1; true");
        await _ssh.DisposeAsync();
    }

    [Fact]
    public async Task Consecutive_calls_over_ssh_reuse_one_dial_stdio_channel()
    {
        var counting = new CountingHost(_ssh);
        var api = DockerEngineApi.For(counting);
        for (var i = 0; i < 5; i++)
        {
            var info = await api.InspectContainerAsync(Container, CancellationToken.None);
            Assert.NotNull(info);
            Assert.Equal("none", info.NetworkMode);
            Assert.Null(await api.InspectVolumeAsync($"hbops-apitest-absent-{_suffix}", CancellationToken.None));
        }
        Assert.NotNull(await api.InspectImageAsync("postgres:15", CancellationToken.None));
        Assert.Equal(1, counting.DialStdioStarts);
    }

    [Fact]
    public async Task Image_major_comes_from_PG_MAJOR_and_otherwise_from_a_probe_and_a_missing_image_is_refused()
    {
        var sandboxes = new SandboxManager(_ssh);
        Assert.Equal(15, await sandboxes.ProbeImageMajorAsync("postgres:15", CancellationToken.None));

        // The declared major is what the image says (here a lie, to show it is read).
        var claims14 = $"hbops-test/postgres:15-claims14-{_suffix}";
        TestEnvironment.Sh($"c=$(docker create postgres:15) && docker commit --change 'ENV PG_MAJOR=14' $c {claims14} >/dev/null && docker rm -v $c >/dev/null");
        Assert.Equal(14, await sandboxes.ProbeImageMajorAsync(claims14, CancellationToken.None));

        // Without a usable PG_MAJOR, pg_restore --version in a throwaway container tells.
        var noMajor = $"hbops-test/postgres:15-nomajor-{_suffix}";
        TestEnvironment.Sh($"c=$(docker create postgres:15) && docker commit --change 'ENV PG_MAJOR=' $c {noMajor} >/dev/null && docker rm -v $c >/dev/null");
        Assert.Equal(15, await sandboxes.ProbeImageMajorAsync(noMajor, CancellationToken.None));
        Assert.Equal("", TestEnvironment.Sh("docker ps -aq --filter label=hbops.probe=true").Trim());

        var ex = await Assert.ThrowsAsync<HbOpsException>(() => sandboxes.ProbeImageMajorAsync($"hbops-test/absent-{_suffix}:1", CancellationToken.None));
        Assert.Equal(HbErrorIds.SandboxStartFailed, ex.ErrorId);
        Assert.Contains("not present", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_direct_sandbox_is_initdbs_cluster_with_the_database_renamed_even_for_a_name_that_needs_quoting()
    {
        var sandboxes = new SandboxManager(_ssh);
        var name = $"hbops-apitest-direct-{_suffix}";
        const string database = "Hb-Ops.Mixed$1";
        var sb = await sandboxes.CreateAsync(new SandboxSpec
        {
            Name = name, Image = "postgres:15", ImageMajor = 15, Database = database, User = "hb_owner", RunId = _suffix,
            Initialization = HbSandboxInitialization.Direct, ServerSettings = SandboxSettings.Merge(null),
        }, CancellationToken.None);
        try
        {
            Assert.Equal(HbSandboxInitialization.Direct, sb.Initialization);
            Assert.True(sb.IsolationVerified);
            await sandboxes.WaitReadyAsync(sb, TimeSpan.FromSeconds(60), CancellationToken.None);
            var q = (string sql) => TestEnvironment.Sh($"docker exec {name} psql -U hb_owner -d '{database}' -Atc \"{sql}\"").Trim();
            Assert.Equal($"{database}|UTF8|", q("SELECT current_database(), pg_encoding_to_char(encoding), coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = current_database()"));
            Assert.Equal($"{database},template0,template1", q("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"));
            Assert.Equal("off|minimal", q("SELECT current_setting('fsync') || '|' || current_setting('wal_level')"));
            // TCP needs the password (which nobody was shown); the server process does not carry it in its environment.
            var tcp = TestEnvironment.Sh($"docker exec {name} psql -h 127.0.0.1 -U hb_owner -d '{database}' -w -c 'SELECT 1' 2>&1; echo exit=$?");
            Assert.Contains("password", tcp, StringComparison.Ordinal);
            Assert.DoesNotContain("exit=0", tcp, StringComparison.Ordinal);
            Assert.Equal("postgres", TestEnvironment.Sh($"docker exec {name} cat /proc/1/comm").Trim());
            var environ = TestEnvironment.Sh($"docker exec -u postgres {name} sh -c 'tr \"\\0\" \"\\n\" < /proc/1/environ'");
            Assert.Contains("POSTGRES_USER=hb_owner", environ, StringComparison.Ordinal);
            Assert.DoesNotContain("POSTGRES_PASSWORD", environ, StringComparison.Ordinal);
            // Listed with the way it was made.
            var listed = (await sandboxes.ListAsync(CancellationToken.None)).Single(s => s.Name == name);
            Assert.Equal(HbSandboxInitialization.Direct, listed.Initialization);
        }
        finally
        {
            var removal = await sandboxes.RemoveAsync(name, CancellationToken.None);
            Assert.True(removal.Verified);
        }
    }

    // Counts the dial-stdio channels the Engine API client opens.
    private sealed class CountingHost(ICommandHost inner) : ICommandHost
    {
        private int _dialStdioStarts;
        public int DialStdioStarts => Volatile.Read(ref _dialStdioStarts);
        public HbHost Host => inner.Host;

        public Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct)
        {
            if (argv.SequenceEqual(new[] { "docker", "system", "dial-stdio" })) Interlocked.Increment(ref _dialStdioStarts);
            return inner.StartAsync(argv, ct);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
