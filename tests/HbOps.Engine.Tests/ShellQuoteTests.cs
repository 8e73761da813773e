using System.Diagnostics;
using HbOps.Engine.Hosts;
using Xunit;

namespace HbOps.Engine.Tests;

public class ShellQuoteTests
{
    [Theory]
    [InlineData("plain")]
    [InlineData("with space")]
    [InlineData("it's")]
    [InlineData("$(touch /tmp/hbops-pwned)")]
    [InlineData("`id`; rm -rf / #")]
    [InlineData("a\"b\\c|d&e>f<g*h?i[j]{k}~l!m")]
    [InlineData("")]
    [InlineData("line1\nline2")]
    public void Given_any_argument_When_quoted_and_run_through_sh_Then_sh_sees_exactly_that_argument(string arg)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("printf '%s' " + ShellQuote.Quote(arg));
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(arg, output);
        Assert.False(File.Exists("/tmp/hbops-pwned"));
    }

    [Fact]
    public void Join_quotes_each_argument_separately()
    {
        Assert.Equal("docker exec 'my container' psql", ShellQuote.Join(new[] { "docker", "exec", "my container", "psql" }));
    }
}
