namespace HbOps.Model;

/// <summary>How a docker host is reached.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbHostKind
{
    /// <summary>This machine; commands run as local processes.</summary>
    Local,
    /// <summary>A remote machine over SSH.</summary>
    Ssh,
}

/// <summary>
/// Everything needed to reach a docker host again, carried on every result object so the next
/// cmdlet in a pipeline can reconnect. Holds no secret: a key passphrase is never stored.
/// </summary>
public sealed class HbHost : IEquatable<HbHost>
{
    /// <summary>The local machine.</summary>
    public static HbHost Local { get; } = new() { Kind = HbHostKind.Local };

    /// <summary>Local or SSH.</summary>
    public HbHostKind Kind { get; init; }

    /// <summary>The ssh_config alias the host was named by, if any.</summary>
    public string? Alias { get; init; }

    /// <summary>Resolved host name or address.</summary>
    public string? HostName { get; init; }

    /// <summary>SSH port.</summary>
    public int Port { get; init; } = 22;

    /// <summary>SSH user.</summary>
    public string? User { get; init; }

    /// <summary>Private key files to offer, in order.</summary>
    public List<string> IdentityFiles { get; init; } = new();

    /// <summary>known_hosts files consulted to verify the host key.</summary>
    public List<string> KnownHostsFiles { get; init; } = new();

    /// <summary>The ssh_config file the alias was resolved from, if any.</summary>
    public string? SshConfigPath { get; init; }

    /// <summary>
    /// Jump hosts to pass through, in order, as OpenSSH's ProxyJump gives them (<c>[user@]host[:port]</c>, comma-separated;
    /// each hop may itself be an alias of the same ssh config). Null or empty for a direct connection.
    /// </summary>
    public string? ProxyJump { get; init; }

    /// <summary>The name looked up in known_hosts instead of the host name and port (ssh_config HostKeyAlias).</summary>
    public string? HostKeyAlias { get; init; }

    /// <summary>Offer only the identity files (and agent keys matching them), as ssh_config IdentitiesOnly yes.</summary>
    public bool IdentitiesOnly { get; init; }

    /// <summary>
    /// The ssh-agent socket to ask for keys (ssh_config IdentityAgent, else SSH_AUTH_SOCK); <c>none</c> disables the agent.
    /// </summary>
    public string? IdentityAgent { get; init; }

    /// <summary>Short display form, e.g. <c>contabo (root@127.0.0.1:2222)</c> or <c>local</c>.</summary>
    public override string ToString() => Kind == HbHostKind.Local
        ? "local"
        : Alias is null ? $"{User}@{HostName}:{Port}" : $"{Alias} ({User}@{HostName}:{Port})";

    /// <inheritdoc />
    public bool Equals(HbHost? other) => other is not null && Kind == other.Kind &&
        string.Equals(HostName, other.HostName, StringComparison.OrdinalIgnoreCase) &&
        Port == other.Port && string.Equals(User, other.User, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as HbHost);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Kind, HostName?.ToUpperInvariant(), Port, User);
}
