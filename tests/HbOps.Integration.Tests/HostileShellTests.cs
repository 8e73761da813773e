using HbOps.Engine.Docker;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Integration.Tests;

/// <summary>
/// The docker host's accounts behave as on real servers: the operator is not root and its login shell prints on stdout
/// and stderr (one line without a final newline) before every command.
/// </summary>
public class HostileShellTests
{
    private readonly TestEnvironment _env = new();

    [Fact]
    public void Given_the_noisy_login_shell_When_ssh_itself_runs_a_command_Then_the_shell_really_prints_on_both_streams()
    {
        // The environment is as hostile as intended: OpenSSH's own client sees the start-up text.
        // The two streams travel separately (their order in one file would depend on the packets' arrival).
        var ssh = $"ssh -F {_env.SshConfigPath} -o BatchMode=yes {_env.SshAlias} 'id -un; echo end'";
        var stdout = TestEnvironment.Sh(ssh + " 2>/dev/null");
        var stderr = TestEnvironment.Sh(ssh + " 2>&1 >/dev/null");
        Assert.StartsWith("Welcome to", stdout, StringComparison.Ordinal);
        Assert.EndsWith("Last backup check: OK" + _env.Operator + "\nend\n", stdout, StringComparison.Ordinal);
        Assert.Contains("cannot remove", stderr, StringComparison.Ordinal);
        Assert.EndsWith("Inappropriate ioctl for device", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_the_noisy_login_shell_When_HbOps_runs_commands_Then_stdout_stderr_and_exit_are_the_commands_own()
    {
        await using var host = await _env.ConnectAsync();
        var r = await host.RunAsync(new[] { "sh", "-c", "id -un; printf 'no newline'; printf 'err line\\n' >&2; exit 3" }, CancellationToken.None);
        Assert.Equal(3, r.ExitCode);
        Assert.Equal(_env.Operator + "\nno newline", r.StandardOutput);
        Assert.Equal("err line\n", r.StandardError);
        var silent = await host.RunAsync(new[] { "true" }, CancellationToken.None);
        Assert.Equal(("", ""), (silent.StandardOutput, silent.StandardError));
    }

    [Fact]
    public async Task Given_the_noisy_login_shell_When_input_and_binary_output_stream_Then_bytes_are_exact()
    {
        await using var host = await _env.ConnectAsync();
        var data = new byte[3 * 1024 * 1024 + 5];
        new Random(5).NextBytes(data);
        var r = await host.RunFromStreamAsync(new[] { "sha256sum" }, new MemoryStream(data), CancellationToken.None);
        var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data)).ToLowerInvariant();
        Assert.Equal(expected + "  -\n", r.StandardOutput);
        using var sink = new MemoryStream();
        var head = await host.RunToStreamAsync(new[] { "head", "-c", "1048576", "/dev/zero" }, sink, null, CancellationToken.None);
        Assert.Equal(0, head.ExitCode);
        Assert.Equal(1048576, sink.Length);
        Assert.All(sink.ToArray(), b => Assert.Equal(0, b));
    }

    /// <summary>
    /// sshd runs every command through the account's login shell, and operators have fish, tcsh, zsh, mksh or dash
    /// there. Through each (the ones that read start-up files for a command print on both streams), a command gets
    /// exactly its arguments, its output and its exit status, and both ways to the docker engine work.
    /// </summary>
    [Theory]
    [InlineData("fish")]
    [InlineData("tcsh")]
    [InlineData("zsh")]
    [InlineData("mksh")]
    [InlineData("dash")]
    public async Task Given_another_login_shell_When_HbOps_runs_commands_Then_arguments_output_and_exit_are_the_commands_own(string shell)
    {
        Assert.True(_env.OtherShells.TryGetValue(shell, out var account), $"the test environment has no {shell} operator (tests/env/up.sh)");
        // The account really has that login shell.
        var loginShell = TestEnvironment.Sh($"getent passwd ops-{shell} | cut -d: -f7").Trim();
        Assert.EndsWith("/" + shell, loginShell, StringComparison.Ordinal);
        string[] args = { "it's", "a b", "$HOME", "back\\slash", "two\nlines", "!1 !!", "%1", "*", "~root", "=ls", "`id`", "$(id)", "\"q\"", "bäckerei", "" };
        await using var host = await _env.ConnectAsync(alias: account.Alias);
        var argv = new List<string> { "sh", "-c", "id -un; printf '<%s>' \"$@\"; printf 'err\\n' >&2; exit 5", "x" };
        argv.AddRange(args);
        var r = await host.RunAsync(argv, CancellationToken.None);
        Assert.Equal(5, r.ExitCode);
        Assert.Equal($"ops-{shell}\n" + string.Concat(args.Select(a => $"<{a}>")), r.StandardOutput);
        Assert.Equal("err\n", r.StandardError);
        var cli = await new DockerCli(host).InspectProductionAsync(_env.Container, CancellationToken.None);
        Assert.NotNull(cli);
        Assert.True(cli.Running);
        var api = await DockerEngineApi.For(host).InspectContainerAsync(_env.Container, CancellationToken.None);
        Assert.NotNull(api);
    }

    [Fact]
    public async Task Given_an_account_whose_shell_exits_before_the_command_When_running_Then_RemoteShellOutput_names_the_first_line()
    {
        await using var host = await _env.ConnectAsync(alias: _env.LockedAlias);
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => host.RunAsync(new[] { "true" }, CancellationToken.None));
        Assert.Equal(HbErrorIds.RemoteShellOutput, ex.ErrorId);
        Assert.Contains("This account is currently not available", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_an_account_outside_the_docker_group_When_using_docker_Then_DockerUnavailable_names_the_permission_problem()
    {
        await using var host = await _env.ConnectAsync(alias: _env.NoDockerAlias);
        var cli = await Assert.ThrowsAsync<HbOpsException>(() => new DockerCli(host).InspectProductionAsync(_env.Container, CancellationToken.None));
        Assert.Equal(HbErrorIds.DockerUnavailable, cli.ErrorId);
        Assert.Contains("permission denied", cli.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("docker group", cli.RecommendedAction ?? "", StringComparison.Ordinal);
        var api = await Assert.ThrowsAsync<HbOpsException>(() => DockerEngineApi.For(host).InspectContainerAsync(_env.Container, CancellationToken.None));
        Assert.Equal(HbErrorIds.DockerUnavailable, api.ErrorId);
        Assert.Contains("permission denied", api.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Given_the_operator_account_When_using_the_engine_api_over_dial_stdio_Then_the_shells_text_never_reaches_http()
    {
        await using var host = await _env.ConnectAsync();
        var info = await DockerEngineApi.For(host).InspectContainerAsync(_env.Container, CancellationToken.None);
        Assert.NotNull(info);
        Assert.True(info!.Running);
        var who = await host.RunAsync(new[] { "id", "-u" }, CancellationToken.None);
        Assert.NotEqual("0", who.StandardOutput.Trim());
    }
}
