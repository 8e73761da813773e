using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>The ways an operator can name a docker host; one of <see cref="Alias"/>, <see cref="HostName"/> or local.</summary>
public sealed class HostSpec
{
    /// <summary>ssh_config alias (e.g. <c>contabo</c>).</summary>
    public string? Alias { get; init; }
    /// <summary>Explicit host name or address.</summary>
    public string? HostName { get; init; }
    /// <summary>Port override.</summary>
    public int? Port { get; init; }
    /// <summary>User override.</summary>
    public string? User { get; init; }
    /// <summary>Private key override.</summary>
    public string? KeyFile { get; init; }
    /// <summary>ssh_config to read instead of ~/.ssh/config.</summary>
    public string? SshConfigPath { get; init; }
    /// <summary>known_hosts to read instead of the config's UserKnownHostsFile or ~/.ssh/known_hosts.</summary>
    public string? KnownHostsPath { get; init; }
    /// <summary>
    /// Who evaluates the ssh config; null takes <c>HBOPS_SSH_CONFIG_EVALUATOR</c> (<c>BuiltIn</c> or <c>OpenSsh</c>),
    /// else <see cref="SshConfigEvaluator.BuiltIn"/>.
    /// </summary>
    public SshConfigEvaluator? Evaluator { get; init; }
    /// <summary>
    /// Refuse an <see cref="Alias"/> that no specific Host or Match block names (default). A ProxyJump hop is resolved
    /// with false: like ssh, it takes whatever the config gives that name, if anything.
    /// </summary>
    public bool AliasMustBeDefined { get; init; } = true;
}

/// <summary>Turns a <see cref="HostSpec"/> into a resolved <see cref="HbHost"/>, and an <see cref="HbHost"/> into a live connection.</summary>
public static class HostResolver
{
    /// <summary>The environment variable that selects the ssh_config evaluator.</summary>
    public const string EvaluatorVariable = "HBOPS_SSH_CONFIG_EVALUATOR";

    /// <summary>Resolves alias / explicit settings the way OpenSSH does (explicit values win over the config).</summary>
    public static HbHost Resolve(HostSpec spec) => Resolve(spec, SshConfigEnvironment.Current);

    /// <summary>
    /// Resolves in a given environment. The explicit values act as ssh's command-line options do (<c>-l</c>, <c>-p</c>,
    /// <c>-i</c>, <c>-o HostName=</c>): they win, and Match and tokens see them; -KnownHostsPath replaces
    /// UserKnownHostsFile.
    /// </summary>
    public static HbHost Resolve(HostSpec spec, SshConfigEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(environment);
        if (spec.Alias is null && spec.HostName is null) return HbHost.Local;
        if (spec.Alias is not null) Validation.HostToken(spec.Alias, "SshHost");
        if (spec.HostName is not null) Validation.HostToken(spec.HostName, "HostName");
        var configPath = spec.SshConfigPath is null ? null : Path.GetFullPath(spec.SshConfigPath);
        if (configPath is not null && !File.Exists(configPath))
        {
            if (spec.Alias is not null)
            {
                throw new HbOpsException(HbErrorIds.SshAliasNotFound, HbErrorCategory.ObjectNotFound,
                    $"SSH alias '{spec.Alias}' cannot be resolved: the ssh config '{configPath}' does not exist.", spec.Alias,
                    "Create a Host entry in ~/.ssh/config, pass -SshConfigPath, or use -HostName/-User/-KeyFile.");
            }
            throw new HbOpsException(HbErrorIds.SshConfigInvalid, HbErrorCategory.ObjectNotFound,
                $"The ssh config '{configPath}' does not exist.", configPath, "Pass an existing -SshConfigPath or none.");
        }
        var query = new SshConfigQuery
        {
            Host = spec.Alias ?? spec.HostName!,
            ConfigPath = configPath,
            User = spec.User,
            Port = spec.Port,
            HostName = spec.HostName,
            IdentityFiles = spec.KeyFile is null ? Array.Empty<string>() : new[] { Path.GetFullPath(spec.KeyFile) },
        };
        var entry = ChooseEvaluator(spec) == SshConfigEvaluator.OpenSsh
            ? OpenSshConfigEvaluator.Resolve(query, environment)
            : SshConfigResolver.Resolve(query, environment);
        if (spec.Alias is not null && spec.AliasMustBeDefined) SshConfig.ThrowUnlessDefined(entry, spec.Alias, configPath ?? SshConfig.DefaultPath);
        if (entry.ProxyCommand is not null)
        {
            throw new HbOpsException(HbErrorIds.SshConfigUnsupported, HbErrorCategory.InvalidData,
                $"The ssh config sets ProxyCommand for '{query.Host}' ({entry.ProxyCommand}); HbOps cannot run a proxy command.",
                query.Host, "Use ProxyJump for that host instead of ProxyCommand (HbOps follows jump hosts itself).");
        }
        return new HbHost
        {
            Kind = HbHostKind.Ssh,
            Alias = spec.Alias,
            HostName = entry.HostName,
            Port = entry.Port,
            User = entry.User,
            IdentityFiles = entry.IdentityFiles.ToList(),
            KnownHostsFiles = spec.KnownHostsPath is not null
                ? new List<string> { Path.GetFullPath(spec.KnownHostsPath) }
                : entry.UserKnownHostsFiles.ToList(),
            SshConfigPath = spec.Alias is null ? null : configPath ?? SshConfig.DefaultPath,
            ProxyJump = entry.ProxyJump,
            HostKeyAlias = entry.HostKeyAlias,
            IdentitiesOnly = entry.IdentitiesOnly,
            IdentityAgent = AgentSocket(entry.IdentityAgent, environment),
        };
    }

    private static SshConfigEvaluator ChooseEvaluator(HostSpec spec)
    {
        if (spec.Evaluator is SshConfigEvaluator chosen) return chosen;
        var value = Environment.GetEnvironmentVariable(EvaluatorVariable);
        if (string.IsNullOrEmpty(value)) return SshConfigEvaluator.BuiltIn;
        if (Enum.TryParse<SshConfigEvaluator>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)) return parsed;
        throw HbOpsException.Invalid($"{EvaluatorVariable}='{value}' is not BuiltIn or OpenSsh.", value);
    }

    /// <summary>
    /// The agent socket as the connection uses it: null for the SSH_AUTH_SOCK environment variable (IdentityAgent unset
    /// or <c>SSH_AUTH_SOCK</c>), a legacy <c>$NAME</c> read from the environment (<c>none</c> when unset, as in ssh),
    /// otherwise the expanded path or <c>none</c>.
    /// </summary>
    private static string? AgentSocket(string? identityAgent, SshConfigEnvironment environment)
    {
        if (identityAgent is null || identityAgent == "SSH_AUTH_SOCK") return null;
        if (identityAgent.Length > 1 && identityAgent[0] == '$' && identityAgent[1] != '{')
        {
            return environment.GetEnvironmentVariable(identityAgent[1..]) ?? "none";
        }
        return identityAgent;
    }

    /// <summary>Opens a command host for a resolved host.</summary>
    public static async Task<ICommandHost> ConnectAsync(HbHost host, SshConnectOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (host.Kind == HbHostKind.Local) return new LocalCommandHost();
        if (host.HostName is null || host.User is null)
        {
            throw HbOpsException.Invalid($"The host '{host}' has no host name or user.", host.ToString());
        }
        return await SshCommandHost.ConnectAsync(host, options, ct).ConfigureAwait(false);
    }
}
