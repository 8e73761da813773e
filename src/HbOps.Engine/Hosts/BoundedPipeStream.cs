namespace HbOps.Engine.Hosts;

/// <summary>
/// A one-producer, one-consumer byte pipe with a limit. The producer blocks while the pipe holds the limit, so a consumer
/// that falls behind holds the sender back instead of the pipe growing past it. Reads are truly asynchronous: a waiting
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> holds no thread.
/// </summary>
/// <remarks>
/// SSH.NET opens every channel with a 2 GiB receive window and hands each received packet to the command's output
/// streams from its message-loop thread. Its own pipe has two problems for HbOps: it grows without limit when the reader
/// is slower than the network (a local disk slower than the link, or a busy CPU), so a streamed dump could end up in
/// memory; and it has no asynchronous read, so every awaited read of a command's stdout or stderr blocks a thread-pool
/// thread until data comes. A few commands waiting at once (a restore, a psql session, the Engine API connection) then
/// use up the pool of a small machine, and everything else waits for the pool to add threads (about one per half
/// second). With this pipe as the output streams the reads wait without a thread, and with a limit the message loop
/// waits instead of the pipe growing: the socket is no longer read and TCP flow control stops the remote side. The
/// reader must keep reading, or call <see cref="Abandon"/> (the producer then discards), since nothing else on that SSH
/// connection is received while the producer waits. Disposing marks the producer's end (end of stream for the reader
/// once the buffered bytes are read).
/// </remarks>
internal sealed class BoundedPipeStream : Stream
{
    private readonly object _sync = new();
    private byte[] _ring;
    private readonly int _limit;
    private int _head;
    private int _count;
    private bool _completed;
    private bool _abandoned;
    private TaskCompletionSource? _dataWaiter;

    private readonly int _batchBytes;
    private readonly TimeSpan _batchDelay;
    private int _wakeAt = 1;

    /// <summary>
    /// Creates a pipe holding at most <paramref name="capacity"/> bytes. With <paramref name="batchBytes"/>, an
    /// asynchronous read waits until that many bytes are buffered (or <paramref name="batchDelay"/> passed, or the
    /// stream ended): a slow producer's small packets then reach the reader in few large reads.
    /// </summary>
    public BoundedPipeStream(int capacity = DefaultCapacity, int batchBytes = 0, TimeSpan batchDelay = default)
        : this(capacity, capacity, batchBytes, batchDelay)
    {
    }

    private BoundedPipeStream(int initial, int limit, int batchBytes, TimeSpan batchDelay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batchBytes, limit);
        _ring = new byte[Math.Min(initial, limit)];
        _limit = limit;
        _batchBytes = Math.Max(1, batchBytes);
        _batchDelay = batchDelay;
    }

    /// <summary>
    /// A pipe that grows as needed and never holds the producer back (what SSH.NET's own pipe does), with the
    /// thread-free asynchronous reads: for the output of ordinary commands, which their readers consume whole.
    /// </summary>
    public static BoundedPipeStream Growing(int initialCapacity = 16 * 1024) => new(Math.Max(1, initialCapacity), Array.MaxLength, 0, default);

    /// <summary>Default capacity (1 MiB).</summary>
    public const int DefaultCapacity = 1 << 20;

    /// <summary>Most bytes the pipe can hold (its limit).</summary>
    public int Capacity => _limit;

    /// <summary>The most bytes held at any time so far.</summary>
    public int PeakBuffered { get; private set; }

    /// <summary>How many times the producer had to wait for the reader.</summary>
    public long ProducerWaits { get; private set; }

    /// <summary>The reader is gone: buffered and later bytes are discarded and the producer never waits again.</summary>
    public void Abandon()
    {
        TaskCompletionSource? wake;
        lock (_sync)
        {
            _abandoned = true;
            _count = 0;
            Monitor.PulseAll(_sync);
            wake = _dataWaiter;
            _dataWaiter = null;
        }
        wake?.TrySetResult();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            TaskCompletionSource? wake;
            lock (_sync)
            {
                // Never throw at the producer (an exception on SSH.NET's message loop ends the whole connection):
                // bytes written after the end or after the reader left are dropped.
                var waited = false;
                if (_count == _ring.Length && _ring.Length < _limit && !_abandoned && !_completed) Grow(buffer.Length);
                while (_count == _ring.Length && !_abandoned && !_completed)
                {
                    if (!waited) ProducerWaits++;
                    waited = true;
                    Monitor.Wait(_sync);
                }
                if (_abandoned || _completed) return;
                var n = Math.Min(buffer.Length, _ring.Length - _count);
                var tail = (_head + _count) % _ring.Length;
                var first = Math.Min(n, _ring.Length - tail);
                buffer[..first].CopyTo(_ring.AsSpan(tail));
                buffer[first..n].CopyTo(_ring);
                _count += n;
                if (_count > PeakBuffered) PeakBuffered = _count;
                buffer = buffer[n..];
                Monitor.PulseAll(_sync);
                wake = null;
                if (_count >= _wakeAt)
                {
                    wake = _dataWaiter;
                    _dataWaiter = null;
                }
            }
            wake?.TrySetResult();
        }
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        lock (_sync)
        {
            while (_count == 0 && !_completed && !_abandoned) Monitor.Wait(_sync);
            return Take(buffer);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var waitedForBatch = false;
        while (true)
        {
            Task wait;
            bool partial;
            lock (_sync)
            {
                var want = Math.Min(_batchBytes, buffer.Length);
                if (_count >= want || (waitedForBatch && _count > 0) || _completed || _abandoned || buffer.Length == 0) return Take(buffer.Span);
                // Nothing yet: wake at the first byte. Some bytes: wake at a full batch, or read them after the delay.
                partial = _count > 0;
                _wakeAt = partial ? want : 1;
                _dataWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _dataWaiter.Task;
            }
            if (partial)
            {
                await Task.WhenAny(wait, Task.Delay(_batchDelay, cancellationToken)).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                waitedForBatch = true;
            }
            else
            {
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Called with the lock held: a larger ring (at least room for `more` bytes, at most the limit), contents in order.
    private void Grow(int more)
    {
        var size = (int)Math.Min(_limit, Math.Max((long)_ring.Length * 2, (long)_count + more));
        var bigger = new byte[size];
        var first = Math.Min(_count, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(bigger);
        _ring.AsSpan(0, _count - first).CopyTo(bigger.AsSpan(first));
        _ring = bigger;
        _head = 0;
    }

    // Called with the lock held.
    private int Take(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _count);
        if (n == 0) return 0;
        var first = Math.Min(n, _ring.Length - _head);
        _ring.AsSpan(_head, first).CopyTo(buffer);
        _ring.AsSpan(0, n - first).CopyTo(buffer[first..]);
        _head = (_head + n) % _ring.Length;
        _count -= n;
        Monitor.PulseAll(_sync);
        return n;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        TaskCompletionSource? wake;
        lock (_sync)
        {
            _completed = true;
            Monitor.PulseAll(_sync);
            wake = _dataWaiter;
            _dataWaiter = null;
        }
        wake?.TrySetResult();
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override bool CanRead => true;
    /// <inheritdoc />
    public override bool CanWrite => !_completed;
    /// <inheritdoc />
    public override bool CanSeek => false;
    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc />
    public override void Flush() { }
    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
