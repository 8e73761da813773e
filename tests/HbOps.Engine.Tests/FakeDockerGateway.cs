using HbOps.Engine.Docker;
using HbOps.Engine.Errors;

namespace HbOps.Engine.Tests;

/// <summary>
/// An in-memory docker engine with the semantics that matter for sandbox names: creating a volume whose name exists
/// answers with the existing volume (its labels unchanged), a second container of one name is refused (409).
/// </summary>
internal sealed class FakeDockerGateway : IDockerGateway
{
    private readonly object _sync = new();
    public Dictionary<string, IReadOnlyDictionary<string, string>> Volumes { get; } = new();
    public Dictionary<string, IReadOnlyDictionary<string, string>> Containers { get; } = new();
    public List<string> Removed { get; } = new();

    /// <summary>Runs before each container creation (a test can let another run act in between).</summary>
    public Func<string, Task>? BeforeContainerCreate { get; set; }

    /// <summary>Runs before each volume creation.</summary>
    public Action<string>? BeforeVolumeCreate { get; set; }

    public string Transport => "fake engine";

    public Task<ContainerInfo?> InspectContainerAsync(string name, CancellationToken ct)
    {
        lock (_sync)
        {
            return Task.FromResult(Containers.TryGetValue(name, out var labels)
                ? new ContainerInfo("id-" + name, name, "postgres:15", "sha256:img", true, 0, labels, "none", Array.Empty<string>(),
                    new[] { $"volume:{(labels.TryGetValue("hbops.volume", out var v) ? v : name + "-data")}:/var/lib/postgresql/data:rw" }, "", Array.Empty<string>())
                : null);
        }
    }

    public Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken ct)
    {
        lock (_sync) return Task.FromResult(Volumes.TryGetValue(name, out var labels) ? new VolumeInfo(name, labels, "") : null);
    }

    public Task<IReadOnlyList<string>> ListContainersAsync(string labelFilter, CancellationToken ct)
    {
        lock (_sync) return Task.FromResult<IReadOnlyList<string>>(Containers.Keys.ToList());
    }

    public Task<IReadOnlyList<string>> ListVolumesAsync(string labelFilter, CancellationToken ct)
    {
        lock (_sync) return Task.FromResult<IReadOnlyList<string>>(Volumes.Keys.ToList());
    }

    public Task<ImageInfo?> InspectImageAsync(string image, CancellationToken ct) =>
        Task.FromResult<ImageInfo?>(new ImageInfo("sha256:img", new[] { "PG_MAJOR=15" }, new Dictionary<string, string>()));

    public Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct)
    {
        BeforeVolumeCreate?.Invoke(name);
        lock (_sync) Volumes.TryAdd(name, labels);
        return Task.CompletedTask;
    }

    public async Task RunContainerAsync(SandboxContainerSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (BeforeContainerCreate is { } hook) await hook(spec.Name);
        lock (_sync)
        {
            if (!Containers.TryAdd(spec.Name, spec.Labels))
            {
                throw new HbOpsException(HbErrorIds.SandboxCollision, HbErrorCategory.ResourceUnavailable, $"'{spec.Name}' is in use", spec.Name);
            }
        }
    }

    public Task RemoveContainerAsync(string name, CancellationToken ct)
    {
        lock (_sync)
        {
            if (Containers.Remove(name)) Removed.Add("container:" + name);
        }
        return Task.CompletedTask;
    }

    public Task RemoveVolumeAsync(string name, CancellationToken ct)
    {
        lock (_sync)
        {
            if (Volumes.Remove(name)) Removed.Add("volume:" + name);
        }
        return Task.CompletedTask;
    }
}
