namespace HbOps.Model;

/// <summary>How a pg_restore message affects the verdict.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter))]
public enum HbMessageSeverity
{
    /// <summary>Informational (e.g. the closing "errors ignored" summary).</summary>
    Info,
    /// <summary>Known and harmless for a restore test; reported as a note.</summary>
    NonFatal,
    /// <summary>The restore is not trustworthy.</summary>
    Fatal,
}

/// <summary>One classified pg_restore message (text and command redacted).</summary>
public sealed class HbRestoreMessage
{
    /// <summary>Severity.</summary>
    public HbMessageSeverity Severity { get; set; }
    /// <summary>Name of the rule that matched.</summary>
    public string Rule { get; set; } = "";
    /// <summary>The message line(s).</summary>
    public string Text { get; set; } = "";
    /// <summary>The SQL command pg_restore reported, if any.</summary>
    public string? Command { get; set; }
    /// <inheritdoc />
    public override string ToString() => $"{Severity} [{Rule}] {Text}";
}

