using System.IO.Pipes;
using System.Net.Sockets;
using Renci.SshNet;
using Renci.SshNet.Common;
using Renci.SshNet.Security;

namespace HbOps.Engine.Hosts;

/// <summary>One key an ssh-agent holds: its public key blob and comment.</summary>
internal sealed class AgentIdentity(byte[] publicKey, string comment)
{
    /// <summary>The public key blob as the agent gave it (also what a server's authorized_keys holds).</summary>
    public byte[] PublicKey { get; } = publicKey;

    /// <summary>The comment ssh-add recorded (usually the key file's path or user@host).</summary>
    public string Comment { get; } = comment;

    /// <summary>The key type, e.g. <c>ssh-ed25519</c>.</summary>
    public string KeyType { get; } = SshPublicKeys.TypeOf(publicKey);

    /// <summary>OpenSSH-style SHA256 fingerprint.</summary>
    public string Fingerprint => KnownHosts.Fingerprint(PublicKey);

    /// <inheritdoc />
    public override string ToString() => $"{KeyType} {Fingerprint}" + (Comment.Length > 0 ? $" ({Comment})" : "");
}

/// <summary>
/// The client half of the ssh-agent protocol (draft-miller-ssh-agent): list the agent's keys and ask it to sign.
/// Private keys never leave the agent. One connection, one request at a time.
/// </summary>
internal sealed class SshAgentClient : IDisposable
{
    internal const byte AgentFailure = 5;
    internal const byte RequestIdentities = 11;
    internal const byte IdentitiesAnswer = 12;
    internal const byte SignRequest = 13;
    internal const byte SignResponse = 14;
    /// <summary>Sign flag: an RSA key signs with SHA-256 (<c>rsa-sha2-256</c>).</summary>
    internal const uint RsaSha256 = 2;
    /// <summary>Sign flag: an RSA key signs with SHA-512 (<c>rsa-sha2-512</c>).</summary>
    internal const uint RsaSha512 = 4;
    /// <summary>OpenSSH's agent refuses messages above 256 KiB; a longer reply is not from an agent.</summary>
    internal const int MaxMessageLength = 256 * 1024;

    private readonly Stream _stream;
    private readonly object _gate = new();

    internal SshAgentClient(Stream stream, string location)
    {
        _stream = stream;
        Location = location;
    }

    /// <summary>Where the agent was reached (socket path or pipe name), for messages.</summary>
    public string Location { get; }

