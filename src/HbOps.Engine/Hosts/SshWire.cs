using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace HbOps.Engine.Hosts;

/// <summary>
/// The SSH wire encoding (RFC 4251 section 5) as far as the ssh-agent protocol and public key blobs need it:
/// big-endian uint32 and length-prefixed strings. Reading never trusts a length: anything that runs past the
/// buffer is <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class SshWireReader(byte[] buffer, int offset = 0)
{
    private int _position = offset;

    /// <summary>True when every byte was read.</summary>
    public bool AtEnd => _position == buffer.Length;

    public byte ReadByte()
    {
        Need(1);
        return buffer[_position++];
    }

    public uint ReadUInt32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(_position, 4));
        _position += 4;
        return v;
    }

    public byte[] ReadString()
    {
        var length = ReadUInt32();
        if (length > buffer.Length - _position) throw new InvalidDataException($"An SSH string of {length} bytes runs past the end of a {buffer.Length}-byte message.");
        var s = buffer.AsSpan(_position, (int)length).ToArray();
        _position += (int)length;
        return s;
    }

    public string ReadUtf8() => Encoding.UTF8.GetString(ReadString());

    private void Need(int n)
    {
        if (buffer.Length - _position < n) throw new InvalidDataException("An SSH message ended early.");
    }
}

/// <summary>Builds SSH wire-encoded messages.</summary>
internal sealed class SshWireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public SshWireWriter Byte(byte value)
    {
        _buffer.Write([value]);
        return this;
    }

    public SshWireWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public SshWireWriter String(ReadOnlySpan<byte> value)
    {
        UInt32((uint)value.Length);
        _buffer.Write(value);
        return this;
    }

    public SshWireWriter String(string value) => String(Encoding.UTF8.GetBytes(value));

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}

/// <summary>Public key blobs and the text forms OpenSSH stores them in.</summary>
internal static class SshPublicKeys
{
    /// <summary>The key type a public key (or signature) blob starts with, e.g. <c>ssh-ed25519</c>.</summary>
    public static string TypeOf(byte[] blob) => new SshWireReader(blob).ReadUtf8();

    /// <summary>
    /// The public key blob of an identity file, read without any passphrase: from <c>file.pub</c>, from the file itself
    /// when it is a public key, or from the unencrypted header of an OpenSSH-format private key. Null when none of
    /// these gives one (e.g. an encrypted PEM key without its .pub).
    /// </summary>
    public static byte[]? ReadForIdentityFile(string file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (TryReadPublicKeyFile(file + ".pub") is { } pub) return pub;
        if (TryReadPublicKeyFile(file) is { } self) return self;
        try
        {
            return File.Exists(file) ? FromOpenSshPrivateKey(File.ReadAllText(file)) : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>True when the file holds a public key line (<c>type base64 [comment]</c>) rather than a private key.</summary>
    public static bool IsPublicKeyFile(string file) => TryReadPublicKeyFile(file) is not null;

    /// <summary>Parses one <c>type base64 [comment]</c> line; null when the text is not one.</summary>
    public static byte[]? ParsePublicKeyLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var line = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        var parts = line?.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
        if (parts is null || parts.Length < 2) return null;
        try
        {
            var blob = Convert.FromBase64String(parts[1]);
            return TypeOf(blob) == parts[0] ? blob : null;
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// The first public key of an <c>openssh-key-v1</c> private key. The format stores the public keys before the
    /// (possibly encrypted) private section, so no passphrase is needed to learn which key a file holds.
    /// </summary>
    public static byte[]? FromOpenSshPrivateKey(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        const string begin = "-----BEGIN OPENSSH PRIVATE KEY-----", end = "-----END OPENSSH PRIVATE KEY-----";
        var b = pem.IndexOf(begin, StringComparison.Ordinal);
        var e = pem.IndexOf(end, StringComparison.Ordinal);
        if (b < 0 || e < b) return null;
        try
        {
            var body = Convert.FromBase64String(string.Concat(pem[(b + begin.Length)..e].Where(c => !char.IsWhiteSpace(c))));
            var magic = "openssh-key-v1\0"u8;
            if (!body.AsSpan().StartsWith(magic)) return null;
            var r = new SshWireReader(body, magic.Length);
            r.ReadString(); // cipher
            r.ReadString(); // kdf
            r.ReadString(); // kdf options
            return r.ReadUInt32() >= 1 ? r.ReadString() : null;
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException)
        {
            return null;
        }
    }

    private static byte[]? TryReadPublicKeyFile(string path)
    {
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > 64 * 1024) return null;
            return ParsePublicKeyLine(File.ReadAllText(path));
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
