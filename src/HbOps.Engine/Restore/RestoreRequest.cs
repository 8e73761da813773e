using HbOps.Model;
namespace HbOps.Engine.Restore;

/// <summary>How to test a restore.</summary>
public sealed class RestoreRequest
{
    /// <summary>Sandbox image (null: <c>postgres:&lt;artefact major&gt;</c>).</summary>
    public string? Image { get; init; }
    /// <summary>Exact sandbox name (null: generated).</summary>
    public string? SandboxName { get; init; }
    /// <summary>Parallel pg_restore jobs.</summary>
    public int Jobs { get; init; } = 2;
    /// <summary>Leave the sandbox running for inspection.</summary>
    public bool KeepSandbox { get; init; }
    /// <summary>SQL assertions to run in the sandbox.</summary>
    public IReadOnlyList<HbAssertion> Assertions { get; init; } = Array.Empty<HbAssertion>();
    /// <summary>Relative tolerance for estimated row counts.</summary>
    public double EstimateTolerance { get; init; } = 0.1;
    /// <summary>How long a kept sandbox lives before a sweep may remove it.</summary>
    public TimeSpan SandboxTimeToLive { get; init; } = TimeSpan.FromHours(2);
    /// <summary>How long to wait for the sandbox server.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);
    /// <summary>Sandbox server settings (<see cref="Sandbox.SandboxSettings.Merge"/> of the defaults and the caller's overrides).</summary>
    public IReadOnlyDictionary<string, string> ServerSettings { get; init; } = Sandbox.SandboxSettings.Defaults;
    /// <summary>How the sandbox's cluster is initialised.</summary>
    public HbSandboxInitialization Initialization { get; init; }
    /// <summary>Run pg_amcheck (heap tables and btree indexes) on the restored copy.</summary>
    public bool Amcheck { get; init; }
    /// <summary>With <see cref="Amcheck"/>: also look every heap tuple up in every btree index (--heapallindexed).</summary>
    public bool AmcheckHeapAllIndexed { get; init; }
    /// <summary>Remove expired sandboxes of this host before starting.</summary>
    public bool SweepExpired { get; init; } = true;
    /// <summary>
    /// The age identity (key lines, see <see cref="Backup.AgeEncryption.ValidateIdentity"/>) that decrypts an encrypted
    /// artefact; it goes only into the sandbox's tmpfs, on standard input. Null: none (an encrypted artefact is then
    /// <c>IdentityRequired</c>). The engine clears the array once the identity is in the sandbox.
    /// </summary>
    public byte[]? Identity { get; init; }
}
