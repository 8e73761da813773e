using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Util;
using HbOps.Model;

namespace HbOps.Engine.Sandbox;

/// <summary>How to create a sandbox.</summary>
public sealed class SandboxSpec
{
    /// <summary>Tag used in the default name.</summary>
    public string Tag { get; init; } = "hbops";
    /// <summary>Exact name (collision refuses); null: <c>pg-restore-test-&lt;tag&gt;-&lt;date&gt;</c> with a suffix when taken.</summary>
    public string? Name { get; init; }
    /// <summary>Image reference.</summary>
    public string Image { get; init; } = "postgres:15";
    /// <summary>Known image major (probed by the caller).</summary>
    public int ImageMajor { get; init; }
    /// <summary>Database to create.</summary>
    public string Database { get; init; } = "postgres";
    /// <summary>Role to create.</summary>
    public string User { get; init; } = "postgres";
    /// <summary>Host folder bind-mounted read-only at <see cref="SandboxManager.ArtefactMount"/> (null: none).</summary>
    public string? ArtefactFolder { get; init; }
    /// <summary>Lifetime before a sweep may remove it.</summary>
    public TimeSpan TimeToLive { get; init; } = TimeSpan.FromHours(2);
    /// <summary>Run id recorded in labels.</summary>
    public string RunId { get; init; } = "";
    /// <summary>Host folder bind-mounted as the server's socket directory (local engines: the Npgsql route), or null.</summary>
    public string? SocketDirectory { get; init; }
    /// <summary>Server settings (<c>postgres -c</c>); see <see cref="SandboxSettings"/>.</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = SandboxSettings.Defaults;
    /// <summary>How the cluster is initialised; see <see cref="SandboxInit"/>.</summary>
    public HbSandboxInitialization Initialization { get; init; }
    /// <summary>
    /// A folder HbOps made on the docker host for this sandbox (the uploaded artefact copy, or the socket directory of a
    /// local engine), removed with the sandbox; null: none. Only HbOps' own folder names are accepted.
    /// </summary>
    public string? ScratchFolder { get; init; }
    /// <summary>
    /// Give the sandbox a small private tmpfs at <see cref="SandboxManager.SecretMount"/> for an age identity and the
    /// age binary that decrypts the artefact (nothing of it ever reaches a disk; it goes with the container).
    /// </summary>
    public bool SecretTmpfs { get; init; }
}

/// <summary>
/// Creates, inspects, lists and removes sandboxes. Lifecycle goes through the Docker Engine API (locally over the
/// unix socket, remotely over SSH dial-stdio); commands inside a sandbox go through docker exec.
/// </summary>
public sealed partial class SandboxManager(ICommandHost host, IHbReporter? reporter = null, IDockerGateway? gateway = null) : ISandboxGateway
{
    /// <summary>Where the server's socket directory is inside a sandbox.</summary>
    public const string SocketMount = "/var/run/postgresql";
    private readonly IDockerGateway _engine = gateway ?? DockerEngineApi.For(host);
    /// <summary>Where the artefact folder appears inside a sandbox.</summary>
    public const string ArtefactMount = "/hbops-artefact";
    /// <summary>The sandbox's in-memory folder for an age identity and the age binary (see <see cref="SandboxSpec.SecretTmpfs"/>).</summary>
    public const string SecretMount = "/run/hbops-secret";
    // Root-only (0700), 16 MiB (age is ~4 MiB, an identity a few hundred bytes), executable (age runs from it: sandbox
    // images such as the official postgres one do not contain it), no device files or set-uid programs.
    internal const string SecretMountOptions = "rw,exec,nosuid,nodev,size=16m,mode=0700";
    private const string DataDir = SandboxInit.DataDir;
    private readonly DockerCli _docker = new(host);
    private readonly IHbReporter _report = reporter ?? NullReporter.Instance;

    [GeneratedRegex(@"\(PostgreSQL\)\s+(\d+)")]
    private static partial Regex VersionRegex();

