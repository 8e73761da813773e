using System.Globalization;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Copies;

/// <summary>
/// Artefacts on the docker host, reached through its SSH connection: a dump is read by <c>cat</c> on a streaming command
/// (a bounded pipe: the host is held back while the reader is behind, so nothing piles up in memory), and an artefact is
/// removed by one small script (one round trip).
/// </summary>
public sealed class HostArtefactSource(ICommandHost host) : IArtefactSource
{
    private readonly ShellHostFiles _files = new(host);

    /// <inheritdoc />
    public HbArtefactLocation Location => HbArtefactLocation.Host;

    /// <inheritdoc />
    public HbHost? StorageHost => null;

    /// <inheritdoc />
    public IHostFiles Files => _files;

    /// <inheritdoc />
    public string Describe(string path) => $"'{path}' on {host.Host}";

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string path, CancellationToken ct)
    {
        var cmd = await host.StartStreamingAsync(new[] { "cat", "--", path }, ct).ConfigureAwait(false);
        await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
        return new CommandOutputStream(cmd, path, host.Host);
    }

    // Removes, in order: the manifest (the artefact is no longer listed), the dump, its SHA256SUMS lines (rewritten through
    // a temporary file and renamed; removed when nothing else is listed), its copy and restore-test records, and the run
    // folder ($2, when given) if it is left empty. Prints one 'removed|<path>' line per file.
    private const string RemoveScript = """
        dump=$1; folder=$2; dir=${dump%/*}; name=${dump##*/}; sums="$dir/SHA256SUMS"
        for f in "$dump.manifest.yml" "$dump"; do
          if [ -e "$f" ]; then rm -f -- "$f" || exit 1; printf 'removed|%s\n' "$f"; fi
        done
        if [ -f "$sums" ]; then
          # Under the folder's SHA256SUMS lock (created with O_EXCL; backups take the same one), so a backup claiming meanwhile
          # keeps its lines; the rewrite is as readable as the file was (never wider).
          lock="$dir/SHA256SUMS.lock"; i=0
          until (set -C; : > "$lock") 2>/dev/null; do
            [ -e "$lock" ] && [ "$i" -lt 150 ] || { echo "cannot take $lock (left by a killed run? remove it when no backup is running)" >&2; exit 1; }
            i=$((i + 1)); sleep 0.2 2>/dev/null || sleep 1
          done
          trap 'rm -f -- "$lock"' EXIT
          umask 077
          if [ -n "$(find "$sums" -prune -perm -g=r 2>/dev/null)" ]; then umask 027; fi
          tmp="$sums.tmp.$$"
          awk -v a="$name" -v b="$name.manifest.yml" '{ n = substr($0, 67); if (length($0) > 66 && substr($0, 65, 2) == "  " && (n == a || n == b)) next; print }' "$sums" > "$tmp" || { rm -f -- "$tmp"; exit 1; }
          if [ -s "$tmp" ]; then mv -f -- "$tmp" "$sums" || exit 1; else rm -f -- "$tmp" "$sums" || exit 1; fi
          rm -f -- "$lock"; trap - EXIT
        fi
        for f in "$dump.copy.yml" "$dump".restore-*.yml; do
          [ -e "$f" ] || continue
          rm -f -- "$f" || exit 1; printf 'removed|%s\n' "$f"
        done
        if [ -n "$folder" ]; then rmdir -- "$folder" 2>/dev/null || true; fi
        exit 0
        """;

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RemoveArtefactAsync(HbBackupArtefact artefact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var folder = RunFolderToRemove(artefact, '/');
        var r = await host.RunAsync(new[] { "sh", "-c", RemoveScript, "hbops-remove", artefact.Path, folder ?? "" }, ct).ConfigureAwait(false);
        var removed = r.StandardOutput.Split('\n').Where(l => l.StartsWith("removed|", StringComparison.Ordinal)).Select(l => l["removed|".Length..]).ToList();
        if (!r.Succeeded)
        {
            throw new HbOpsException(HbErrorIds.RemovalFailed, HbErrorCategory.OperationFailed,
                $"Removing '{artefact.Path}' on {host.Host} failed after removing [{string.Join(", ", removed)}]: {Redaction.Redact(r.StandardError.Trim())}",
                artefact.Path);
        }
        return removed;
    }

    /// <summary>
    /// The artefact's folder when it is a run folder Invoke-HbBackup made (named &lt;Tag&gt;_&lt;yyyy-MM-dd&gt; of its
    /// timestamp), which may go once empty; null otherwise (a backup root is never removed).
    /// </summary>
    public static string? RunFolderToRemove(HbBackupArtefact artefact, char separator)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        var cut = artefact.Path.LastIndexOf(separator);
        if (cut <= 0) return null;
        var folder = artefact.Path[..cut];
        var expected = $"{artefact.Tag}_{artefact.TimestampUtc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
        return folder[(folder.LastIndexOf(separator) + 1)..] == expected ? folder : null;
    }

    // A command's stdout as a read-only stream whose end is checked: once the output ended, the command's exit must be 0,
    // or the read throws with its stderr (a dump that vanished or became unreadable is never taken as complete).
    private sealed class CommandOutputStream(IRunningCommand cmd, string path, HbHost host) : ReadOnlyStream
    {
        private readonly Task<string> _stderr = new StreamReader(cmd.StandardError, Encoding.UTF8).ReadToEndAsync();
        private bool _ended;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_ended) return 0;
            var n = await cmd.StandardOutput.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n > 0 || buffer.Length == 0) return n;
            _ended = true;
            var exit = await cmd.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            if (exit != 0)
            {
                throw new HbOpsException(HbErrorIds.ArtefactNotFound, HbErrorCategory.ObjectNotFound,
                    $"Reading '{path}' on {host} failed (exit {exit}): {Redaction.Redact((await _stderr.ConfigureAwait(false)).Trim())}", path);
            }
            return 0;
        }

        private int _disposed;

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) await cmd.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0) cmd.DisposeAsync().AsTask().GetAwaiter().GetResult();
            base.Dispose(disposing);
        }
    }
}
