using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;

namespace HbOps.Engine.Backup;

/// <summary>
/// age (age-encryption.org/v1) as HbOps uses it: recipients (public keys) are checked strictly before anything runs,
/// identity files (private keys) are checked on the operator's machine and only ever travel on a process's standard
/// input, never on a command line, and never to a disk of the docker host.
/// </summary>
public static class AgeEncryption
{
    /// <summary>The first line of every age file.</summary>
    public const string Header = "age-encryption.org/v1";

    /// <summary>Largest identity file read (a few keys and comments fit easily).</summary>
    public const int MaxIdentityBytes = 64 * 1024;

    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    /// <summary>
    /// Checks and normalises recipients: <c>age1...</c> X25519 recipients (Bech32 with a valid checksum and a 32-byte
    /// key), and OpenSSH <c>ssh-ed25519</c> / <c>ssh-rsa</c> public key lines (the key blob must name its own type; a
    /// trailing comment is dropped). Duplicates are removed, the order kept. Anything else is <c>RecipientInvalid</c>.
    /// </summary>
    public static IReadOnlyList<string> ValidateRecipients(IEnumerable<string>? recipients)
    {
        var result = new List<string>();
        foreach (var raw in recipients ?? Array.Empty<string>())
        {
            var r = (raw ?? "").Trim();
            // A private key passed by mistake is named as such and never repeated (not in the message, not as the target).
            if (r.StartsWith("AGE-SECRET-KEY-", StringComparison.OrdinalIgnoreCase) || r.Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                throw new HbOpsException(HbErrorIds.RecipientInvalid, HbErrorCategory.InvalidArgument,
                    "-Recipient was given a private key; a recipient is a public key. The value is not repeated here.", null,
                    "Pass the public key (age-keygen -y KEYFILE prints it), and treat the private key as exposed if it was typed or logged.");
            }
            var normal = NormaliseRecipient(r) ?? throw new HbOpsException(HbErrorIds.RecipientInvalid, HbErrorCategory.InvalidArgument,
                $"-Recipient '{Validation.Printable(Shorten(r))}' is not an age recipient: expected an X25519 recipient (age1..., as printed by age-keygen -y) " +
                "or an OpenSSH public key line (ssh-ed25519 AAAA... or ssh-rsa AAAA...).", Shorten(r),
                "Pass the public key (age-keygen -y KEYFILE prints it).");
            if (!result.Contains(normal, StringComparer.Ordinal)) result.Add(normal);
        }
        return result;
    }

    private static string Shorten(string s) => s.Length > 80 ? s[..80] + "..." : s;

