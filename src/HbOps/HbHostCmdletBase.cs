using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using HbOps.Engine.Copies;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Records;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// Base of cmdlets that reach a docker host: the shared SSH parameter vocabulary and a per-invocation
/// connection cache (one SSH connection per host, closed when the command ends).
/// </summary>
public abstract class HbHostCmdletBase : HbCmdletBase
{
    private readonly Dictionary<HbHost, ICommandHost> _connections = new();
    private readonly Dictionary<HbHost, SftpArtefactStore> _storages = new();

    /// <summary>ssh_config alias of the docker host (e.g. <c>contabo</c>). Omit it and -HostName to work on this machine.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(SshHostCompleter))]
    public string? SshHost { get; set; }

    /// <summary>Host name or address of the docker host (instead of an alias).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    /// <summary>SSH port (overrides the config).</summary>
    [Parameter]
    [ValidateRange(1, 65535)]
    public int? Port { get; set; }

    /// <summary>SSH user (overrides the config).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SshUser { get; set; }

    /// <summary>Private key file (OpenSSH ed25519 or RSA).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KeyFile { get; set; }

    /// <summary>Passphrase of an encrypted key. Never logged or recorded.</summary>
    [Parameter]
    public SecureString? KeyPassphrase { get; set; }

    /// <summary>ssh_config to read instead of ~/.ssh/config.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? SshConfigPath { get; set; }

    /// <summary>known_hosts to read instead of the config's UserKnownHostsFile or ~/.ssh/known_hosts.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KnownHostsPath { get; set; }

    /// <summary>Record an unknown host key in known_hosts instead of refusing (a changed key is always refused).</summary>
    [Parameter]
    public SwitchParameter AcceptNewHostKey { get; set; }

    /// <summary>The host named by the SSH parameters (local when none is given).</summary>
    protected HbHost ResolveHostFromParameters() => HostResolver.Resolve(new HostSpec
    {
        Alias = SshHost,
        HostName = HostName,
        Port = Port,
        User = SshUser,
        KeyFile = KeyFile is null ? null : GetUnresolvedProviderPathFromPSPath(KeyFile),
        SshConfigPath = SshConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(SshConfigPath),
        KnownHostsPath = KnownHostsPath is null ? null : GetUnresolvedProviderPathFromPSPath(KnownHostsPath),
    });

    // The config file read by this command, typed object: a cmdlet's fields must not name engine types, which load in
    // HbOps' own load context only once the module initializer ran.
    private string? _configPath;
    private object? _config;

    /// <summary>The named target of the HbOps config file (<paramref name="configPath"/>, $env:HBOPS_CONFIG or ~/.config/hbops/hbops.yml).</summary>
    protected HbTarget LoadTarget(string name, string? configPath)
    {
        var path = HbConfig.ResolvePath(configPath is null ? null : GetUnresolvedProviderPathFromPSPath(configPath));
        // Read once per command, however many targets it names.
        if (_config is not HbConfig config || _configPath != path)
        {
            _config = config = HbConfig.Load(path);
            _configPath = path;
        }
        var target = config.Get(name, path);
        WriteVerbose($"Target '{name}' from {path}.");
        return target;
    }

    /// <summary>Takes the target's way to the docker host for every SSH parameter the caller did not give.</summary>
    protected void ApplyTargetHost(HbTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
        if (!Bound(nameof(SshHost)) && !Bound(nameof(HostName))) { SshHost = target.SshHost; HostName = target.HostName; }
        if (!Bound(nameof(Port))) Port = target.Port;
        if (!Bound(nameof(SshUser))) SshUser = target.SshUser;
        if (!Bound(nameof(KeyFile))) KeyFile = target.KeyFile;
        if (!Bound(nameof(SshConfigPath))) SshConfigPath = target.SshConfigPath;
        if (!Bound(nameof(KnownHostsPath))) KnownHostsPath = target.KnownHostsPath;
    }