    // The label naming a folder HbOps made for the sandbox on its docker host, and the only names such a folder may have
    // (an upload under /tmp, or a socket directory in this machine's temp folder): a label edited by hand can never make
    // the removal delete anything else.
    private const string ScratchLabel = "hbops.scratch-folder";

    // How the cluster was initialised (absent on sandboxes of older HbOps versions: the image's entrypoint).
    private const string InitializationLabel = "hbops.initialization";

    [GeneratedRegex(@"^hbops-(upload|sock)-[A-Za-z0-9_.]{1,32}$")]
    private static partial Regex ScratchFolderNameRegex();

    /// <summary>
    /// True for a folder HbOps may have made for a sandbox: an absolute path without <c>.</c>/<c>..</c> steps whose last
    /// step is an HbOps scratch name, directly inside <c>/tmp</c> (uploads on a docker host) or inside this machine's
    /// temp folder for a local sandbox (wherever TMPDIR points, e.g. <c>/var/tmp</c>).
    /// </summary>
    internal static bool IsScratchFolder(string folder, bool local, string? localTemp = null)
    {
        if (string.IsNullOrEmpty(folder) || folder[0] != '/' || folder.EndsWith('/')) return false;
        var cut = folder.LastIndexOf('/');
        var parent = cut == 0 ? "/" : folder[..cut];
        if (!ScratchFolderNameRegex().IsMatch(folder[(cut + 1)..])) return false;
        if (parent.Split('/').Any(step => step is "." or "..") || parent.Contains("//", StringComparison.Ordinal)) return false;
        if (parent == "/tmp") return true;
        if (!local) return false;
        var temp = Path.TrimEndingDirectorySeparator(localTemp ?? Path.GetTempPath());
        return temp.Length > 1 && string.Equals(parent, temp, StringComparison.Ordinal);
    }

    /// <summary>
    /// The PostgreSQL major of an image: from its <c>PG_MAJOR</c> variable (set by the official postgres images) when it
    /// has one, otherwise from a throwaway <c>pg_restore --version</c> container. An image missing on the host is refused.
    /// </summary>
    public async Task<int> ProbeImageMajorAsync(string image, CancellationToken ct)
    {
        Validation.Image(image, "Image");
        var info = await _engine.InspectImageAsync(image, ct).ConfigureAwait(false);
        if (info is null)
        {
            throw new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.ObjectNotFound,
                $"Image '{image}' is not present on {host.Host}; HbOps never pulls images implicitly.", image,
                $"Pull or load it on the docker host first (docker pull {image}).");
        }
        var declared = info.Env.Select(e => e.Split('=', 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0] == "PG_MAJOR")?[1];
        if (int.TryParse(declared, NumberStyles.None, CultureInfo.InvariantCulture, out var major) && major > 0) return major;

