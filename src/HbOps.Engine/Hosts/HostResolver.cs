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
}

/// <summary>Turns a <see cref="HostSpec"/> into a resolved <see cref="HbHost"/>, and an <see cref="HbHost"/> into a live connection.</summary>
public static class HostResolver
{
    /// <summary>Resolves alias / explicit settings the way OpenSSH does (explicit values win over the config).</summary>
    public static HbHost Resolve(HostSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Alias is null && spec.HostName is null) return HbHost.Local;
        if (spec.Alias is not null) Validation.HostToken(spec.Alias, "SshHost");
        if (spec.HostName is not null) Validation.HostToken(spec.HostName, "HostName");
        SshConfigEntry? entry = null;
        if (spec.Alias is not null)
        {
            entry = SshConfig.ResolveAlias(spec.SshConfigPath, spec.Alias);
        }
        else if (File.Exists(spec.SshConfigPath ?? SshConfig.DefaultPath))
        {
            entry = SshConfig.Resolve(File.ReadAllText(spec.SshConfigPath ?? SshConfig.DefaultPath), spec.HostName!);
        }
        var identities = new List<string>();
        if (spec.KeyFile is not null) identities.Add(Path.GetFullPath(spec.KeyFile));
        if (entry is not null) identities.AddRange(entry.IdentityFiles);
        if (identities.Count == 0)
        {
            var sshDir = Path.Combine(SshConfig.HomeDirectory, ".ssh");
            identities.AddRange(new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(f => Path.Combine(sshDir, f)));
        }
        var knownHosts = spec.KnownHostsPath is not null
            ? new List<string> { Path.GetFullPath(spec.KnownHostsPath) }
            : entry is { UserKnownHostsFiles.Count: > 0 } ? entry.UserKnownHostsFiles : new List<string> { KnownHosts.DefaultPath };
        return new HbHost
        {
            Kind = HbHostKind.Ssh,
            Alias = spec.Alias,
            HostName = spec.HostName ?? entry!.HostName,
            Port = spec.Port ?? entry?.Port ?? 22,
            User = spec.User ?? entry?.User ?? Environment.UserName,
            IdentityFiles = identities,
            KnownHostsFiles = knownHosts,
            SshConfigPath = spec.Alias is null ? null : Path.GetFullPath(spec.SshConfigPath ?? SshConfig.DefaultPath),
        };
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
