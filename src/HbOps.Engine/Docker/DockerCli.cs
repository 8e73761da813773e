using System.Text.Json;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Docker;

/// <summary>What HbOps reads from <c>docker container inspect</c>.</summary>
public sealed record ContainerInfo(
    string Id, string Name, string Image, string ImageId, bool Running, int RestartCount,
    IReadOnlyDictionary<string, string> Labels, string NetworkMode, IReadOnlyList<string> PublishedPorts,
    IReadOnlyList<string> Mounts, string StartedAt, IReadOnlyList<string> Env);

/// <summary>What HbOps reads from <c>docker volume inspect</c>.</summary>
public sealed record VolumeInfo(string Name, IReadOnlyDictionary<string, string> Labels, string CreatedAt);

/// <summary>
/// The docker CLI of a command host (local or over SSH): commands inside containers (<c>docker exec</c>: pg_dump,
/// pg_restore, psql, whose output streams into HbOps or the host-side scripts around them) and the production
/// container's facts for a backup (one <c>docker container inspect</c>, which spares a backup loading the Engine API
/// client). A sandbox's lifecycle goes through the Engine API (<see cref="IDockerGateway"/>). Translates CLI failures
/// into <see cref="HbOpsException"/>s with stable ids.
/// </summary>
public sealed class DockerCli(ICommandHost host)
{
    /// <summary>How the engine is reached (for evidence and messages).</summary>
    public string Transport => $"docker CLI on {CommandHost.Host}";

    /// <summary>The host the CLI runs on.</summary>
    public ICommandHost CommandHost { get; } = host;

    /// <summary>Builds <c>docker exec [-i] [-e K=V]... container args...</c>.</summary>
    public static List<string> ExecArgv(string container, IEnumerable<string> args, bool interactive = false,
        IEnumerable<KeyValuePair<string, string>>? env = null)
    {
        var argv = new List<string> { "docker", "exec" };
        if (interactive) argv.Add("-i");
        foreach (var (k, v) in env ?? Array.Empty<KeyValuePair<string, string>>()) { argv.Add("-e"); argv.Add($"{k}={v}"); }
        argv.Add(container);
        argv.AddRange(args);
        return argv;
    }

    /// <summary>Runs a docker command, mapping engine-unavailable failures.</summary>
    public async Task<CommandResult> RunAsync(IReadOnlyList<string> argv, CancellationToken ct, byte[]? stdin = null)
    {
        var r = await CommandHost.RunAsync(argv, ct, stdin).ConfigureAwait(false);
        if (Unavailable(CommandHost.Host, r) is { } unavailable) throw unavailable;
        return r;
    }

    /// <summary>
    /// Runs a docker command whose standard input stays open until it exited (see
    /// <see cref="CommandHostExtensions.RunHoldingInputAsync"/>), mapping engine-unavailable failures.
    /// </summary>
    public async Task<CommandResult> RunHoldingInputAsync(IReadOnlyList<string> argv, byte[] input, CancellationToken ct)
    {
        var r = await CommandHost.RunHoldingInputAsync(argv, input, ct).ConfigureAwait(false);
        if (Unavailable(CommandHost.Host, r) is { } unavailable) throw unavailable;
        return r;
    }

    /// <summary>
    /// The DockerUnavailable error a docker CLI result shows, if any: the CLI missing, the engine not running, or the
    /// account not allowed to use the engine's socket (not in the docker group).
    /// </summary>
    internal static HbOpsException? Unavailable(HbHost host, CommandResult r)
    {
        var stderr = r.StandardError;
        if (stderr.Contains("permission denied", StringComparison.OrdinalIgnoreCase) &&
            stderr.Contains("docker", StringComparison.OrdinalIgnoreCase) && stderr.Contains("sock", StringComparison.Ordinal))
        {
            var who = host.Kind == HbHostKind.Local ? "This account" : $"The SSH account '{host.User}'";
            return new HbOpsException(HbErrorIds.DockerUnavailable, HbErrorCategory.PermissionDenied,
                $"{who} on {host} may not use the docker engine (permission denied on the docker socket): {Redaction.Redact(stderr.Trim())}",
                host.ToString(), "Add the account to the docker group on that host (usermod -aG docker <user>; takes effect at the next login) or use an account that has docker access.");
        }
        if (r.ExitCode == 127 || stderr.Contains("Cannot connect to the Docker daemon", StringComparison.Ordinal) ||
            stderr.Contains("docker: not found", StringComparison.Ordinal))
        {
            return new HbOpsException(HbErrorIds.DockerUnavailable, HbErrorCategory.ResourceUnavailable,
                $"Docker is not usable on {host}: {Redaction.Redact(stderr.Trim())}", host.ToString(),
                "Check that the docker CLI is installed and the engine is running on that host.");
        }
        return null;
    }

