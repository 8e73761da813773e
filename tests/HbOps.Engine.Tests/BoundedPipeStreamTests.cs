using System.Security.Cryptography;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

public class BoundedPipeStreamTests
{
    [Fact]
    public async Task Bytes_arrive_in_order_across_ring_wraps_whatever_the_chunk_sizes()
    {
        var data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var pipe = new BoundedPipeStream(64 * 1024 + 3);
        var producer = Task.Run(() =>
        {
            var rng = new Random(7);
            for (var i = 0; i < data.Length;)
            {
                var n = Math.Min(rng.Next(1, 40_000), data.Length - i);
                pipe.Write(data, i, n);
                i += n;
            }
            pipe.Dispose();
        });
        var received = new MemoryStream();
        var buffer = new byte[50_000];
        var r = new Random(11);
        int read;
        while ((read = await pipe.ReadAsync(buffer.AsMemory(0, r.Next(1, buffer.Length)))) > 0) received.Write(buffer, 0, read);
        await producer;
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.True(pipe.PeakBuffered <= pipe.Capacity);
        Assert.True(pipe.ProducerWaits > 0);
    }

    [Fact]
    public async Task A_full_pipe_holds_the_producer_until_the_reader_takes_bytes()
    {
        var pipe = new BoundedPipeStream(8);
        pipe.Write(new byte[8]);
        var blocked = Task.Run(() => pipe.Write(new byte[] { 1, 2, 3 }));
        await Task.Delay(200);
        Assert.False(blocked.IsCompleted);
        var buffer = new byte[4];
        Assert.Equal(4, await pipe.ReadAsync(buffer));
        await blocked.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(8, pipe.PeakBuffered);
        Assert.Equal(1, pipe.ProducerWaits);
    }

    [Fact]
    public async Task Abandon_releases_a_waiting_producer_and_later_writes_are_dropped()
    {
        var pipe = new BoundedPipeStream(4);
        pipe.Write(new byte[4]);
        var blocked = Task.Run(() => pipe.Write(new byte[100]));
        await Task.Delay(100);
        Assert.False(blocked.IsCompleted);
        pipe.Abandon();
        await blocked.WaitAsync(TimeSpan.FromSeconds(5));
        pipe.Write(new byte[100]);
        Assert.Equal(0, await pipe.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task Abandon_ends_a_waiting_asynchronous_read()
    {
        var pipe = BoundedPipeStream.Growing();
        var pending = pipe.ReadAsync(new byte[10]).AsTask();
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        pipe.Abandon();
        Assert.Equal(0, await pending.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Disposing_is_the_end_of_stream_after_the_buffered_bytes_and_later_writes_are_dropped()
    {
        var pipe = new BoundedPipeStream(16);
        var pending = pipe.ReadAsync(new byte[16]).AsTask();
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        pipe.Write(new byte[] { 9, 8, 7 });
        Assert.Equal(3, await pending.WaitAsync(TimeSpan.FromSeconds(5)));
        pipe.Write(new byte[] { 6 });
        pipe.Dispose();
        pipe.Write(new byte[] { 5 });
        var buffer = new byte[16];
        Assert.Equal(1, pipe.Read(buffer, 0, 16));
        Assert.Equal(6, buffer[0]);
        Assert.Equal(0, await pipe.ReadAsync(buffer));
    }

    [Fact]
    public async Task A_cancelled_read_leaves_the_pipe_usable()
    {
        var pipe = new BoundedPipeStream(16);
        using var cts = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipe.ReadAsync(new byte[4], cts.Token).AsTask());
        pipe.Write(new byte[] { 1 });
        Assert.Equal(1, await pipe.ReadAsync(new byte[4]));
    }

    [Fact]
    public async Task A_growing_pipe_never_holds_the_producer_and_keeps_the_bytes_in_order()
    {
        var data = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 5);
        var pipe = BoundedPipeStream.Growing(1024);
        // Part of it read before the rest is written, so the ring has wrapped when it grows.
        pipe.Write(data, 0, 700);
        var head = new byte[300];
        Assert.Equal(300, await pipe.ReadAsync(head));
        for (var i = 700; i < data.Length; i += 40_000) pipe.Write(data, i, Math.Min(40_000, data.Length - i));
        pipe.Dispose();
        var received = new MemoryStream();
        received.Write(head);
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await pipe.ReadAsync(buffer)) > 0) received.Write(buffer, 0, read);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(received.ToArray()));
        Assert.Equal(0, pipe.ProducerWaits);
        Assert.Equal(data.Length - 300, pipe.PeakBuffered);
    }
}
