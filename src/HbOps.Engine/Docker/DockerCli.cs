using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Docker;

/// <summary>What HbOps reads of a sandbox container (the Engine API's inspection, see <see cref="IDockerGateway"/>).</summary>
public sealed record ContainerInfo(
    string Id, string Name, string Image, string ImageId, bool Running, int RestartCount,
    IReadOnlyDictionary<string, string> Labels, string NetworkMode, IReadOnlyList<string> PublishedPorts,
    IReadOnlyList<string> Mounts, string StartedAt, IReadOnlyList<string> Env);

/// <summary>What a backup records of its production container (<see cref="DockerCli.InspectProductionAsync"/>).</summary>
public sealed record ProductionContainer(string Image, string ImageId, bool Running, int RestartCount, string StartedAt);

/// <summary>What HbOps reads of a volume (the Engine API's inspection).</summary>
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

    // docker container inspect reports the facts a backup records as key=value lines (a Go template), not as JSON: the
    // one mapping of a container's JSON is the Engine API's (IDockerGateway).
    internal const string ProductionTemplate =
        "image={{.Config.Image}}\nimage_id={{.Image}}\nrunning={{.State.Running}}\nrestarts={{.RestartCount}}\nstarted_at={{.State.StartedAt}}";

    /// <summary>The facts a backup records of its production container; null when it does not exist.</summary>
    public async Task<ProductionContainer?> InspectProductionAsync(string name, CancellationToken ct)
    {
        var r = await RunAsync(new[] { "docker", "container", "inspect", "--format", ProductionTemplate, "--", name }, ct).ConfigureAwait(false);
        if (!r.Succeeded)
        {
            if (r.StandardError.Contains("No such", StringComparison.OrdinalIgnoreCase)) return null;
            throw Failed("container inspect " + name, r);
        }
        var v = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2).GroupBy(kv => kv[0]).ToDictionary(g => g.Key, g => g.First()[1].TrimEnd('\r'));
        string Get(string key) => v.TryGetValue(key, out var value) ? value
            : throw new HbOpsException(HbErrorIds.Unexpected, HbErrorCategory.OperationFailed,
                $"docker container inspect of '{name}' on {CommandHost.Host} did not report {key}: {Redaction.Redact(r.StandardOutput.Trim())}", name);
        return new ProductionContainer(Get("image"), Get("image_id"), Get("running") == "true",
            int.TryParse(Get("restarts"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var restarts) ? restarts : 0,
            Get("started_at"));
    }

    /// <summary>Builds an error for a failed docker command.</summary>
    public static HbOpsException Failed(string what, CommandResult r, string id = HbErrorIds.Unexpected) =>
        new(id, HbErrorCategory.OperationFailed,
            $"docker {what} failed (exit {r.ExitCode}): {Redaction.Redact(r.StandardError.Trim())}", what);
}
