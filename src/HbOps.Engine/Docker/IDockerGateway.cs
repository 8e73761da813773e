namespace HbOps.Engine.Docker;

/// <summary>A mount of a container to create.</summary>
public sealed record MountSpec(string Type, string Source, string Target, bool ReadOnly);

/// <summary>
/// A sandbox container to create: always network <c>none</c>, no published port, no restart policy.
/// <see cref="SecretEnv"/> never appears on a command line or in output. <see cref="Command"/> replaces the image's
/// command (empty: the image's own); <see cref="Entrypoint"/> replaces the image's entrypoint (null: the image's own).
/// <see cref="Tmpfs"/>: in-memory mounts (path to mount options) that go with the container (null: none).
/// </summary>
public sealed record SandboxContainerSpec(
    string Name, string Image, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> Env,
    IReadOnlyList<string> SecretEnv, IReadOnlyList<MountSpec> Mounts, IReadOnlyList<string> Command,
    IReadOnlyList<string>? Entrypoint = null, IReadOnlyDictionary<string, string>? Tmpfs = null);

/// <summary>What HbOps reads from an image: its id, environment and labels.</summary>
public sealed record ImageInfo(string Id, IReadOnlyList<string> Env, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// A sandbox's lifecycle and inspection on one docker engine (the Engine API; a fake in unit tests). Commands inside a
/// container are not run through it: they go through <c>docker exec</c> on the host (<see cref="DockerCli"/>), whose
/// output streams straight into HbOps or into the host-side scripts around them.
/// </summary>
public interface IDockerGateway
{
    /// <summary>How the engine is reached (for evidence and messages).</summary>
    string Transport { get; }
    /// <summary>Inspects a container; null when it does not exist.</summary>
    Task<ContainerInfo?> InspectContainerAsync(string name, CancellationToken ct);
    /// <summary>Inspects a volume; null when it does not exist.</summary>
    Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken ct);
    /// <summary>Names of containers with a label (<c>key=value</c>).</summary>
    Task<IReadOnlyList<string>> ListContainersAsync(string labelFilter, CancellationToken ct);
    /// <summary>Names of volumes with a label (<c>key=value</c>).</summary>
    Task<IReadOnlyList<string>> ListVolumesAsync(string labelFilter, CancellationToken ct);
    /// <summary>Inspects an image present on the engine; null when it is not there.</summary>
    Task<ImageInfo?> InspectImageAsync(string image, CancellationToken ct);
    /// <summary>Creates a named volume.</summary>
    Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct);
    /// <summary>Creates and starts a sandbox container.</summary>
    Task RunContainerAsync(SandboxContainerSpec spec, CancellationToken ct);
    /// <summary>Force-removes a container (no error when absent).</summary>
    Task RemoveContainerAsync(string name, CancellationToken ct);
    /// <summary>Removes a volume (no error when absent).</summary>
    Task RemoveVolumeAsync(string name, CancellationToken ct);
}
