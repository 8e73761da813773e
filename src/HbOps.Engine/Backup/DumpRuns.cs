using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Postgres;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Backup;

/// <summary>What a finished dump produced.</summary>
/// <remarks>With encryption, <c>Sha256</c>/<c>Size</c> are the ciphertext's and <c>PlainSha256</c>/<c>PlainSize</c> the plaintext's.</remarks>
internal sealed record DumpResult(string Sha256, long Size, string Stderr, (int RestartCount, string StartedAt)? After,
    string? PlainSha256 = null, long? PlainSize = null);

/// <summary>
/// One dump from start to claim, owning every file it makes: a partial file named with the run id (created with
/// O_EXCL), claimed under its final name without ever replacing a file, or removed when the run fails, is cancelled or
/// loses its connection. Nothing of another run is ever written or removed.
/// </summary>
internal abstract class DumpRun(HostDumpSpec spec) : IAsyncDisposable
{
    protected HostDumpSpec Spec { get; } = spec;

    /// <summary>Runs the dump to its end; a failed dump is an exception (its partial file already removed).</summary>
    public abstract Task<DumpResult> RunAsync(CancellationToken ct);

    /// <summary>Claims the dump (see <see cref="HostDump.ClaimAsync"/>); returns the claimed file name.</summary>
    public abstract Task<string> ClaimAsync(string sha256, Func<string, string> manifestFor, CancellationToken ct);

    /// <summary>Stops the dump (its server session too) and removes this run's partial file.</summary>
    public abstract Task AbortAsync(Exception? cause);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    protected static HbOpsException Failed(string partial, string why, string action = "Check the database and pg_dump's message.") =>
        PgEndpoint.IsLockTimeout(why)
            ? new(HbErrorIds.LockTimeout, HbErrorCategory.ResourceUnavailable, $"Backup failed: pg_dump could not lock a table within the lock wait timeout: {why}", partial, PgEndpoint.LockTimeoutAction)
            : new(HbErrorIds.DumpFailed, HbErrorCategory.OperationFailed, $"Backup failed: {why}", partial, action);

    /// <summary>Names ENOSPC when the writer's message says the filesystem is full.</summary>
    protected static string NameDiskFull(string text) =>
        text.Contains("No space left on device", StringComparison.OrdinalIgnoreCase) ? text + " (ENOSPC: the destination's filesystem is full)" : text;

    /// <summary>Why a dump that ended did not succeed, from the script's key=value report; null when it succeeded.</summary>
    protected static string? Failure(HostDumpStatus s, string partial, bool hostWrites, bool encrypted = false)
    {
        var stderr = Redaction.Redact(string.Join('\n', s.Stderr).Trim());
        if (s.DumpExit != 0) return $"pg_dump failed (exit {Code(s.DumpExit)}): {(stderr.Length > 0 ? stderr : "no message")}";
        if (encrypted && s.EncryptExit != 0)
        {
            var why = Redaction.Redact(string.Join("; ", s.EncryptErrors).Trim());
            return $"age failed to encrypt the dump (exit {Code(s.EncryptExit)}): {(why.Length > 0 ? why : "no message")}";
        }
        if (encrypted && (s.PlainSha256 is null || s.PlainSize is null)) return "no SHA-256 or size of the plaintext was reported";
        if (hostWrites && s.WriteExit != 0)
        {
            var why = Redaction.Redact(string.Join("; ", s.WriteErrors).Trim());
            return NameDiskFull($"writing '{partial}' failed (tee exit {Code(s.WriteExit)}): {(why.Length > 0 ? why : "no message")}");
        }
        if (s.PassExit != 0) return $"passing the dump on failed (dd exit {Code(s.PassExit)})";
        if (hostWrites && (s.Sha256 is null || s.Size is null)) return $"no SHA-256 or size was reported for '{partial}'";
        return null;

        static string Code(int? c) => c?.ToString(CultureInfo.InvariantCulture) ?? "unknown";
    }
}

