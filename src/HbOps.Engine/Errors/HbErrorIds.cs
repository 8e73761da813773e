using HbOps.Model;
namespace HbOps.Engine.Errors;

/// <summary>
/// Stable error identifiers. They appear as the first part of an ErrorRecord's
/// FullyQualifiedErrorId and never change once released; tests and runbooks match on them.
/// </summary>
public static class HbErrorIds
{
    /// <summary>A parameter value is malformed or unsafe (e.g. shell metacharacters in a container name).</summary>
    public const string InvalidArgument = nameof(InvalidArgument);
    /// <summary>An SSH alias is not defined in the ssh_config that was read.</summary>
    public const string SshAliasNotFound = nameof(SshAliasNotFound);
    /// <summary>The ssh_config is malformed (ssh would refuse it too): bad port, unknown token, unclosed quote, writable by others, ...</summary>
    public const string SshConfigInvalid = nameof(SshConfigInvalid);
    /// <summary>The ssh_config uses something HbOps cannot follow (Match exec, ProxyCommand, canonicalisation through DNS, ...).</summary>
    public const string SshConfigUnsupported = nameof(SshConfigUnsupported);
    /// <summary>The SSH server could not be reached.</summary>
    public const string SshConnectionFailed = nameof(SshConnectionFailed);
    /// <summary>The SSH server rejected every offered key.</summary>
    public const string SshAuthenticationFailed = nameof(SshAuthenticationFailed);
    /// <summary>The host key is not in known_hosts.</summary>
    public const string HostKeyUnknown = nameof(HostKeyUnknown);
    /// <summary>The host key differs from the one recorded in known_hosts.</summary>
    public const string HostKeyMismatch = nameof(HostKeyMismatch);
    /// <summary>A private key file is missing, unreadable or needs a passphrase.</summary>
    public const string KeyFileInvalid = nameof(KeyFileInvalid);
    /// <summary>The SSH connection dropped while a command was running.</summary>
    public const string SshConnectionLost = nameof(SshConnectionLost);
    /// <summary>The docker CLI or engine is not usable on the target host.</summary>
    public const string DockerUnavailable = nameof(DockerUnavailable);
    /// <summary>The named container does not exist.</summary>
    public const string ContainerNotFound = nameof(ContainerNotFound);
    /// <summary>The named container exists but is not running.</summary>
    public const string ContainerNotRunning = nameof(ContainerNotRunning);
    /// <summary>The database does not exist or cannot be connected to.</summary>
    public const string DatabaseUnavailable = nameof(DatabaseUnavailable);
    /// <summary>A SQL statement failed.</summary>
    public const string QueryFailed = nameof(QueryFailed);
    /// <summary>
    /// A table could not be locked for reading within the backup's lock wait timeout: another session holds a conflicting
    /// lock (ALTER TABLE, VACUUM FULL, a migration).
    /// </summary>
    public const string LockTimeout = nameof(LockTimeout);
    /// <summary>Free space at the destination is below the safety factor.</summary>
    public const string InsufficientDiskSpace = nameof(InsufficientDiskSpace);
    /// <summary>The destination cannot be created or written.</summary>
    public const string DestinationNotWritable = nameof(DestinationNotWritable);
    /// <summary>pg_dump exited non-zero or its output could not be stored.</summary>
    public const string DumpFailed = nameof(DumpFailed);
    /// <summary>The server's pg_dump cannot write the requested compression method (lz4 and zstd need pg_dump 16 or later).</summary>
    public const string CompressionUnsupported = nameof(CompressionUnsupported);
    /// <summary>An artefact (dump, manifest or checksum file) is missing or unreadable.</summary>
    public const string ArtefactNotFound = nameof(ArtefactNotFound);
    /// <summary>The artefact's SHA-256 does not match the recorded checksum.</summary>
    public const string ChecksumMismatch = nameof(ChecksumMismatch);
    /// <summary>A sandbox container or volume name is already taken.</summary>
    public const string SandboxCollision = nameof(SandboxCollision);
    /// <summary>The sandbox could not be created or did not become ready.</summary>
    public const string SandboxStartFailed = nameof(SandboxStartFailed);
    /// <summary>The sandbox image's PostgreSQL major is lower than the artefact's server major.</summary>
    public const string SandboxMajorTooLow = nameof(SandboxMajorTooLow);
    /// <summary>Refused to touch a container or volume that is not an HbOps sandbox.</summary>
    public const string NotASandbox = nameof(NotASandbox);
    /// <summary>A sandbox container or volume was still present after removal.</summary>
    public const string SandboxRemovalFailed = nameof(SandboxRemovalFailed);
    /// <summary>No sandbox of that name exists.</summary>
    public const string SandboxNotFound = nameof(SandboxNotFound);
    /// <summary>The operation was cancelled (Ctrl+C / StopProcessing).</summary>
    public const string OperationCancelled = nameof(OperationCancelled);
    /// <summary>A configuration file is missing or malformed.</summary>
    public const string ConfigInvalid = nameof(ConfigInvalid);
    /// <summary>A named target is not in the config file.</summary>
    public const string TargetNotFound = nameof(TargetNotFound);
    /// <summary>
    /// An artefact's manifest is not the one its backup wrote: its SHA-256 differs from (or is missing in) the
    /// manifest's SHA256SUMS line, so nothing it records (checksum, row counts) can be trusted.
    /// </summary>
    public const string ManifestTampered = nameof(ManifestTampered);
    /// <summary>A -KeyTables entry names no ordinary or partitioned table of the database.</summary>
    public const string KeyTableNotFound = nameof(KeyTableNotFound);
    /// <summary>A copy of the artefact (or a transfer to that name) already exists at the destination; copies are never overwritten.</summary>
    public const string CopyExists = nameof(CopyExists);
    /// <summary>Copying an artefact failed (the transfer or the storage broke off); nothing was claimed and the partial file was removed.</summary>
    public const string CopyFailed = nameof(CopyFailed);
    /// <summary>A copy read back from its destination does not have the recorded SHA-256 or size; it was not claimed (or no longer verifies).</summary>
    public const string CopyVerificationFailed = nameof(CopyVerificationFailed);
    /// <summary>The storage has too little free space for the copy (before the transfer, or it ran out during it).</summary>
    public const string StorageFull = nameof(StorageFull);
    /// <summary>Removing an artefact's files at a location failed part-way.</summary>
    public const string RemovalFailed = nameof(RemovalFailed);
    /// <summary>An artefact failed re-verification (checksum or readability).</summary>
    public const string ArtefactInvalid = nameof(ArtefactInvalid);
    /// <summary>A restore test ran and its verdict is Failed (the result object is the error's target).</summary>
    public const string RestoreTestFailed = nameof(RestoreTestFailed);
    /// <summary>A preflight check did not pass (the check object is the error's target).</summary>
    public const string PreflightFailed = nameof(PreflightFailed);
    /// <summary>A folder or file named by -Path does not exist.</summary>
    public const string PathNotFound = nameof(PathNotFound);
    /// <summary>The SSH account's login shell printed text and the command never started (its start-of-output marker never came).</summary>
    public const string RemoteShellOutput = nameof(RemoteShellOutput);
    /// <summary>An -Recipient value is not an age recipient (age1... X25519, or an ssh-ed25519 / ssh-rsa public key line).</summary>
    public const string RecipientInvalid = nameof(RecipientInvalid);
    /// <summary>Encryption or decryption was asked for and the age tool is missing where it must run (the docker host, or the sandbox image cannot run it).</summary>
    public const string EncryptionUnavailable = nameof(EncryptionUnavailable);
    /// <summary>The artefact is encrypted and no -Identity was given to decrypt it.</summary>
    public const string IdentityRequired = nameof(IdentityRequired);
    /// <summary>The -Identity file is not an age identity file (AGE-SECRET-KEY-1... lines).</summary>
    public const string IdentityInvalid = nameof(IdentityInvalid);
    /// <summary>age could not decrypt the artefact (no identity matches its recipients, or the ciphertext fails authentication).</summary>
    public const string DecryptionFailed = nameof(DecryptionFailed);
    /// <summary>An unexpected failure; the message carries the detail.</summary>
    public const string Unexpected = nameof(Unexpected);
}
