using System.Management.Automation;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Lists HbOps restore sandboxes on a docker host by label; -Expired lists those a sweep may remove.</para>
/// </summary>
/// <remarks>
/// Lists containers and volumes labelled hbops.sandbox=true on the docker host, with their isolation as observed
/// now and their expiry. Volumes whose container is gone are listed too, so a sweep removes them.
/// </remarks>
/// <example>
/// <code>Get-HbSandbox -SshHost contabo</code>
/// <para>Lists every HbOps sandbox on the host.</para>
/// </example>
/// <example>
/// <code>Get-HbSandbox -Expired | Remove-HbSandbox -Confirm:$false</code>
/// <para>Removes expired sandboxes on this machine.</para>
/// </example>
[Cmdlet(VerbsCommon.Get, "HbSandbox")]
[OutputType(typeof(HbSandbox))]
public sealed class GetHbSandboxCommand : HbHostCmdletBase
{
    /// <summary>Name filter (wildcards).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "*";

    /// <summary>Only sandboxes past their expiry time.</summary>
    [Parameter]
    public SwitchParameter Expired { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            var host = ResolveHostFromParameters();
            var pattern = new WildcardPattern(Name, WildcardOptions.IgnoreCase);
            var list = RunEngine(async (reporter, ct) =>
                await new SandboxManager(await ConnectAsync(host, ct).ConfigureAwait(false), reporter).ListAsync(ct).ConfigureAwait(false));
            WriteObject(list.Where(s => pattern.IsMatch(s.Name) && (!Expired || s.Expired)), enumerateCollection: true);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Name);
        }
    }
}
