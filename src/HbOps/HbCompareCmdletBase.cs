using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Base of the comparison cmdlets (Compare-HbRowCounts, Compare-HbContent, Compare-HbCatalog): one vocabulary for the two
/// sides (an artefact with its production database and snapshot, a sandbox, production named directly or by a config
/// target) and one way to reach a live side (psql through docker exec on the docker host; production only read).
/// </summary>
public abstract class HbCompareCmdletBase : HbHostCmdletBase
{
    /// <summary>Parameter set of an artefact (or production named by -Container/-Database/-User).</summary>
    protected const string ArtefactSet = "Artefact";

    /// <summary>Parameter set of a config target.</summary>
    protected const string TargetSet = "Target";

    /// <summary>Artefact whose production database (and snapshot) is the reference side; binds from Invoke-HbBackup and from Test-HbRestore output.</summary>
    [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ArtefactSet)]
    [HbModelTransformation(typeof(HbBackupArtefact))]
    public HbBackupArtefact? Artefact { get; set; }

    /// <summary>Sandbox to compare; binds from Test-HbRestore -KeepSandbox output.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [HbModelTransformation(typeof(HbSandbox))]
    public HbSandbox? Sandbox { get; set; }

    /// <summary>Sandbox by name (on the docker host named by the SSH parameters, the target or the artefact); completes from that host's sandboxes.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public string? SandboxName { get; set; }

    /// <summary>A named target from the HbOps config file: the production side (explicit -Container, -Database, -User and SSH parameters override it).</summary>
    [Parameter(Mandatory = true, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Production container when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Container { get; set; } = "postgres";

    /// <summary>Production database when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    /// <summary>Production role when no artefact is given.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string User { get; set; } = "postgres";

    // The target fills the production side and the SSH parameters where the caller gave nothing; once per command.
    private bool _targetApplied;

    /// <summary>
    /// On the pipeline thread, before the engine runs: applies -Target and returns the host of the production side (the
    /// artefact's, the target's, else the sandbox's or the SSH parameters').
    /// </summary>
    protected HbHost ResolveSidesHost()
    {
        if (Target is not null && !_targetApplied)
        {
            _targetApplied = true;
            var t = LoadTarget(Target, ConfigPath);
            ApplyTargetHost(t);
            bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
            if (!Bound(nameof(Container)) && t.Container is not null) Container = t.Container;
            if (!Bound(nameof(Database))) Database = t.Database;
            if (!Bound(nameof(User)) && t.User is not null) User = t.User;
        }
        var parameterHost = ResolveHostFromParameters();
        return Artefact?.Host ?? (Target is not null ? parameterHost : null) ?? Sandbox?.Host ?? parameterHost;
    }

    /// <summary>The engine's view of the two sides this command names (call after <see cref="ResolveSidesHost"/>).</summary>
    protected ComparisonSidesSpec SidesSpec => new()
    {
        Artefact = Artefact, Sandbox = Sandbox, SandboxName = SandboxName, Container = Container, Database = Database, User = User,
    };

    /// <summary>The engine service that makes both sides' SQL endpoints, over the production side's connection.</summary>
    protected async Task<ComparisonSides> SidesAsync(HbHost host, CancellationToken ct) =>
        new(await ConnectAsync(host, ct).ConfigureAwait(false), ConnectAsync);

}
