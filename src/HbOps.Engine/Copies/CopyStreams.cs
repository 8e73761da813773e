using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using HbOps.Engine.Util;

namespace HbOps.Engine.Copies;

/// <summary>
/// A read-only pass-through that counts (and optionally hashes) what is read, reports the running total, and remembers a
/// failure of the stream it reads from, so a consumer's error (the storage) can be told from the source's.
/// </summary>
internal sealed class ObservedReadStream(Stream inner, IncrementalHash? hash = null, Action<long>? progress = null) : ReadOnlyStream
{
    /// <summary>Bytes read so far.</summary>
    public long Total { get; private set; }

    /// <summary>The exception the inner stream threw, if any.</summary>
    public ExceptionDispatchInfo? SourceFailure { get; private set; }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n;
        try
        {
            n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SourceFailure = ExceptionDispatchInfo.Capture(ex);
            throw;
        }
        if (n > 0)
        {
            hash?.AppendData(buffer.Span[..n]);
            Total += n;
            progress?.Invoke(Total);
        }
        return n;
    }
}

/// <summary>A write-only sink that hashes and counts what is written to it and keeps nothing.</summary>
internal sealed class HashSinkStream(IncrementalHash hash, Action<long>? progress = null) : Stream
{
    /// <summary>Bytes written so far.</summary>
    public long Total { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => false;
    /// <inheritdoc />
    public override bool CanSeek => false;
    /// <inheritdoc />
    public override bool CanWrite => true;
    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc />
    public override void Flush() { }
    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        hash.AppendData(buffer);
        Total += buffer.Length;
        progress?.Invoke(Total);
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }
}