        var r = await _docker.RunAsync(new[] { "docker", "run", "--rm", "--network", "none", "--label", "hbops.probe=true",
            "--entrypoint", "pg_restore", image, "--version" }, ct).ConfigureAwait(false);
        var m = VersionRegex().Match(r.StandardOutput);
        if (!r.Succeeded || !m.Success)
        {
            throw new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.ResourceUnavailable,
                $"Cannot determine the PostgreSQL version of image '{image}' on {host.Host}: {Redaction.Redact(r.StandardError.Trim())}",
                image, "Make sure the image contains pg_restore.");
        }
        return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Creates the sandbox and verifies its isolation; removes what it made if creation fails.</summary>
    public async Task<HbSandbox> CreateAsync(SandboxSpec spec, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var created = DateTime.UtcNow;
        var baseName = spec.Name is not null
            ? Validation.ContainerName(spec.Name, "SandboxName")
            : $"pg-restore-test-{spec.Tag}-{created.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}";
        // The default name, or with the run id when another sandbox has it. A name is this run's only once its volume
        // carries the run's id and its container was created: docker answers a volume create for a name that exists
        // with that volume, and refuses a second container of one name, so two runs never share or remove each other's.
        var candidates = spec.Name is not null ? new[] { baseName } : new[] { baseName, $"{baseName}-{spec.RunId}" };
        foreach (var candidate in candidates)
        {
            if (await IsTakenAsync(candidate, ct).ConfigureAwait(false)) continue;
            if (await TryCreateAsync(spec, candidate, created, ct).ConfigureAwait(false) is { } made) return made;
        }
        throw Collision(candidates[^1]);
    }

    // Creates the sandbox under one name; null when the name turned out to be another run's (nothing of it touched).
    private async Task<HbSandbox?> TryCreateAsync(SandboxSpec spec, string name, DateTime created, CancellationToken ct)
    {
        var volume = name + "-data";
        var sandbox = new HbSandbox
        {
            Name = name, VolumeName = volume, Image = spec.Image, ImageMajor = spec.ImageMajor, Host = host.Host, RunId = spec.RunId,
            CreatedUtc = created, ExpiresUtc = created + spec.TimeToLive, Database = spec.Database, User = spec.User,
        };
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [HbSandbox.SandboxLabel] = "true", ["hbops.sandbox-name"] = name, ["hbops.volume"] = volume, ["hbops.run-id"] = spec.RunId,
            ["hbops.created"] = created.ToString("o", CultureInfo.InvariantCulture),
            ["hbops.expires"] = sandbox.ExpiresUtc.ToString("o", CultureInfo.InvariantCulture),
            ["hbops.database"] = spec.Database, ["hbops.user"] = spec.User, ["hbops.image-major"] = spec.ImageMajor.ToString(CultureInfo.InvariantCulture),
            [InitializationLabel] = spec.Initialization.ToString(),
        };
        if (spec.ScratchFolder is not null)
        {
            if (!IsScratchFolder(spec.ScratchFolder, host.Host.Kind == HbHostKind.Local)) throw HbOpsException.Invalid($"'{spec.ScratchFolder}' is not an HbOps scratch folder.", spec.ScratchFolder);
            labels[ScratchLabel] = spec.ScratchFolder;
        }
        sandbox.EngineTransport = _engine.Transport;
        sandbox.SocketDirectory = spec.SocketDirectory ?? "";
        sandbox.ServerSettings = spec.ServerSettings.Select(kv => $"{kv.Key}={kv.Value}").ToList();
        sandbox.Initialization = spec.Initialization;
        var env = SandboxInit.Environment(spec.Initialization, spec.User, spec.Database, spec.ServerSettings);
        var entrypoint = SandboxInit.Entrypoint(spec.Initialization, spec.Database, spec.User);
        await _engine.CreateVolumeAsync(volume, labels, ct).ConfigureAwait(false);
        if (await _engine.InspectVolumeAsync(volume, ct).ConfigureAwait(false) is not { } vol || !IsRun(vol.Labels, spec.RunId))
        {
            _report.Verbose($"The volume '{volume}' belongs to another run; trying another name.");
            return null;
        }

        // A random password the sandbox never needs to show: it travels as a secret variable only.
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var mounts = new List<MountSpec> { new("volume", volume, DataDir, false) };
        if (spec.ArtefactFolder is not null) mounts.Add(new MountSpec("bind", spec.ArtefactFolder, ArtefactMount, true));
        if (spec.SocketDirectory is not null) mounts.Add(new MountSpec("bind", spec.SocketDirectory, SocketMount, false));
        _report.Verbose($"Creating sandbox '{name}' via {_engine.Transport} (image {spec.Image}, volume {volume}, network none, no published port, initialisation {spec.Initialization}).");
        try
        {
            await _engine.RunContainerAsync(new SandboxContainerSpec(name, spec.Image, labels,
                env, new[] { $"POSTGRES_PASSWORD={password}" }, mounts, SandboxSettings.ToCommand(spec.ServerSettings), entrypoint,
                spec.SecretTmpfs ? new Dictionary<string, string> { [SecretMount] = SecretMountOptions } : null), ct).ConfigureAwait(false);
            await ObserveAsync(sandbox, spec.ArtefactFolder, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HbOpsException or OperationCanceledException)
        {
            // Creation failed or was interrupted (Ctrl+C) after the volume existed: remove whatever this run made (a
            // container of that name made by another run is left alone).
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var taken = ex is HbOpsException { ErrorId: HbErrorIds.SandboxCollision };
            await RemoveAsync(name, cleanup.Token, volume, taken ? null : spec.ScratchFolder, spec.RunId).ConfigureAwait(false);
            if (taken && spec.Name is null) return null;
            throw;
        }
        return sandbox;
    }

    private static bool IsRun(IReadOnlyDictionary<string, string> labels, string runId) =>
        IsSandbox(labels) && labels.TryGetValue("hbops.run-id", out var r) && r == runId;

    /// <summary>Re-inspects the container and records the isolation evidence on the sandbox.</summary>
    public async Task ObserveAsync(HbSandbox sandbox, string? expectedArtefactFolder, CancellationToken ct)
        => await ObserveAsync(sandbox, expectedArtefactFolder, sandbox?.SocketDirectory is { Length: > 0 } d ? d : null, ct).ConfigureAwait(false);

    private async Task ObserveAsync(HbSandbox sandbox, string? expectedArtefactFolder, string? socketDirectory, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        var info = await _engine.InspectContainerAsync(sandbox.Name, ct).ConfigureAwait(false);
        if (info is null)
        {
            sandbox.Running = false;
            sandbox.IsolationVerified = false;
            return;
        }
        sandbox.ContainerId = info.Id;
        sandbox.Running = info.Running;
        sandbox.NetworkMode = info.NetworkMode;
        sandbox.PublishedPorts = info.PublishedPorts.ToList();
        sandbox.Mounts = info.Mounts.ToList();
        var expectedMounts = new List<string> { $"volume:{sandbox.VolumeName}:{DataDir}:rw" };
        if (expectedArtefactFolder is not null) expectedMounts.Add($"bind:{expectedArtefactFolder}:{ArtefactMount}:ro");
        if (socketDirectory is not null) expectedMounts.Add($"bind:{socketDirectory}:{SocketMount}:rw");
        sandbox.IsolationVerified = info.NetworkMode == "none" && info.PublishedPorts.Count == 0 &&
            info.Mounts.Order(StringComparer.Ordinal).SequenceEqual(expectedMounts.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Puts what decrypting an age artefact needs into the sandbox's tmpfs (<see cref="SecretMount"/>): the docker
    /// host's own age binary (copied by docker exec from the host's file; the host encrypted with it), checked by running
    /// it there, and the identity, passed on standard input only (never a command line, never a file on the host).
    /// A sandbox image that cannot run that binary (not glibc-based) is <c>EncryptionUnavailable</c>. Returns age's version.
    /// </summary>
    public async Task<string> PrepareDecryptionAsync(HbSandbox sandbox, byte[] identity, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentNullException.ThrowIfNull(identity);
        var copy = await host.RunAsync(new[] { "sh", "-c", "a=$(command -v age) || { echo 'age is not installed on the docker host' >&2; exit 69; }; " +
            "docker exec -i \"$1\" sh -c \"$2\" < \"$a\"", "hbops-age", sandbox.Name,
            $"umask 077; cat > {SecretMount}/age && chmod 0700 {SecretMount}/age && {SecretMount}/age --version" }, ct).ConfigureAwait(false);
        var version = copy.StandardOutput.Trim();
        if (!copy.Succeeded || version.Length == 0)
        {
            throw new HbOpsException(HbErrorIds.EncryptionUnavailable, HbErrorCategory.ResourceUnavailable,
                $"Cannot decrypt in sandbox '{sandbox.Name}': the docker host's age does not run there (exit {copy.ExitCode}: {Redaction.Redact(copy.StandardError.Trim())}).",
                sandbox.Name, "Install age on the docker host; use a glibc-based sandbox image (-Image), such as the official postgres images.");
        }
        var put = await _docker.RunAsync(DockerCli.ExecArgv(sandbox.Name, new[] { "sh", "-c", $"umask 077; cat > {SecretMount}/identity" }, interactive: true), ct, identity).ConfigureAwait(false);
        if (!put.Succeeded)
        {
            throw new HbOpsException(HbErrorIds.DecryptionFailed, HbErrorCategory.OperationFailed,
                $"Could not place the identity in sandbox '{sandbox.Name}' (exit {put.ExitCode}): {Redaction.Redact(put.StandardError.Trim())}", sandbox.Name);
        }
        return version.Split('\n')[^1].Trim();
    }

    /// <summary>Waits until PostgreSQL accepts TCP connections on the container's own loopback (the init server does not).</summary>
    public Task WaitReadyAsync(HbSandbox sandbox, TimeSpan timeout, CancellationToken ct) =>
        RunWhenReadyAsync(sandbox, new[] { "true" }, timeout, () => { }, ct);

    // The sandbox's server never became ready: say why (timed out or stopped), with the end of its log (redacted).
    private async Task<HbOpsException> NotReadyAsync(HbSandbox sandbox, string why, string? detail, CancellationToken ct)
    {
        var logs = await _docker.RunAsync(new[] { "docker", "logs", "--tail", "20", sandbox.Name }, ct).ConfigureAwait(false);
        return new HbOpsException(HbErrorIds.SandboxStartFailed, HbErrorCategory.ResourceUnavailable,
            $"Sandbox '{sandbox.Name}' did not become ready ({why}): " +
            (detail is { Length: > 0 } ? Redaction.Redact(detail) + "; " : "") +
            Redaction.Redact((logs.StandardOutput + logs.StandardError).Trim()), sandbox.Name);
    }

    private const string ReadyMarker = "hbops-ready";
    private const int TimedOutExit = 124;

    // Waits inside the container until the server accepts TCP connections on its own loopback (the socket-only server of
    // the image's initialisation does not), says so on stdout, then becomes the command. Fractional sleeps where the
    // image's sleep has them, whole seconds otherwise; a wall-clock deadline.
    private const string ReadyThenRunScript = """
        user=$1; timeout=$2; shift 2
        end=$(( $(date +%s) + timeout ))
        until pg_isready -q -h 127.0.0.1 -U "$user"; do
          if [ "$(date +%s)" -ge "$end" ]; then echo "the server did not accept connections within ${timeout}s" >&2; exit 124; fi
          sleep 0.05 2>/dev/null || sleep 1
        done
        echo hbops-ready
        exec "$@"
        """;

    /// <summary>
    /// Runs <paramref name="argv"/> in the sandbox as soon as its server is ready, in one docker exec that waits inside the
    /// container (no polling round trips; the command starts the moment the server accepts connections).
    /// <paramref name="onReady"/> is called when the server is ready; a sandbox that never gets there is
    /// <c>SandboxStartFailed</c>, with the end of its log. The command's own exit code and output are returned.
    /// </summary>
    public async Task<CommandResult> RunWhenReadyAsync(HbSandbox sandbox, IReadOnlyList<string> argv, TimeSpan timeout, Action onReady, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(onReady);
        var script = new List<string> { "sh", "-c", ReadyThenRunScript, "hbops-ready", sandbox.User,
            ((long)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture) };
        script.AddRange(argv);
        var ready = false;
        var r = await host.RunObservingAsync(DockerCli.ExecArgv(sandbox.Name, script), line =>
        {
            if (ready || line != ReadyMarker) return false;
            ready = true;
            onReady();
            return true;
        }, ct).ConfigureAwait(false);
        if (ready) return r;
        // The wait inside the container gave up (124), or the container stopped under it (docker exec then fails).
        throw await NotReadyAsync(sandbox, r.ExitCode == TimedOutExit ? "timed out" : "container stopped", r.StandardError.Trim(), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes a sandbox's container and volume, then verifies both are gone, and removes the folder HbOps made for it
    /// (named by the container's label, or by <paramref name="scratchFolder"/> when the container is gone). Refuses
    /// anything that lacks the HbOps sandbox label, whatever its name.
    /// </summary>
    /// <remarks>
    /// With <paramref name="runId"/>, only a container and volume labelled with that run's id are removed (a run
    /// cleaning up after itself never takes another run's sandbox of the same name).
    /// </remarks>
    public async Task<HbSandboxRemoval> RemoveAsync(string name, CancellationToken ct, string? volumeName = null, string? scratchFolder = null,
        string? runId = null)
    {
        Validation.ContainerName(name, "Name");
        var removal = new HbSandboxRemoval { Name = name, Host = host.Host };
        // Independent look-ups run at the same time (each is a round trip to the engine).
        var volumeTask = volumeName is null ? null : _engine.InspectVolumeAsync(volumeName, ct);
        var container = await _engine.InspectContainerAsync(name, ct).ConfigureAwait(false);
        var volumeInfo = volumeTask is null ? null : await volumeTask.ConfigureAwait(false);
        if (container is not null && !IsSandbox(container.Labels))
        {
            throw new HbOpsException(HbErrorIds.NotASandbox, HbErrorCategory.PermissionDenied,
                $"Refusing to remove container '{name}': it is not an HbOps sandbox (no {HbSandbox.SandboxLabel}=true label).", name,
                "Remove-HbSandbox only removes containers it created.");
        }
        var volume = volumeName ?? (container?.Labels.TryGetValue("hbops.volume", out var v) == true ? v : name + "-data");
        removal.VolumeName = volume;
        var vol = volumeTask is not null ? volumeInfo : await _engine.InspectVolumeAsync(volume, ct).ConfigureAwait(false);
        if (vol is not null && !IsSandbox(vol.Labels))
        {
            throw new HbOpsException(HbErrorIds.NotASandbox, HbErrorCategory.PermissionDenied,
                $"Refusing to remove volume '{volume}': it is not an HbOps sandbox volume.", volume, "Remove-HbSandbox only removes volumes it created.");
        }
        if (runId is not null)
        {
            if (container is not null && !IsRun(container.Labels, runId)) container = null;
            if (vol is not null && !IsRun(vol.Labels, runId)) vol = null;
        }
        var existed = container is not null || vol is not null;
        var errors = new List<string>();
        try
        {
            if (container is not null) await _engine.RemoveContainerAsync(name, ct).ConfigureAwait(false);
            if (vol is not null) await _engine.RemoveVolumeAsync(volume, ct).ConfigureAwait(false);
            var scratch = container?.Labels.TryGetValue(ScratchLabel, out var labelled) == true ? labelled : scratchFolder;
            if (scratch is not null && await RemoveScratchFolderAsync(scratch, ct).ConfigureAwait(false) is { } error) errors.Add(error);
        }
        catch (HbOpsException ex)
        {
            errors.Add(ex.Message);
        }
        var containerAfter = _engine.InspectContainerAsync(name, ct);
        var volumeAfter = _engine.InspectVolumeAsync(volume, ct);
        removal.ContainersRemaining = await containerAfter.ConfigureAwait(false) is { } c && (runId is null || IsRun(c.Labels, runId)) ? 1 : 0;
        removal.VolumesRemaining = await volumeAfter.ConfigureAwait(false) is { } v2 && (runId is null || IsRun(v2.Labels, runId)) ? 1 : 0;
        removal.Verified = removal.ContainersRemaining == 0 && removal.VolumesRemaining == 0;
        removal.VerifiedAtUtc = removal.Verified ? DateTime.UtcNow : null;
        removal.Status = !removal.Verified ? HbRemovalStatus.Failed : existed ? HbRemovalStatus.Removed : HbRemovalStatus.AlreadyGone;
        removal.Message = removal.Verified
            ? $"container {name} and volume {volume}: 0 remaining"
            : $"still present: containers={removal.ContainersRemaining}, volumes={removal.VolumesRemaining}. {string.Join(" ", errors)}";
        // Container and volume gone, but their folder could not be removed: said, not hidden.
        if (removal.Verified && errors.Count > 0) _report.Warning(string.Join(" ", errors));
        _report.Verbose($"Teardown of '{name}': {removal.Status} ({removal.Message}).");
        return removal;
    }

    /// <summary>
    /// Removes a folder HbOps made on the docker host for a sandbox (an upload or a socket directory); only HbOps' own
    /// folder names are touched. Returns why it failed, or null.
    /// </summary>
    public async Task<string?> RemoveScratchFolderAsync(string folder, CancellationToken ct)
    {
        if (!IsScratchFolder(folder, host.Host.Kind == HbHostKind.Local)) return $"'{folder}' is not an HbOps scratch folder; left alone.";
        var r = await host.RunAsync(new[] { "rm", "-rf", "--", folder }, ct).ConfigureAwait(false);
        return r.Succeeded ? null : $"Could not remove {folder}: {Redaction.Redact(r.StandardError.Trim())}";
    }

    /// <summary>Lists sandboxes on the host by label (containers, plus volumes whose container is gone).</summary>
    public async Task<List<HbSandbox>> ListAsync(CancellationToken ct)
    {
        var result = new List<HbSandbox>();
        var seenVolumes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in await _engine.ListContainersAsync($"{HbSandbox.SandboxLabel}=true", ct).ConfigureAwait(false))
        {
            var info = await _engine.InspectContainerAsync(name, ct).ConfigureAwait(false);
            if (info is null) continue;
            var sb = FromLabels(name, info.Labels);
            sb.ContainerId = info.Id;
            sb.Image = info.Image;
            sb.Running = info.Running;
            sb.NetworkMode = info.NetworkMode;
            sb.PublishedPorts = info.PublishedPorts.ToList();
            sb.Mounts = info.Mounts.ToList();
            sb.IsolationVerified = info.NetworkMode == "none" && info.PublishedPorts.Count == 0;
            seenVolumes.Add(sb.VolumeName);
            result.Add(sb);
        }
        foreach (var vname in await _engine.ListVolumesAsync($"{HbSandbox.SandboxLabel}=true", ct).ConfigureAwait(false))
        {
            if (seenVolumes.Contains(vname)) continue;
            var vol = await _engine.InspectVolumeAsync(vname, ct).ConfigureAwait(false);
            if (vol is null) continue;
            var sb = FromLabels(vol.Labels.TryGetValue("hbops.sandbox-name", out var n) ? n : vname, vol.Labels);
            sb.VolumeName = vname;
            sb.Orphaned = true;
            result.Add(sb);
        }
        return result.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
    }

    private HbSandbox FromLabels(string name, IReadOnlyDictionary<string, string> labels)
    {
        string L(string k) => labels.TryGetValue(k, out var v) ? v : "";
        static DateTime Parse(string s) => DateTime.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var d) ? d.ToUniversalTime() : default;
        return new HbSandbox
        {
            Name = name, VolumeName = L("hbops.volume") is { Length: > 0 } v ? v : name + "-data", Host = host.Host, RunId = L("hbops.run-id"),
            CreatedUtc = Parse(L("hbops.created")), ExpiresUtc = Parse(L("hbops.expires")), Database = L("hbops.database"), User = L("hbops.user"),
            ImageMajor = int.TryParse(L("hbops.image-major"), CultureInfo.InvariantCulture, out var m) ? m : 0,
            Initialization = Enum.TryParse<HbSandboxInitialization>(L(InitializationLabel), out var init) && Enum.IsDefined(init)
                ? init : HbSandboxInitialization.ImageEntrypoint,
        };
    }

    private static bool IsSandbox(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(HbSandbox.SandboxLabel, out var v) && v == "true";

    private async Task<bool> IsTakenAsync(string name, CancellationToken ct)
    {
        var containerTask = _engine.InspectContainerAsync(name, ct);
        var volumeTask = _engine.InspectVolumeAsync(name + "-data", ct);
        var container = await containerTask.ConfigureAwait(false);
        var volume = await volumeTask.ConfigureAwait(false);
        return container is not null || volume is not null;
    }

    private static HbOpsException Collision(string name) =>
        new(HbErrorIds.SandboxCollision, HbErrorCategory.ResourceUnavailable,
            $"A container or volume named '{name}' already exists; refusing to reuse or replace it.", name,
            "Choose another -SandboxName or remove the old sandbox with Remove-HbSandbox.");
}
