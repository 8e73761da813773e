using System.Globalization;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>One element of a ProxyJump list: <c>[user@]host[:port]</c> or <c>ssh://[user@]host[:port]</c>.</summary>
internal sealed record JumpSpec(string? User, string Host, int? Port)
{
    /// <inheritdoc />
    public override string ToString() =>
        (User is null ? "" : User + "@") + (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host) +
        (Port is { } p ? ":" + p.ToString(CultureInfo.InvariantCulture) : "");
}

/// <summary>
/// OpenSSH's ProxyJump: the jump hosts a connection passes through, each resolved like a host of its own (an alias of
/// the same ssh config, or a plain name to which the config's patterns still apply).
/// </summary>
internal static class ProxyJump
{
    /// <summary>More hops than this is a mistake, most likely a ProxyJump that reaches itself through a <c>Host *</c> block.</summary>
    public const int MaxHops = 8;

    /// <summary>Splits a ProxyJump value; null, empty and <c>none</c> mean a direct connection.</summary>
    public static IReadOnlyList<JumpSpec> Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Trim() == "none") return Array.Empty<JumpSpec>();
        return value.Split(',').Select(e => ParseOne(e, value)).ToList();
    }

    private static JumpSpec ParseOne(string element, string whole)
    {
        var s = element.Trim();
        if (s.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase))
        {
            s = s["ssh://".Length..];
            if (s.EndsWith('/')) s = s[..^1];
        }
        string? user = null;
        var at = s.LastIndexOf('@');
        if (at >= 0)
        {
            user = s[..at];
            s = s[(at + 1)..];
            if (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) throw Bad("an empty or malformed user");
        }
        string host;
        int? port = null;
        if (s.StartsWith('['))
        {
            var close = s.IndexOf(']', StringComparison.Ordinal);
            if (close < 0) throw Bad("an unclosed '['");
            host = s[1..close];
            var rest = s[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':') throw Bad("text after ']'");
                port = Port(rest[1..]);
            }
        }
        else
        {
            var colon = s.IndexOf(':', StringComparison.Ordinal);
            // More than one colon without brackets is an IPv6 address, not host:port.
            if (colon >= 0 && s.IndexOf(':', colon + 1) < 0)
            {
                host = s[..colon];
                port = Port(s[(colon + 1)..]);
            }
            else
            {
                host = s;
            }
        }
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '/' or '@')) throw Bad("an empty or malformed host");
        return new JumpSpec(user, host, port);

        int Port(string text) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 65535 ? p : throw Bad($"the port '{text}'");

        HbOpsException Bad(string what) => HbOpsException.Invalid(
            $"ProxyJump '{whole}' has {what} in the hop '{element.Trim()}'; expected [user@]host[:port][,[user@]host[:port]...].", whole);
    }

    /// <summary>
    /// The jump hosts of <paramref name="target"/> in the order they are connected. As with OpenSSH, the first hop's own
    /// ProxyJump (from the ssh config) is followed too; the later hops are reached through the earlier ones as listed.
    /// </summary>
    public static IReadOnlyList<HbHost> Hops(HbHost target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var hops = new List<HbHost>();
        Add(target, target, hops, 0);
        return hops;
    }

    private static void Add(HbHost host, HbHost target, List<HbHost> hops, int depth)
    {
        var specs = Parse(host.ProxyJump);
        if (specs.Count == 0) return;
        // depth counts the first hops still being resolved (not yet in hops): a loop grows it without adding hops.
        if (depth + hops.Count + specs.Count > MaxHops)
        {
            throw HbOpsException.Invalid(
                $"The ProxyJump chain of {target} passes through more than {MaxHops} jump hosts; the ssh config's ProxyJump probably leads back to itself (exclude the jump host from a 'Host *' block that sets ProxyJump).",
                target.ToString());
        }
        var first = Resolve(specs[0], target);
        Add(first, target, hops, depth + 1);
        hops.Add(first);
        hops.AddRange(specs.Skip(1).Select(s => Resolve(s, target)));
    }

    /// <summary>
    /// Resolves one hop with the target's ssh config, as ssh resolves the name it is given for a hop: whatever Host and
    /// Match blocks apply to that name (it need not be a defined alias); explicit user and port in the ProxyJump win.
    /// Besides its own known_hosts files the hop also trusts the target's, so a -KnownHostsPath given for the connection
    /// covers its jump hosts too.
    /// </summary>
    public static HbHost Resolve(JumpSpec spec, HbHost target)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(target);
        var hop = HostResolver.Resolve(new HostSpec
        {
            Alias = spec.Host, User = spec.User, Port = spec.Port, SshConfigPath = target.SshConfigPath, AliasMustBeDefined = false,
        });
        hop.KnownHostsFiles.AddRange(target.KnownHostsFiles.Where(f => !hop.KnownHostsFiles.Contains(f)));
        return hop;
    }
}
