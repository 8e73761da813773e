using System.Net;
using System.Net.Sockets;
using HbOps.Engine.Errors;
using Renci.SshNet;
using Renci.SshNet.Common;
using HbOps.Model;

namespace HbOps.Engine.Hosts;

/// <summary>Options for opening an SSH connection.</summary>
public sealed class SshConnectOptions
{
    /// <summary>Passphrase for encrypted private keys (never logged or stored).</summary>
    public string? KeyPassphrase { get; init; }

    /// <summary>Record an unknown host key into the first known_hosts file instead of refusing.</summary>
    public bool AcceptNewHostKey { get; init; }

    /// <summary>Connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// Runs commands on a remote host over one SSH connection (SSH.NET). The host key is verified
/// against known_hosts before any authentication; arguments are shell-quoted one by one.
/// </summary>
internal sealed class SshCommandHost : ICommandHost
{
    private readonly SshClient _client;
    // The jump hosts' clients and the forwards through them, in connect order; closed after _client, last first.
    private readonly IReadOnlyList<IDisposable> _jumps;

    private SshCommandHost(HbHost host, SshClient client, IReadOnlyList<IDisposable> jumps)
    {
        Host = host;
        _client = client;
        _jumps = jumps;
    }

    /// <inheritdoc />
    public HbHost Host { get; }

    /// <summary>
    /// Connects, verifying the host key and authenticating with the ssh-agent's keys and the host's identity files. With a
    /// ProxyJump the jump hosts are connected first, each with its own host key check and authentication, and each next
    /// host is reached through a TCP forward (direct-tcpip) of the previous one.
    /// </summary>
    public static async Task<SshCommandHost> ConnectAsync(HbHost host, SshConnectOptions options, CancellationToken ct)
    {
        var (client, jumps) = await ConnectClientAsync(host, options, info => new SshClient(info), ct).ConfigureAwait(false);
        return new SshCommandHost(host, client, jumps);
    }

    /// <summary>
    /// Connects an SSH.NET client of any kind (an <see cref="SshClient"/> for commands, an <see cref="SftpClient"/> for an
    /// SFTP-only storage host) the same way: jump hosts, host key checks, agent and key files. Returns the client and what
    /// its connection runs through (close with <see cref="CloseAll"/> after the client).
    /// </summary>
    internal static async Task<(TClient Client, IReadOnlyList<IDisposable> Jumps)> ConnectClientAsync<TClient>(HbHost host, SshConnectOptions options,
        Func<ConnectionInfo, TClient> create, CancellationToken ct) where TClient : BaseClient
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(create);
        var jumps = ProxyJump.Hops(host);
        using var agents = new SshAgentPool(SshAgentPool.DefaultReplyTimeout);
        var opened = new List<IDisposable>();
        try
        {
            SshClient? via = null;
            HbHost? viaHost = null;
            foreach (var jump in jumps)
            {
                via = await ConnectOneAsync(jump, isJump: true, via, viaHost, opened, options, agents, info => new SshClient(info), ct).ConfigureAwait(false);
                viaHost = jump;
            }
            var client = await ConnectOneAsync(host, isJump: false, via, viaHost, opened, options, agents, create, ct).ConfigureAwait(false);
            opened.Remove(client);
            return (client, opened);
        }
        catch
        {
            CloseAll(opened);
            throw;
        }
    }

