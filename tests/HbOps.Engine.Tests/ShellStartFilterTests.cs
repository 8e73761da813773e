using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Sandbox;
using Xunit;

namespace HbOps.Engine.Tests;

public class ShellStartFilterTests
{
    // Hands out the bytes in the given chunk sizes, as an SSH channel delivers packets.
    private sealed class ChunkedStream(byte[] data, int[] chunks) : Stream
    {
        private int _pos;
        private int _i;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pos >= data.Length) return 0;
            var n = Math.Min(Math.Min(count, chunks[_i++ % chunks.Length]), data.Length - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static async Task<byte[]> ReadAll(Stream s)
    {
        var ms = new MemoryStream();
        await s.CopyToAsync(ms, 7);
        return ms.ToArray();
    }

    public static TheoryData<string, int> Preambles => new()
    {
        { "", 1 },
        { "Welcome\n", 3 },
        { "Welcome to host\nrm: cannot remove 'x'\nLast check: OK", 1 },
        { "line without newline", 5 },
        { new string('x', 100_000), 4096 },
        { "\u00e4\u00f6\u00fc unicode noise \r\n", 2 },
    };

    [Theory]
    [MemberData(nameof(Preambles))]
    public async Task Given_any_shell_preamble_When_read_Then_only_the_commands_output_remains(string preamble, int chunk)
    {
        var marker = ShellStartFilter.NewMarker();
        var payload = RandomNumberGenerator.GetBytes(300_000);
        var data = Encoding.UTF8.GetBytes(preamble + marker + "\n").Concat(payload).ToArray();
        var filtered = ShellStartFilter.Filter(new ChunkedStream(data, [chunk, 1, 17, 65536]), marker, "h", "stdout");
        Assert.Equal(payload, await ReadAll(filtered));
    }

    [Fact]
    public async Task Given_output_that_contains_an_older_marker_When_read_Then_only_this_commands_marker_counts()
    {
        var marker = ShellStartFilter.NewMarker();
        var other = ShellStartFilter.NewMarker();
        Assert.NotEqual(marker, other);
        var data = Encoding.ASCII.GetBytes(other + "\nnoise\n" + marker + "\nresult=1\n" + marker + "\n");
        var filtered = ShellStartFilter.Filter(new MemoryStream(data), marker, "h", "stdout");
        Assert.Equal("result=1\n" + marker + "\n", Encoding.ASCII.GetString(await ReadAll(filtered)));
    }

    [Fact]
    public async Task Given_text_but_no_marker_When_read_Then_RemoteShellOutput_names_the_first_line_redacted()
    {
        var data = Encoding.UTF8.GetBytes("\nThis account is locked password=hunter2\nsecond line\n");
        var filtered = ShellStartFilter.Filter(new MemoryStream(data), ShellStartFilter.NewMarker(), "contabo", "stderr");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => ReadAll(filtered));
        Assert.Equal(HbErrorIds.RemoteShellOutput, ex.ErrorId);
        Assert.Contains("This account is locked", ex.Message, StringComparison.Ordinal);
        Assert.Contains("stderr", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("second line", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_nothing_at_all_When_read_Then_end_of_stream_and_the_exit_tells_why()
    {
        var filtered = ShellStartFilter.Filter(new MemoryStream(), ShellStartFilter.NewMarker(), "h", "stdout");
        Assert.Empty(await ReadAll(filtered));
    }

    [Fact]
    public async Task Given_text_cut_off_before_the_marker_When_the_connection_was_lost_Then_that_error_wins_over_RemoteShellOutput()
    {
        var lost = new HbOpsException(HbErrorIds.SshConnectionLost, HbErrorCategory.ConnectionError, "lost", "h");
        var cut = ShellStartFilter.Filter(new MemoryStream(Encoding.UTF8.GetBytes("Welcome to the host\n")), ShellStartFilter.NewMarker(), "h", "stdout",
            _ => Task.FromResult<Exception?>(lost));
        Assert.Same(lost, await Assert.ThrowsAsync<HbOpsException>(() => ReadAll(cut)));
        // The shell itself ended (an exit status came): the shell's text is the reason.
        var exited = ShellStartFilter.Filter(new MemoryStream(Encoding.UTF8.GetBytes("Welcome to the host\n")), ShellStartFilter.NewMarker(), "h", "stdout",
            _ => Task.FromResult<Exception?>(null));
        Assert.Equal(HbErrorIds.RemoteShellOutput, (await Assert.ThrowsAsync<HbOpsException>(() => ReadAll(exited))).ErrorId);
    }

    [Fact]
    public async Task Given_endless_text_without_marker_When_read_Then_refused_after_the_limit()
    {
        var data = new byte[ShellStartFilter.MaxPreamble + 100_000];
        Array.Fill(data, (byte)'y');
        var filtered = ShellStartFilter.Filter(new MemoryStream(data), ShellStartFilter.NewMarker(), "h", "stdout");
        var ex = await Assert.ThrowsAsync<HbOpsException>(() => ReadAll(filtered));
        Assert.Equal(HbErrorIds.RemoteShellOutput, ex.ErrorId);
    }

    // Arguments no shell may reinterpret: quotes of both kinds, backslashes (fish and csh treat them inside quotes),
    // newlines (csh refuses them inside quotes), history (!) and job (%) characters, globs, variables, command
    // substitutions, a leading '=' (zsh's =cmd), a leading '~', non-ASCII text and an empty argument.
    private static readonly string[] HostileArguments =
    {
        "it's", "a b", "$HOME", ";rm -rf /", "back\\slash\\", "two\nlines", "multi\nline\n", "!1 !! !$", "%1 %%", "*", "~root", "=ls",
        "`id`", "$(id)", "\"quoted\"", "bäckerei 名前", "", "{a,b}", "#hash", "tab\there",
    };

    [Theory]
    [InlineData("/bin/bash")]
    [InlineData("/bin/sh")]
    public void Given_a_wrapped_command_When_a_shell_runs_it_Then_marker_on_both_streams_then_the_command_with_its_exit(string shell)
    {
        var marker = ShellStartFilter.NewMarker();
        var argv = new[] { "sh", "-c", "printf '%s|' \"$@\"; echo oops >&2; exit 7", "x", "it's", "a b", "$HOME", ";rm -rf /" };
        var psi = new ProcessStartInfo(shell) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("echo noise; echo noise >&2; " + ShellStartFilter.Wrap(argv, marker));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(7, p.ExitCode);
        Assert.Equal($"noise\n{marker}\nit's|a b|$HOME|;rm -rf /|", stdout);
        Assert.Equal($"noise\n{marker}\noops\n", stderr);
    }

    /// <summary>
    /// sshd hands the command line to the account's login shell, whatever it is. Every shell an operator may have as
    /// login shell reads the wrapped command the same way: the command gets exactly its arguments. The shells are
    /// installed by the test environment (tests/env/up.sh); a shell missing here is a failure, not a skip.
    /// </summary>
    [Theory]
    [InlineData("/bin/bash")]
    [InlineData("/bin/sh")]
    [InlineData("/bin/dash")]
    [InlineData("/usr/bin/zsh")]
    [InlineData("/bin/mksh")]
    [InlineData("/usr/bin/fish")]
    [InlineData("/usr/bin/tcsh")]
    [InlineData("/bin/csh")]
    public void Given_any_login_shell_When_it_runs_a_wrapped_command_Then_the_command_gets_exactly_its_arguments(string shell)
    {
        Assert.True(File.Exists(shell), $"{shell} is not installed (tests/env/up.sh installs it)");
        var marker = ShellStartFilter.NewMarker();
        var argv = new List<string> { "sh", "-c", "printf '<%s>' \"$@\"; echo oops >&2; exit 7", "x" };
        argv.AddRange(HostileArguments);
        var psi = new ProcessStartInfo(shell) { RedirectStandardOutput = true, RedirectStandardError = true };
        // As sshd runs it: the login shell with -c and the whole command line as one string (HOME keeps fish quiet).
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(ShellStartFilter.Wrap(argv, marker));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal($"{marker}\n" + string.Concat(HostileArguments.Select(a => $"<{a}>")), stdout);
        Assert.Equal($"{marker}\noops\n", stderr);
        Assert.Equal(7, p.ExitCode);
    }

    [Theory]
    [InlineData("/tmp/hbops-upload-a1b2c3", false, true)]
    [InlineData("/tmp/hbops-sock-Xy12ab", true, true)]
    [InlineData("/var/tmp/hbops-sock-Xy12ab", true, true)]
    [InlineData("/var/tmp/hbops-sock-Xy12ab", false, false)]
    [InlineData("/var/tmp/hbops-upload-1", true, true)]
    [InlineData("/home/ops/hbops-sock-1", true, false)]
    [InlineData("/var/tmp/../hbops-sock-1", true, false)]
    [InlineData("/tmp/x/../hbops-sock-1", true, false)]
    [InlineData("/tmp//hbops-sock-1", false, false)]
    [InlineData("/tmp/hbops-sock-1/", false, false)]
    [InlineData("/tmp/hbops-other-1", false, false)]
    [InlineData("tmp/hbops-sock-1", true, false)]
    [InlineData("/tmp", false, false)]
    [InlineData("/", true, false)]
    public void Only_folders_HbOps_makes_are_scratch_folders(string folder, bool local, bool expected) =>
        Assert.Equal(expected, SandboxManager.IsScratchFolder(folder, local, localTemp: "/var/tmp/"));
}
