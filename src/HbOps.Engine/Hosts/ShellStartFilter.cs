using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Util;

namespace HbOps.Engine.Hosts;

/// <summary>
/// Separates a remote command's own output from what the account's login shell printed before the command started.
/// OpenSSH runs every exec request through the account's shell, and real hosts' start-up files print (welcome lines,
/// tool initialisers' warnings, <c>stty</c> complaints) on stdout and stderr, with or without a final newline. Every
/// command HbOps runs over SSH therefore first writes a per-command random marker line on both streams; everything up
/// to and including the marker is discarded, so no parser, dump stream, checksum, HTTP stream or message classifier
/// ever sees the shell's text.
/// </summary>
internal static class ShellStartFilter
{
    /// <summary>The most start-up text skipped before the marker; more means the shell is not going to run the command.</summary>
    internal const int MaxPreamble = 1024 * 1024;

    /// <summary>A fresh marker: unguessable by the shell's start-up files, plain ASCII, no shell metacharacters.</summary>
    internal static string NewMarker() => "HBOPS-START-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    /// <summary>
    /// The command line for the remote shell: a POSIX <c>sh</c> (whatever the login shell is) prints the marker on stdout
    /// and stderr, then replaces itself with the command, so its exit status and signals are the command's own.
    /// </summary>
    /// <remarks>
    /// sshd hands this line to the account's login shell, which may be bash, dash, zsh, ksh, fish or tcsh, and they
    /// disagree about quotes: fish and csh read backslashes inside single quotes, csh refuses newlines in them, zsh
    /// expands a word starting with '='. So the login shell only ever sees words of letters, digits, <c>-./=+</c> and
    /// backslash-escaped punctuation outside quotes, which all of them read alike: <c>exec /bin/sh -c BOOTSTRAP MARKER
    /// PAYLOAD</c>. The command itself (quoted for sh) travels base64-encoded in PAYLOAD, and sh decodes and runs it.
    /// </remarks>
    internal static string Wrap(IReadOnlyList<string> argv, string marker)
    {
        ArgumentNullException.ThrowIfNull(argv);
        var script = "printf '%s\\n' \"$0\"; printf '%s\\n' \"$0\" >&2; exec " + ShellQuote.Join(argv);
        var payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(script));
        return "exec /bin/sh -c " + Bootstrap + " " + marker + " " + payload;
    }

    // sh's script, read by the login shell as one word: eval "$(echo "$1" | base64 -d)". echo is safe here: base64 has
    // no backslashes. Without base64 on the host the marker never comes and sh's complaint is RemoteShellOutput.
    private static readonly string Bootstrap = EscapeForAnyShell("eval \"$(echo \"$1\" | base64 -d)\"");

    // A backslash before every character but letters, digits and -_./=+ (never first: zsh's =cmd), outside quotes.
    private static string EscapeForAnyShell(string word)
    {
        var sb = new StringBuilder(word.Length * 2);
        foreach (var c in word)
        {
            if (c is '\n' or '\r' or '!') throw new ArgumentException("A newline or '!' cannot be escaped for every shell.", nameof(word));
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '+' || (c == '=' && sb.Length > 0))) sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Wraps one of the command's output pipes so that reads start after the marker. <paramref name="whyEnded"/> is asked
    /// when the pipe ends with text but no marker: the error it returns (a lost connection: the shell's text was cut
    /// off, the command was never reached) wins over RemoteShellOutput (the shell itself ended before the command).
    /// </summary>
    internal static Stream Filter(Stream pipe, string marker, string host, string streamName,
        Func<CancellationToken, Task<Exception?>>? whyEnded = null) =>
        new MarkerSkippingStream(pipe, Encoding.ASCII.GetBytes(marker + "\n"), host, streamName, whyEnded);

    /// <summary>The pipe under a filtered stream (the stream itself when it is not filtered).</summary>
    internal static Stream Pipe(Stream stream) => stream is MarkerSkippingStream f ? f.Inner : stream;

    /// <summary>The error for a command whose marker never came although the shell printed something.</summary>
    internal static HbOpsException UnexpectedShellOutput(string host, string streamName, string preamble)
    {
        var first = preamble.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).FirstOrDefault() ?? "";
        if (first.Length > 200) first = first[..200] + "...";
        return new HbOpsException(HbErrorIds.RemoteShellOutput, HbErrorCategory.InvalidData,
            $"The remote shell on {host} printed unexpected text on {streamName} and the command never started: \"{Redaction.Redact(first)}\".",
            host, "Check the SSH account's shell start-up files (~/.bashrc, ~/.profile, /etc/profile.d): one of them prints or exits for non-interactive commands.");
    }

    private sealed class MarkerSkippingStream(Stream inner, byte[] marker, string host, string streamName,
        Func<CancellationToken, Task<Exception?>>? whyEnded) : ReadOnlyStream
    {
        private byte[]? _pending; // what followed the marker in the read that found it
        private int _pendingOffset;
        private bool _started;

        public Stream Inner => inner;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_started) await SkipPreambleAsync(cancellationToken).ConfigureAwait(false);
            if (_pending is not null)
            {
                var n = Math.Min(buffer.Length, _pending.Length - _pendingOffset);
                _pending.AsMemory(_pendingOffset, n).CopyTo(buffer);
                _pendingOffset += n;
                if (_pendingOffset == _pending.Length) _pending = null;
                return n;
            }
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        private async Task SkipPreambleAsync(CancellationToken ct)
        {
            using var seen = new MemoryStream();
            var chunk = new byte[16 * 1024];
            while (true)
            {
                var n = await inner.ReadAsync(chunk, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    _started = true;
                    // A command that never started and printed nothing (killed, connection gone): its exit tells why.
                    if (seen.Length == 0) return;
                    if (whyEnded is not null && await whyEnded(ct).ConfigureAwait(false) is { } reason) throw reason;
                    throw UnexpectedShellOutput(host, streamName, Encoding.UTF8.GetString(seen.GetBuffer(), 0, (int)seen.Length));
                }
                // Search only from where a marker could start in the new bytes.
                var from = (int)Math.Max(0, seen.Length - marker.Length + 1);
                seen.Write(chunk, 0, n);
                var all = seen.GetBuffer().AsSpan(0, (int)seen.Length);
                var at = all[from..].IndexOf(marker);
                if (at >= 0)
                {
                    var end = from + at + marker.Length;
                    if (end < all.Length) _pending = all[end..].ToArray();
                    _started = true;
                    return;
                }
                if (seen.Length > MaxPreamble)
                {
                    _started = true;
                    throw UnexpectedShellOutput(host, streamName, Encoding.UTF8.GetString(seen.GetBuffer(), 0, 4096));
                }
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
