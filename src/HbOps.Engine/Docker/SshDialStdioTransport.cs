using Docker.DotNet.Handler.Abstractions;
using HbOps.Engine.Hosts;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Client;

namespace HbOps.Engine.Docker;

/// <summary>Options of the SSH transport: the connection whose exec channels carry the Engine API.</summary>
public sealed record SshDialStdioOptions(ICommandHost Host);

/// <summary>
/// Docker.DotNet transport that reaches a remote engine through <c>docker system dial-stdio</c> run on an SSH
/// exec channel (one channel per HTTP connection), the way the docker CLI does for <c>ssh://</c> hosts.
/// </summary>
public sealed class SshDialStdioHandlerFactory : IDockerHandlerFactory<SshDialStdioOptions>
{
    private SshDialStdioHandlerFactory()
    {
    }

    /// <summary>The factory.</summary>
    public static SshDialStdioHandlerFactory Instance { get; } = new();

    /// <inheritdoc />
    public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, ILogger logger) =>
        throw new NotSupportedException("The SSH dial-stdio transport needs SshDialStdioOptions.");

    /// <inheritdoc />
    public ResolvedTransport CreateHandler(SshDialStdioOptions transportOptions, ResolvedClientOptions clientOptions, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transportOptions);
        var opener = new ManagedHandler.StreamOpener(async (_, _, ct) =>
        {
            var cmd = await transportOptions.Host.StartAsync(new[] { "docker", "system", "dial-stdio" }, ct).ConfigureAwait(false);
            return new DialStdioStream(cmd);
        });
        var handler = new ManagedHandler(opener, logger) { UseProxy = false };
        return new ResolvedTransport(handler, new Uri("http://docker.dial-stdio"));
    }

    /// <inheritdoc />
    public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) =>
        content is HttpConnectionResponseContent hijackable
            ? Task.FromResult(hijackable.HijackStream())
            : throw new NotSupportedException("The content type is not supported for stream hijacking.");

    // A duplex stream over the exec's stdin/stdout. Disposing neither sends EOF nor signals a channel the server
    // may already be closing (OpenSSH answers either with a protocol error that drops the whole session): it
    // waits for dial-stdio to end on its own when the engine closes the connection, and only forces it after a grace period.
    private sealed class DialStdioStream(IRunningCommand cmd) : Stream
    {
        private int _disposed;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => cmd.StandardInput.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => cmd.StandardInput.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => cmd.StandardOutput.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            cmd.StandardOutput.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            cmd.StandardOutput.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Write(byte[] buffer, int offset, int count)
        {
            cmd.StandardInput.Write(buffer, offset, count);
            cmd.StandardInput.Flush();
        }
        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await cmd.StandardInput.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await cmd.StandardInput.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                ReleaseAsync().GetAwaiter().GetResult();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) await ReleaseAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        private async Task ReleaseAsync()
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                // Drain what the engine still sends so dial-stdio can finish writing and exit.
                var buffer = new byte[8192];
                while (await cmd.StandardOutput.ReadAsync(buffer, grace.Token).ConfigureAwait(false) > 0) { }
                await cmd.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or HbOps.Engine.Errors.HbOpsException)
            {
                // Still running after the grace period, or the connection is gone: disposal below forces it.
            }
            await cmd.DisposeAsync().ConfigureAwait(false);
        }
    }
}
