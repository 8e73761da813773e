using System.Net.Sockets;
using Docker.DotNet.Handler.Abstractions;
using HbOps.Engine.Hosts;
using Microsoft.Extensions.Logging;

namespace HbOps.Engine.Docker;

/// <summary>
/// How the Engine API client opens a connection to the engine (a duplex byte stream), and how many it may hold open at
/// once (concurrent requests beyond that wait for a free connection).
/// </summary>
internal sealed record EngineConnectOptions(Func<CancellationToken, ValueTask<Stream>> Connect, int MaxConnections = 4)
{
    /// <summary>The local engine's unix socket.</summary>
    public static EngineConnectOptions UnixSocket(string path) => new(async ct =>
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    });

    /// <summary>
    /// A remote engine through <c>docker system dial-stdio</c> on an exec channel of an SSH connection, as the docker CLI
    /// does for ssh:// hosts. One connection: dialling another costs an SSH channel, the login shell's start-up and a
    /// docker CLI process on the host (0.1-0.3 s of its CPU), while a request on the open connection takes milliseconds,
    /// so concurrent requests queue on it.
    /// </summary>
    public static EngineConnectOptions SshDialStdio(ICommandHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new(async ct => new PooledEngineHandlerFactory.DialStdioStream(await host.StartAsync(new[] { "docker", "system", "dial-stdio" }, ct).ConfigureAwait(false)),
            MaxConnections: 1);
    }
}

/// <summary>
/// Docker.DotNet transport with HTTP/1.1 keep-alive over pooled connections opened by <see cref="EngineConnectOptions"/>.
/// Opening a dial-stdio connection costs an SSH channel and a process on the host (~0.2 s), so consecutive API calls
/// reuse an open one instead of dialling per request. Detached exec starts (the only upgrade-style request HbOps makes)
/// are answered with an empty body, which <see cref="HijackStreamAsync"/> hands back as a read-only stream.
/// </summary>
internal sealed class PooledEngineHandlerFactory : IDockerHandlerFactory<EngineConnectOptions>
{
    private PooledEngineHandlerFactory()
    {
    }

    /// <summary>The factory.</summary>
    public static PooledEngineHandlerFactory Instance { get; } = new();

    /// <summary>How long an idle connection stays open for the next Engine API call.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, ILogger logger) =>
        throw new NotSupportedException("This transport needs EngineConnectOptions.");

    /// <inheritdoc />
    public ResolvedTransport CreateHandler(EngineConnectOptions transportOptions, ResolvedClientOptions clientOptions, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transportOptions);
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = transportOptions.MaxConnections,
            PooledConnectionIdleTimeout = IdleTimeout,
            ConnectCallback = (_, ct) => transportOptions.Connect(ct),
        };
        return new ResolvedTransport(handler, new Uri("http://docker.engine"));
    }

    /// <inheritdoc />
    public async Task<WriteClosableStream> HijackStreamAsync(HttpContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new ResponseStream(await content.ReadAsStreamAsync().ConfigureAwait(false));
    }

    // The body of a response to an upgrade-style request (detached exec starts answer 200 with an empty body).
    private sealed class ResponseStream(Stream inner) : WriteClosableStream
    {
        public override bool CanCloseWrite => false;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void CloseWrite() => throw new NotSupportedException();
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    // A duplex stream over the exec's stdin/stdout. The pool disposes it when it has been idle (or the client goes):
    // while dial-stdio still runs, EOF on its stdin makes it close the engine connection and exit on its own; a channel
    // that already ended gets nothing more (OpenSSH answers EOF or a signal on a closing channel with a protocol error
    // that drops the whole session). Anything still running after a grace period is forced.
    internal sealed class DialStdioStream(IRunningCommand cmd) : Stream
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
                var exit = cmd.WaitForExitAsync(grace.Token);
                if (!exit.IsCompleted) await cmd.StandardInput.DisposeAsync().ConfigureAwait(false);
                // Drain what the engine still sends so dial-stdio can finish writing and exit.
                var buffer = new byte[8192];
                while (await cmd.StandardOutput.ReadAsync(buffer, grace.Token).ConfigureAwait(false) > 0) { }
                await exit.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException
                or Renci.SshNet.Common.SshException or HbOps.Engine.Errors.HbOpsException)
            {
                // Still running after the grace period, or the connection is gone: disposal below forces it.
            }
            try
            {
                await cmd.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or Renci.SshNet.Common.SshException)
            {
                // The SSH session is already closed: nothing is left to release.
            }
        }
    }
}
