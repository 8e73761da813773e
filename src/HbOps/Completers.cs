using System.Collections;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Language;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// What a completer knows of the command line being completed: the values bound so far, and otherwise the session's
/// $PSDefaultParameterValues for that command (e.g. <c>$PSDefaultParameterValues['*-Hb*:SshConfigPath'] = '~/ops/ssh_config'</c>),
/// which PowerShell applies only when the command runs.
/// </summary>
internal static class CompletionContext
{
    /// <summary>The string value of a parameter: as typed so far, else its default for the command; null when neither.</summary>
    public static string? Value(string commandName, string parameterName, IDictionary fakeBoundParameters)
    {
        if (fakeBoundParameters?[parameterName] is { } bound) return ToText(bound);
        // Completers run on the session's pipeline thread: a script block there reads the variable as the command will.
        var raw = ScriptBlock.Create("$PSDefaultParameterValues").InvokeReturnAsIs();
        var defaults = (raw is PSObject p ? p.BaseObject : raw) as IDictionary;
        if (defaults is null || defaults["Disabled"] is true) return null;
        foreach (DictionaryEntry e in defaults)
        {
            var key = e.Key as string;
            var colon = key?.LastIndexOf(':') ?? -1;
            if (colon <= 0 || !string.Equals(key![(colon + 1)..].Trim(), parameterName, StringComparison.OrdinalIgnoreCase)) continue;
            if (!new WildcardPattern(key[..colon].Trim(), WildcardOptions.IgnoreCase).IsMatch(commandName ?? "")) continue;
            return e.Value is ScriptBlock sb ? ToText(sb.InvokeReturnAsIs()) : ToText(e.Value);
        }
        return null;
    }

    /// <summary>A path value as a file system path (PowerShell's ~ expanded).</summary>
    public static string? PathValue(string commandName, string parameterName, IDictionary fakeBoundParameters)
    {
        var value = Value(commandName, parameterName, fakeBoundParameters);
        if (value is null) return null;
        return value == "~" || value.StartsWith("~/", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), value.TrimStart('~').TrimStart('/'))
            : Path.GetFullPath(value);
    }

    private static string? ToText(object? value) => value switch
    {
        null => null,
        PSObject p => ToText(p.BaseObject),
        string s => s,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    /// <summary>Completion results for the names starting with the word, in order.</summary>
    public static List<CompletionResult> Results(IEnumerable<string> names, string wordToComplete, string what) =>
        names.Where(n => n.StartsWith((wordToComplete ?? "").Trim('\'', '"'), StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, what + " " + n)).ToList();
}

/// <summary>Completes -SshHost from the Host entries of the ssh config (-SshConfigPath, its $PSDefaultParameterValues entry, or ~/.ssh/config).</summary>
public sealed class SshHostCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var path = CompletionContext.PathValue(commandName, "SshConfigPath", fakeBoundParameters) ?? SshConfig.DefaultPath;
            return CompletionContext.Results(SshConfig.ListAliasesInFile(path), wordToComplete, "ssh alias");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or RuntimeException or HbOps.Engine.Errors.HbOpsException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}

/// <summary>
/// Completes sandbox names from the docker engine of the host the command line names (-SshHost and the other SSH
/// parameters, or -Target; this machine when none), asking that engine over SSH with a short time limit.
/// </summary>
public sealed class SandboxNameCompleter : IArgumentCompleter
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var host = ResolveHost(commandName, fakeBoundParameters);
            using var cts = new CancellationTokenSource(Limit);
            var names = Task.Run(async () =>
            {
                await using var connection = await HostResolver.ConnectAsync(host, new SshConnectOptions { ConnectTimeout = Limit }, cts.Token).ConfigureAwait(false);
                return (await new HbOps.Engine.Sandbox.SandboxManager(connection).ListAsync(cts.Token).ConfigureAwait(false)).Select(s => s.Name).ToList();
            }, cts.Token).GetAwaiter().GetResult();
            return CompletionContext.Results(names, wordToComplete, "sandbox on " + host);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException or ArgumentException or RuntimeException or
                                   UnauthorizedAccessException or HbOps.Engine.Errors.HbOpsException or System.Net.Sockets.SocketException)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static HbHost ResolveHost(string commandName, IDictionary bound)
    {
        string? V(string name) => CompletionContext.Value(commandName, name, bound);
        string? P(string name) => CompletionContext.PathValue(commandName, name, bound);
        HbTarget? target = null;
        if (V("Target") is { } t)
        {
            var config = HbOps.Engine.Records.HbConfig.ResolvePath(P("ConfigPath"));
            target = HbOps.Engine.Records.HbConfig.Load(config).Get(t, config);
        }
        var explicitHost = V("SshHost") is not null || V("HostName") is not null;
        return HostResolver.Resolve(new HostSpec
        {
            Alias = explicitHost ? V("SshHost") : target?.SshHost,
            HostName = explicitHost ? V("HostName") : target?.HostName,
            Port = int.TryParse(V("Port"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var port) ? port : target?.Port,
            User = V("SshUser") ?? target?.SshUser,
            KeyFile = P("KeyFile") ?? target?.KeyFile,
            SshConfigPath = P("SshConfigPath") ?? target?.SshConfigPath,
            KnownHostsPath = P("KnownHostsPath") ?? target?.KnownHostsPath,
        });
    }
}

/// <summary>Completes -Target from the targets of the HbOps config file (-ConfigPath or its $PSDefaultParameterValues entry, $env:HBOPS_CONFIG or ~/.config/hbops/hbops.yml).</summary>
public sealed class TargetCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            var path = HbOps.Engine.Records.HbConfig.ResolvePath(CompletionContext.PathValue(commandName, "ConfigPath", fakeBoundParameters));
            return CompletionContext.Results(HbOps.Engine.Records.HbConfig.Load(path).Targets.Keys, wordToComplete, "target");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or RuntimeException or HbOps.Engine.Errors.HbOpsException)
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