    /// <summary>Inspects a (production) container; null when it does not exist.</summary>
    public async Task<ContainerInfo?> InspectContainerAsync(string name, CancellationToken ct)
    {
        using var doc = await InspectAsync("container", name, ct).ConfigureAwait(false);
        if (doc is null) return null;
        var c = doc.RootElement[0];
        var config = c.GetProperty("Config");
        var hostConfig = c.GetProperty("HostConfig");
        var ports = new List<string>();
        if (hostConfig.TryGetProperty("PortBindings", out var pb) && pb.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in pb.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Array) continue;
                foreach (var b in p.Value.EnumerateArray())
                {
                    ports.Add($"{b.GetProperty("HostIp").GetString()}:{b.GetProperty("HostPort").GetString()}->{p.Name}");
                }
            }
        }
        var mounts = new List<string>();
        if (c.TryGetProperty("Mounts", out var ms) && ms.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in ms.EnumerateArray())
            {
                var type = m.GetProperty("Type").GetString();
                var src = type == "volume" ? m.GetProperty("Name").GetString() : m.GetProperty("Source").GetString();
                var rw = m.GetProperty("RW").GetBoolean() ? "rw" : "ro";
                mounts.Add($"{type}:{src}:{m.GetProperty("Destination").GetString()}:{rw}");
            }
        }
        return new ContainerInfo(
            c.GetProperty("Id").GetString()!,
            c.GetProperty("Name").GetString()!.TrimStart('/'),
            config.GetProperty("Image").GetString()!,
            c.GetProperty("Image").GetString()!,
            c.GetProperty("State").GetProperty("Running").GetBoolean(),
            c.GetProperty("RestartCount").GetInt32(),
            ReadLabels(config),
            hostConfig.GetProperty("NetworkMode").GetString() ?? "",
            ports,
            mounts,
            c.GetProperty("State").GetProperty("StartedAt").GetString() ?? "",
            ReadEnv(config));
    }

    /// <summary>Builds an error for a failed docker command.</summary>
    public static HbOpsException Failed(string what, CommandResult r, string id = HbErrorIds.Unexpected) =>
        new(id, HbErrorCategory.OperationFailed,
            $"docker {what} failed (exit {r.ExitCode}): {Redaction.Redact(r.StandardError.Trim())}", what);

    // docker <kind> inspect: the parsed document, or null when the object does not exist.
    private async Task<JsonDocument?> InspectAsync(string kind, string name, CancellationToken ct)
    {
        var r = await RunAsync(new[] { "docker", kind, "inspect", "--", name }, ct).ConfigureAwait(false);
        if (r.Succeeded) return JsonDocument.Parse(r.StandardOutput);
        if (r.StandardError.Contains("No such", StringComparison.OrdinalIgnoreCase)) return null;
        throw Failed($"inspect {kind} {name}", r);
    }

    private static List<string> ReadEnv(JsonElement config) =>
        config.ValueKind == JsonValueKind.Object && config.TryGetProperty("Env", out var env) && env.ValueKind == JsonValueKind.Array
            ? env.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : new List<string>();

    private static Dictionary<string, string> ReadLabels(JsonElement owner)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty("Labels", out var l) && l.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in l.EnumerateObject()) labels[p.Name] = p.Value.GetString() ?? "";
        }
        return labels;
    }
}
