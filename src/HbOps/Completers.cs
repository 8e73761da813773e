using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps;

/// <summary>Completes -SshHost from the Host entries of the ssh config (-SshConfigPath or ~/.ssh/config).</summary>
public sealed class SshHostCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        ArgumentNullException.ThrowIfNull(fakeBoundParameters);
        var path = fakeBoundParameters["SshConfigPath"] as string ?? SshConfig.DefaultPath;
        if (!File.Exists(path)) return Array.Empty<CompletionResult>();
        return SshConfig.ListAliases(File.ReadAllText(path))
            .Where(a => a.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
            .Select(a => new CompletionResult(a, a, CompletionResultType.ParameterValue, "ssh alias " + a));
    }
}

/// <summary>Completes sandbox names from the local docker engine (cheap; remote hosts are not contacted while typing).</summary>
public sealed class SandboxNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var docker = new HbOps.Engine.Docker.DockerCli(new LocalCommandHost());
            var names = docker.ListContainersAsync("hbops.sandbox=true", CancellationToken.None).GetAwaiter().GetResult();
            return names.Where(n => n.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, "sandbox " + n)).ToList();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or HbOps.Engine.Errors.HbOpsException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>Completes -Target from the targets of the HbOps config file (-ConfigPath, $env:HBOPS_CONFIG or ~/.config/hbops/hbops.yml).</summary>
public sealed class TargetCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        ArgumentNullException.ThrowIfNull(fakeBoundParameters);
        try
        {
            var path = HbOps.Engine.Records.HbConfig.ResolvePath(fakeBoundParameters["ConfigPath"] as string);
            return HbOps.Engine.Records.HbConfig.Load(path).Targets.Keys
                .Where(k => k.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.OrdinalIgnoreCase)
                .Select(k => new CompletionResult(k, k, CompletionResultType.ParameterValue, "target " + k)).ToList();
        }
        catch (HbOps.Engine.Errors.HbOpsException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