    private static string? NormaliseRecipient(string r)
    {
        if (r.Length == 0 || r.Any(char.IsControl)) return null;
        if (r.StartsWith("age1", StringComparison.Ordinal))
        {
            return Bech32Data(r, "age") is { Length: 32 } ? r : null;
        }
        var parts = r.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || parts[0] is not ("ssh-ed25519" or "ssh-rsa")) return null;
        byte[] blob;
        try { blob = Convert.FromBase64String(parts[1]); }
        catch (FormatException) { return null; }
        // The blob starts with its own type as an SSH string (uint32 length, bytes).
        if (blob.Length < 4) return null;
        var n = (blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3];
        if (n <= 0 || n > blob.Length - 4 || Encoding.ASCII.GetString(blob, 4, n) != parts[0]) return null;
        if (parts[0] == "ssh-ed25519" && blob.Length != 4 + n + 4 + 32) return null;
        return parts[0] + " " + parts[1];
    }

    /// <summary>
    /// Checks an identity file's content: one or more <c>AGE-SECRET-KEY-1...</c> lines (valid Bech32, 32-byte key),
    /// blank lines and <c>#</c> comments. Returns only the key lines (what the sandbox gets). The content itself never
    /// appears in the error.
    /// </summary>
    public static byte[] ValidateIdentity(ReadOnlySpan<byte> content, string source)
    {
        static HbOpsException Bad(string source, string why) => new(HbErrorIds.IdentityInvalid, HbErrorCategory.InvalidArgument,
            $"-Identity '{source}' is not an age identity file: {why}.", source,
            "Pass a file written by age-keygen (lines AGE-SECRET-KEY-1...); passphrase-protected and SSH private keys are not supported.");
        if (content.Length == 0) throw Bad(source, "it is empty");
        if (content.Length > MaxIdentityBytes) throw Bad(source, $"it is larger than {MaxIdentityBytes} bytes");
        string text;
        try { text = new UTF8Encoding(false, true).GetString(content); }
        catch (DecoderFallbackException) { throw Bad(source, "it is not text"); }
        var keys = new StringBuilder();
        var count = 0;
        var lineNo = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNo++;
            var line = rawLine.TrimEnd('\r').Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (!line.StartsWith("AGE-SECRET-KEY-1", StringComparison.Ordinal) || Bech32Data(line, "age-secret-key-") is not { Length: 32 })
            {
                throw Bad(source, $"line {lineNo} is neither a comment nor an AGE-SECRET-KEY-1 key");
            }
            keys.Append(line).Append('\n');
            count++;
        }
        if (count == 0) throw Bad(source, "it holds no AGE-SECRET-KEY-1 key");
        return Encoding.ASCII.GetBytes(keys.ToString());
    }

    /// <summary>
    /// The data bytes of a Bech32 string (BIP 173 checksum, no length limit, one case throughout) with the given
    /// human-readable part; null when it is not one.
    /// </summary>
    internal static byte[]? Bech32Data(string s, string hrp)
    {
        if (s.Length > 1000 || (s.Any(char.IsUpper) && s.Any(char.IsLower))) return null;
        s = s.ToLowerInvariant();
        var sep = s.LastIndexOf('1');
        if (sep < 1 || s[..sep] != hrp || s.Length - sep - 1 < 6) return null;
        var values = new List<int>();
        foreach (var c in s[(sep + 1)..])
        {
            var v = Charset.IndexOf(c, StringComparison.Ordinal);
            if (v < 0) return null;
            values.Add(v);
        }
        var check = new List<int>();
        foreach (var c in hrp) check.Add(c >> 5);
        check.Add(0);
        foreach (var c in hrp) check.Add(c & 31);
        check.AddRange(values);
        if (Polymod(check) != 1) return null;
        // 5-bit groups to bytes, without padding beyond four zero bits.
        var data = values.Take(values.Count - 6);
        var bytes = new List<byte>();
        int acc = 0, bits = 0;
        foreach (var v in data)
        {
            acc = (acc << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes.Add((byte)((acc >> bits) & 0xff));
            }
        }
        if (bits >= 5 || ((acc << (8 - bits)) & 0xff) != 0) return null;
        return bytes.ToArray();
    }

    private static int Polymod(IEnumerable<int> values)
    {
        int[] gen = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
        var chk = 1;
        foreach (var v in values)
        {
            var top = chk >> 25;
            chk = ((chk & 0x1ffffff) << 5) ^ v;
            for (var i = 0; i < 5; i++) if (((top >> i) & 1) != 0) chk ^= gen[i];
        }
        return chk;
    }

    /// <summary>
    /// The version of age on the docker host (<c>age --version</c>); <c>EncryptionUnavailable</c> when it is not
    /// installed there. Nothing is written.
    /// </summary>
    public static async Task<string> ProbeHostAsync(ICommandHost host, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        // Through sh, so a missing tool is exit 127 on every kind of host (a local one could not even start it).
        var r = await host.RunAsync(new[] { "sh", "-c", "command -v age >/dev/null 2>&1 || { echo 'age: not found' >&2; exit 127; }; exec age --version", "hbops-age" }, ct).ConfigureAwait(false);
        var version = r.StandardOutput.Trim();
        if (!r.Succeeded || version.Length == 0)
        {
            throw new HbOpsException(HbErrorIds.EncryptionUnavailable, HbErrorCategory.ResourceUnavailable,
                $"Encryption needs the age tool on {host.Host}, and it is not installed there (age --version: exit {r.ExitCode}" +
                $"{(r.StandardError.Trim().Length > 0 ? ", " + Redaction.Redact(r.StandardError.Trim()) : "")}).", host.Host.ToString(),
                "Install it on the docker host (Debian/Ubuntu: apt-get install age); only the public key is ever needed there.");
        }
        return version.Split('\n')[0].Trim();
    }
}