    // Connects one host of the chain, directly or through a forward on the previous jump host's connection, and adds
    // what it opened to `opened` (so a later failure closes it too).
    private static async Task<TClient> ConnectOneAsync<TClient>(HbHost host, bool isJump, SshClient? via, HbHost? viaHost,
        List<IDisposable> opened, SshConnectOptions options, SshAgentPool agents, Func<ConnectionInfo, TClient> create, CancellationToken ct)
        where TClient : BaseClient
    {
        var display = (isJump ? "jump host " : "") + host;
        if (host.HostName is null || host.User is null)
        {
            throw HbOpsException.Invalid($"The {display} has no host name or user.", host.ToString());
        }
        var keys = LoadKeys(host, options.KeyPassphrase, agents);
        var (address, port) = (host.HostName, host.Port);
        if (via is not null)
        {
            var forward = ForwardThrough(via, viaHost!, host);
            opened.Add(forward);
            (address, port) = (IPAddress.Loopback.ToString(), (int)forward.BoundPort);
        }
        var auth = new PrivateKeyAuthenticationMethod(host.User, keys.Keys.ToArray());
        var info = new ConnectionInfo(address, port, host.User, auth) { Timeout = options.ConnectTimeout };
        PreferHardwareCiphers(info);
        var client = create(info);
        client.KeepAliveInterval = TimeSpan.FromSeconds(15);
        HbOpsException? trustFailure = null;
        client.HostKeyReceived += (_, e) => trustFailure = CheckHostKey(host, isJump, options, e);
        try
        {
            await client.ConnectAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            client.Dispose();
            if (ex is OperationCanceledException) throw;
            if (trustFailure is not null) throw trustFailure;
            var through = viaHost is null ? "" : $" through jump host {viaHost}";
            throw ex switch
            {
                SshAuthenticationException => new HbOpsException(HbErrorIds.SshAuthenticationFailed, HbErrorCategory.SecurityError,
                    $"SSH authentication as '{host.User}' on {display}{through} failed: no offered key was accepted ({ex.Message}); {keys.Describe()}.",
                    host.ToString(), "Check -KeyFile / IdentityFile, the ssh-agent's keys (ssh-add -l) and the server's authorized_keys.", ex),
                SocketException or SshConnectionException or SshOperationTimeoutException or TimeoutException when viaHost is not null =>
                    new HbOpsException(HbErrorIds.SshConnectionFailed, HbErrorCategory.ConnectionError,
                        $"Cannot connect to {display} through jump host {viaHost}: {ex.Message}", host.ToString(),
                        $"Check that jump host {viaHost} allows TCP forwarding (AllowTcpForwarding) and reaches {host.HostName}:{host.Port}, and that sshd runs there.", ex),
                SocketException or SshConnectionException or SshOperationTimeoutException or TimeoutException =>
                    new HbOpsException(HbErrorIds.SshConnectionFailed, HbErrorCategory.ConnectionError,
                        $"Cannot connect to {display}: {ex.Message}", host.ToString(), "Check the host name, port and that sshd is running.", ex),
                _ => new HbOpsException(HbErrorIds.SshConnectionFailed, HbErrorCategory.ConnectionError,
                    $"SSH connection to {display}{through} failed: {ex.Message}", host.ToString(), null, ex),
            };
        }
        opened.Add(client);
        return client;
    }

    // Verifies a presented host key against known_hosts under the host's HostKeyAlias or its own name and port (for a
    // host behind a jump, never the loopback forward's address). Sets CanTrust; returns the refusal, if any.
    private static HbOpsException? CheckHostKey(HbHost host, bool isJump, SshConnectOptions options, HostKeyEventArgs e)
    {
        // OpenSSH looks a HostKeyAlias up (and records it) as a bare name, without the port.
        var (name, port) = string.IsNullOrEmpty(host.HostKeyAlias) ? (host.HostName!, host.Port) : (host.HostKeyAlias, 22);
        var subject = (isJump ? "jump host " : "") + KnownHosts.HostField(name, port) +
            (string.IsNullOrEmpty(host.HostKeyAlias) ? "" : $" (HostKeyAlias of {KnownHosts.HostField(host.HostName!, host.Port)})");
        var status = KnownHosts.CheckFiles(host.KnownHostsFiles, name, port, e.HostKeyName, e.HostKey);
        var fp = KnownHosts.Fingerprint(e.HostKey);
        if (status == HostKeyStatus.Trusted)
        {
            e.CanTrust = true;
            return null;
        }
        if (status == HostKeyStatus.Unknown && options.AcceptNewHostKey && host.KnownHostsFiles.Count > 0)
        {
            KnownHosts.Append(host.KnownHostsFiles[0], name, port, e.HostKeyName, e.HostKey);
            e.CanTrust = true;
            return null;
        }
        e.CanTrust = false;
        return status == HostKeyStatus.Mismatch
            ? new HbOpsException(HbErrorIds.HostKeyMismatch, HbErrorCategory.SecurityError,
                $"The {e.HostKeyName} host key of {subject} ({fp}) does not match known_hosts. Refusing to connect: the key changed or someone is intercepting.",
                host.ToString(), "Verify the host's key out of band, then fix the entry in known_hosts.")
            : new HbOpsException(HbErrorIds.HostKeyUnknown, HbErrorCategory.SecurityError,
                $"The {e.HostKeyName} host key of {subject} ({fp}) is not in known_hosts ({string.Join(", ", host.KnownHostsFiles)}). Refusing to connect.",
                host.ToString(), "Verify the fingerprint out of band, then rerun with -AcceptNewHostKey or add it to known_hosts.");
    }

