using System.Text;
using HbOps.Engine.Errors;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>Convenience operations over <see cref="ICommandHost"/>.</summary>
internal static class CommandHostExtensions
{
    /// <summary>Runs a command to completion, optionally feeding stdin, capturing stdout and stderr as UTF-8 text.</summary>
    public static Task<CommandResult> RunAsync(this ICommandHost host, IReadOnlyList<string> argv,
        CancellationToken ct, byte[]? stdin = null) => RunCapturingAsync(host, argv, stdin, holdInput: false, ct);

    /// <summary>
    /// Runs a command to completion like <see cref="RunAsync"/>, but its standard input stays open after
    /// <paramref name="input"/> until the command exited: the end of its input then tells the command that HbOps gave up
    /// on it (cancellation closes the channel) or that the connection is gone.
    /// </summary>
    public static Task<CommandResult> RunHoldingInputAsync(this ICommandHost host, IReadOnlyList<string> argv,
        byte[] input, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(input);
        return RunCapturingAsync(host, argv, input, holdInput: true, ct);
    }

    private static async Task<CommandResult> RunCapturingAsync(ICommandHost host, IReadOnlyList<string> argv, byte[]? stdin,
        bool holdInput, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        await using var cmd = await host.StartAsync(argv, ct).ConfigureAwait(false);
        var stdoutTask = ReadAllTextAsync(cmd.StandardOutput, ct);
        var stderrTask = ReadAllTextAsync(cmd.StandardError, ct);
        await WriteStdinAsync(cmd, stdin, ct, keepOpen: holdInput).ConfigureAwait(false);
        int exit;
        try
        {
            exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (holdInput && ct.IsCancellationRequested)
        {
            // Given up on: the end of its input asks the command to stop itself, which reaches what a kill would not
            // (a kill over SSH ends the host's processes only, not the work they started elsewhere, such as a
            // server session). It gets a few seconds; disposing then kills whatever is left.
            try
            {
                await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await cmd.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HbOpsException or ObjectDisposedException) { }
            throw;
        }
        var stdout = await stdoutTask.ConfigureAwait(false);
        var stderr = await stderrTask.ConfigureAwait(false);
        return new CommandResult(exit, stdout, stderr);
    }

    /// <summary>
    /// Runs a command to completion, capturing stdout and stderr as UTF-8 text, and hands each stdout line to
    /// <paramref name="consumeLine"/> as it arrives; lines it returns true for are left out of the captured output.
    /// </summary>
    public static async Task<CommandResult> RunObservingAsync(this ICommandHost host, IReadOnlyList<string> argv,
        Func<string, bool> consumeLine, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(consumeLine);
        await using var cmd = await host.StartAsync(argv, ct).ConfigureAwait(false);
        var stderrTask = ReadAllTextAsync(cmd.StandardError, ct);
        await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
        var kept = new StringBuilder();
        using (var reader = new StreamReader(cmd.StandardOutput, Encoding.UTF8, false, 16 * 1024, leaveOpen: true))
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (!consumeLine(line)) kept.Append(line).Append('\n');
            }
        }
        var exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        return new CommandResult(exit, kept.ToString(), await stderrTask.ConfigureAwait(false));
    }

    /// <summary>Runs a command, streaming stdout into <paramref name="sink"/> (never buffered whole) and capturing stderr.</summary>
    public static async Task<CommandResult> RunToStreamAsync(this ICommandHost host, IReadOnlyList<string> argv,
        Stream sink, Action<long>? onBytes, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(sink);
        await using var cmd = await host.StartStreamingAsync(argv, ct).ConfigureAwait(false);
        var stderrTask = ReadAllTextAsync(cmd.StandardError, ct);
        await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
        var buffer = new byte[256 * 1024];
        long total = 0;
        int n;
        while ((n = await cmd.StandardOutput.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            await sink.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            total += n;
            onBytes?.Invoke(total);
        }
        var exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        return new CommandResult(exit, "", await stderrTask.ConfigureAwait(false));
    }

    /// <summary>Runs a command feeding <paramref name="input"/> to its stdin as a stream (bounded memory).</summary>
    public static async Task<CommandResult> RunFromStreamAsync(this ICommandHost host, IReadOnlyList<string> argv, Stream input, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(input);
        await using var cmd = await host.StartAsync(argv, ct).ConfigureAwait(false);
        var stdoutTask = ReadAllTextAsync(cmd.StandardOutput, ct);
        var stderrTask = ReadAllTextAsync(cmd.StandardError, ct);
        try
        {
            await input.CopyToAsync(cmd.StandardInput, 256 * 1024, ct).ConfigureAwait(false);
        }
        finally
        {
            await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
        }
        var exit = await cmd.WaitForExitAsync(ct).ConfigureAwait(false);
        return new CommandResult(exit, await stdoutTask.ConfigureAwait(false), await stderrTask.ConfigureAwait(false));
    }

    // Writes stdin (if any), then sends its end, or with keepOpen only flushes it (the caller ends it later).
    internal static async Task WriteStdinAsync(IRunningCommand cmd, byte[]? stdin, CancellationToken ct, bool keepOpen = false)
    {
        try
        {
            if (stdin is { Length: > 0 }) await cmd.StandardInput.WriteAsync(stdin, ct).ConfigureAwait(false);
            if (keepOpen) await cmd.StandardInput.FlushAsync(ct).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The command exited without reading all input; its exit code and stderr tell why.
        }
        finally
        {
            if (!keepOpen) await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<string> ReadAllTextAsync(Stream s, CancellationToken ct)
    {
        using var reader = new StreamReader(s, Encoding.UTF8, false, 16 * 1024, leaveOpen: true);
        return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
    }
}
