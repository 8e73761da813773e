namespace HbOps.Engine.Util;

/// <summary>
/// Base of HbOps' forward-only read streams (a command's output, a read-back, a filtered pipe): everything but
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> is fixed here, and the other read overloads forward to it.
/// </summary>
internal abstract class ReadOnlyStream : Stream
{
    /// <inheritdoc />
    public sealed override bool CanRead => true;
    /// <inheritdoc />
    public sealed override bool CanSeek => false;
    /// <inheritdoc />
    public sealed override bool CanWrite => false;
    /// <inheritdoc />
    public sealed override long Length => throw new NotSupportedException();
    /// <inheritdoc />
    public sealed override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc />
    public sealed override void Flush() { }
    /// <inheritdoc />
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc />
    public sealed override void SetLength(long value) => throw new NotSupportedException();
    /// <inheritdoc />
    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    /// <inheritdoc />
    public sealed override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    /// <inheritdoc />
    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    /// <inheritdoc />
    public abstract override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);
}
