using System.Net;
using System.Runtime.CompilerServices;
using Docker.DotNet;
using Docker.DotNet.Models;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Engine.Docker;

/// <summary>
/// Container and volume lifecycle through the Docker Engine API (Docker.DotNet.Enhanced): the local engine over
/// its unix socket, a remote one through <c>docker system dial-stdio</c> over SSH. Translates API exceptions.
/// </summary>
internal sealed class DockerEngineApi : IDockerGateway
{
    private static readonly ConditionalWeakTable<ICommandHost, DockerEngineApi> Cache = new();
    private readonly DockerClient _client;
    private readonly ICommandHost _host;

    private DockerEngineApi(DockerClient client, string transport, ICommandHost host)
    {
        _client = client;
        Transport = transport;
        _host = host;
    }

    /// <inheritdoc />
    public string Transport { get; }

    /// <summary>The local engine's socket.</summary>
    public const string LocalSocket = "/var/run/docker.sock";

    /// <summary>The Engine API client for a host (one per connection, reused).</summary>
    public static DockerEngineApi For(ICommandHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return Cache.GetValue(host, h => h.Host.Kind == HbHostKind.Local
            ? new DockerEngineApi(Build(EngineConnectOptions.UnixSocket(LocalSocket)), "engine-api:unix://" + LocalSocket, h)
            : new DockerEngineApi(Build(EngineConnectOptions.SshDialStdio(h)), $"engine-api:ssh-dial-stdio:{h.Host}", h));

        static DockerClient Build(EngineConnectOptions options) =>
            new DockerClientBuilder<EngineConnectOptions>(PooledEngineHandlerFactory.Instance, options).Build();
    }

    /// <inheritdoc />
    public async Task<ContainerInfo?> InspectContainerAsync(string name, CancellationToken ct)
    {
        var c = await Call(() => _client.Containers.InspectContainerAsync(name, ct), notFoundIsNull: true).ConfigureAwait(false);
        if (c is null) return null;
        var ports = new List<string>();
        foreach (var (port, bindings) in c.HostConfig?.PortBindings ?? new Dictionary<string, IList<PortBinding>>())
        {
            foreach (var b in bindings ?? new List<PortBinding>()) ports.Add($"{b.HostIP}:{b.HostPort}->{port}");
        }
        var mounts = (c.Mounts ?? new List<MountPoint>()).Select(m =>
            $"{m.Type}:{(m.Type == "volume" ? m.Name : m.Source)}:{m.Destination}:{(m.RW ? "rw" : "ro")}").ToList();
        return new ContainerInfo(c.ID, c.Name.TrimStart('/'), c.Config?.Image ?? "", c.Image, c.State?.Running ?? false, (int)c.RestartCount,
            Labels(c.Config?.Labels),
            c.HostConfig?.NetworkMode ?? "", ports, mounts, c.State?.StartedAt ?? "", c.Config?.Env?.ToList() ?? new List<string>());
    }

