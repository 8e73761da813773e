using System.Diagnostics;
using System.Text.Json;
using HbOps.Engine.Hosts;
using HbOps.Model;

namespace HbOps.Integration.Tests;

/// <summary>The real test environment started by tests/env/up.sh (dockerd, loopback sshd, production-like container).</summary>
public sealed class TestEnvironment
{
    public TestEnvironment()
    {
        var dir = Environment.GetEnvironmentVariable("HBOPS_ENV_DIR") ?? "/tmp/hbops-testenv";
        var path = Path.Combine(dir, "env.json");
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: start the test environment first (bash tests/env/up.sh).");
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var r = doc.RootElement;
        EnvDir = dir;
        SshAlias = r.GetProperty(nameof(SshAlias)).GetString()!;
        SshConfigPath = r.GetProperty(nameof(SshConfigPath)).GetString()!;
        KnownHostsPath = r.GetProperty(nameof(KnownHostsPath)).GetString()!;
        KeyFile = r.GetProperty(nameof(KeyFile)).GetString()!;
        SshPort = r.GetProperty(nameof(SshPort)).GetInt32();
        Container = r.GetProperty(nameof(Container)).GetString()!;
        Database = r.GetProperty(nameof(Database)).GetString()!;
        User = r.GetProperty(nameof(User)).GetString()!;
        BackupRoot = r.GetProperty(nameof(BackupRoot)).GetString()!;
        Operator = r.GetProperty(nameof(Operator)).GetString()!;
        AuthorizedKeysPath = r.GetProperty(nameof(AuthorizedKeysPath)).GetString()!;
        RootAlias = r.GetProperty(nameof(RootAlias)).GetString()!;
        NoDockerAlias = r.GetProperty(nameof(NoDockerAlias)).GetString()!;
        LockedAlias = r.GetProperty(nameof(LockedAlias)).GetString()!;
        Image = r.GetProperty(nameof(Image)).GetString()!;
        // Written by up.sh since the PostgreSQL 17 container exists; read lazily so an older env.json only fails the tests that need it.
        _container17 = r.TryGetProperty(nameof(Container17), out var c17) ? c17.GetString() : null;
        _image17 = r.TryGetProperty(nameof(Image17), out var i17) ? i17.GetString() : null;
        OtherShells = r.TryGetProperty(nameof(OtherShells), out var shells)
            ? shells.EnumerateArray().ToDictionary(e => e.GetProperty("Shell").GetString()!, e => (e.GetProperty("Alias").GetString()!, e.GetProperty(nameof(BackupRoot)).GetString()!))
            : new Dictionary<string, (string, string)>();
    }

    /// <summary>Operators whose login shell is not bash: shell name -> (alias, that account's backup root).</summary>
    public IReadOnlyDictionary<string, (string Alias, string BackupRoot)> OtherShells { get; }

    private readonly string? _container17;
    private readonly string? _image17;

    public string EnvDir { get; }
    public string SshAlias { get; }
    public string SshConfigPath { get; }
    public string KnownHostsPath { get; }
    public string KeyFile { get; }
    public int SshPort { get; }
    public string Container { get; }
    public string Database { get; }
    public string User { get; }
    public string BackupRoot { get; }
    /// <summary>The non-root account the alias logs in as (docker group; its login shell prints on both streams).</summary>
    public string Operator { get; }
    /// <summary>The authorized_keys file the test sshd reads for every account.</summary>
    public string AuthorizedKeysPath { get; }
    /// <summary>Alias of the same host as root (environment set-up only).</summary>
    public string RootAlias { get; }
    /// <summary>Alias of an account outside the docker group.</summary>
    public string NoDockerAlias { get; }
    /// <summary>Alias of an account whose shell start-up prints and exits before any command.</summary>
    public string LockedAlias { get; }
    /// <summary>The PostgreSQL 15 image of the production-like container.</summary>
    public string Image { get; }
    /// <summary>The production-like PostgreSQL 17 container.</summary>
    public string Container17 => _container17 ?? throw Missing17();
    /// <summary>The PostgreSQL 17 image.</summary>
    public string Image17 => _image17 ?? throw Missing17();

    private InvalidOperationException Missing17() =>
        new($"{Path.Combine(EnvDir, "env.json")} has no Container17/Image17: bring the environment up again (bash tests/env/up.sh).");

    public HbHost ResolveAlias(string? alias = null) => HostResolver.Resolve(new HostSpec { Alias = alias ?? SshAlias, SshConfigPath = SshConfigPath });

    public async Task<ICommandHost> ConnectAsync(SshConnectOptions? options = null, string? alias = null) =>
        await HostResolver.ConnectAsync(ResolveAlias(alias), options ?? new SshConnectOptions(), CancellationToken.None);

    /// <summary>
    /// A new folder under /tmp that the SSH operator account owns (0700): the docker host is this machine, so files the
    /// test writes there locally and files HbOps writes there over SSH meet, as on a real host.
    /// </summary>
    public static string NewOperatorFolder(string prefix)
    {
        var env = new TestEnvironment();
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        Sh($"chown {env.Operator}: '{dir}' && chmod 700 '{dir}'");
        return dir;
    }

    /// <summary>Runs a local command and returns stdout (throws on failure).</summary>
    public static string Sh(string script)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"'{script}' exited {p.ExitCode}: {stderr}");
        return stdout;
    }
}