/// <summary>The dump written on the docker host by <c>Scripts/dump.sh</c> (host mode) and claimed there.</summary>
internal sealed class HostSideDumpRun(ICommandHost host, HostDumpSpec spec, IReadOnlyList<string> dumpArgv, Action<long> progress,
    PgEndpoint pg, IHbReporter report) : DumpRun(spec)
{
    private HostDump? _dump;
    private string Partial => $"{Spec.RunFolder}/{Spec.BaseName}.dump.{Spec.RunId}.partial";

    public override async Task<DumpResult> RunAsync(CancellationToken ct)
    {
        _dump = await HostDump.StartAsync(host, stream: false, Spec, dumpArgv, progress, ct).ConfigureAwait(false);
        var s = await _dump.WaitDumpedAsync(ct).ConfigureAwait(false);
        if (!s.Ended)
        {
            // The script could not make the run folder or its partial file (or stopped early): its own words.
            if (s.Errors.Any(e => e.StartsWith("encryption unavailable", StringComparison.Ordinal)))
            {
                throw new HbOpsException(HbErrorIds.EncryptionUnavailable, HbErrorCategory.ResourceUnavailable, "Backup failed: " + _dump.Describe(), Spec.RunFolder,
                    "Install age on the docker host (apt-get install age).");
            }
            throw s.Partial is null && s.Errors.Count > 0
                ? LocalHostFiles.NotWritable(Spec.RunFolder, _dump.Describe())
                : Failed(Partial, "the host-side dump ended early: " + _dump.Describe());
        }
        if (Failure(s, Partial, hostWrites: true, Spec.Encrypted) is { } why) throw Failed(Partial, why, "Check the database, the destination's free space, and the message.");
        return new DumpResult(s.Sha256!, s.Size!.Value, Redaction.Redact(string.Join('\n', s.Stderr).Trim()), s.After, s.PlainSha256, s.PlainSize);
    }

    public override Task<string> ClaimAsync(string sha256, Func<string, string> manifestFor, CancellationToken ct) =>
        (_dump ?? throw new InvalidOperationException("The dump did not run.")).ClaimAsync(sha256, manifestFor, ct);

    public override async Task AbortAsync(Exception? cause)
    {
        if (_dump is null || await _dump.AbortAsync().ConfigureAwait(false)) return;
        if (cause is HbOpsException { ErrorId: HbErrorIds.SshConnectionLost })
        {
            // Nothing can be asked over a lost connection; the script saw its input end and does the same itself.
            report.Verbose("The connection is gone: the host-side dump ends pg_dump's server session and removes its partial file on its own.");
            return;
        }
        // The script did not confirm (it was killed?): stop the server side and remove the partial file from here. The
        // partial file's name carries this run's id, so nothing of another run can be hit.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            // Every server session of the run: pg_dump's and the snapshot session's (its fingerprints would go on reading).
            await pg.QueryAsync($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE (application_name = {PgEndpoint.Literal(Spec.ApplicationName)} " +
                $"OR application_name LIKE {PgEndpoint.Literal($"{PgEndpoint.ApplicationNamePrefix}-%-{Spec.RunId}")}) AND pid <> pg_backend_pid();", cts.Token).ConfigureAwait(false);
            await HostFiles.For(host, false).DeleteAsync(Partial, cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or IOException or OperationCanceledException or System.Text.Json.JsonException)
        {
            report.Warning($"Could not stop the dump's server session or remove '{Partial}': {ex.Message}");
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dump is not null) await _dump.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// The dump streamed back over the connection (<c>-Local</c>): the script passes it on (stream mode) and this side
/// writes it to a partial file of its own (0600, O_EXCL), hashing it on the way, and claims it locally.
/// </summary>
internal sealed class StreamedDumpRun(ICommandHost host, HostDumpSpec spec, IReadOnlyList<string> dumpArgv, Action<long> progress) : DumpRun(spec)
{
    private HostDump? _dump;
    private FileStream? _file;
    private bool _claimed;
    private string Partial => Path.Combine(Spec.RunFolder, $"{Spec.BaseName}.dump.{Spec.RunId}.partial");

    public override async Task<DumpResult> RunAsync(CancellationToken ct)
    {
        try
        {
            LocalHostFiles.CreateDirectory(Spec.RunFolder, Spec.GroupReadable);
            _file = LocalHostFiles.CreateNewFile(Partial, Spec.GroupReadable);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw LocalHostFiles.NotWritable(Spec.RunFolder, ex.Message, ex);
        }
        _dump = await HostDump.StartAsync(host, stream: true, Spec, dumpArgv, null, ct).ConfigureAwait(false);
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var sink = new HashingStream(_file, hasher);
        var buffer = new byte[256 * 1024];
        var sw = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long written = 0;
        int n;
        while ((n = await _dump.Data.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            try
            {
                await sink.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw Failed(Partial, NameDiskFull($"writing '{Partial}' failed after {written:N0} bytes: {ex.Message}"), "Check free space and permissions.");
            }
            written += n;
            if (sw.Elapsed - lastReport >= TimeSpan.FromMilliseconds(500))
            {
                lastReport = sw.Elapsed;
                progress(written);
            }
        }
        try
        {
            await _file.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw Failed(Partial, NameDiskFull($"writing '{Partial}' failed after {written:N0} bytes: {ex.Message}"), "Check free space and permissions.");
        }
        var s = await _dump.WaitDumpedAsync(ct).ConfigureAwait(false);
        if (!s.Ended) throw Failed(Partial, "the dump command ended early: " + _dump.Describe());
        if (Failure(s, Partial, hostWrites: false, Spec.Encrypted) is { } why) throw Failed(Partial, why);
        await _dump.FinishAsync(ct).ConfigureAwait(false);
        var size = _file.Length;
        await _file.DisposeAsync().ConfigureAwait(false);
        _file = null;
        return new DumpResult(Convert.ToHexString(hasher.GetHashAndReset()).ToLowerInvariant(), size,
            Redaction.Redact(string.Join('\n', s.Stderr).Trim()), s.After, s.PlainSha256, s.PlainSize);
    }

    public override async Task<string> ClaimAsync(string sha256, Func<string, string> manifestFor, CancellationToken ct)
    {
        var name = await LocalHostFiles.ClaimArtefactAsync(Partial, Spec.BaseName, Spec.RunId, sha256, manifestFor, Spec.GroupReadable, ct).ConfigureAwait(false);
        _claimed = true;
        return name;
    }

    public override async Task AbortAsync(Exception? cause)
    {
        if (_dump is not null) await _dump.AbortAsync().ConfigureAwait(false);
        await RemovePartialAsync().ConfigureAwait(false);
    }

    // The partial file's name carries this run's id: removing it never touches another run's file.
    private async Task RemovePartialAsync()
    {
        if (_file is not null)
        {
            try { await _file.DisposeAsync().ConfigureAwait(false); }
            catch (IOException) { /* a full disk fails the last flush too; the file goes anyway */ }
            _file = null;
        }
        if (!_claimed) File.Delete(Partial);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dump is not null) await _dump.DisposeAsync().ConfigureAwait(false);
        await RemovePartialAsync().ConfigureAwait(false);
    }
}
