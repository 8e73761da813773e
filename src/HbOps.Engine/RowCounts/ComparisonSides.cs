using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Proof;
using HbOps.Model;

namespace HbOps.Engine.RowCounts;

/// <summary>What a comparison names: production (by an artefact, or container, database and role) and a sandbox.</summary>
public sealed record ComparisonSidesSpec
{
    /// <summary>The artefact whose container, database and role name the production side (and the sandbox's database).</summary>
    public HbBackupArtefact? Artefact { get; init; }

    /// <summary>The sandbox side, as returned by Test-HbRestore -KeepSandbox or New-HbSandbox.</summary>
    public HbSandbox? Sandbox { get; init; }

    /// <summary>The sandbox side by container name, on the production side's docker host.</summary>
    public string? SandboxName { get; init; }

    /// <summary>Production container when no artefact names it.</summary>
    public string Container { get; init; } = "postgres";

    /// <summary>Production database when no artefact names it.</summary>
    public string? Database { get; init; }

    /// <summary>Role for both sides when neither the artefact nor the sandbox names one.</summary>
    public string User { get; init; } = "postgres";
}

/// <summary>
/// The SQL endpoints of a comparison's sides (Compare-HbRowCounts, Compare-HbContent, Compare-HbCatalog): production is
/// only ever read through them; the sandbox may sit on another docker host than production (its own connection).
/// </summary>
/// <param name="productionHost">The connection to the production side's docker host.</param>
/// <param name="connect">Opens (or reuses) a connection to another docker host.</param>
public sealed class ComparisonSides(ICommandHost productionHost, Func<HbHost, CancellationToken, Task<ICommandHost>> connect)
{
    private readonly DockerCli _docker = new(productionHost);

    /// <summary>Production (read-only use only): the artefact's container and database, or the spec's.</summary>
    public ISqlEndpoint Production(ComparisonSidesSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var db = spec.Artefact?.Database ?? spec.Database ?? throw HbOpsException.Invalid("Give -Artefact or -Database for the production side.", null);
        return new PgEndpoint(_docker, spec.Artefact?.Container ?? Validation.ContainerName(spec.Container, "Container"), spec.Artefact?.User ?? spec.User, db);
    }

    /// <summary>The sandbox side: the spec's sandbox on its own host, or the named sandbox on the production side's host.</summary>
    public async Task<ISqlEndpoint> SandboxAsync(ComparisonSidesSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var sandboxName = spec.Sandbox?.Name ?? spec.SandboxName ?? throw HbOpsException.Invalid("Give -Sandbox or -SandboxName for the other side.", null);
        var docker = spec.Sandbox is not null && !spec.Sandbox.Host.Equals(productionHost.Host)
            ? new DockerCli(await connect(spec.Sandbox.Host, ct).ConfigureAwait(false))
            : _docker;
        return new PgEndpoint(docker, Validation.ContainerName(sandboxName, "SandboxName"), SandboxUser(spec),
            spec.Sandbox?.Database ?? spec.Artefact?.Database ?? spec.Database ?? "");
    }

    /// <summary>
    /// The two sides of a content or catalog comparison: the reference is the artefact's recorded snapshot
    /// (<paramref name="snapshot"/>) or, without one, live production; the other side is production or the sandbox.
    /// </summary>
    public async Task<(ProofSide Reference, ProofSide Difference)> ProofSidesAsync(ComparisonSidesSpec spec, ProofSide? snapshot,
        bool differenceIsProduction, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var reference = snapshot ?? new ProofSide { Source = RowCountSource.Production, Endpoint = Production(spec) };
        var difference = differenceIsProduction
            ? new ProofSide { Source = RowCountSource.Production, Endpoint = Production(spec) }
            : new ProofSide { Source = RowCountSource.Sandbox, Endpoint = await SandboxAsync(spec, ct).ConfigureAwait(false), RestoreUser = SandboxUser(spec) };
        return (reference, difference);
    }

    /// <summary>The restoring role of the sandbox side (owner of every restored object).</summary>
    public static string SandboxUser(ComparisonSidesSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Sandbox?.User ?? spec.Artefact?.User ?? spec.User;
    }
}
