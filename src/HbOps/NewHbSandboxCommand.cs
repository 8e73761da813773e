using System.Management.Automation;
using HbOps.Engine.Restore;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Creates an isolated, ready PostgreSQL sandbox for an artefact (checksum verified, same major, artefact mounted read-only) without restoring it.</para>
/// </summary>
/// <remarks>
/// Re-reads the artefact and refuses it if its SHA-256 differs from the manifest or SHA256SUMS. Creates the sandbox the
/// way Test-HbRestore does, through the Docker Engine API on the artefact's docker host: image postgres:&lt;artefact
/// major&gt; unless -Image (a lower major than the source is refused), name pg-restore-test-&lt;tag&gt;-&lt;date&gt; with a
/// suffix when taken (an exact -SandboxName that exists is refused), its own named volume, --network none, no
/// published port, labels with the expiry, and the artefact's folder bind-mounted read-only at /hbops-artefact (a local
/// artefact for a remote engine is uploaded first). The isolation is verified by inspecting the created container, and
/// the command returns once pg_isready -h 127.0.0.1 succeeds inside it. If any step fails or is interrupted (Ctrl+C),
/// whatever was made is removed. Remove the sandbox with Remove-HbSandbox (also its uploaded copy); Get-HbSandbox
/// -Expired lists it once its time to live has passed.
/// </remarks>
/// <example>
/// <code>$sb = Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Select-Object -Last 1 | New-HbSandbox -TimeToLiveMinutes 30</code>
/// <para>A ready sandbox for the latest backup, for a manual pg_restore (docker exec $sb.Name pg_restore ... /hbops-artefact/...).</para>
/// </example>
/// <example>
/// <code>New-HbSandbox -SshHost contabo -Path /var/backups/hbops/hb08_2026-05-15/directus_full_20260515T010203Z.dump -Image postgres:17 | Remove-HbSandbox -Confirm:$false</code>
/// <para>Proves a newer major's image starts with the artefact mounted, then removes the sandbox and verifies it is gone.</para>
/// </example>
[Cmdlet(VerbsCommon.New, "HbSandbox", DefaultParameterSetName = ArtefactSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbSandbox))]
public sealed class NewHbSandboxCommand : HbSandboxCmdletBase
{
    /// <summary>Seconds to wait for the sandbox's server to accept connections.</summary>
    [Parameter]
    [ValidateRange(5, 3600)]
    public int ReadyTimeoutSeconds { get; set; } = 90;

    /// <inheritdoc />
    protected override void ProcessRecord() => RunForArtefact(() => new RestoreRequest
        {
            ServerSettings = MergedServerSettings(), Initialization = Initialization, Image = Image, SandboxName = SandboxName,
            SandboxTimeToLive = TimeSpan.FromMinutes(TimeToLiveMinutes), ReadyTimeout = TimeSpan.FromSeconds(ReadyTimeoutSeconds),
        },
        $"a sandbox for {ArtefactDescription}", "Create sandbox",
        (engine, artefact, request, ct) => engine.CreateSandboxAsync(artefact, request, ct));
}
