using System.Globalization;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Scripts;
using HbOps.Engine.Util;

namespace HbOps.Engine.Backup;

/// <summary>Where a host-side dump writes and whose server session stops it.</summary>
/// <param name="RunId">The run id (hex): names the run's files and nothing else's.</param>
/// <param name="GroupReadable">Folders 0750 and files 0640 instead of 0700 and 0600.</param>
/// <param name="Container">Production container.</param>
/// <param name="User">Role pg_dump connects as.</param>
/// <param name="Database">Database pg_dump reads.</param>
/// <param name="ApplicationName">pg_dump's application_name (its server session is ended to stop it).</param>
/// <param name="RunFolder">Run folder on the host (host mode).</param>
/// <param name="BaseName">Artefact name without extension (host mode).</param>
/// <param name="Recipients">age recipients: the dump is encrypted on the docker host while it streams (empty: not).</param>
internal sealed record HostDumpSpec(string RunId, bool GroupReadable, string Container, string User, string Database,
    string ApplicationName, string RunFolder, string BaseName, IReadOnlyList<string>? Recipients = null)
{
    /// <summary>True when the dump is encrypted.</summary>
    public bool Encrypted => Recipients is { Count: > 0 };
}

/// <summary>The <c>key=value</c> lines a dump reported up to <c>end=dump</c>.</summary>
internal sealed class HostDumpStatus
{
    public bool Ended { get; set; }
    public string? Partial { get; set; }
    public int? DumpExit { get; set; }
    public int? PassExit { get; set; }
    public int? WriteExit { get; set; }
    public string? Sha256 { get; set; }
    public long? Size { get; set; }
    public int? EncryptExit { get; set; }
    public List<string> EncryptErrors { get; } = new();
    public string? PlainSha256 { get; set; }
    public long? PlainSize { get; set; }
    public (int RestartCount, string StartedAt)? After { get; set; }
    public List<string> Stderr { get; } = new();
    public List<string> WriteErrors { get; } = new();
    public List<string> Errors { get; } = new();
    /// <summary>Lines that are not the script's (a shell or docker complaining on its own).</summary>
    public List<string> Other { get; } = new();
    public string? ClaimedName { get; set; }
    public bool Aborted { get; set; }
}

/// <summary>
/// HbOps' side of one run of <c>Scripts/dump.sh</c>: starts it, reads its <c>key=value</c> status lines, and answers
/// with claim, finish or abort. The script stops the dump itself when its input ends, so a lost connection leaves
/// nothing running; HbOps never ends it with a signal while it can still answer (OpenSSH delivers a signal to the
/// whole process group, which would kill the script before it cleaned up).
/// </summary>
internal sealed class HostDump : IAsyncDisposable
{
    /// <summary>How long an aborted dump may take to stop its server side and remove its partial file.</summary>
    public static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(30);

    private readonly IRunningCommand _cmd;
    private readonly bool _stream;
    private readonly HostDumpStatus _status = new();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string?> _named = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _reader;
    private readonly Action<long>? _progress;
    private Task? _dataDrain;
    private bool _requested;

    private HostDump(IRunningCommand cmd, bool stream, Action<long>? progress)
    {
        _cmd = cmd;
        _stream = stream;
        _progress = progress;
        _reader = Task.Run(ReadStatusAsync);
    }

    /// <summary>The dump's bytes (stream mode).</summary>
    public Stream Data => _cmd.StandardOutput;

    /// <summary>What the script reported so far.</summary>
    public HostDumpStatus Status => _status;

