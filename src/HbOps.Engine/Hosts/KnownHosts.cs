using System.Security.Cryptography;
using System.Text;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>Outcome of checking a host key against known_hosts.</summary>
internal enum HostKeyStatus
{
    /// <summary>An entry for the host with this exact key exists.</summary>
    Trusted,
    /// <summary>No entry of this key type exists for the host.</summary>
    Unknown,
    /// <summary>An entry of this key type exists for the host with a different key, or the key is revoked.</summary>
    Mismatch,
}

/// <summary>
/// Reads OpenSSH known_hosts files: plain and hashed (<c>|1|salt|hash</c>) host fields,
/// <c>[host]:port</c> forms, comma lists, wildcards, negation and the <c>@revoked</c> marker.
/// </summary>
internal static class KnownHosts
{
    /// <summary>The default per-user known_hosts path.</summary>
    public static string DefaultPath => Path.Combine(SshConfig.HomeDirectory, ".ssh", "known_hosts");

    /// <summary>OpenSSH-style fingerprint: <c>SHA256:</c> + unpadded base64 of the key blob's SHA-256.</summary>
    public static string Fingerprint(byte[] keyBlob) =>
        "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    /// <summary>The host field OpenSSH uses: <c>host</c> for port 22, <c>[host]:port</c> otherwise.</summary>
    public static string HostField(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    /// <summary>Checks a presented key against the given known_hosts texts.</summary>
    public static HostKeyStatus Check(IEnumerable<string> knownHostsTexts, string host, int port, string keyType, byte[] keyBlob)
    {
        ArgumentNullException.ThrowIfNull(knownHostsTexts);
        var lookup = HostField(host, port);
        bool sameTypeOtherKey = false;
        bool trusted = false;
        foreach (var text in knownHostsTexts)
        {
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var parts = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                string? marker = null;
                if (parts[0].StartsWith('@')) { marker = parts[0]; parts = parts[1..]; }
                if (parts.Length < 3) continue;
                if (marker == "@cert-authority") continue;
                if (!HostFieldMatches(parts[0], lookup)) continue;
                if (!string.Equals(parts[1], keyType, StringComparison.Ordinal)) continue;
                byte[] blob;
                try { blob = Convert.FromBase64String(parts[2]); }
                catch (FormatException) { continue; }
                bool same = CryptographicOperations.FixedTimeEquals(blob, keyBlob);
                if (marker == "@revoked")
                {
                    if (same) return HostKeyStatus.Mismatch;
                    continue;
                }
                if (same) trusted = true; else sameTypeOtherKey = true;
            }
        }
        if (trusted) return HostKeyStatus.Trusted;
        return sameTypeOtherKey ? HostKeyStatus.Mismatch : HostKeyStatus.Unknown;
    }

    /// <summary>Checks against files; missing files count as empty.</summary>
    public static HostKeyStatus CheckFiles(IEnumerable<string> files, string host, int port, string keyType, byte[] keyBlob) =>
        Check(files.Where(File.Exists).Select(File.ReadAllText), host, port, keyType, keyBlob);

    /// <summary>Appends an entry (used only with an explicit -AcceptNewHostKey).</summary>
    public static void Append(string file, string host, int port, string keyType, byte[] keyBlob)
    {
        var dir = Path.GetDirectoryName(file);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var needsNewline = File.Exists(file) && new FileInfo(file).Length > 0 && !File.ReadAllText(file).EndsWith('\n');
        File.AppendAllText(file, (needsNewline ? "\n" : "") + $"{HostField(host, port)} {keyType} {Convert.ToBase64String(keyBlob)}\n");
    }

    /// <summary>True when a known_hosts host field (comma list, hashed, wildcard, negated) matches.</summary>
    public static bool HostFieldMatches(string field, string lookup)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (field.StartsWith("|1|", StringComparison.Ordinal)) return HashedMatches(field, lookup);
        bool matched = false;
        foreach (var pattern in field.Split(','))
        {
            bool negate = pattern.StartsWith('!');
            var p = negate ? pattern[1..] : pattern;
            if (!SshConfig.Glob(p, lookup)) continue;
            if (negate) return false;
            matched = true;
        }
        return matched;
    }

    private static bool HashedMatches(string field, string lookup)
    {
        var parts = field.Split('|');
        if (parts.Length != 4) return false;
        try
        {
            var salt = Convert.FromBase64String(parts[2]);
            var expected = Convert.FromBase64String(parts[3]);
#pragma warning disable CA5350 // OpenSSH's hashed known_hosts format is defined as HMAC-SHA1; this only matches names.
            var actual = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(lookup));
#pragma warning restore CA5350
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
