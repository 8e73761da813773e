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
        return SshConfig.ListAliasesInFile(path)
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

/// <summary>Completes -Compression with the usual pg_dump compression settings.</summary>
public sealed class CompressionCompleter : IArgumentCompleter
{
    private static readonly (string Value, string Help)[] Choices =
    {
        ("gzip:6", "gzip level 6 (the default; every PostgreSQL)"),
        ("gzip:9", "gzip level 9 (smallest gzip, slowest)"),
        ("zstd:3", "Zstandard level 3 (PostgreSQL 16+)"),
        ("zstd:19", "Zstandard level 19 (PostgreSQL 16+)"),
        ("lz4:1", "LZ4 level 1, fastest (PostgreSQL 16+)"),
        ("none", "no compression"),
    };

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Choices.Where(c => c.Value.StartsWith(wordToComplete ?? "", StringComparison.OrdinalIgnoreCase))
            .Select(c => new CompletionResult(c.Value, c.Value, CompletionResultType.ParameterValue, c.Help));
}