    // A forward from an ephemeral loopback port, through the jump host's connection, to the next host. SSH.NET's client
    // connects to a TCP endpoint only, so this is how it reaches a host behind a jump host. The forward admits a single
    // connection, the next client's, and refuses any later one. Should another local process connect first, the next
    // client is the one refused and the connection fails: HbOps never talks through a tunnel that is not its own.
    private static ForwardedPortLocal ForwardThrough(SshClient via, HbHost viaHost, HbHost next)
    {
        var forward = new ForwardedPortLocal(IPAddress.Loopback.ToString(), 0, next.HostName!, (uint)next.Port);
        var admitted = 0;
        forward.RequestReceived += (_, _) =>
        {
            if (Interlocked.Exchange(ref admitted, 1) != 0) throw new SshException("This forward already carries its one connection.");
        };
        try
        {
            via.AddForwardedPort(forward);
            forward.Start();
        }
        catch (Exception ex) when (ex is SocketException or SshException or InvalidOperationException)
        {
            forward.Dispose();
            throw new HbOpsException(HbErrorIds.SshConnectionFailed, HbErrorCategory.ConnectionError,
                $"Cannot open a forward through jump host {viaHost} to {next.HostName}:{next.Port}: {ex.Message}", viaHost.ToString(), null, ex);
        }
        return forward;
    }

    // Closes jump clients and forwards, last opened first (a forward before the client it runs on).
    internal static void CloseAll(IReadOnlyList<IDisposable> opened)
    {
        for (var i = opened.Count - 1; i >= 0; i--)
        {
            try
            {
                switch (opened[i])
                {
                    case ForwardedPort { IsStarted: true } forward:
                        forward.Stop();
                        break;
                    case SshClient { IsConnected: true } client:
                        client.Disconnect();
                        break;
                }
            }
            catch (Exception ex) when (ex is SshException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                // Already broken: disposing below is all that is left to do.
            }
            opened[i].Dispose();
        }
    }

    /// <summary>The negotiated client-to-server and server-to-client ciphers (for diagnostics).</summary>
    public string Ciphers => $"{_client.ConnectionInfo.CurrentClientEncryption}/{_client.ConnectionInfo.CurrentServerEncryption}";

    // AES-GCM runs on the CPU's AES instructions through .NET; chacha20-poly1305 is managed code and
    // limits a streamed dump. Offer the GCM ciphers first (the server picks the first one both support).
    private static void PreferHardwareCiphers(ConnectionInfo info)
    {
        var preferred = new[] { "aes128-gcm@openssh.com", "aes256-gcm@openssh.com" };
        var ordered = preferred.Where(info.Encryptions.ContainsKey).Select(k => (k, info.Encryptions[k]))
            .Concat(info.Encryptions.Where(e => !preferred.Contains(e.Key)).Select(e => (e.Key, e.Value))).ToList();
        info.Encryptions.Clear();
        foreach (var (k, v) in ordered) info.Encryptions.Add(k, v);
    }

    // The keys to offer, in OpenSSH's order (agent keys, then identity files); see SshKeys.Plan.
    private static SshKeyPlan LoadKeys(HbHost host, string? passphrase, SshAgentPool agents) => SshKeys.Plan(host, passphrase, agents);