    /// <inheritdoc />
    public async Task<VolumeInfo?> InspectVolumeAsync(string name, CancellationToken ct)
    {
        var v = await Call(() => _client.Volumes.InspectAsync(name, ct), notFoundIsNull: true).ConfigureAwait(false);
        return v is null ? null : new VolumeInfo(v.Name, Labels(v.Labels), v.CreatedAt ?? "");
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListContainersAsync(string labelFilter, CancellationToken ct)
    {
        var list = await Call(() => _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true, Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct)).ConfigureAwait(false);
        return list!.Select(c => c.Names.First().TrimStart('/')).ToList();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListVolumesAsync(string labelFilter, CancellationToken ct)
    {
        var list = await Call(() => _client.Volumes.ListAsync(new VolumesListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [labelFilter] = true } },
        }, ct)).ConfigureAwait(false);
        return (list!.Volumes ?? new List<VolumeResponse>()).Select(v => v.Name).ToList();
    }

    /// <inheritdoc />
    public async Task<ImageInfo?> InspectImageAsync(string image, CancellationToken ct)
    {
        var i = await Call(() => _client.Images.InspectImageAsync(image, ct), notFoundIsNull: true).ConfigureAwait(false);
        return i is null ? null : new ImageInfo(i.ID, i.Config?.Env?.ToList() ?? new List<string>(),
            Labels(i.Config?.Labels));
    }

    /// <inheritdoc />
    public Task CreateVolumeAsync(string name, IReadOnlyDictionary<string, string> labels, CancellationToken ct) =>
        Call(() => _client.Volumes.CreateAsync(new VolumesCreateParameters { Name = name, Labels = labels.ToDictionary(), DriverOpts = new Dictionary<string, string>() }, ct));

    /// <inheritdoc />
    public async Task RunContainerAsync(SandboxContainerSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var create = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Env = spec.Env.Concat(spec.SecretEnv).ToList(),
            Labels = spec.Labels.ToDictionary(),
            HostConfig = new HostConfig
            {
                NetworkMode = "none",
                RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.No },
                Mounts = spec.Mounts.Select(m => new Mount { Type = m.Type, Source = m.Source, Target = m.Target, ReadOnly = m.ReadOnly }).ToList(),
                PortBindings = new Dictionary<string, IList<PortBinding>>(),
            },
        };
        if (spec.Tmpfs is { Count: > 0 } tmpfs) create.HostConfig.Tmpfs = tmpfs.ToDictionary();
        if (spec.Entrypoint is { Count: > 0 }) create.Entrypoint = spec.Entrypoint.ToList();
        if (spec.Command.Count > 0) create.Cmd = spec.Command.ToList();
        await Call(async () =>
        {
            try
            {
                return await _client.Containers.CreateContainerAsync(create, ct).ConfigureAwait(false);
            }
            catch (DockerApiException ex) when (ex.StatusCode == HttpStatusCode.Conflict)
            {
                // Another container has the name (another run made it a moment ago): said as such, so nothing of it is touched.
                throw new HbOpsException(HbErrorIds.SandboxCollision, HbErrorCategory.ResourceUnavailable,
                    $"A container named '{spec.Name}' already exists; refusing to reuse or replace it.", spec.Name, null, ex);
            }
        }).ConfigureAwait(false);
        await Call(() => _client.Containers.StartContainerAsync(spec.Name, new ContainerStartParameters(), ct)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task RemoveContainerAsync(string name, CancellationToken ct) =>
        Call(() => _client.Containers.RemoveContainerAsync(name, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, ct), notFoundIsNull: true);

    /// <inheritdoc />
    public Task RemoveVolumeAsync(string name, CancellationToken ct) =>
        Call(() => _client.Volumes.RemoveAsync(name, null, ct), notFoundIsNull: true);

    private async Task<HbOpsException?> DiagnoseAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var r = await _host.RunAsync(new[] { "docker", "version", "--format", "{{.Server.Version}}" }, cts.Token).ConfigureAwait(false);
            return DockerCli.Unavailable(_host.Host, r);
        }
        catch (HbOpsException ex)
        {
            return ex;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            return null;
        }
    }

    private static Dictionary<string, string> Labels(IDictionary<string, string>? labels) =>
        new(labels ?? new Dictionary<string, string>(), StringComparer.Ordinal);

    private Task<bool> Call(Func<Task> action, bool notFoundIsNull = false) =>
        Call(async () => { await action().ConfigureAwait(false); return true; }, notFoundIsNull);

    private async Task<T?> Call<T>(Func<Task<T>> action, bool notFoundIsNull = false)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (DockerApiException ex) when (notFoundIsNull && ex.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }
        catch (DockerApiException ex)
        {
            throw new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.OperationFailed,
                $"Docker Engine API ({Transport}) answered {(int)ex.StatusCode}: {Util.Redaction.Redact(ex.ResponseBody?.Trim())}", Transport, null, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or UnauthorizedAccessException)
        {
            // A connection that went away under the transport is said as such (the stream's exception carries it).
            for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
            {
                if (inner is HbOpsException { ErrorId: HbErrorIds.SshConnectionLost } lost) throw lost;
            }
            // The transport only sees a stream that ended; the docker CLI says why (no permission, no engine, no CLI).
            if (await DiagnoseAsync().ConfigureAwait(false) is { } reason) throw reason;
            throw new HbOpsException(HbErrorIds.DockerUnavailable, HbErrorCategory.ResourceUnavailable,
                $"The Docker Engine API is not reachable ({Transport}): {ex.Message}", Transport, "Check that the docker engine runs on that host.", ex);
        }
    }
}
