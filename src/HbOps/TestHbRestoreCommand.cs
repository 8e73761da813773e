using System.Collections;
using System.Globalization;
using System.Management.Automation;
using HbOps.Engine.Backup;
using HbOps.Engine.Errors;
using HbOps.Engine.Hosts;
using HbOps.Engine.Restore;
using HbOps.Engine.Sandbox;
using HbOps.Model;

namespace HbOps;

/// <summary>
/// <para type="synopsis">Proves a backup restores: checksum, isolated sandbox, pg_restore, classified messages, smoke tests, verified teardown.</para>
/// </summary>
/// <remarks>
/// Re-reads the artefact and refuses it if its SHA-256 differs from the manifest or SHA256SUMS (the sandbox is prepared
/// meanwhile; pg_restore reads the artefact only after the checksum matched). Creates a sandbox
/// (same PostgreSQL major by default, own named volume, --network none, no published port, read-only bind mount
/// of the artefact folder), verifies that isolation by inspecting the container, waits for pg_isready over the
/// container's own TCP loopback, and runs pg_restore --no-owner --no-privileges --clean --if-exists -j N. Every
/// stderr message is classified by rule (for example a missing role in CREATE USER MAPPING is a known non-fatal
/// note; anything unrecognised is fatal); secrets are redacted. Smoke tests count tables per schema, compare every
/// table's exact row count with the artefact's snapshot, and run each -Assertion: one query returning rows, passed to
/// the server as data (no psql meta-command is ever interpreted), in a read-only transaction that is rolled back, as a
/// login role that reads everything and is no superuser; anything else fails the assertion. Then the deeper proof:
/// every table's content fingerprint is recomputed and compared with the one taken in the dump's snapshot (Content:
/// Equal or Different per table), the restored catalog is compared with the one read there (Catalog: every difference
/// classified Expected or Unexpected), and with -Amcheck pg_amcheck checks heap and indexes. Any content difference,
/// unexpected catalog difference or corruption makes the result Failed, naming it. The total time is recorded (see
/// Get-HbRestoreHistory). The sandbox is removed and verified gone unless -KeepSandbox, also on error and on Ctrl+C. A
/// copy made by Copy-HbBackup on an SFTP storage host is restored from there: it is streamed from the storage host into a
/// private folder on the docker host and hashed on the way (the checksum verified is the copy's), and the record is
/// written beside the copy.
/// </remarks>
/// <example>
/// <code>Invoke-HbBackup -SshHost contabo -Database directus -User directus | Test-HbRestore</code>
/// <para>Backs up and proves the restore; the result says Passed, PassedWithNotes or Failed, with the evidence.</para>
/// </example>
/// <example>
/// <code>$r = Test-HbRestore -Path /var/backups/hbops/hb08_2026-05-15/directus_full_20260515T010203Z.dump -SshHost contabo -KeepSandbox -Assertion @{ Name = 'dot_tools pairing'; Sql = 'SELECT count(*) FROM dot_tools WHERE id IN (991,992) AND paired_with IN (991,992)'; Expected = '2' }</code>
/// <para>Restores a dump by path on the host, runs an assertion, and keeps the sandbox for Compare-HbRowCounts.</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -Path storage:/backups | Select-Object -Last 1 | Test-HbRestore</code>
/// <para>Proves the newest off-host copy on the storage host 'storage' restores (read from the copy, restored on the docker host it was made on).</para>
/// </example>
/// <example>
/// <code>Get-HbBackup -SshHost contabo -Path /var/backups/hbops | Select-Object -Last 1 | Test-HbRestore -Amcheck -HeapAllIndexed | Format-List Result, ContentCheck, CatalogCheck, Amcheck, FailureReasons</code>
/// <para>Restore-tests the newest backup and also checks the restored copy's heap and indexes with pg_amcheck.</para>
/// </example>
[Cmdlet(VerbsDiagnostic.Test, "HbRestore", DefaultParameterSetName = ArtefactSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(HbRestoreTestResult))]
public sealed class TestHbRestoreCommand : HbSandboxCmdletBase
{
    /// <summary>Parallel pg_restore jobs.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Jobs { get; set; } = 2;

    /// <summary>Keep the sandbox running (for Compare-HbRowCounts or inspection); remove it later with Remove-HbSandbox.</summary>
    [Parameter]
    public SwitchParameter KeepSandbox { get; set; }

