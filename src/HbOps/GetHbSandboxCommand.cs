using System.Management.Automation;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Lists HbOps restore sandboxes on a docker host by label; -Expired lists those a sweep may remove.</para>
/// </summary>
/// <remarks>
/// Lists containers and volumes labelled hbops.sandbox=true on the docker host, with their isolation as observed
/// now and their expiry. Volumes whose container is gone are listed too (Orphaned) and count as expired two minutes
/// after they were made, so Get-HbSandbox -Expired | Remove-HbSandbox sweeps them at once. With -Target the docker host
/// is the target's from the HbOps config file.
/// </remarks>
/// <example>
/// <code>Get-HbSandbox -SshHost contabo</code>
/// <para>Lists every HbOps sandbox on the host.</para>
/// </example>
/// <example>
/// <code>Get-HbSandbox -Expired | Remove-HbSandbox -Confirm:$false</code>
/// <para>Removes expired sandboxes on this machine.</para>
/// </example>
/// <example>
/// <code>Get-HbSandbox -Target contabo-directus -Name pg-restore-test-*</code>
/// <para>Lists the restore-test sandboxes on the target's docker host (names complete from that host's engine).</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbSandbox")]
[OutputType(typeof(HbSandbox))]
public sealed class GetHbSandboxCommand : HbHostCmdletBase
{
    /// <summary>Name filter (wildcards); completes from the docker host's sandboxes.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public string Name { get; set; } = "*";

    /// <summary>
    /// Only sandboxes a sweep may remove: past their expiry time, or volumes whose container is gone (Orphaned; after a
    /// two-minute grace, as a sandbox's volume exists a moment before its container).
    /// </summary>
    [Parameter]
    public SwitchParameter Expired { get; set; }

    /// <summary>A named target from the HbOps config file: its docker host (explicit SSH parameters override it).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string? Target { get; set; }

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            if (Target is not null) ApplyTargetHost(LoadTarget(Target, ConfigPath));
            var host = ResolveHostFromParameters();
            var pattern = new WildcardPattern(Name, WildcardOptions.IgnoreCase);
            WriteVerbose($"Listing containers and volumes labelled {HbSandbox.SandboxLabel}=true on {host}.");
            var list = RunEngine(async (reporter, ct) =>
                await new SandboxManager(await ConnectAsync(host, ct).ConfigureAwait(false), reporter).ListAsync(ct).ConfigureAwait(false));
            var matching = list.Where(s => pattern.IsMatch(s.Name) && (!Expired || s.Expired)).ToList();
            WriteVerbose($"{list.Count} sandbox(es) on {host}; {matching.Count} match -Name '{Name}'{(Expired ? " and have expired" : "")}.");
            WriteObject(matching, enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Name);
        }
    }
}
