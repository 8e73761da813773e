using System.Text;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Tests;

/// <summary>A scripted command host: answers each argument vector from a handler and records every call.</summary>
internal sealed class FakeCommandHost(Func<IReadOnlyList<string>, (int Exit, string Stdout, string Stderr)> handler) : ICommandHost
{
    public List<IReadOnlyList<string>> Calls { get; } = new();

    public HbHost Host { get; } = new() { Kind = HbHostKind.Ssh, Alias = "fake", HostName = "127.0.0.1", Port = 22, User = "root" };

    public Task<IRunningCommand> StartAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        lock (Calls) Calls.Add(argv.ToList());
        var (exit, stdout, stderr) = handler(argv);
        return Task.FromResult<IRunningCommand>(new Running(exit, stdout, stderr));
    }

    public bool Ran(string word) => Calls.Any(c => c.Contains(word));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Running(int exit, string stdout, string stderr) : IRunningCommand
    {
        public Stream StandardInput { get; } = new MemoryStream();
        public Stream StandardOutput { get; } = new MemoryStream(Encoding.UTF8.GetBytes(stdout));
        public Stream StandardError { get; } = new MemoryStream(Encoding.UTF8.GetBytes(stderr));
        public Task<int> WaitForExitAsync(CancellationToken ct) => Task.FromResult(exit);
        public Task KillAsync() => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>What <c>docker container inspect --format</c> reports of a production container (DockerCli.InspectProductionAsync).</summary>
internal static class FakeContainer
{
    public static string Inspect(bool running = true) =>
        $"image=postgres:15\nimage_id=sha256:img\nrunning={(running ? "true" : "false")}\nrestarts=0\nstarted_at=2026-01-01T00:00:00Z\n";
}
