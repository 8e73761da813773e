using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Records;
using HbOps.Engine.RowCounts;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Backs up a PostgreSQL database running in Docker with pg_dump -Fc, computing SHA-256 while streaming.</para>
/// </summary>
/// <remarks>
/// Runs docker exec &lt;container&gt; pg_dump -F c -Z &lt;compression&gt; on the docker host (reached by ssh alias, host name, or
/// locally), streaming into the run's own &lt;Destination&gt;/&lt;Tag&gt;_&lt;date&gt;/&lt;db&gt;_full_&lt;UTC&gt;.dump.&lt;run id&gt;.partial while
/// SHA-256 is computed on the same stream. Only after pg_dump exited 0 is the file claimed under its final name
/// &lt;db&gt;_full_&lt;UTC&gt;.dump (never over an existing file: a second run of the same second gets
/// &lt;db&gt;_full_&lt;UTC&gt;-&lt;run id&gt;.dump), its YAML manifest written and its checksum appended to SHA256SUMS under the
/// folder's lock. A run that fails, is interrupted or loses its connection stops pg_dump's server session and removes
/// its own partial file, and nothing else. Folders HbOps creates are 0700 and files 0600 (-GroupReadable: 0750/0640).
/// Row counts, the catalog and content fingerprints are taken inside the exported snapshot pg_dump reads, so a restore
/// can be proven equal table by table and object by object.
/// Production is only read: pg_dump and read-only SQL.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Container postgres -Database directus -User directus -Destination /var/backups/hbops -Tag hb08</code>
/// <para>Backs up the directus database on the host named 'contabo' in ~/.ssh/config; the dump stays on that host.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Container postgres17 -Database directus -User directus -Compression zstd:3</code>
/// <para>Compresses with Zstandard at level 3 (the container's pg_dump must be 16 or later); the artefact records Compression zstd:3.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -Target contabo-directus</code>
/// <para>Backs up the target 'contabo-directus' defined in ~/.config/hbops/hbops.yml (tab completes target names).</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -Target contabo-directus, contabo-directus17, jump-shop -ThrottleLimit 3 -ErrorVariable failed</code>
/// <para>Backs up three targets at once; each artefact is written as its backup ends, and a target that fails is an error of its own (in $failed) while the others go on.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus -Local -Destination ./backups | Test-HbRestore</code>
/// <para>Streams the dump back to this machine, then proves it restores in a sandbox on the same docker host.</para>
/// </example>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus -Fingerprint KeyTables -KeyTables public.dot_tools, app.orders</code>
/// <para>Counts and fingerprints only two key tables in the dump's snapshot (the catalog is read whole); Test-HbRestore then proves their content.</para>
/// </example>
[Cmdlet(VerbsLifecycle.Invoke, "HbBackup", DefaultParameterSetName = ExplicitSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbBackupArtefact))]
public sealed class InvokeHbBackupCommand : HbHostCmdletBase
{
    private const string ExplicitSet = "Explicit";
    private const string TargetSet = "Target";

    /// <summary>
    /// Named targets from the HbOps config file (host, container, database, user, backup root, tag, key tables);
    /// explicit parameters override every target. Several targets are backed up at once (at most -ThrottleLimit), each
    /// writing its artefact as it ends; a target that fails writes its error (TargetObject: the target's name) and the
    /// others go on.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TargetCompleter))]
    public string[]? Target { get; set; }

    /// <summary>How many of several -Target backups run at once (default 4). Targets on one host share its SSH connection.</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 4;

    /// <summary>HbOps config file (default: $env:HBOPS_CONFIG, then ~/.config/hbops/hbops.yml).</summary>
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Production container name.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Container { get; set; } = "postgres";

    /// <summary>Database to dump.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ExplicitSet)]
    [Parameter(ParameterSetName = TargetSet)]
    [ValidateNotNullOrEmpty]
    public string Database { get; set; } = "";

    /// <summary>PostgreSQL role pg_dump connects as (pg_dump -U).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string User { get; set; } = "postgres";

    /// <summary>Destination root folder: on the docker host by default, on this machine with -Local.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = "/var/backups/hbops";

    /// <summary>Store the artefact on this machine; the stream comes back over SSH with bounded memory.</summary>
    [Parameter]
    public SwitchParameter Local { get; set; }

    /// <summary>Run tag: the run folder is &lt;Tag&gt;_&lt;yyyy-MM-dd&gt;.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Tag { get; set; } = "hbops";

