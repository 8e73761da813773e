using System.Net.Sockets;
using HbOps.Engine.Errors;
using HbOps.Model;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HbOps.Engine.Hosts;

/// <summary>The keys offered to one host, in order, and what was left out (for error messages).</summary>
internal sealed class SshKeyPlan
{
    /// <summary>What SSH.NET offers, in order.</summary>
    public List<IPrivateKeySource> Keys { get; } = new();

    /// <summary>One line per offered key: <c>agent key ssh-ed25519 SHA256:... (comment)</c> or a file path.</summary>
    public List<string> Offered { get; } = new();

    /// <summary>Identity files that exist but were not offered, with the reason.</summary>
    public List<string> NotOffered { get; } = new();

    /// <summary>What the agent contributed, e.g. <c>the ssh-agent at /run/agent.sock holds 2 keys</c>.</summary>
    public string Agent { get; set; } = "";

    /// <summary>One sentence for an authentication failure.</summary>
    public string Describe() =>
        $"offered {string.Join("; ", Offered)}" + (NotOffered.Count > 0 ? $"; not offered {string.Join("; ", NotOffered)}" : "") + $"; {Agent}";
}

/// <summary>
/// The ssh-agents one connection attempt talks to, each opened once (every hop of a jump chain usually names the same
/// agent) and closed when the attempt is over: agent keys are only needed while authenticating.
/// </summary>
internal sealed class SshAgentPool(TimeSpan replyTimeout) : IDisposable
{
    private readonly Dictionary<string, (SshAgentClient? Client, IReadOnlyList<AgentIdentity> Keys, string? Error)> _agents = new(StringComparer.Ordinal);

    /// <summary>
    /// Long enough for an agent that asks its user to confirm each use (ssh-add -c) or waits for a security key's touch.
    /// </summary>
    public static TimeSpan DefaultReplyTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>The agent at <paramref name="location"/> and its keys, or why it cannot be used.</summary>
    public (SshAgentClient? Client, IReadOnlyList<AgentIdentity> Keys, string? Error) Get(string location)
    {
        if (_agents.TryGetValue(location, out var known)) return known;
        SshAgentClient? client = null;
        try
        {
            client = SshAgentClient.Connect(location, replyTimeout);
            known = (client, client.ListIdentities(), null);
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException or UnauthorizedAccessException or TimeoutException)
        {
            client?.Dispose();
            known = (null, Array.Empty<AgentIdentity>(), ex.Message);
        }
        _agents[location] = known;
        return known;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (client, _, _) in _agents.Values) client?.Dispose();
        _agents.Clear();
    }
}

/// <summary>Chooses the keys to offer a host, in OpenSSH's order: the agent's keys first, then the identity files.</summary>
internal static class SshKeys
{
    /// <summary>The named pipe OpenSSH for Windows' agent listens on.</summary>
    internal const string WindowsAgentPipe = @"\\.\pipe\openssh-ssh-agent";

