namespace HbOps.Model;

/// <summary>
/// How an artefact is encrypted (recorded in its manifest; null on an artefact that is not). The docker host encrypted
/// the dump while it streamed, to public keys only: no key that can decrypt it was ever there. The artefact's own
/// <see cref="HbBackupArtefact.Sha256"/> and <see cref="HbBackupArtefact.SizeBytes"/> are the ciphertext's (what is on
/// disk, in SHA256SUMS and in every copy); the plaintext's are recorded here, taken from the same stream.
/// </summary>
public sealed class HbEncryption
{
    /// <summary>The tool: <c>age</c> (format <c>age-encryption.org/v1</c>).</summary>
    public string Tool { get; set; } = "age";
    /// <summary>The tool's version on the docker host (<c>age --version</c>).</summary>
    public string ToolVersion { get; set; } = "";
    /// <summary>The recipients (public keys: <c>age1...</c>, <c>ssh-ed25519 ...</c>, <c>ssh-rsa ...</c>); any of their identities decrypts.</summary>
    public List<string> Recipients { get; set; } = new();
    /// <summary>SHA-256 (lower-case hex) of the plaintext pg_dump archive, taken while it was encrypted.</summary>
    public string PlaintextSha256 { get; set; } = "";
    /// <summary>Size of the plaintext pg_dump archive in bytes.</summary>
    public long PlaintextSizeBytes { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Tool} to {Recipients.Count} recipient(s)";
}