    /// <summary>
    /// Connects to the agent's unix socket (or, on Windows, a <c>\\.\pipe\...</c> name). <paramref name="timeout"/> bounds
    /// every reply: an agent that asks its user to confirm a signature answers only after the user did.
    /// </summary>
    public static SshAgentClient Connect(string location, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(location);
        var ms = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        if (OperatingSystem.IsWindows() && location.StartsWith(@"\\.\pipe\", StringComparison.OrdinalIgnoreCase))
        {
            var pipe = new NamedPipeClientStream(".", location[@"\\.\pipe\".Length..], PipeDirection.InOut);
            try { pipe.Connect(ms); }
            catch { pipe.Dispose(); throw; }
            return new SshAgentClient(pipe, location);
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = ms, SendTimeout = ms };
        try { socket.Connect(new UnixDomainSocketEndPoint(location)); }
        catch { socket.Dispose(); throw; }
        return new SshAgentClient(new NetworkStream(socket, ownsSocket: true), location);
    }

    /// <summary>SSH2_AGENTC_REQUEST_IDENTITIES: the keys the agent holds, in its order.</summary>
    public IReadOnlyList<AgentIdentity> ListIdentities()
    {
        var (type, reply) = Call(new SshWireWriter().Byte(RequestIdentities).ToArray());
        if (type != IdentitiesAnswer) throw new InvalidDataException($"The ssh-agent answered the key list request with message type {type}.");
        var count = reply.ReadUInt32();
        // Each key takes at least 8 bytes (two empty strings), so a count above this cannot be honest.
        if (count > MaxMessageLength / 8) throw new InvalidDataException($"The ssh-agent claims {count} keys.");
        var keys = new List<AgentIdentity>((int)count);
        for (var i = 0; i < count; i++)
        {
            var blob = reply.ReadString();
            var comment = reply.ReadUtf8();
            keys.Add(new AgentIdentity(blob, comment));
        }
        if (!reply.AtEnd) throw new InvalidDataException("The ssh-agent's key list has trailing bytes.");
        return keys;
    }

    /// <summary>
    /// SSH2_AGENTC_SIGN_REQUEST: the agent's signature of <paramref name="data"/> with the key whose public blob is
    /// <paramref name="publicKey"/>, as SSH's signature encoding (format name, then the signature). Null when the agent
    /// refuses (key gone, confirmation declined, flags not supported).
    /// </summary>
    public byte[]? Sign(byte[] publicKey, byte[] data, uint flags)
    {
        var request = new SshWireWriter().Byte(SignRequest).String(publicKey).String(data).UInt32(flags).ToArray();
        var (type, reply) = Call(request);
        if (type == AgentFailure) return null;
        if (type != SignResponse) throw new InvalidDataException($"The ssh-agent answered a sign request with message type {type}.");
        var signature = reply.ReadString();
        if (!reply.AtEnd) throw new InvalidDataException("The ssh-agent's signature has trailing bytes.");
        return signature;
    }

    private (byte Type, SshWireReader Body) Call(byte[] message)
    {
        lock (_gate)
        {
            var frame = new SshWireWriter().String(message).ToArray();
            _stream.Write(frame);
            _stream.Flush();
            Span<byte> header = stackalloc byte[4];
            _stream.ReadExactly(header);
            var length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header);
            if (length is 0 or > MaxMessageLength) throw new InvalidDataException($"The ssh-agent sent a message of {length} bytes.");
            var body = new byte[length];
            _stream.ReadExactly(body);
            return (body[0], new SshWireReader(body, 1));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// A key held by an ssh-agent, offered to SSH.NET's public key authentication like a key file: SSH.NET asks it for the
/// public key and, once the server accepts that, for a signature, which the agent makes.
/// </summary>
internal sealed class AgentKey : IPrivateKeySource
{
    public AgentKey(SshAgentClient agent, AgentIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        Identity = identity;
        HostKeyAlgorithms = AlgorithmsFor(identity.KeyType).Select(a => new AgentHostAlgorithm(a.Name, a.Flags, agent, identity)).ToList();
    }

    /// <summary>The agent's key.</summary>
    public AgentIdentity Identity { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<HostAlgorithm> HostKeyAlgorithms { get; }

    /// <summary>
    /// The signature algorithms to offer for a key type, with the agent's sign flags. RSA keys sign with SHA-2 only
    /// (rsa-sha2-512, then rsa-sha2-256): OpenSSH servers refuse SHA-1 <c>ssh-rsa</c> signatures since 8.8, and every
    /// refused offer counts against the server's MaxAuthTries. Every other type (ed25519, ECDSA, security keys,
    /// certificates) signs under its own name.
    /// </summary>
    internal static IReadOnlyList<(string Name, uint Flags)> AlgorithmsFor(string keyType) => keyType switch
    {
        "ssh-rsa" => [("rsa-sha2-512", SshAgentClient.RsaSha512), ("rsa-sha2-256", SshAgentClient.RsaSha256)],
        "ssh-rsa-cert-v01@openssh.com" =>
            [("rsa-sha2-512-cert-v01@openssh.com", SshAgentClient.RsaSha512), ("rsa-sha2-256-cert-v01@openssh.com", SshAgentClient.RsaSha256)],
        _ => [(keyType, 0u)],
    };
}

/// <summary>One signature algorithm of an agent key.</summary>
internal sealed class AgentHostAlgorithm : HostAlgorithm
{
    private readonly uint _flags;
    private readonly SshAgentClient _agent;
    private readonly AgentIdentity _identity;

    public AgentHostAlgorithm(string name, uint flags, SshAgentClient agent, AgentIdentity identity)
        : base(name)
    {
        _flags = flags;
        _agent = agent;
        _identity = identity;
    }

    /// <summary>The public key blob SSH.NET sends in the authentication request.</summary>
    public override byte[] Data => _identity.PublicKey;

    /// <summary>Asks the agent to sign; an agent that cannot is an authentication failure naming the agent and key.</summary>
    public override byte[] Sign(byte[] data)
    {
        byte[]? signature;
        try
        {
            signature = _agent.Sign(_identity.PublicKey, data, _flags);
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidDataException or ObjectDisposedException)
        {
            throw new SshAuthenticationException($"The ssh-agent at {_agent.Location} failed while signing with {_identity}: {ex.Message}", ex);
        }
        if (signature is null)
        {
            throw new SshAuthenticationException($"The ssh-agent at {_agent.Location} refused to sign with {_identity}.");
        }
        var format = SshPublicKeys.TypeOf(signature);
        if (_flags != 0 && !Name.StartsWith(format, StringComparison.Ordinal))
        {
            // An agent that ignores the SHA-2 flags signs with SHA-1; the server would reject that signature.
            throw new SshAuthenticationException(
                $"The ssh-agent at {_agent.Location} returned a {format} signature for {_identity} where {Name} was asked for (the agent does not support SHA-2 RSA signatures).");
        }
        return signature;
    }

    /// <summary>Agent keys only sign for client authentication; SSH.NET never verifies with them.</summary>
    public override bool VerifySignature(byte[] data, byte[] signature) =>
        throw new NotSupportedException("An ssh-agent key is used for signing only.");
}