    /// <summary>
    /// SQL assertions: hashtables with Name, Sql and Expected (psql unaligned output, e.g. '2' or '991|992'). Sql is one
    /// query that returns rows (SELECT, VALUES, TABLE, WITH ... SELECT, SHOW, EXPLAIN); it runs read-only as the
    /// sandbox role hbops_assertion, so statements that write, COPY, SET, several statements or psql backslash
    /// commands fail the assertion.
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public Hashtable[] Assertion { get; set; } = Array.Empty<Hashtable>();

    /// <summary>
    /// Run pg_amcheck on the restored copy (PostgreSQL 14 and later): every heap table and btree index of the database is
    /// checked for corruption (the amcheck extension is installed in the sandbox where missing). Anything found, or
    /// pg_amcheck unable to run, makes the result Failed with the relations named.
    /// </summary>
    [Parameter]
    public SwitchParameter Amcheck { get; set; }

    /// <summary>With pg_amcheck (implies -Amcheck): also look every heap tuple up in every btree index (--heapallindexed; reads each index once more).</summary>
    [Parameter]
    public SwitchParameter HeapAllIndexed { get; set; }

    /// <summary>Relative tolerance when the artefact's snapshot holds estimated counts.</summary>
    [Parameter]
    [ValidateRange(0.0, 1.0)]
    public double EstimateTolerance { get; set; } = 0.1;

    /// <summary>
    /// An age identity file (written by age-keygen: AGE-SECRET-KEY-1... lines) that decrypts an encrypted artefact
    /// (Invoke-HbBackup -Recipient). It is read on this machine and never written to the docker host's disk: it goes, on
    /// docker exec's standard input, into a private tmpfs of the sandbox (mode 0700, 16 MiB, gone with the container),
    /// where the docker host's own age binary decrypts the artefact into pg_restore (one job: pg_restore cannot restore
    /// in parallel from a stream) while the plaintext's SHA-256 is compared with the manifest's. The identity is removed
    /// from the tmpfs as soon as age is done, and never appears in output, records or errors. Required for an encrypted
    /// artefact (IdentityRequired); a file that is no age identity file is IdentityInvalid; an identity that matches no
    /// recipient, or an altered ciphertext, is DecryptionFailed. The sandbox image must be able to run the host's age
    /// (glibc-based, as the official postgres images are). Ignored for an artefact that is not encrypted.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Identity { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord() => RunForArtefact(() => new RestoreRequest
        {
            ServerSettings = MergedServerSettings(), Initialization = Initialization,
            Image = Image, SandboxName = SandboxName, Jobs = Jobs, KeepSandbox = KeepSandbox, Assertions = Assertion.Select(ToAssertion).ToList(),
            EstimateTolerance = EstimateTolerance, SandboxTimeToLive = TimeSpan.FromMinutes(TimeToLiveMinutes),
            Amcheck = Amcheck || HeapAllIndexed, AmcheckHeapAllIndexed = HeapAllIndexed,
            Identity = Identity is null ? null : ReadIdentity(GetUnresolvedProviderPathFromPSPath(Identity)),
        },
        $"{ArtefactDescription} into a new sandbox{(KeepSandbox ? " (kept)" : "")}", "Restore-test",
        (engine, artefact, request, ct) => engine.RunAsync(artefact, request, ct));

    // Read here, checked, and reduced to its key lines; the file's own bytes are cleared from memory at once.
    private static byte[] ReadIdentity(string path)
    {
        byte[] raw;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new HbOpsException(HbErrorIds.IdentityInvalid, HbErrorCategory.ObjectNotFound, $"-Identity '{path}' does not exist.", path);
            if (info.Length > AgeEncryption.MaxIdentityBytes) return AgeEncryption.ValidateIdentity(new byte[AgeEncryption.MaxIdentityBytes + 1], path);
            raw = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HbOpsException(HbErrorIds.IdentityInvalid, HbErrorCategory.InvalidArgument, $"-Identity '{path}' cannot be read: {ex.Message}", path, null, ex);
        }
        try
        {
            return AgeEncryption.ValidateIdentity(raw, path);
        }
        finally
        {
            Array.Clear(raw);
        }
    }

    private static HbAssertion ToAssertion(Hashtable h)
    {
        string Get(string key) => h[key] is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "";
        var a = new HbAssertion { Name = Get("Name"), Sql = Get("Sql"), Expected = Get("Expected") };
        if (a.Sql.Length == 0 || !h.ContainsKey("Expected"))
        {
            throw HbOpsException.Invalid("Each -Assertion needs Sql and Expected (and optionally Name).", h);
        }
        if (a.Name.Length == 0) a.Name = a.Sql;
        return a;
    }
}
