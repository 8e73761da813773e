namespace HbOps.Model;

/// <summary>A named backup target from the HbOps config file. Unset values fall back to the cmdlet defaults.</summary>
public sealed class HbTarget
{
    /// <summary>ssh_config alias of the docker host (none: this machine).</summary>
    public string? SshHost { get; set; }
    /// <summary>Explicit host name.</summary>
    public string? HostName { get; set; }
    /// <summary>SSH port.</summary>
    public int? Port { get; set; }
    /// <summary>SSH user.</summary>
    public string? SshUser { get; set; }
    /// <summary>Private key file.</summary>
    public string? KeyFile { get; set; }
    /// <summary>ssh_config path.</summary>
    public string? SshConfigPath { get; set; }
    /// <summary>known_hosts path.</summary>
    public string? KnownHostsPath { get; set; }
    /// <summary>Production container.</summary>
    public string? Container { get; set; }
    /// <summary>Database.</summary>
    public string? Database { get; set; }
    /// <summary>PostgreSQL role.</summary>
    public string? User { get; set; }
    /// <summary>Backup root on the docker host.</summary>
    public string? BackupRoot { get; set; }
    /// <summary>Run tag.</summary>
    public string? Tag { get; set; }
    /// <summary>Tables to count (schema.table).</summary>
    public List<string>? KeyTables { get; set; }
    /// <summary>age recipients (public keys) the target's backups are encrypted to (Invoke-HbBackup -Recipient).</summary>
    public List<string>? Recipients { get; set; }
}
