namespace HbOps.Model;

/// <summary>One named preflight check, with what was observed and what was expected.</summary>
public sealed class HbPreflightCheck
{
    /// <summary>Check name (stable; usable as a Pester test name).</summary>
    public string Name { get; set; } = "";
    /// <summary>True when the observation meets the expectation.</summary>
    public bool Passed { get; set; }
    /// <summary>What was observed.</summary>
    public string Observed { get; set; } = "";
    /// <summary>What is required.</summary>
    public string Expected { get; set; } = "";
    /// <summary>A sentence an operator can act on.</summary>
    public string Message { get; set; } = "";
}
