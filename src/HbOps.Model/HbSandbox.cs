
namespace HbOps.Model;

/// <summary>
/// A throwaway restore container with its own named volume, no network and no published port.
/// Carries the isolation evidence observed by inspecting the created container.
/// </summary>
public sealed class HbSandbox
{
    /// <summary>Label that marks every HbOps sandbox container and volume.</summary>
    public const string SandboxLabel = "hbops.sandbox";

    /// <summary>Container name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Named volume holding the sandbox's data directory.</summary>
    public string VolumeName { get; set; } = "";
    /// <summary>Container id (empty when only the volume is left).</summary>
    public string ContainerId { get; set; } = "";
    /// <summary>Image reference.</summary>
    public string Image { get; set; } = "";
    /// <summary>PostgreSQL major of the image.</summary>
    public int ImageMajor { get; set; }
    /// <summary>Docker host.</summary>
    public HbHost Host { get; set; } = HbHost.Local;
    /// <summary>Restore run id.</summary>
    public string RunId { get; set; } = "";
    /// <summary>Creation time (UTC).</summary>
    public DateTime CreatedUtc { get; set; }
    /// <summary>After this time a sweep may remove it (UTC).</summary>
    public DateTime ExpiresUtc { get; set; }
    /// <summary>Database created in the sandbox.</summary>
    public string Database { get; set; } = "";
    /// <summary>Role created in the sandbox.</summary>
    public string User { get; set; } = "";
    /// <summary>Observed network mode (expected <c>none</c>).</summary>
    public string NetworkMode { get; set; } = "";
    /// <summary>Observed published ports (expected none).</summary>
    public List<string> PublishedPorts { get; set; } = new();
    /// <summary>Observed mounts as <c>type:source:destination:rw|ro</c>.</summary>
    public List<string> Mounts { get; set; } = new();
    /// <summary>True when inspection showed network none, no published port, and only the expected mounts.</summary>
    public bool IsolationVerified { get; set; }
    /// <summary>How the docker engine was reached to create it (Engine API over unix socket or SSH dial-stdio).</summary>
    public string EngineTransport { get; set; } = "";
    /// <summary>Host folder holding the sandbox server's Unix socket (local engines only; empty otherwise).</summary>
    public string SocketDirectory { get; set; } = "";
    /// <summary>How the smoke tests reached the database (Npgsql over the socket, or psql via docker exec).</summary>
    public string SqlRoute { get; set; } = "";
    /// <summary>Whether the container was running at the last observation.</summary>
    public bool Running { get; set; }
    /// <summary>How the sandbox's cluster was initialised (HbOps' own initdb, or the image's entrypoint).</summary>
    public HbSandboxInitialization Initialization { get; set; }
    /// <summary>Server settings the sandbox was started with (<c>name=value</c>, passed as <c>postgres -c</c>).</summary>
    public List<string> ServerSettings { get; set; } = new();
    /// <summary>The sandbox server's version as it reported itself (<c>SHOW server_version</c>), once queried.</summary>
    public string ServerVersion { get; set; } = "";
    /// <summary>True when only the volume is left (its container is gone): nothing can use it any more.</summary>
    public bool Orphaned { get; set; }
    /// <summary>
    /// How long an orphaned volume counts as being made: a sandbox's volume exists a moment before its container, and a
    /// sweep must not take it from the run that is making it.
    /// </summary>
    public static readonly TimeSpan OrphanGrace = TimeSpan.FromMinutes(2);
    /// <summary>
    /// True when the expiry time has passed, or when only the volume is left and it is older than <see cref="OrphanGrace"/>
    /// (an orphaned volume is swept without waiting for its expiry).
    /// </summary>
    public bool Expired => (ExpiresUtc != default && DateTime.UtcNow > ExpiresUtc) ||
        (Orphaned && (CreatedUtc == default || DateTime.UtcNow > CreatedUtc + OrphanGrace));

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>How a sandbox's database cluster is initialised.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbSandboxInitialization
{
    /// <summary>
    /// HbOps runs the image's <c>initdb</c> itself (UTF8, the image's locale, password authentication over TCP),
    /// renames initdb's first database to the restore's in single-user mode and starts the server: a vanilla cluster
    /// without the entrypoint's temporary server start and stop.
    /// </summary>
    Direct,
    /// <summary>
    /// The image's own entrypoint (<c>POSTGRES_USER</c>/<c>POSTGRES_DB</c>/<c>POSTGRES_PASSWORD</c>): for images whose
    /// entrypoint adds something the restore needs, such as extensions or preloaded libraries.
    /// </summary>
    ImageEntrypoint,
}

/// <summary>Outcome of removing one sandbox.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbRemovalStatus
{
    /// <summary>Container and volume were removed and verified gone.</summary>
    Removed,
    /// <summary>Nothing of that name existed; verified gone.</summary>
    AlreadyGone,
    /// <summary>Not touched: it is not an HbOps sandbox.</summary>
    Refused,
    /// <summary>Removal ran but something is still present.</summary>
    Failed,
    /// <summary>Not removed (-WhatIf, declined, or -KeepSandbox).</summary>
    Skipped,
}

/// <summary>Evidence of a sandbox teardown.</summary>
public sealed class HbSandboxRemoval
{
    /// <summary>Container name.</summary>
    public string Name { get; set; } = "";
    /// <summary>Volume name.</summary>
    public string VolumeName { get; set; } = "";
    /// <summary>Docker host.</summary>
    public HbHost Host { get; set; } = HbHost.Local;
    /// <summary>Outcome.</summary>
    public HbRemovalStatus Status { get; set; }
    /// <summary>Containers of that name found after removal (0 when verified).</summary>
    public int ContainersRemaining { get; set; }
    /// <summary>Volumes of that name found after removal (0 when verified).</summary>
    public int VolumesRemaining { get; set; }
    /// <summary>True when both remaining counts were observed as 0.</summary>
    public bool Verified { get; set; }
    /// <summary>When the removal was verified (UTC).</summary>
    public DateTime? VerifiedAtUtc { get; set; }
    /// <summary>Human-readable detail.</summary>
    public string Message { get; set; } = "";
}