    /// <summary>
    /// pg_dump's compression (-Z): gzip:0-9 (default gzip:6), zstd:1-22 or lz4:1-12 (PostgreSQL 16 and later, refused
    /// with CompressionUnsupported before anything is written when the container's pg_dump is older), or none. A method
    /// alone takes pg_dump's default level; a bare number 0-9 is a gzip level as with pg_dump -Z N, so the former
    /// -CompressionLevel N (an alias of this parameter) still works. Recorded in the manifest as Compression.
    /// </summary>
    [Parameter]
    [Alias("CompressionLevel")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(CompressionCompleter))]
    public string Compression { get; set; } = "gzip:6";

    /// <summary>
    /// Row counts taken in the dump's own snapshot. Exact (default): count(*) of every table, proving
    /// 100% equality after restore; the counts read the same snapshot while pg_dump, which is bound by
    /// compression, reads it too. Estimated: statistics only. None: no counts.
    /// </summary>
    [Parameter]
    public RowCountMode RowCounts { get; set; } = RowCountMode.Exact;

    /// <summary>Only count these tables (schema.table, names as stored); one that is no table of the database is KeyTableNotFound before anything is written.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] KeyTables { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Content fingerprints taken in the dump's own snapshot, beside the counts and while pg_dump reads it: per table the
    /// row count and two sums of a 64-bit hash of each row's text form (order-independent, duplicates count).
    /// Test-HbRestore recomputes them in the sandbox and fails on any table whose content differs. All (default when row
    /// counts are taken): every table; KeyTables: only -KeyTables; None (default with -RowCounts None): no fingerprints.
    /// Reading every row once more costs production CPU beside pg_dump (see the README for measurements); only reads.
    /// </summary>
    [Parameter]
    public HbFingerprintMode Fingerprint { get; set; } = HbFingerprintMode.All;

    /// <summary>Required free space at the destination as a multiple of the database size.</summary>
    [Parameter]
    [ValidateRange(0.0, 100.0)]
    public double SafetyFactor { get; set; } = 2.0;

    /// <summary>
    /// Seconds pg_dump (--lock-wait-timeout) and the counts and proof in its snapshot (lock_timeout) wait for a table's
    /// lock held by another session (a migration, VACUUM FULL) before the backup fails with LockTimeout; 0 (the
    /// default): wait as long as it takes, as pg_dump does.
    /// </summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockWaitTimeoutSeconds { get; set; }

    /// <summary>Proceed when free space is below the safety factor.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// Let a backup group read the artefacts: folders HbOps creates become 0750 and the dump, manifest and SHA256SUMS
    /// 0640, instead of the private default (0700 and 0600, readable by the backup account only). The group is the
    /// folder's own: give the backup root to the backup group with the setgid bit (chgrp backup ROOT; chmod 2750 ROOT)
    /// and new run folders and files inherit it.
    /// </summary>
    [Parameter]
    public SwitchParameter GroupReadable { get; set; }

    /// <summary>
    /// Encrypt the backup with age to these recipients (public keys only): X25519 recipients (age1..., as printed by
    /// age-keygen -y) or OpenSSH public key lines (ssh-ed25519 AAAA..., ssh-rsa AAAA...). The docker host encrypts the
    /// dump while it streams (pg_dump | age), so neither the plaintext nor any private key is ever on its disk, and with
    /// -Local only ciphertext crosses the network. The age tool must be installed on the docker host
    /// (EncryptionUnavailable otherwise); a value that is not a recipient is RecipientInvalid. Both are refused before
    /// anything is written. The manifest records the recipients, age's version and the plaintext's SHA-256 and size;
    /// Sha256 and SHA256SUMS are the ciphertext's. Restore-test it with Test-HbRestore -Identity. With -Target, the
    /// target's recipients apply unless this parameter is given.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[] Recipient { get; set; } = Array.Empty<string>();

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        try
        {
            // Bad syntax is refused before any connection (InvalidArgument); the method's support by the container's
            // pg_dump is checked by the engine's preflight.
            var compression = DumpCompression.Parse(Compression).ToString();
            if (Target is not null)
            {
                BackUpTargets(compression);
                return;
            }
            var run = Plan(Database, compression);
            if (run is null) return;
            var artefact = RunEngine((reporter, ct) => BackUpAsync(run.Value, reporter, ct));
            WriteObject(artefact);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteHbError(ex, Target is { Length: 1 } ? Target[0] : Database);
        }
    }

    // Every target is resolved (and confirmed) first, on the pipeline thread; then they run concurrently. A target that
    // cannot be resolved or fails is an error of its own: the others go on.
    private void BackUpTargets(string compression)
    {
        var runs = new List<(string Name, HbHost Host, BackupRequest Request)>();
        foreach (var name in Target!.Distinct(StringComparer.Ordinal))
        {
            try
            {
                var run = WithTarget(name, () => Plan(name, compression));
                if (run is { } r) runs.Add((name, r.Host, r.Request));
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ToErrorRecord(ex, name, targetWins: true));
            }
        }
        RunEngineEach(runs, ThrottleLimit, r => r.Name, (r, reporter, ct) => BackUpAsync((r.Host, r.Request), reporter, ct),
            (_, artefact) => WriteObject(artefact), (r, ex) => WriteError(ToErrorRecord(ex, r.Name, targetWins: true)));
    }

    // The host and request the current parameter values name; null when -WhatIf or the user declined.
    private (HbHost Host, BackupRequest Request)? Plan(string what, string compression)
    {
        // Recipients are refused before any connection (RecipientInvalid); age's presence is the engine's preflight.
        var recipients = AgeEncryption.ValidateRecipients(Recipient);
        var host = ResolveHostFromParameters();
        var where = Local ? $"{Destination} on this machine" : $"{Destination} on {host}";
        if (!ShouldProcess($"{Database} in container {Container} on {host} -> {where}", "Back up"))
        {
            return null;
        }
        WriteVerbose($"Planned {what}: {Database} in {Container} on {host}.");
        return (host, new BackupRequest
        {
            Container = Container, Database = Database, User = User,
            Destination = Local ? GetUnresolvedProviderPathFromPSPath(Destination) : Destination,
            LocalDestination = Local, Tag = Tag, Compression = compression, RowCounts = RowCounts,
            KeyTables = KeyTables, SafetyFactor = SafetyFactor, Force = Force, GroupReadable = GroupReadable,
            LockWaitTimeout = LockWaitTimeoutSeconds > 0 ? TimeSpan.FromSeconds(LockWaitTimeoutSeconds) : null,
            Fingerprint = MyInvocation.BoundParameters.ContainsKey(nameof(Fingerprint)) ? Fingerprint : null,
            Recipients = recipients,
        });
    }

    private async Task<HbBackupArtefact> BackUpAsync((HbHost Host, BackupRequest Request) run, IHbReporter reporter, CancellationToken ct)
    {
        var connection = await ConnectAsync(run.Host, ct).ConfigureAwait(false);
        return await new BackupEngine(connection, reporter).RunAsync(run.Request, ct).ConfigureAwait(false);
    }

    // Applies one target over the parameters for the duration of plan, then puts every value back, so one target's
    // values never reach the next.
    private T WithTarget<T>(string name, Func<T> plan)
    {
        var saved = (Container, Database, User, Destination, Tag, KeyTables, SshHost, HostName, Port, SshUser, KeyFile, SshConfigPath, KnownHostsPath, Recipient);
        try
        {
            ApplyTarget(name);
            return plan();
        }
        finally
        {
            (Container, Database, User, Destination, Tag, KeyTables, SshHost, HostName, Port, SshUser, KeyFile, SshConfigPath, KnownHostsPath, Recipient) = saved;
        }
    }

    // Values from the target fill only what the caller did not bind explicitly.
    private void ApplyTarget(string name)
    {
        var t = LoadTarget(name, ConfigPath);
        bool Bound(string name) => MyInvocation.BoundParameters.ContainsKey(name);
        ApplyTargetHost(t);
        if (!Bound(nameof(Container)) && t.Container is not null) Container = t.Container;
        if (!Bound(nameof(Database)))
        {
            Database = t.Database ?? throw HbOpsException.Invalid($"Target '{name}' has no database and -Database was not given.", name);
        }
        if (!Bound(nameof(User)) && t.User is not null) User = t.User;
        if (!Bound(nameof(Destination)) && t.BackupRoot is not null) Destination = t.BackupRoot;
        if (!Bound(nameof(Tag)) && t.Tag is not null) Tag = t.Tag;
        if (!Bound(nameof(KeyTables)) && t.KeyTables is not null) KeyTables = t.KeyTables.ToArray();
        if (!Bound(nameof(Recipient)) && t.Recipients is not null) Recipient = t.Recipients.ToArray();
    }
}
