using System.Management.Automation;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Removes restore sandboxes (container and volume) and verifies they are gone. Refuses anything that is not an HbOps sandbox.</para>
/// </summary>
/// <remarks>
/// Accepts sandboxes from the pipeline (Test-HbRestore -KeepSandbox, Get-HbSandbox) or by name. Removes the
/// container and its volume, then looks for both again and reports the remaining counts (0 when verified).
/// Anything without the hbops.sandbox=true label is refused, so a production container can never be removed
/// by this command. Supports -WhatIf and -Confirm (ConfirmImpact High).
/// </remarks>
/// <example>
/// <code>$r = Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore -KeepSandbox; $r | Remove-HbSandbox -Confirm:$false</code>
/// <para>Removes the kept sandbox of a restore test and shows the verification.</para>
/// </example>
/// <example>
/// <code>Get-HbSandbox -SshHost contabo -Expired | Remove-HbSandbox -Confirm:$false</code>
/// <para>Sweeps sandboxes that a crash or -KeepSandbox left behind past their expiry.</para>
/// </example>
[Cmdlet(VerbsCommon.Remove, "HbSandbox", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ObjectSet)]
[OutputType(typeof(HbSandboxRemoval))]
public sealed class RemoveHbSandboxCommand : HbHostCmdletBase
{
    private const string ObjectSet = "Sandbox";
    private const string NameSet = "Name";
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);

    /// <summary>Sandbox objects (from Test-HbRestore -KeepSandbox or Get-HbSandbox; also read back with Import-Clixml, Receive-Job or ConvertFrom-Json).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ObjectSet)]
    [ValidateNotNull]
    [HbModelTransformation(typeof(HbSandbox))]
    public HbSandbox? Sandbox { get; set; }

    /// <summary>Sandbox container names on the host named by the SSH parameters (or this machine); strings from the pipeline bind here.</summary>
    // ValueFromPipelineByPropertyName as well: PowerShell binds a piped string to a ByValue parameter of another set only
    // when that set also takes input by property name like the default set's -Sandbox does.
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SandboxNameCompleter))]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (Sandbox is not null)
        {
            RemoveOne(Sandbox.Host, Sandbox.Name, Sandbox.VolumeName);
            return;
        }
        HbHost host;
        try
        {
            host = ResolveHostFromParameters();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowHbError(ex, SshHost ?? HostName);
            return;
        }
        foreach (var n in Name) RemoveOne(host, n, null);
    }

    private void RemoveOne(HbHost host, string name, string? volume)
    {
        if (!_done.Add(host + "/" + name))
        {
            WriteVerbose($"Sandbox '{name}' was already handled in this pipeline.");
            return;
        }
        try
        {
            Validation.ContainerName(name, "Name");
            if (!ShouldProcess($"{name} (container and volume) on {host}", "Remove sandbox"))
            {
                return;
            }
            var removal = RunEngine(async (reporter, ct) =>
                await new SandboxManager(await ConnectAsync(host, ct).ConfigureAwait(false), reporter).RemoveAsync(name, ct, volume).ConfigureAwait(false));
            if (removal.Status == HbRemovalStatus.Failed)
            {
                WriteHbError(new HbOpsException(HbErrorIds.SandboxRemovalFailed, HbErrorCategory.OperationFailed,
                    $"Sandbox '{name}' was not fully removed: {removal.Message}", name), name);
            }
            WriteObject(removal);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, name);
        }
    }
}