    /// <inheritdoc />
    /// <remarks>
    /// The command's stdout and stderr are <see cref="BoundedPipeStream.Growing"/> pipes (set before it starts): SSH.NET's
    /// own pipes have no asynchronous read, so each awaited read would block a thread-pool thread until data comes.
    /// </remarks>
    public Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct) => Start(argv, bounded: false);

    /// <inheritdoc />
    /// <remarks>
    /// SSH.NET advertises a 2 GiB channel window and never holds the sender back, so an output pipe that grows would
    /// take everything the reader has not consumed yet. The command's stdout is a 1 MiB <see cref="BoundedPipeStream"/>
    /// (set before it starts): SSH.NET's message loop then waits while the pipe is full and TCP flow control stops the
    /// remote side.
    /// </remarks>
    public Task<IRunningCommand> StartStreamingAsync(IReadOnlyList<string> argv, CancellationToken ct) => Start(argv, bounded: true);

    // SshCommand's output streams have private setters; SSH.NET itself only reaches them through these properties.
    private static readonly System.Reflection.PropertyInfo OutputStreamProperty =
        typeof(SshCommand).GetProperty(nameof(SshCommand.OutputStream)) ?? throw new MissingMemberException(nameof(SshCommand), nameof(SshCommand.OutputStream));
    private static readonly System.Reflection.PropertyInfo ErrorStreamProperty =
        typeof(SshCommand).GetProperty(nameof(SshCommand.ExtendedOutputStream)) ?? throw new MissingMemberException(nameof(SshCommand), nameof(SshCommand.ExtendedOutputStream));

    /// <summary>Gives <paramref name="cmd"/> (before it is executed) its output pipes: stdout bounded or growing, stderr growing.</summary>
    internal static BoundedPipeStream UseOwnPipes(SshCommand cmd, bool bounded)
    {
        // A dump arrives as many small packets at the pace of pg_dump's compression; handing them to the reader in
        // batches of 128 KiB (or every 20 ms) saves most of the per-packet wake-ups, hashing and file-write calls.
        var stdout = bounded
            ? new BoundedPipeStream(BoundedPipeStream.DefaultCapacity, batchBytes: 128 * 1024, batchDelay: TimeSpan.FromMilliseconds(20))
            : BoundedPipeStream.Growing();
        Replace(OutputStreamProperty, stdout);
        Replace(ErrorStreamProperty, BoundedPipeStream.Growing(1024));
        return stdout;

        void Replace(System.Reflection.PropertyInfo property, Stream pipe)
        {
            var old = (Stream?)property.GetValue(cmd);
            property.SetValue(cmd, pipe);
            old?.Dispose();
        }
    }

    private Task<IRunningCommand> Start(IReadOnlyList<string> argv, bool bounded)
    {
        if (!_client.IsConnected)
        {
            throw new HbOpsException(HbErrorIds.SshConnectionLost, HbErrorCategory.ConnectionError,
                $"The SSH connection to {Host} is closed.", Host.ToString());
        }
        // The login shell may print before the command starts: the command's output begins after its own marker.
        var marker = ShellStartFilter.NewMarker();
        var cmd = _client.CreateCommand(ShellStartFilter.Wrap(argv, marker));
        UseOwnPipes(cmd, bounded);
        Task? exec = null;
        // Output that ends before the marker: the shell exited (it has an exit status), or the connection went away under
        // the shell's start-up text (no exit status comes): the channel's end, awaited briefly, tells which.
        async Task<Exception?> WhyEnded(CancellationToken ct)
        {
            try
            {
                if (exec is not null) await exec.WaitAsync(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
            catch (Exception ex) when (ex is SshException || IsConnectionFailure(ex))
            {
                return Lost(ex, "before the command started");
            }
            return cmd.ExitStatus is null && !_client.IsConnected ? Lost(null, "before the command started") : null;
        }
        var stdout = ShellStartFilter.Filter(cmd.OutputStream, marker, Host.ToString(), "stdout", WhyEnded);
        var stderr = ShellStartFilter.Filter(cmd.ExtendedOutputStream, marker, Host.ToString(), "stderr", WhyEnded);
        var cts = new CancellationTokenSource();
        Stream stdin;
        try
        {
            exec = cmd.ExecuteAsync(cts.Token);
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            cmd.Dispose();
            cts.Dispose();
            throw Lost(ex, "while starting a command");
        }
        try
        {
            stdin = cmd.CreateInputStream();
        }
        catch (InvalidOperationException) when (_client.IsConnected)
        {
            // The command already ended (a shell that exits at once): there is nothing to send it; its output and exit
            // status say why.
            stdin = Stream.Null;
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            stdin = Stream.Null; // the exit reports the lost connection
        }
        return Task.FromResult<IRunningCommand>(new SshRunningCommand(this, cmd, exec, new GuardedInput(stdin, this), stdout, stderr, cts));
    }

    // SSH.NET reports a connection that went away in many shapes ("Client not connected.", a disposed session, a socket
    // error, an operation on a channel that closed with it); all of them are SshConnectionLost at this gateway.
    private bool IsConnectionFailure(Exception ex) =>
        ex is SshConnectionException or SocketException ||
        (ex is SshException or ObjectDisposedException or InvalidOperationException or IOException && !_client.IsConnected);

    private HbOpsException Lost(Exception? ex, string when) =>
        new(HbErrorIds.SshConnectionLost, HbErrorCategory.ConnectionError,
            $"The SSH connection to {Host} was lost {when}{(ex is null ? "." : ": " + ex.Message)}", Host.ToString(),
            "Check the network and the host, then run the command again; HbOps' host-side work stops itself when its connection ends.", ex);

    // A command's input: a write after the connection went away is SshConnectionLost, a write to a command that ended
    // is an IOException (callers read its exit for the reason), and closing never throws.
    private sealed class GuardedInput(Stream inner, SshCommandHost owner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Flush() => Guard(inner.Flush);
        public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

        public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.FlushAsync(cancellationToken));

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            GuardAsync(() => inner.WriteAsync(buffer, offset, count, cancellationToken));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(GuardAsync(() => inner.WriteAsync(buffer, cancellationToken).AsTask()));

        private void Guard(Action write)
        {
            try { write(); }
            catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException or SocketException)
            {
                throw Translate(ex);
            }
        }

        private async Task GuardAsync(Func<Task> write)
        {
            try { await write().ConfigureAwait(false); }
            catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException or SocketException)
            {
                throw Translate(ex);
            }
        }

        private Exception Translate(Exception ex) => owner.IsConnectionFailure(ex)
            ? owner.Lost(ex, "while sending a command its input")
            : new IOException($"The command's input is closed: {ex.Message}", ex);

        protected override void Dispose(bool disposing)
        {
            // Closing sends the end of the input when the channel is still open; a connection that is gone has nothing
            // left to close.
            if (disposing)
            {
                try { inner.Dispose(); }
                catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException or SocketException) { }
            }
            base.Dispose(disposing);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_client.IsConnected) _client.Disconnect();
        _client.Dispose();
        CloseAll(_jumps);
        return ValueTask.CompletedTask;
    }

    private sealed class SshRunningCommand(SshCommandHost owner, SshCommand cmd, Task exec, Stream stdin, Stream stdout, Stream stderr,
        CancellationTokenSource cts) : IRunningCommand
    {
        public Stream StandardInput => stdin;
        public Stream StandardOutput => stdout;
        public Stream StandardError => stderr;

        public async Task<int> WaitForExitAsync(CancellationToken ct)
        {
            try
            {
                await exec.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && (ex is SshException || owner.IsConnectionFailure(ex)))
            {
                throw owner.Lost(ex, "while a command was running");
            }
            if (cmd.ExitStatus is null && !owner._client.IsConnected) throw owner.Lost(null, "while a command was running");
            return cmd.ExitStatus ?? -1;
        }

        public Task KillAsync()
        {
            try { cmd.CancelAsync(forceKill: true, millisecondsTimeout: 500); }
            catch (InvalidOperationException) { }
            catch (SshException) { }
            return Task.CompletedTask;
        }

        public async ValueTask DisposeAsync()
        {
            // An output pipe nobody reads any more must not hold SSH.NET's message loop (and the connection) up.
            (cmd.OutputStream as BoundedPipeStream)?.Abandon();
            (cmd.ExtendedOutputStream as BoundedPipeStream)?.Abandon();
            if (!exec.IsCompleted)
            {
                await KillAsync().ConfigureAwait(false);
                await cts.CancelAsync().ConfigureAwait(false);
                try { await exec.ConfigureAwait(false); } catch (Exception) { /* already failed or cancelled */ }
            }
            await stdin.DisposeAsync().ConfigureAwait(false);
            try { cmd.Dispose(); }
            catch (Exception ex) when (ex is SshException or ObjectDisposedException or InvalidOperationException or SocketException)
            {
                // The connection is gone: nothing is left to close.
            }
            cts.Dispose();
        }
    }
}
