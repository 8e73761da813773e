using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.RowCounts;
using HbOps.Model;
using Xunit;

namespace HbOps.Engine.Tests;

/// <summary>The comparison cmdlets' sides, as the engine service makes them (no Docker: endpoints are only built).</summary>
public class ComparisonSidesTests
{
    private static readonly FakeCommandHost Production = new(_ => (0, "", ""));

    private static HbBackupArtefact Artefact() => new() { Container = "pg", Database = "shop", User = "owner", Host = Production.Host };

    [Fact]
    public void Production_is_the_artefacts_container_database_and_role_else_the_specs()
    {
        var sides = new ComparisonSides(Production, (_, _) => throw new InvalidOperationException("no other host"));
        var fromArtefact = Assert.IsType<PgEndpoint>(sides.Production(new ComparisonSidesSpec { Artefact = Artefact(), Container = "other", Database = "x", User = "u" }));
        Assert.Equal(("pg", "shop", "owner"), (fromArtefact.Container, fromArtefact.Database, fromArtefact.User));
        var explicitSide = Assert.IsType<PgEndpoint>(sides.Production(new ComparisonSidesSpec { Container = "c", Database = "d", User = "u" }));
        Assert.Equal(("c", "d", "u"), (explicitSide.Container, explicitSide.Database, explicitSide.User));
        var none = Assert.Throws<HbOpsException>(() => sides.Production(new ComparisonSidesSpec()));
        Assert.Equal(HbErrorIds.InvalidArgument, none.ErrorId);
        Assert.Equal(HbErrorIds.InvalidArgument, Assert.Throws<HbOpsException>(() => sides.Production(new ComparisonSidesSpec { Container = "c;rm", Database = "d" })).ErrorId);
    }

    [Fact]
    public async Task A_sandbox_on_another_host_gets_its_own_connection_one_on_the_same_host_does_not()
    {
        var other = new FakeCommandHost(_ => (0, "", ""));
        var elsewhere = new HbHost { Kind = HbHostKind.Ssh, Alias = "elsewhere", HostName = "127.0.0.9", Port = 22, User = "ops" };
        var asked = new List<HbHost>();
        var sides = new ComparisonSides(Production, (h, _) => { asked.Add(h); return Task.FromResult<ICommandHost>(other); });

        var same = Assert.IsType<PgEndpoint>(await sides.SandboxAsync(new ComparisonSidesSpec
        {
            Artefact = Artefact(), Sandbox = new HbSandbox { Name = "pg-restore-test-a", Host = Production.Host, User = "restorer", Database = "shop" },
        }, CancellationToken.None));
        Assert.Empty(asked);
        Assert.Equal(("pg-restore-test-a", "restorer", "shop"), (same.Container, same.User, same.Database));
        Assert.Same(Production, same.Docker.CommandHost);

        var away = Assert.IsType<PgEndpoint>(await sides.SandboxAsync(new ComparisonSidesSpec
        {
            Artefact = Artefact(), Sandbox = new HbSandbox { Name = "pg-restore-test-b", Host = elsewhere, User = "restorer", Database = "shop" },
        }, CancellationToken.None));
        Assert.Equal(new[] { elsewhere }, asked);
        Assert.Same(other, away.Docker.CommandHost);
    }

    [Fact]
    public async Task A_sandbox_by_name_is_on_the_production_host_with_the_artefacts_role_and_no_sandbox_is_an_error()
    {
        var sides = new ComparisonSides(Production, (_, _) => throw new InvalidOperationException("no other host"));
        var named = Assert.IsType<PgEndpoint>(await sides.SandboxAsync(new ComparisonSidesSpec { Artefact = Artefact(), SandboxName = "pg-restore-test-c" }, CancellationToken.None));
        Assert.Equal(("pg-restore-test-c", "owner", "shop"), (named.Container, named.User, named.Database));
        Assert.Equal("owner", ComparisonSides.SandboxUser(new ComparisonSidesSpec { Artefact = Artefact() }));
        var missing = await Assert.ThrowsAsync<HbOpsException>(() => sides.SandboxAsync(new ComparisonSidesSpec { Artefact = Artefact() }, CancellationToken.None));
        Assert.Equal(HbErrorIds.InvalidArgument, missing.ErrorId);
    }

    [Fact]
    public async Task Proof_sides_take_the_recorded_snapshot_as_reference_and_production_or_the_sandbox_as_the_other()
    {
        var sides = new ComparisonSides(Production, (_, _) => throw new InvalidOperationException("no other host"));
        var spec = new ComparisonSidesSpec { Artefact = Artefact(), SandboxName = "pg-restore-test-d" };
        var recorded = new HbOps.Engine.Proof.ProofSide { Source = RowCountSource.ArtefactSnapshot };
        var (reference, difference) = await sides.ProofSidesAsync(spec, recorded, differenceIsProduction: false, CancellationToken.None);
        Assert.Same(recorded, reference);
        Assert.Equal(RowCountSource.Sandbox, difference.Source);
        Assert.Equal("owner", difference.RestoreUser);
        var (live, prod) = await sides.ProofSidesAsync(spec, null, differenceIsProduction: true, CancellationToken.None);
        Assert.Equal((RowCountSource.Production, RowCountSource.Production), (live.Source, prod.Source));
    }
}