    /// <summary>A path as given: resolved against the current PowerShell location when it is on this machine, verbatim on a remote host.</summary>
    protected string HostPath(string path, bool local) => local ? GetUnresolvedProviderPathFromPSPath(path) : path;

    /// <summary>A connection to <paramref name="host"/>, opened once per command.</summary>
    protected async Task<ICommandHost> ConnectAsync(HbHost host, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        lock (_connections)
        {
            if (_connections.TryGetValue(host, out var existing)) return existing;
        }
        var options = new SshConnectOptions { KeyPassphrase = Unprotect(KeyPassphrase), AcceptNewHostKey = AcceptNewHostKey.IsPresent };
        var connection = await HostResolver.ConnectAsync(host, options, ct).ConfigureAwait(false);
        ICommandHost? winner = null;
        lock (_connections)
        {
            if (!_connections.TryGetValue(host, out winner)) _connections[host] = connection;
        }
        if (winner is null) return connection;
        await connection.DisposeAsync().ConfigureAwait(false);
        return winner;
    }

    /// <inheritdoc />
    protected override void EndProcessing() => CloseConnections();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing) CloseConnections();
        base.Dispose(disposing);
    }

    private void CloseConnections()
    {
        List<IAsyncDisposable> all;
        lock (_connections)
        {
            all = _connections.Values.Concat<IAsyncDisposable>(_storages.Values).ToList();
            _connections.Clear();
            _storages.Clear();
        }
        foreach (var c in all) c.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>An SFTP storage host named by its ssh_config alias, resolved like -SshHost (with -SshConfigPath and -KnownHostsPath).</summary>
    protected HbHost ResolveStorageHost(string alias) => HostResolver.Resolve(new HostSpec
    {
        Alias = alias,
        SshConfigPath = SshConfigPath is null ? null : GetUnresolvedProviderPathFromPSPath(SshConfigPath),
        KnownHostsPath = KnownHostsPath is null ? null : GetUnresolvedProviderPathFromPSPath(KnownHostsPath),
    });

    /// <summary>A connection to an SFTP storage host, opened once per command (host key verified as for the docker host).</summary>
    protected async Task<IArtefactStore> ConnectStorageAsync(HbHost host, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(host);
        lock (_connections)
        {
            if (_storages.TryGetValue(host, out var existing)) return existing;
        }
        var options = new SshConnectOptions { KeyPassphrase = Unprotect(KeyPassphrase), AcceptNewHostKey = AcceptNewHostKey.IsPresent };
        var store = await SftpArtefactStore.ConnectAsync(host, options, ct).ConfigureAwait(false);
        SftpArtefactStore? winner = null;
        lock (_connections)
        {
            if (!_storages.TryGetValue(host, out winner)) _storages[host] = store;
        }
        if (winner is null) return store;
        await store.DisposeAsync().ConfigureAwait(false);
        return winner;
    }

    /// <summary>Where an artefact's files are read: its storage host for a copy there, this machine, or its docker host.</summary>
    protected async Task<IArtefactSource> SourceOfAsync(HbBackupArtefact artefact, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(artefact);
        if (artefact.Location == HbArtefactLocation.Sftp)
        {
            var storage = artefact.Copy?.StorageHost ?? throw new HbOpsException(HbErrorIds.ArtefactInvalid, HbErrorCategory.InvalidData,
                $"'{artefact.Path}' is an SFTP copy that does not name its storage host.", artefact.Path, "Read it again with Get-HbBackup -StorageHost.");
            return await ConnectStorageAsync(storage, ct).ConfigureAwait(false);
        }
        return HostFiles.IsLocal(artefact) ? new LocalArtefactStore() : new HostArtefactSource(await ConnectAsync(artefact.Host, ct).ConfigureAwait(false));
    }

    private static string? Unprotect(SecureString? secure)
    {
        if (secure is null) return null;
        var ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
        try { return Marshal.PtrToStringUni(ptr); }
        finally { Marshal.ZeroFreeGlobalAllocUnicode(ptr); }
    }
}