    /// <summary>
    /// Where to reach the agent for an IdentityAgent value, as OpenSSH reads it: unset or <c>SSH_AUTH_SOCK</c> means the
    /// SSH_AUTH_SOCK environment variable, <c>$NAME</c> another variable, <c>none</c> no agent, anything else a socket
    /// path (<c>~</c> expanded). Null (with the reason) when no agent is to be used.
    /// </summary>
    public static string? AgentLocation(string? identityAgent, Func<string, string?> environment, out string reason)
    {
        ArgumentNullException.ThrowIfNull(environment);
        reason = "";
        var value = identityAgent?.Trim();
        if (string.Equals(value, "none", StringComparison.OrdinalIgnoreCase))
        {
            reason = "IdentityAgent is none";
            return null;
        }
        string? variable = value is null or "" or "SSH_AUTH_SOCK" ? "SSH_AUTH_SOCK" : value.StartsWith('$') ? value[1..] : null;
        if (variable is not null)
        {
            var fromEnvironment = environment(variable);
            if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
            if (variable == "SSH_AUTH_SOCK" && OperatingSystem.IsWindows()) return WindowsAgentPipe;
            reason = $"{variable} is not set";
            return null;
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return value == "~" ? home : value!.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(home, value[2..]) : value;
    }

    /// <summary>
    /// The keys to offer <paramref name="host"/>: the agent's keys (with IdentitiesOnly only those whose public key matches
    /// an IdentityFile or its .pub), then the identity files the agent does not already offer. Files that do not exist are
    /// skipped; a file that cannot be loaded (encrypted without passphrase, unreadable) is an error only when nothing
    /// else can be offered.
    /// </summary>
    public static SshKeyPlan Plan(HbHost host, string? passphrase, SshAgentPool agents, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(agents);
        var plan = new SshKeyPlan();
        var files = host.IdentityFiles.Select(f => (Path: f, PublicKey: SshPublicKeys.ReadForIdentityFile(f))).ToList();
        var offered = new List<byte[]>();
        var location = AgentLocation(host.IdentityAgent, environment ?? Environment.GetEnvironmentVariable, out var reason);
        if (location is null)
        {
            plan.Agent = $"no ssh-agent ({reason})";
        }
        else
        {
            var (client, keys, error) = agents.Get(location);
            if (client is null)
            {
                plan.Agent = $"the ssh-agent at {location} is unreachable ({error})";
            }
            else
            {
                var usable = keys.Where(k => !host.IdentitiesOnly || files.Any(f => Same(f.PublicKey, k.PublicKey))).ToList();
                plan.Agent = $"the ssh-agent at {location} holds {Count(keys.Count, "key")}" +
                    (host.IdentitiesOnly ? $", {(usable.Count == 0 ? "none" : usable.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))} matching an IdentityFile (IdentitiesOnly)" : "");
                foreach (var key in usable)
                {
                    plan.Keys.Add(new AgentKey(client, key));
                    plan.Offered.Add($"agent key {key}");
                    offered.Add(key.PublicKey);
                }
            }
        }

        HbOpsException? firstProblem = null;
        foreach (var (file, publicKey) in files)
        {
            if (!File.Exists(file)) continue;
            if (offered.Any(o => Same(o, publicKey))) continue; // the agent offers this key: no passphrase needed
            if (SshPublicKeys.IsPublicKeyFile(file))
            {
                plan.NotOffered.Add($"{file} (a public key the agent does not hold)");
                continue;
            }
            try
            {
                var key = passphrase is null ? new PrivateKeyFile(file) : new PrivateKeyFile(file, passphrase);
                var blob = key.HostKeyAlgorithms.First().Data;
                if (offered.Any(o => Same(o, blob)))
                {
                    key.Dispose();
                    continue;
                }
                plan.Keys.Add(key);
                plan.Offered.Add(file);
                offered.Add(blob);
            }
            catch (SshPassPhraseNullOrEmptyException ex)
            {
                plan.NotOffered.Add($"{file} (encrypted, no passphrase given)");
                firstProblem ??= new HbOpsException(HbErrorIds.KeyFileInvalid, HbErrorCategory.SecurityError,
                    $"The private key '{file}' is encrypted and no passphrase was given ({plan.Agent}).", file,
                    "Pass -KeyPassphrase (SecureString) or add the key to the ssh-agent (ssh-add).", ex);
            }
            catch (Exception ex) when (ex is SshException or InvalidOperationException or ArgumentException or NotSupportedException or IOException or UnauthorizedAccessException)
            {
                plan.NotOffered.Add($"{file} ({ex.Message})");
                firstProblem ??= new HbOpsException(HbErrorIds.KeyFileInvalid, HbErrorCategory.SecurityError,
                    $"The private key '{file}' cannot be used: {ex.Message} ({plan.Agent}).", file, "Check the key file and its passphrase.", ex);
            }
        }
        if (plan.Keys.Count > 0) return plan;
        throw firstProblem ?? new HbOpsException(HbErrorIds.KeyFileInvalid, HbErrorCategory.SecurityError,
            $"No usable private key for {host}: none of [{string.Join(", ", host.IdentityFiles)}] exists" +
            (plan.NotOffered.Count > 0 ? $" as a usable private key ({string.Join("; ", plan.NotOffered)})" : "") + $", and {plan.Agent}.",
            host.ToString(), "Pass -KeyFile, set IdentityFile in the ssh config, or add the key to the ssh-agent (ssh-add).");
    }

    private static bool Same(byte[]? a, byte[]? b) => a is not null && b is not null && a.AsSpan().SequenceEqual(b);

    private static string Count(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