    /// <summary>
    /// Starts the script. Host mode writes the dump to a partial file on the host (progress comes as bytes written);
    /// stream mode passes it on on stdout (status on stderr).
    /// </summary>
    public static async Task<HostDump> StartAsync(ICommandHost host, bool stream, HostDumpSpec spec, IReadOnlyList<string> dumpArgv,
        Action<long>? progress, CancellationToken ct)
    {
        var argv = new List<string>
        {
            "sh", "-c", HostScripts.Dump, "hbops-dump", stream ? "stream" : "host", spec.RunId, spec.GroupReadable ? "group" : "private",
            spec.Container, spec.User, spec.Database, spec.ApplicationName, stream ? "-" : spec.RunFolder, stream ? "-" : spec.BaseName,
            spec.Encrypted ? string.Join('\n', spec.Recipients!) : "-", "--",
        };
        argv.AddRange(dumpArgv);
        var cmd = stream ? await host.StartStreamingAsync(argv, ct).ConfigureAwait(false) : await host.StartAsync(argv, ct).ConfigureAwait(false);
        return new HostDump(cmd, stream, progress);
    }

    private async Task ReadStatusAsync()
    {
        try
        {
            using var reader = new StreamReader(_stream ? _cmd.StandardError : _cmd.StandardOutput, Encoding.UTF8, false, 16 * 1024, leaveOpen: true);
            while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line) Take(line);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or HbOpsException or OperationCanceledException)
        {
            // The output ended with the command or its connection; the exit says which.
        }
        finally
        {
            _ended.TrySetResult();
            _named.TrySetResult(null);
        }
    }

    private void Take(string line)
    {
        var eq = line.IndexOf('=', StringComparison.Ordinal);
        var key = eq > 0 ? line[..eq] : "";
        var value = eq > 0 ? line[(eq + 1)..] : line;
        static int? Int(string s) => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
        lock (_status)
        {
            switch (key)
            {
                case "progress":
                    if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes)) _progress?.Invoke(bytes);
                    break;
                case "partial": _status.Partial = value; break;
                case "stderr": _status.Stderr.Add(value); break;
                case "dump_rc": _status.DumpExit = Int(value); break;
                case "pass_rc": _status.PassExit = Int(value); break;
                case "write_rc": _status.WriteExit = Int(value); break;
                case "write_error": _status.WriteErrors.Add(value); break;
                case "sha256": _status.Sha256 = ShellHostFiles.ParseSha256(value); break;
                case "encrypt_rc": _status.EncryptExit = Int(value); break;
                case "encrypt_error": _status.EncryptErrors.Add(value); break;
                case "plain_sha256": _status.PlainSha256 = ShellHostFiles.ParseSha256(value); break;
                case "plain_size": _status.PlainSize = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var plain) ? plain : null; break;
                case "size": _status.Size = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) ? size : null; break;
                case "after":
                    var parts = value.Split('|', 2);
                    _status.After = parts.Length == 2 && Int(parts[0]) is { } restarts ? (restarts, parts[1]) : null;
                    break;
                case "end":
                    _status.Ended = true;
                    _ended.TrySetResult();
                    break;
                case "file": _named.TrySetResult(value); break;
                case "claimed": _status.ClaimedName = value; break;
                case "aborted": _status.Aborted = true; break;
                case "error":
                    _status.Errors.Add(value);
                    _named.TrySetResult(null); // a claim that failed names no file
                    break;
                default: _status.Other.Add(line); break;
            }
        }
    }

    /// <summary>
    /// Waits until the dump has ended (successfully or not). When the script's output ends without reporting that, its
    /// exit is awaited: a lost connection is <c>SshConnectionLost</c>.
    /// </summary>
    public async Task<HostDumpStatus> WaitDumpedAsync(CancellationToken ct)
    {
        await _ended.Task.WaitAsync(ct).ConfigureAwait(false);
        if (!_status.Ended) await _cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        return _status;
    }

    /// <summary>
    /// Host mode: claims the partial file under its final name (never replacing a file), writes the manifest that
    /// <paramref name="manifestFor"/> makes for that name and appends the dump's and the manifest's checksums to
    /// SHA256SUMS (under the folder's lock). Returns the claimed file name. The script undoes everything of a claim that
    /// did not complete.
    /// </summary>
    public async Task<string> ClaimAsync(string sha256, Func<string, string> manifestFor, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(manifestFor);
        _requested = true;
        await SendAsync($"claim\n{sha256}\n", ct).ConfigureAwait(false);
        var name = await _named.Task.WaitAsync(ct).ConfigureAwait(false);
        if (name is not null)
        {
            // The manifest's own SHA-256 goes into SHA256SUMS beside the dump's (an edited manifest no longer verifies).
            var manifest = new UTF8Encoding(false).GetBytes(manifestFor(name));
            var manifestSha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(manifest)).ToLowerInvariant();
            await SendAsync($"{manifestSha}\n{manifest.Length.ToString(CultureInfo.InvariantCulture)}\n", ct).ConfigureAwait(false);
            await _cmd.StandardInput.WriteAsync(manifest, ct).ConfigureAwait(false);
        }
        await EndInputAsync().ConfigureAwait(false);
        var exit = await _cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        if (exit != 0 || _status.ClaimedName is null)
        {
            throw LocalHostFiles.NotWritable(_status.Partial ?? "", "claiming the artefact failed: " + Describe(exit));
        }
        return _status.ClaimedName;
    }

    /// <summary>
    /// Stream mode: waits for the script to exit (it ends with the dump; its output ends only as it exits). Nothing is
    /// sent: its input stays open, so no end-of-file can follow its channel's close.
    /// </summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        _requested = true;
        await _cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the dump: the script ends pg_dump's server session and removes the run's partial file. Returns true when
    /// the script confirmed it; false when it could not be asked (the connection is gone: the script then does the
    /// same on its own, as its input ended) or did not answer in time.
    /// </summary>
    public async Task<bool> AbortAsync()
    {
        if (_requested) return _status.Aborted;
        _requested = true;
        // The script's stdout must keep flowing while the dump unwinds.
        if (_stream) _dataDrain ??= DrainAsync(Data);
        using var grace = new CancellationTokenSource(AbortGrace);
        try
        {
            await SendAsync("abort\n", grace.Token).ConfigureAwait(false);
            // Host mode: the script reads its input to the end before it exits. Stream mode: it exits with the dump, so
            // its input is not ended (an end-of-file could follow the channel's close).
            if (!_stream) await EndInputAsync().ConfigureAwait(false);
            await _cmd.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            await _reader.WaitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        return _status.Aborted;
    }

    private static async Task DrainAsync(Stream s)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await s.ReadAsync(buffer).ConfigureAwait(false) > 0) { }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or HbOpsException or OperationCanceledException)
        {
            // Gone with the command.
        }
    }

    private async Task SendAsync(string text, CancellationToken ct)
    {
        await _cmd.StandardInput.WriteAsync(Encoding.ASCII.GetBytes(text), ct).ConfigureAwait(false);
        await _cmd.StandardInput.FlushAsync(ct).ConfigureAwait(false);
    }

    // Every request is followed by the end of the input; the script exits only after it (see dump.sh).
    private async Task EndInputAsync() => await _cmd.StandardInput.DisposeAsync().ConfigureAwait(false);

    /// <summary>The script's own words on why it failed (error lines and anything else it printed), redacted.</summary>
    public string Describe(int? exit = null)
    {
        lock (_status)
        {
            var parts = _status.Errors.Concat(_status.Other).Where(s => s.Trim().Length > 0).ToList();
            if (exit is { } e && parts.Count == 0) parts.Add($"exit {e}");
            return Redaction.Redact(string.Join("; ", parts));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // Never left running unanswered: an unfinished dump is aborted first (the script cleans up), only then is the
        // command itself released.
        if (!_requested) await AbortAsync().ConfigureAwait(false);
        await _cmd.DisposeAsync().ConfigureAwait(false);
        try { await _reader.ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or ObjectDisposedException) { }
        if (_dataDrain is not null) await _dataDrain.ConfigureAwait(false);
    }
}
